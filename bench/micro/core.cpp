// Micro costs of the core runtime (Google Benchmark). Peers are compared in
// bench/run_core.py; these isolate single operations and count heap allocations.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include <aio/aio.hpp>

#include "alloc_counter.hpp"

namespace {

aio::Coro<int> trivial() { co_return 1; }

template <class F>
void run_in_loop(benchmark::State& state, F body) {
  aio::run([&]() -> aio::Coro<void> {
    long allocs_before = 0;
    bool counting = false;
    for (auto _ : state) {
      if (!counting) {
        counting = true;
        allocs_before = allocations();
      }
      co_await body();
    }
    state.counters["allocs/op"] =
        benchmark::Counter(static_cast<double>(allocations() - allocs_before), benchmark::Counter::kAvgIterations);
  }());
}

void BM_AwaitCoro(benchmark::State& state) {
  run_in_loop(state, []() -> aio::Coro<void> { benchmark::DoNotOptimize(co_await trivial()); });
}
BENCHMARK(BM_AwaitCoro);

void BM_CreateRunAwaitTask(benchmark::State& state) {
  run_in_loop(state, []() -> aio::Coro<void> { benchmark::DoNotOptimize(co_await aio::create_task(trivial())); });
}
BENCHMARK(BM_CreateRunAwaitTask);

void BM_Sleep0(benchmark::State& state) {
  run_in_loop(state, []() -> aio::Coro<void> { co_await aio::sleep(0); });
}
BENCHMARK(BM_Sleep0);

void BM_FutureSetAndAwait(benchmark::State& state) {
  run_in_loop(state, []() -> aio::Coro<void> {
    aio::Future<int> f;
    f.set_result(1);
    benchmark::DoNotOptimize(co_await f);
  });
}
BENCHMARK(BM_FutureSetAndAwait);

void BM_SleepTimer(benchmark::State& state) {
  run_in_loop(state, []() -> aio::Coro<void> { co_await aio::sleep(1e-9); });
}
BENCHMARK(BM_SleepTimer);

void BM_Gather2(benchmark::State& state) {
  run_in_loop(state, []() -> aio::Coro<void> { benchmark::DoNotOptimize(co_await aio::gather(trivial(), trivial())); });
}
BENCHMARK(BM_Gather2);

// What a loop costs to make, run once and close, per backend: aio::run of a trivial
// coroutine (epoll: epoll_create, an eventfd and their close; io_uring: adopting and
// parking the thread's kept ring, set up once before the timing). Skipped where the
// kernel refuses io_uring.
void BM_RunTrivialLoop(benchmark::State& state) {
  const auto backend = static_cast<aio::Backend>(state.range(0));
  try {
    aio::run(trivial(), {.backend = backend});
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(aio::run(trivial(), {.backend = backend}));
}
BENCHMARK(BM_RunTrivialLoop)
    ->Arg(static_cast<int>(aio::Backend::epoll))
    ->Arg(static_cast<int>(aio::Backend::io_uring))
    ->ArgName("backend(1=epoll,2=io_uring)");

// The same with a loop that waits in its backend once (a 1 us sleep: the ring is enabled,
// its wake-up read armed, and at the close everything is cancelled and drained).
aio::Coro<int> waits_once() {
  co_await aio::sleep(1e-6);
  co_return 1;
}
void BM_RunLoopThatWaitsOnce(benchmark::State& state) {
  const auto backend = static_cast<aio::Backend>(state.range(0));
  try {
    aio::run(waits_once(), {.backend = backend});
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(aio::run(waits_once(), {.backend = backend}));
}
BENCHMARK(BM_RunLoopThatWaitsOnce)
    ->Arg(static_cast<int>(aio::Backend::epoll))
    ->Arg(static_cast<int>(aio::Backend::io_uring))
    ->ArgName("backend(1=epoll,2=io_uring)");

}  // namespace

BENCHMARK_MAIN();
