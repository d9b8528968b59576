// The aio tour: asyncio's classic first programs, in C++, printing what asyncio prints.
// Delays are scaled down tenfold (asyncio's docs use whole seconds).
//
//     ./build/examples/tour            # every section
//     ./build/examples/tour gather     # one section: say_after, tasks, gather, yield,
//                                      # queue, semaphore, lock, event, condition, echo,
//                                      # executor, subprocess, date, web, client
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <aio/aio.hpp>
#include <aio/subprocess.hpp>

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

// --- Queue: three workers share a queue of work (asyncio's Queue example) ---------------
aio::Coro<void> worker(std::string name, aio::Queue<double>& queue) {
  for (;;) {
    double sleep_for = co_await queue.get();  // cancelled here once the queue is drained
    co_await aio::sleep(sleep_for);
    queue.task_done();
    std::printf("%s has slept for %.2f seconds\n", name.c_str(), sleep_for);
  }
}

aio::Coro<void> queue_workers() {
  std::printf("\n== three workers draining a queue of twenty sleep times\n");
  aio::Queue<double> queue;
  std::mt19937 rng(2024);  // fixed seed: the same run every time
  std::uniform_real_distribution<double> uniform(0.05 * kScale, 1.0 * kScale);
  double total_sleep_time = 0;
  for (int i = 0; i < 20; ++i) {
    double sleep_for = uniform(rng);
    total_sleep_time += sleep_for;
    queue.put_nowait(sleep_for);
  }
  std::vector<aio::Task<void>> tasks;
  for (int i = 0; i < 3; ++i) tasks.push_back(aio::create_task(worker("worker-" + std::to_string(i), queue)));

  double t0 = now();
  co_await queue.join();  // until every item got its task_done()
  double total_slept_for = now() - t0;

  for (auto& task : tasks) task.cancel();
  auto outcomes = co_await aio::gather(aio::return_exceptions, tasks);
  int cancelled = 0;
  for (auto& outcome : outcomes) cancelled += outcome.cancelled() ? 1 : 0;

  std::printf("====\n");
  std::printf("3 workers slept in parallel for %.2f seconds\n", total_slept_for);
  std::printf("total expected sleep time: %.2f seconds\n", total_sleep_time);
  std::printf("(%d workers cancelled once the queue was drained)\n", cancelled);
}

// --- Semaphore: at most three at a time -------------------------------------------------
aio::Coro<void> limited(aio::Semaphore& sem, int id) {
  auto slot = co_await sem.lock();  // released when `slot` goes out of scope
  std::printf("hello (task %d)\n", id);
  co_await aio::sleep(1 * kScale);
  std::printf("world (task %d)\n", id);
}

aio::Coro<void> semaphore_limit() {
  std::printf("\n== Semaphore(3) letting five tasks through, three at a time\n");
  aio::Semaphore sem(3);
  std::vector<aio::Task<void>> tasks;
  for (int id = 1; id <= 5; ++id) tasks.push_back(aio::create_task(limited(sem, id)));
  co_await aio::gather(tasks);
}

// --- Lock: one coroutine at a time in the critical section --------------------------------
aio::Coro<void> serialised(aio::Lock& lock, int id) {
  auto guard = co_await lock.lock();
  std::printf("coroutine %d holds the lock\n", id);
  co_await aio::sleep(0.2 * kScale);  // others queue up meanwhile
  std::printf("coroutine %d releases it\n", id);
}

aio::Coro<void> lock_serialising() {
  std::printf("\n== a Lock serialising three coroutines\n");
  aio::Lock lock;
  co_await aio::gather(serialised(lock, 1), serialised(lock, 2), serialised(lock, 3));
}

// --- Event: one set() wakes every waiter --------------------------------------------------
aio::Coro<void> wait_for_event(aio::Event& ev, int id) {
  std::printf("waiter %d waits for the event\n", id);
  co_await ev.wait();
  std::printf("waiter %d woke up\n", id);
}

aio::Coro<void> set_event_later(aio::Event& ev) {
  co_await aio::sleep(0.5 * kScale);
  std::printf("setting the event\n");
  ev.set();
}

aio::Coro<void> event_waking() {
  std::printf("\n== an Event waking its waiters\n");
  aio::Event ev;
  co_await aio::gather(wait_for_event(ev, 1), wait_for_event(ev, 2), set_event_later(ev));
}

// --- Condition: notify(2) wakes exactly two of three waiters ------------------------------
aio::Coro<void> wait_for_notify(aio::Condition& cond, int id, int& woken) {
  auto guard = co_await cond.lock();
  std::printf("waiter %d waits\n", id);
  co_await cond.wait();  // gives the lock up while waiting, holds it again on return
  ++woken;
  std::printf("waiter %d was notified\n", id);
}

aio::Coro<void> condition_notify() {
  std::printf("\n== a Condition: notify(2) wakes two of three waiters\n");
  aio::Condition cond;
  int woken = 0;
  auto t1 = aio::create_task(wait_for_notify(cond, 1, woken));
  auto t2 = aio::create_task(wait_for_notify(cond, 2, woken));
  auto t3 = aio::create_task(wait_for_notify(cond, 3, woken));
  co_await aio::sleep(0.1 * kScale);  // let all three wait
  {
    auto guard = co_await cond.lock();
    std::printf("notify(2)\n");
    cond.notify(2);
  }
  co_await aio::gather(t1, t2);
  std::printf("%d woken, waiter 3 still waiting: %s\n", woken, t3.done() ? "no" : "yes");
  {
    auto guard = co_await cond.lock();
    cond.notify();  // let the last one go too
  }
  co_await t3;
}

// --- TCP: the streams echo server and client (asyncio's streams example) -----------------
aio::Coro<void> handle_echo(aio::StreamReader reader, aio::StreamWriter writer) {
  std::string data = co_await reader.read(100);
  std::printf("Received \"%s\" from %s\n", data.c_str(), writer.peername().to_string().c_str());
  std::printf("Send: \"%s\"\n", data.c_str());
  writer.write(data);
  co_await writer.drain();
  std::printf("Close the connection\n");
  writer.close();
  co_await writer.wait_closed();
}

aio::Coro<void> tcp_echo_client(std::string message, int port) {
  auto [reader, writer] = co_await aio::open_connection("127.0.0.1", port);
  std::printf("Send: \"%s\"\n", message.c_str());
  writer.write(message);
  co_await writer.drain();
  std::string data = co_await reader.read(100);
  std::printf("Received: \"%s\"\n", data.c_str());
  std::printf("Close the connection\n");
  writer.close();
  co_await writer.wait_closed();
}

aio::Coro<void> tcp_echo() {
  std::printf("\n== a TCP echo server and its client\n");
  aio::Server server = co_await aio::start_server(handle_echo, "127.0.0.1", 0);  // 0: any free port
  aio::SocketAddress addr = server.addresses().at(0);
  std::printf("Serving on %s\n", addr.to_string().c_str());
  co_await tcp_echo_client("Hello World!", addr.port());
  server.close();
  co_await server.wait_closed();
}

// --- run_in_executor: a blocking call on a thread while the loop keeps going --------------
// asyncio: loop.run_in_executor(None, blocking_io), where blocking_io() calls time.sleep(1).
int blocking_io() {
  std::this_thread::sleep_for(std::chrono::duration<double>(1.5 * kScale));  // blocks its thread only
  return 42;
}

aio::Coro<void> executor_blocking_call() {
  std::printf("\n== a blocking call in the default executor; the loop keeps running meanwhile\n");
  aio::EventLoop& loop = aio::get_running_loop();
  aio::Event finished;
  aio::Future<int> result = loop.run_in_executor(nullptr, blocking_io);
  // The done callback runs on the loop's thread once the worker thread has returned.
  result.add_done_callback([&finished](aio::Future<int>& f) {
    std::printf("done callback: blocking_io() returned %d\n", f.result());
    finished.set();
  });
  for (int tick = 1; tick <= 3; ++tick) {  // the loop is free: other work makes progress
    co_await aio::sleep(0.2 * kScale);
    std::printf("the loop is still running: tick %d (blocking_io() still working: %s)\n", tick,
                result.done() ? "no" : "yes");
  }
  co_await finished.wait();
}

// --- subprocess: a shell command's exit code and stderr (asyncio's `ls /zzz` example) -----
aio::Coro<void> run_shell(std::string cmd) {
  aio::Process proc = co_await aio::create_subprocess_shell(cmd, {.out = aio::PIPE, .err = aio::PIPE});
  auto [out, err] = co_await proc.communicate();
  std::printf("['%s' exited with %d]\n", cmd.c_str(), proc.returncode().value_or(-1));
  if (!out.empty()) std::printf("[stdout]\n%s", out.c_str());
  if (!err.empty()) std::printf("[stderr]\n%s", err.c_str());
}

aio::Coro<void> subprocess_shell() {
  std::printf("\n== a shell command through create_subprocess_shell\n");
  co_await run_shell("ls /zzz");
}

// --- subprocess: reading the date from a Python child, line by line -----------------------
aio::Coro<std::string> get_date() {
  aio::Process proc = co_await aio::create_subprocess_exec(
      "python3", "-c", "import datetime; print(datetime.datetime.now())", aio::ProcessOptions{.out = aio::PIPE});
  std::string line = co_await proc.out().readline();  // one line, as the child prints it
  co_await proc.wait();
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  co_return line;
}

aio::Coro<void> date_from_child() {
  std::printf("\n== the date, read from a child Python process\n");
  std::string date = co_await get_date();
  std::printf("Current date: %s\n", date.c_str());
}

// --- web: the seed's aiohttp server (examples/hello_web.cpp), started and fetched from --
// The tour runs the example program as a child, reads the port from its "Running on" line,
// fetches a page over a plain aio connection, then stops it with SIGINT (a graceful
// shutdown: it exits 0).
std::string program_beside_this_one(const char* name) {
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  std::string dir = n > 0 ? std::string(self, static_cast<std::size_t>(n)) : std::string("./tour");
  return dir.substr(0, dir.rfind('/') + 1) + name;
}

aio::Coro<void> web_server() {
  std::printf("\n== web: the aiohttp seed program (examples/hello_web.cpp), fetched from\n");
  std::vector<std::string> argv = {program_beside_this_one("hello_web"), "0"};
  aio::Process server = co_await aio::create_subprocess_exec(argv, {.out = aio::PIPE});
  std::string banner = co_await server.out().readline();  // "======== Running on http://0.0.0.0:PORT ========"
  std::printf("server: %s", banner.c_str());
  const std::size_t colon = banner.rfind(':');
  const int port = colon == std::string::npos ? 0 : std::atoi(banner.c_str() + colon + 1);
  auto [reader, writer] = co_await aio::open_connection("127.0.0.1", port);
  writer.write("GET /tour HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  std::string response = co_await reader.read();
  std::printf("GET /tour answered:\n%s\n", response.c_str());
  server.send_signal(SIGINT);
  int status = co_await server.wait();
  std::printf("server stopped by SIGINT, exit status %d\n", status);
}

// --- client: the seed's aiohttp client program (examples/http_client.cpp) ---------------
// One ClientSession, three concurrent GETs with gather, against a server the example starts
// itself; the tour runs it as a child and shows what it printed.
aio::Coro<void> web_client() {
  std::printf("\n== client: the aiohttp client seed program (examples/http_client.cpp)\n");
  std::vector<std::string> argv = {program_beside_this_one("http_client")};
  aio::Process client = co_await aio::create_subprocess_exec(argv, {.out = aio::PIPE});
  auto [out, err] = co_await client.communicate();
  std::printf("%s", out.c_str());
  std::printf("client exited with status %d\n", client.returncode().value_or(-1));
}

aio::Coro<void> tour(std::string only) {
  double t0 = now();
  if (only.empty() || only == "say_after") co_await say_after_in_sequence();
  if (only.empty() || only == "tasks") co_await say_after_as_tasks();
  if (only.empty() || only == "gather") co_await gather_factorials();
  if (only.empty() || only == "yield") co_await yielding();
  if (only.empty() || only == "queue") co_await queue_workers();
  if (only.empty() || only == "semaphore") co_await semaphore_limit();
  if (only.empty() || only == "lock") co_await lock_serialising();
  if (only.empty() || only == "event") co_await event_waking();
  if (only.empty() || only == "condition") co_await condition_notify();
  if (only.empty() || only == "echo") co_await tcp_echo();
  if (only.empty() || only == "executor") co_await executor_blocking_call();
  if (only.empty() || only == "subprocess") co_await subprocess_shell();
  if (only.empty() || only == "date") co_await date_from_child();
  if (only.empty() || only == "web") co_await web_server();
  if (only.empty() || only == "client") co_await web_client();
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
