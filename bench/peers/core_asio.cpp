// Core-runtime benchmark peer: Boost.Asio C++20 coroutines.
//
// Usage: core_asio BENCH N     (BENCH = task | sleep0 | gather | memory)
//
// Prints exactly one number on stdout (see bench/run_core.py for the
// protocol). Everything runs on one single-threaded io_context, like the
// other peers. Written against Boost 1.74 (Debian 12); no experimental APIs.

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>;
// GCC 12's headers no longer pull it in transitively.
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include <unistd.h>

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;

namespace {

using Clock = std::chrono::steady_clock;

double elapsed_ns(Clock::time_point t0) { return std::chrono::duration<double, std::nano>(Clock::now() - t0).count(); }

long rss_bytes() {
  long size = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &size, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * sysconf(_SC_PAGESIZE);
}

// Stops the optimiser from discarding results.
volatile long g_sink = 0;

awaitable<int> trivial() { co_return 1; }

awaitable<void> bench_task(long n, double& out) {
  auto ex = co_await asio::this_coro::executor;
  long sum = 0;
  for (long i = 0, warm = std::min(n / 10, 10000L); i < warm; ++i)
    sum += co_await asio::co_spawn(ex, trivial(), use_awaitable);
  auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) sum += co_await asio::co_spawn(ex, trivial(), use_awaitable);
  out = elapsed_ns(t0) / double(n);
  g_sink = sum;
}

awaitable<void> yielder(long n) {
  auto ex = co_await asio::this_coro::executor;
  for (long i = 0; i < n; ++i) co_await asio::post(ex, use_awaitable);
}

awaitable<void> gather_child(long& remaining, asio::steady_timer& done) {
  int v = co_await trivial();
  g_sink = g_sink + v;
  if (--remaining == 0) done.cancel();
}

// One "gather": spawn n children, wait until the last one signals through
// the timer (cancel() completes the pending wait with operation_aborted).
awaitable<void> gather_once(long n) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer done(ex, asio::steady_timer::time_point::max());
  long remaining = n;
  for (long i = 0; i < n; ++i) asio::co_spawn(ex, gather_child(remaining, done), asio::detached);
  // Single-threaded: nothing runs between this check and the wait starting.
  if (remaining > 0) {
    boost::system::error_code ec;
    co_await done.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

awaitable<void> bench_gather(long n, double& out) {
  std::vector<double> samples;
  for (int rep = 0; rep < 5; ++rep) {
    auto t0 = Clock::now();
    co_await gather_once(n);
    samples.push_back(elapsed_ns(t0) / double(n));
  }
  std::sort(samples.begin(), samples.end());
  out = samples[samples.size() / 2];
}

awaitable<void> mem_waiter(long& started, asio::steady_timer& release) {
  ++started;
  boost::system::error_code ec;
  co_await release.async_wait(asio::redirect_error(use_awaitable, ec));
}

awaitable<void> bench_memory(long n, double& out) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer release(ex, asio::steady_timer::time_point::max());
  long started = 0;
  long before = rss_bytes();
  for (long i = 0; i < n; ++i) asio::co_spawn(ex, mem_waiter(started, release), asio::detached);
  // co_spawn defers the first resumption; yield until all have suspended.
  while (started < n) co_await asio::post(ex, use_awaitable);
  long after = rss_bytes();
  out = double(after - before) / double(n);
  release.cancel();  // the waiters finish once this coroutine returns
}

void rethrow(std::exception_ptr e) {
  if (e) std::rethrow_exception(e);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s task|sleep0|gather|memory N\n", argv[0]);
    return 2;
  }
  const std::string bench = argv[1];
  char* end = nullptr;
  const long n = std::strtol(argv[2], &end, 10);
  if (*end != '\0' || n <= 0) {
    std::fprintf(stderr, "N must be a positive integer\n");
    return 2;
  }

  // Concurrency hint 1: asio may assume a single thread runs the context.
  asio::io_context io(1);
  double value = 0;
  try {
    if (bench == "task") {
      asio::co_spawn(io, bench_task(n, value), rethrow);
      io.run();
    } else if (bench == "sleep0") {
      auto t0 = Clock::now();
      asio::co_spawn(io, yielder(n), rethrow);
      asio::co_spawn(io, yielder(n), rethrow);
      io.run();
      value = elapsed_ns(t0) / double(2 * n);
    } else if (bench == "gather") {
      asio::co_spawn(io, bench_gather(n, value), rethrow);
      io.run();
    } else if (bench == "memory") {
      asio::co_spawn(io, bench_memory(n, value), rethrow);
      io.run();
    } else {
      std::fprintf(stderr, "unknown benchmark '%s'\n", bench.c_str());
      return 2;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  std::printf("%.3f\n", value);
  return 0;
}
