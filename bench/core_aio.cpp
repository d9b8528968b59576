// Core-runtime benchmark, aio side of bench/run_core.py's protocol.
//
// Usage: bench_core_aio BENCH N
//   BENCH = task | sleep0 | gather | memory | queue | queue_bounded | lock | lock_contended
//         | to_thread | spawn
// Prints exactly one number: ns per operation, bytes per suspended task (memory), or µs per
// process (spawn).
// The peers in bench/peers/ implement the same programs (see bench/run_core.py).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <aio/aio.hpp>
#include <aio/subprocess.hpp>

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

volatile long g_sink = 0;

aio::Coro<int> trivial() { co_return 1; }

// create + run + await one trivial task, n times.
aio::Coro<double> bench_task(long n) {
  long warm = std::min(n / 10, 10'000L), sum = 0;
  for (long i = 0; i < warm; ++i) sum += co_await aio::create_task(trivial());
  auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) sum += co_await aio::create_task(trivial());
  double ns = elapsed_ns(t0) / static_cast<double>(n);
  g_sink = sum;
  co_return ns;
}

aio::Coro<void> yielder(long n) {
  for (long i = 0; i < n; ++i) co_await aio::sleep(0);
}

// Two tasks each yielding n times: ns per sleep(0).
aio::Coro<double> bench_sleep0(long n) {
  auto t0 = Clock::now();
  co_await aio::gather(yielder(n), yielder(n));
  co_return elapsed_ns(t0) / static_cast<double>(2 * n);
}

// gather of n trivial coroutines, 5 times: median ns per coroutine.
aio::Coro<double> bench_gather(long n) {
  std::vector<double> samples;
  for (int rep = 0; rep < 5; ++rep) {
    std::vector<aio::Coro<int>> coros;
    coros.reserve(static_cast<std::size_t>(n));
    auto t0 = Clock::now();
    for (long i = 0; i < n; ++i) coros.push_back(trivial());
    std::vector<int> results = co_await aio::gather(std::move(coros));
    samples.push_back(elapsed_ns(t0) / static_cast<double>(n));
    g_sink = static_cast<long>(results.size());
  }
  std::sort(samples.begin(), samples.end());
  co_return samples[samples.size() / 2];
}

aio::Coro<void> parked(aio::Future<void> release) { co_await release; }

// n tasks suspended on one future: RSS growth per task.
aio::Coro<double> bench_memory(long n) {
  aio::Future<void> release;
  std::vector<aio::Task<void>> tasks;
  tasks.reserve(static_cast<std::size_t>(n));  // the handles' 8 bytes/task are counted, as in the peers' lists
  long before = rss_bytes();
  for (long i = 0; i < n; ++i) tasks.push_back(aio::create_task(parked(release)));
  co_await aio::sleep(0);  // every task runs its first step and parks on the future
  co_await aio::sleep(0);
  long after = rss_bytes();
  release.set_result();
  co_await aio::gather(std::move(tasks));
  co_return static_cast<double>(after - before) / static_cast<double>(n);
}

// --- synchronization primitives and queues ----------------------------------------------

aio::Coro<void> queue_consumer(aio::Queue<int>& q, long n) {
  long sum = 0;
  for (long i = 0; i < n; ++i) sum += co_await q.get();
  g_sink = sum;
}

aio::Coro<void> queue_producer_yielding(aio::Queue<int>& q, long n) {
  for (long i = 0; i < n; ++i) {
    co_await q.put(static_cast<int>(i));
    co_await aio::sleep(0);  // the consumer takes it and waits again for the next one
  }
}

// Unbounded Queue<int>, one producer and one consumer; the producer yields after each put,
// so the consumer is suspended in get() whenever an item arrives. ns per item.
aio::Coro<double> bench_queue(long n) {
  aio::Queue<int> q;
  auto t0 = Clock::now();
  co_await aio::gather(queue_consumer(q, n), queue_producer_yielding(q, n));
  co_return elapsed_ns(t0) / static_cast<double>(n);
}

aio::Coro<void> queue_producer(aio::Queue<int>& q, long n) {
  for (long i = 0; i < n; ++i) co_await q.put(static_cast<int>(i));
}

// Queue<int>(maxsize 1): producer and consumer both wait on the queue in turn. ns per item.
aio::Coro<double> bench_queue_bounded(long n) {
  aio::Queue<int> q(1);
  auto t0 = Clock::now();
  co_await aio::gather(queue_consumer(q, n), queue_producer(q, n));
  co_return elapsed_ns(t0) / static_cast<double>(n);
}

// Uncontended acquire + release (`async with lock: pass`). ns per pair.
aio::Coro<double> bench_lock(long n) {
  aio::Lock lock;
  auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) {
    auto guard = co_await lock.lock();
  }
  co_return elapsed_ns(t0) / static_cast<double>(n);
}

aio::Coro<void> lock_looper(aio::Lock& lock, long n) {
  for (long i = 0; i < n; ++i) {
    auto guard = co_await lock.lock();
    if (i == 0) co_await aio::sleep(0);  // once, holding it: the other task queues up
  }
}

// Two tasks acquiring and releasing one Lock in a loop. Once the second task has queued
// (first iteration), the lock being FIFO (as in asyncio) means that every release wakes
// the other task and every re-acquire finds it queued and waits: each acquisition is a
// hand-off between the tasks, with no sleep(0) in between. ns per hand-off.
aio::Coro<double> bench_lock_contended(long n) {
  aio::Lock lock;
  auto t0 = Clock::now();
  co_await aio::gather(lock_looper(lock, n), lock_looper(lock, n));
  co_return elapsed_ns(t0) / static_cast<double>(2 * n);
}

// --- threads and processes -----------------------------------------------------------------

int trivial_job() { return 1; }

// `co_await aio::to_thread(f)` with a trivial f, one after the other: ns per round trip
// from the loop to the default thread pool and back (asyncio.to_thread).
aio::Coro<double> bench_to_thread(long n) {
  long warm = std::min(n / 10, 1'000L), sum = 0;
  for (long i = 0; i < warm; ++i) sum += co_await aio::to_thread(trivial_job);
  auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) sum += co_await aio::to_thread(trivial_job);
  double ns = elapsed_ns(t0) / static_cast<double>(n);
  g_sink = sum;
  co_return ns;
}

aio::Coro<int> spawn_true_and_wait() {
  aio::Process p = co_await aio::create_subprocess_exec("/bin/true");
  int status = co_await p.wait();
  co_return status;
}

// Start /bin/true and wait for its exit, one after the other: µs per process.
aio::Coro<double> bench_spawn(long n) {
  long warm = std::min(n / 10, 20L), sum = 0;
  for (long i = 0; i < warm; ++i) sum += co_await spawn_true_and_wait();
  auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) sum += co_await spawn_true_and_wait();
  double us = elapsed_ns(t0) / 1000.0 / static_cast<double>(n);
  g_sink = sum;
  co_return us;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr,
                 "usage: %s task|sleep0|gather|memory|queue|queue_bounded|lock|lock_contended|to_thread|spawn N\n",
                 argv[0]);
    return 2;
  }
  std::string bench = argv[1];
  long n = std::atol(argv[2]);
  if (n <= 0) {
    std::fprintf(stderr, "N must be positive\n");
    return 2;
  }
  double v;
  if (bench == "task")
    v = aio::run(bench_task(n));
  else if (bench == "sleep0")
    v = aio::run(bench_sleep0(n));
  else if (bench == "gather")
    v = aio::run(bench_gather(n));
  else if (bench == "memory")
    v = aio::run(bench_memory(n));
  else if (bench == "queue")
    v = aio::run(bench_queue(n));
  else if (bench == "queue_bounded")
    v = aio::run(bench_queue_bounded(n));
  else if (bench == "lock")
    v = aio::run(bench_lock(n));
  else if (bench == "lock_contended")
    v = aio::run(bench_lock_contended(n));
  else if (bench == "to_thread")
    v = aio::run(bench_to_thread(n));
  else if (bench == "spawn")
    v = aio::run(bench_spawn(n));
  else {
    std::fprintf(stderr, "unknown benchmark '%s'\n", bench.c_str());
    return 2;
  }
  std::printf("%.3f\n", v);
  return 0;
}
