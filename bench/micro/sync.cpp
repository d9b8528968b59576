// Micro costs of the synchronization primitives and queues (Google Benchmark), with heap
// allocations per operation counted (global operator new): the hot paths must show 0.
// Peers are compared in bench/run_core.py (queue, queue_bounded, lock, lock_contended).
#include <benchmark/benchmark.h>

#include <aio/aio.hpp>

#include "alloc_counter.hpp"

namespace {

// Runs `body(state)` inside aio::run and reports allocations per benchmark iteration,
// counted from the first iteration (setup and warm-up growth are not counted).
template <class F>
void run_counting(benchmark::State& state, F body) {
  aio::run(body(state));
}

void report_allocs(benchmark::State& state, long allocs) {
  state.counters["allocs/op"] = benchmark::Counter(static_cast<double>(allocs), benchmark::Counter::kAvgIterations);
}

aio::Coro<void> uncontended_lock(benchmark::State& state) {
  aio::Lock lock;
  long before = allocations();
  for (auto _ : state) {
    auto guard = co_await lock.lock();
    benchmark::DoNotOptimize(lock);
  }
  report_allocs(state, allocations() - before);
}
void BM_LockUncontended(benchmark::State& state) { run_counting(state, uncontended_lock); }
BENCHMARK(BM_LockUncontended);

aio::Coro<void> semaphore_uncontended(benchmark::State& state) {
  aio::Semaphore sem(4);
  long before = allocations();
  for (auto _ : state) {
    auto guard = co_await sem.lock();
    benchmark::DoNotOptimize(sem);
  }
  report_allocs(state, allocations() - before);
}
void BM_SemaphoreUncontended(benchmark::State& state) { run_counting(state, semaphore_uncontended); }
BENCHMARK(BM_SemaphoreUncontended);

// The other side of the hand-off benchmarks: loops until told to stop.
aio::Coro<void> lock_partner(aio::Lock& lock, bool& stop) {
  while (!stop) {
    auto guard = co_await lock.lock();
  }
}

// One iteration = two hand-offs (ours and the partner's), so the per-hand-off time is
// half the reported time.
aio::Coro<void> contended_lock(benchmark::State& state) {
  aio::Lock lock;
  bool stop = false;
  co_await lock.acquire();
  auto partner = aio::create_task(lock_partner(lock, stop));
  co_await aio::sleep(0);  // the partner queues on the lock
  lock.release();
  long before = allocations();
  for (auto _ : state) {
    auto guard = co_await lock.lock();
  }
  report_allocs(state, allocations() - before);
  stop = true;
  co_await partner;
}
void BM_LockHandoffPair(benchmark::State& state) { run_counting(state, contended_lock); }
BENCHMARK(BM_LockHandoffPair);

aio::Coro<void> consume(aio::Queue<int>& q, bool& stop) {
  while (!stop) benchmark::DoNotOptimize(co_await q.get());
}

// One item from this task (the producer) to a consumer suspended in get(); the producer
// yields after each put so that the consumer takes it and waits again.
aio::Coro<void> queue_handoff(benchmark::State& state) {
  aio::Queue<int> q;
  bool stop = false;
  auto consumer = aio::create_task(consume(q, stop));
  co_await aio::sleep(0);
  co_await q.put(-1);  // warm-up: the ring buffer allocates its first slots here
  co_await aio::sleep(0);
  long before = allocations();
  int i = 0;
  for (auto _ : state) {
    co_await q.put(i++);
    co_await aio::sleep(0);
  }
  report_allocs(state, allocations() - before);
  stop = true;
  q.put_nowait(0);
  co_await consumer;
}
void BM_QueueProducerConsumer(benchmark::State& state) { run_counting(state, queue_handoff); }
BENCHMARK(BM_QueueProducerConsumer);

// put_nowait + get_nowait on a queue that stays short: the ring buffer reuses its slots.
aio::Coro<void> queue_nowait(benchmark::State& state) {
  aio::Queue<int> q;
  q.put_nowait(0);
  long before = allocations();
  for (auto _ : state) {
    q.put_nowait(1);
    benchmark::DoNotOptimize(q.get_nowait());
  }
  report_allocs(state, allocations() - before);
  co_return;
}
void BM_QueueNowaitPair(benchmark::State& state) { run_counting(state, queue_nowait); }
BENCHMARK(BM_QueueNowaitPair);

aio::Coro<void> event_set_wait(benchmark::State& state) {
  aio::Event ev;
  long before = allocations();
  for (auto _ : state) {
    ev.set();
    co_await ev.wait();
    ev.clear();
  }
  report_allocs(state, allocations() - before);
}
void BM_EventSetWaitClear(benchmark::State& state) { run_counting(state, event_set_wait); }
BENCHMARK(BM_EventSetWaitClear);

}  // namespace

BENCHMARK_MAIN();
