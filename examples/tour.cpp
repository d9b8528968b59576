// The aio tour: asyncio's classic first programs, in C++, printing what asyncio prints.
// Delays are scaled down tenfold (asyncio's docs use whole seconds).
//
//     ./build/examples/tour            # every section
//     ./build/examples/tour gather     # one section: say_after, tasks, gather, yield
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <aio/aio.hpp>

namespace {

constexpr double kScale = 0.1;  // 1 s in asyncio's examples = 0.1 s here

double now() { return aio::get_running_loop().time(); }

// --- say_after: awaiting in sequence vs. running as tasks ------------------------------
aio::Coro<void> say_after(double delay, std::string what) {
  co_await aio::sleep(delay * kScale);
  std::printf("%s\n", what.c_str());
}

aio::Coro<void> say_after_in_sequence() {
  std::printf("\n== say_after, awaited one after the other (asyncio: 3 s)\n");
  double t0 = now();
  std::printf("started\n");
  co_await say_after(1, "hello");
  co_await say_after(2, "world");
  std::printf("finished in %.2f s (scaled: 0.3 s expected)\n", now() - t0);
}

aio::Coro<void> say_after_as_tasks() {
  std::printf("\n== say_after, as two concurrent tasks (asyncio: 2 s)\n");
  aio::Task<void> task1 = aio::create_task(say_after(1, "hello"));
  aio::Task<void> task2 = aio::create_task(say_after(2, "world"));
  double t0 = now();
  std::printf("started\n");
  co_await task1;
  co_await task2;
  std::printf("finished in %.2f s (scaled: 0.2 s expected)\n", now() - t0);
}

// --- gather: three factorial tasks interleaving ----------------------------------------
aio::Coro<long> factorial(std::string name, int number) {
  long f = 1;
  for (int i = 2; i <= number; ++i) {
    std::printf("Task %s: Compute factorial(%d), currently i=%d...\n", name.c_str(), number, i);
    co_await aio::sleep(1 * kScale);
    f *= i;
  }
  std::printf("Task %s: factorial(%d) = %ld\n", name.c_str(), number, f);
  co_return f;
}

aio::Coro<void> gather_factorials() {
  std::printf("\n== gather of factorial(\"A\", 2), (\"B\", 3), (\"C\", 4)\n");
  double t0 = now();
  auto [a, b, c] = co_await aio::gather(factorial("A", 2), factorial("B", 3), factorial("C", 4));
  std::printf("[%ld, %ld, %ld]\n", a, b, c);
  std::printf("gathered in %.2f s (scaled: 0.3 s expected: the longest chain, not the sum)\n", now() - t0);
}

// --- sleep(0): cooperative yielding ----------------------------------------------------
aio::Coro<void> counter(std::string name, int steps, bool yield) {
  for (int i = 1; i <= steps; ++i) {
    std::printf("%s: step %d\n", name.c_str(), i);
    if (yield) co_await aio::sleep(0);
  }
}

aio::Coro<void> yielding() {
  std::printf("\n== two coroutines without sleep(0): each runs to the end before the other starts\n");
  co_await aio::gather(counter("first", 3, false), counter("second", 3, false));
  std::printf("\n== the same with sleep(0) between steps: they take turns\n");
  co_await aio::gather(counter("first", 3, true), counter("second", 3, true));
}

aio::Coro<void> tour(std::string only) {
  double t0 = now();
  if (only.empty() || only == "say_after") co_await say_after_in_sequence();
  if (only.empty() || only == "tasks") co_await say_after_as_tasks();
  if (only.empty() || only == "gather") co_await gather_factorials();
  if (only.empty() || only == "yield") co_await yielding();
  std::printf("\ntour finished in %.2f s on the %s backend\n", now() - t0,
              std::string(aio::get_running_loop().backend_name()).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::string only = argc > 1 ? argv[1] : "";
  aio::run(tour(only));
  return 0;
}
