// Stress: many tasks, deep await chains, and cancellation injected at every step.
#include <random>
#include <vector>

#include <aio/testing.hpp>

#include "support.hpp"

using namespace aio_test;

namespace {

aio::Coro<long> nested(int depth) {
  if (depth == 0) co_return 0;
  co_return 1 + co_await nested(depth - 1);
}

// Objects alive in coroutine frames: cancellation must destroy every one of them.
int g_alive = 0;
struct Tracker {
  Tracker() { ++g_alive; }
  Tracker(const Tracker&) = delete;
  ~Tracker() { --g_alive; }
};

aio::Coro<void> leaf_step(aio::Future<int> fut, int kind) {
  Tracker t;
  switch (kind % 4) {
    case 0:
      co_await aio::sleep(0);
      break;
    case 1:
      co_await aio::sleep(0.0005);
      break;
    case 2:
      (void)co_await fut;
      break;
    case 3:
      (void)co_await aio::create_task(one());
      break;
  }
}

aio::Coro<int> multi_step(aio::Future<int> fut, int steps, int& completed_steps) {
  Tracker t;
  for (int i = 0; i < steps; ++i) {
    co_await leaf_step(fut, i);
    ++completed_steps;
  }
  co_return completed_steps;
}

}  // namespace

AIO_TEST(Stress, MillionTasks) {
  std::vector<aio::Task<int>> tasks;
  tasks.reserve(1'000'000);
  for (int i = 0; i < 1'000'000; ++i) tasks.push_back(aio::create_task(one()));
  long sum = 0;
  for (auto& t : tasks) sum += co_await t;
  EXPECT_EQ(sum, 1'000'000);
  EXPECT_EQ(aio::all_tasks().size(), 1u);  // only the test body is left
}

AIO_TEST(Stress, MillionTasksParkedOnOneFutureAllWake) {
  aio::Future<int> release;
  std::vector<aio::Task<int>> tasks;
  tasks.reserve(1'000'000);
  for (int i = 0; i < 1'000'000; ++i)
    tasks.push_back(aio::create_task([](aio::Future<int> f) -> aio::Coro<int> { co_return co_await f; }(release)));
  co_await aio::sleep(0);
  release.set_result(2);
  auto results = co_await aio::gather(std::move(tasks));
  long sum = 0;
  for (int r : results) sum += r;
  EXPECT_EQ(sum, 2'000'000);
}

AIO_TEST(Stress, MillionNestedAwaits) { EXPECT_EQ(co_await nested(1'000'000), 1'000'000); }

AIO_TEST(Stress, CancellationAtEveryStepLeavesNothingBehind) {
  // For every k, cancel the coroutine right after its k-th completed step; the task must
  // end cancelled with every frame object destroyed and no task left running.
  constexpr int kSteps = 24;
  for (int k = 0; k <= kSteps; ++k) {
    aio::Future<int> fut;
    int completed = 0;
    auto task = aio::create_task(multi_step(fut, kSteps, completed));
    while (completed < k && !task.done()) {
      if (!fut.done()) fut.set_result(7);  // steps awaiting the future may proceed
      co_await aio::sleep(0);
    }
    bool cancelled_in_time = task.cancel();
    try {
      (void)co_await task;
    } catch (const aio::CancelledError&) {
    }
    if (cancelled_in_time) {
      EXPECT_TRUE(task.cancelled()) << "k=" << k;
      EXPECT_LT(completed, kSteps) << "k=" << k;
    }
    EXPECT_EQ(g_alive, 0) << "frame objects leaked at k=" << k;
    EXPECT_EQ(aio::all_tasks().size(), 1u) << "tasks left at k=" << k;
  }
}

AIO_TEST(Stress, RandomCancellationsNeverLoseATask) {
  std::mt19937 rng(12345);
  constexpr int kTasks = 2000;
  std::vector<aio::Future<int>> futs(kTasks);  // one each: a cancelled awaiter cancels its future (asyncio)
  std::vector<int> completed(kTasks, 0);
  std::vector<aio::Task<int>> tasks;
  for (std::size_t i = 0; i < kTasks; ++i) tasks.push_back(aio::create_task(multi_step(futs[i], 8, completed[i])));
  int cancels = 0;
  for (int round = 0; round < 50; ++round) {
    for (int j = 0; j < 40; ++j) {
      auto& t = tasks[rng() % kTasks];
      if (t.cancel()) ++cancels;
    }
    if (round == 10)
      for (auto& f : futs)
        if (!f.done()) f.set_result(1);
    co_await aio::sleep(0);
  }
  auto outcomes = co_await aio::gather(aio::return_exceptions, std::move(tasks));
  int ok = 0, cancelled = 0;
  for (auto& o : outcomes) {
    if (o.ok()) {
      ++ok;
      EXPECT_EQ(o.value(), 8);
    } else {
      try {
        std::rethrow_exception(o.exception());
      } catch (const aio::CancelledError&) {
        ++cancelled;
      } catch (...) {
        ADD_FAILURE() << "unexpected exception";
      }
    }
  }
  EXPECT_EQ(ok + cancelled, kTasks);
  EXPECT_GT(cancelled, 0);
  EXPECT_GT(ok, 0);
  EXPECT_EQ(g_alive, 0);
  EXPECT_GT(cancels, 0);
}
