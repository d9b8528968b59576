// Threads: aio::to_thread, loop.run_in_executor, aio::ThreadPoolExecutor,
// aio::run_coroutine_threadsafe, and the default executor's shutdown by aio::run / close().
//
// Ported in spirit from CPython's Lib/test/test_asyncio/test_threads.py (all of
// ToThreadTests but test_to_thread_contextvars), the run_in_executor cases of
// test_base_events.py / test_events.py (test_run_in_executor, test_run_in_executor_cancel,
// test_default_executor, test_set_default_executor) and test_tasks.py's
// RunCoroutineThreadsafeTests (test_run_coroutine_threadsafe, _with_exception,
// _with_timeout, _task_cancelled).
// Skipped: contextvars (aio has none), test_run_coroutine_threadsafe_task_factory_exception
// (no task factories), keyword arguments (C++ has none), concurrent.futures' own suite.
//
// Every test name contains "Thread" or "Executor": scripts/test.sh runs them under TSan.
// Ordering between threads uses gates (a latch with a bounded wait), never sleeps.
#include <gtest/gtest.h>

#include <aio/aio.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support.hpp"

using namespace aio_test;
using namespace std::chrono_literals;

namespace {

// A one-shot latch whose wait gives up after `limit` (so a library bug fails the test
// instead of hanging it).
class Gate {
 public:
  explicit Gate(int count = 1) : count_(count) {}
  void count_down() {
    std::lock_guard lock(mutex_);
    if (--count_ <= 0) cv_.notify_all();
  }
  bool wait(std::chrono::seconds limit = 30s) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, limit, [this] { return count_ <= 0; });
  }
  bool arrive_and_wait() {
    count_down();
    return wait();
  }
  bool is_open() {
    std::lock_guard lock(mutex_);
    return count_ <= 0;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int count_;
};

// Python's RuntimeError("test"): a std::runtime_error subclass that must arrive intact.
struct RuntimeErrorTest : std::runtime_error {
  explicit RuntimeErrorTest(const std::string& what, int code_) : std::runtime_error(what), code(code_) {}
  int code;
};

// Yields until `fut` is done (bounded).
template <class T>
aio::Coro<void> until_future_done(aio::Future<T> fut, int max_iterations = 100000) {
  for (int i = 0; i < max_iterations && !fut.done(); ++i) co_await aio::sleep(0);
}

// Counts the threads whose thread_local probe was destroyed, i.e. that have exited.
std::atomic<int> probes_destroyed{0};
struct ThreadProbe {
  bool armed = false;
  ~ThreadProbe() {
    if (armed) probes_destroyed.fetch_add(1);
  }
};
thread_local ThreadProbe thread_probe;

// Records the calling thread (once per thread) and arms its probe.
struct ThreadLog {
  std::mutex mutex;
  std::set<std::thread::id> ids;
  void record() {
    thread_probe.armed = true;
    std::lock_guard lock(mutex);
    ids.insert(std::this_thread::get_id());
  }
  std::size_t count() {
    std::lock_guard lock(mutex);
    return ids.size();
  }
};

// =========================================================================================
// to_thread (test_threads.py)
// =========================================================================================

int sum_of(std::vector<int> v) {
  int s = 0;
  for (int x : v) s += x;
  return s;
}

// test_to_thread
AIO_TEST(ToThread, ReturnsTheResult) {
  std::vector<int> numbers{40, 2};  // (GCC 12 rejects a braced list inside co_await)
  int result = co_await aio::to_thread(sum_of, numbers);
  EXPECT_EQ(result, 42);
}

// test_run_in_executor (test_events.py): the function runs on another thread.
AIO_TEST(ToThread, RunsOnAnotherThread) {
  auto here = std::this_thread::get_id();
  std::thread::id there = co_await aio::to_thread([] { return std::this_thread::get_id(); });
  EXPECT_NE(there, here);
}

// test_to_thread_exception: the exception's type and message cross the thread.
AIO_TEST(ToThread, ExceptionKeepsItsTypeAndMessage) {
  bool caught = false;
  try {
    co_await aio::to_thread([]() -> int { throw RuntimeErrorTest("test", 7); });
  } catch (const RuntimeErrorTest& e) {
    caught = true;
    EXPECT_STREQ(e.what(), "test");
    EXPECT_EQ(e.code, 7);
  }
  EXPECT_TRUE(caught);
  // aio's own error types too.
  std::exception_ptr e = co_await error_of(aio::to_thread([] { throw aio::TimeoutError("slow disk"); }));
  EXPECT_TRUE(holds<aio::TimeoutError>(e));
  EXPECT_EQ(what_of(e), "slow disk");
}

// test_to_thread_once
AIO_TEST(ToThread, CallsTheFunctionOnce) {
  std::atomic<int> calls{0};
  co_await aio::to_thread([&calls] { calls.fetch_add(1); });
  EXPECT_EQ(calls.load(), 1);
}

// test_to_thread_args_kwargs (positional arguments only)
AIO_TEST(ToThread, PassesArguments) {
  std::string got;
  co_await aio::to_thread([&got](std::string a, int b) { got = a + ":" + std::to_string(b); }, std::string("test"), 5);
  EXPECT_EQ(got, "test:5");
}

// Arguments are copied into the job when to_thread is called (like std::thread's), and
// std::ref shares instead.
AIO_TEST(ToThread, ArgumentsAreCopiedAtTheCallAndStdRefShares) {
  std::string s = "a";
  int shared = 0;
  aio::Coro<std::string> c = aio::to_thread(
      [](std::string x, int& out) {
        out = 99;
        return x + "x";
      },
      s, std::ref(shared));
  s = "changed before the job ran";
  EXPECT_EQ(co_await std::move(c), "ax");
  EXPECT_EQ(shared, 99);
}

AIO_TEST(ToThread, VoidFunction) {
  std::atomic<bool> ran{false};
  co_await aio::to_thread([&ran] { ran = true; });
  EXPECT_TRUE(ran.load());
}

AIO_TEST(ToThread, MoveOnlyArgumentsAndResult) {
  auto p = std::make_unique<int>(20);
  std::unique_ptr<int> r = co_await aio::to_thread(
      [](std::unique_ptr<int> in) {
        *in += 22;
        return in;
      },
      std::move(p));
  AIO_ASSERT_TRUE(r != nullptr);
  EXPECT_EQ(*r, 42);
}

// A function returning a reference: the result is a copy made on the worker.
const std::string& global_text() {
  static const std::string text = "static text";
  return text;
}
AIO_TEST(ToThread, AReferenceResultIsCopied) {
  std::string r = co_await aio::to_thread(global_text);
  EXPECT_EQ(r, "static text");
}

// Nothing runs until the coroutine is awaited (to_thread is a coroutine, as in asyncio).
AIO_TEST(ToThread, IsLazy) {
  std::atomic<int> calls{0};
  {
    LogCapture log;  // the test loop is in debug mode: the Coro is reported
    {
      aio::Coro<void> never = aio::to_thread([&calls] { calls.fetch_add(1); });
      (void)never;
    }
    EXPECT_TRUE(log.contains("was never awaited"));
  }
  aio::Coro<void> c = aio::to_thread([&calls] { calls.fetch_add(1); });
  co_await aio::sleep(0);
  EXPECT_EQ(calls.load(), 0);
  co_await std::move(c);
  EXPECT_EQ(calls.load(), 1);
}

// test_to_thread_concurrent
AIO_TEST(ToThread, ConcurrentCallsWithGather) {
  std::atomic<int> calls{0};
  std::vector<aio::Coro<void>> coros;
  for (int i = 0; i < 10; ++i) coros.push_back(aio::to_thread([&calls] { calls.fetch_add(1); }));
  co_await aio::gather(std::move(coros));
  EXPECT_EQ(calls.load(), 10);
}

AIO_TEST(ToThread, TwoHundredConcurrentCallsAllComplete) {
  constexpr int kCalls = 200;
  ThreadLog threads;
  std::vector<aio::Coro<int>> coros;
  for (int i = 0; i < kCalls; ++i)
    coros.push_back(aio::to_thread(
        [&threads](int x) {
          threads.record();
          return x * x;
        },
        i));
  std::vector<int> results = co_await aio::gather(std::move(coros));
  AIO_ASSERT_EQ(results.size(), static_cast<std::size_t>(kCalls));
  for (int i = 0; i < kCalls; ++i) EXPECT_EQ(results[i], i * i) << i;
  EXPECT_LE(threads.count(), aio::ThreadPoolExecutor::default_max_workers());
}

// Cancelling the task that awaits to_thread while the job runs: the task ends cancelled at
// once, the job runs to completion, and its outcome (here an exception) is dropped — no
// "exception was never retrieved" report (the harness fails on any loop report).
AIO_TEST(ToThread, CancellingTheAwaitingTaskWhileTheJobRunsDropsItsOutcome) {
  Gate started, release;
  std::atomic<bool> finished{false};
  auto job = [&]() -> int {
    started.count_down();
    release.wait();
    finished = true;
    throw Boom("too late: nobody is waiting");
  };
  aio::Task<int> t = aio::create_task(aio::to_thread(job));
  // Wait (off the loop's thread) until the job is known to run.
  bool running = co_await aio::to_thread([&started] { return started.wait(); });
  AIO_ASSERT_TRUE(running);
  EXPECT_TRUE(t.cancel());
  std::exception_ptr e = co_await error_of(t);
  EXPECT_TRUE(holds<aio::CancelledError>(e));
  EXPECT_TRUE(t.cancelled());
  EXPECT_FALSE(finished.load());
  release.count_down();
  // Joins the pool's threads; the job's (dropped) outcome is delivered before this returns.
  co_await aio::get_running_loop().shutdown_default_executor();
  EXPECT_TRUE(finished.load());
}

// The same with a result value, and a cancelled task that was waiting through wait_for.
AIO_TEST(ToThread, WaitForTimingOutLeavesTheJobRunningAndDropsItsResult) {
  Gate release;
  std::atomic<bool> finished{false};
  std::exception_ptr e = co_await error_of(aio::wait_for(aio::to_thread([&] {
                                                           release.wait();
                                                           finished = true;
                                                           return std::string("late result");
                                                         }),
                                                         0.01));
  EXPECT_TRUE(holds<aio::TimeoutError>(e));
  release.count_down();
  co_await aio::get_running_loop().shutdown_default_executor();
  EXPECT_TRUE(finished.load());
}

// =========================================================================================
// loop.run_in_executor and ThreadPoolExecutor
// =========================================================================================

// test_run_in_executor: the default executor (nullptr).
AIO_TEST(RunInExecutor, DefaultExecutorRunsTheFunctionOnAnotherThread) {
  auto here = std::this_thread::get_id();
  aio::Future<std::pair<std::string, std::thread::id>> f = aio::get_running_loop().run_in_executor(
      nullptr, [] { return std::pair(std::string("yo"), std::this_thread::get_id()); });
  auto [res, id] = co_await f;
  EXPECT_EQ(res, "yo");
  EXPECT_NE(id, here);
  EXPECT_TRUE(f.done());
}

AIO_TEST(RunInExecutor, VoidMoveOnlyAndExceptionsThroughAUserExecutor) {
  aio::ThreadPoolExecutor pool(2);
  aio::EventLoop& loop = aio::get_running_loop();
  std::atomic<int> hits{0};
  co_await loop.run_in_executor(&pool, [&hits] { hits.fetch_add(1); });
  EXPECT_EQ(hits.load(), 1);
  std::unique_ptr<std::string> p =
      co_await loop.run_in_executor(&pool, [] { return std::make_unique<std::string>("moved"); });
  AIO_ASSERT_TRUE(p != nullptr);
  EXPECT_EQ(*p, "moved");
  std::exception_ptr e =
      co_await error_of(loop.run_in_executor(&pool, []() -> int { throw std::invalid_argument("bad arg"); }));
  EXPECT_TRUE(holds<std::invalid_argument>(e));
  EXPECT_EQ(what_of(e), "bad arg");
  // A future whose exception is looked at through exception() instead of co_await.
  aio::Future<int> f = loop.run_in_executor(&pool, []() -> int { throw RuntimeErrorTest("test", 3); });
  co_await until_future_done(f);
  AIO_ASSERT_TRUE(f.done());
  EXPECT_TRUE(holds<RuntimeErrorTest>(f.exception()));
}

// A pool of 2 workers never runs more than 2 jobs at once, and does run 2 at once.
AIO_TEST(RunInExecutor, UserThreadPoolWithTwoWorkersLimitsConcurrency) {
  aio::ThreadPoolExecutor pool(2);
  aio::EventLoop& loop = aio::get_running_loop();
  EXPECT_EQ(pool.max_workers(), 2u);
  EXPECT_EQ(pool.thread_count(), 0u);  // lazily started
  std::atomic<int> running{0}, max_running{0}, started{0};
  Gate both_in(2), release;
  auto job = [&](int i) {
    int now = running.fetch_add(1) + 1;
    int prev = max_running.load();
    while (prev < now && !max_running.compare_exchange_weak(prev, now)) {
    }
    started.fetch_add(1);
    if (i < 2) {
      both_in.arrive_and_wait();  // the first two meet: two threads run at once
      release.wait();
    }
    running.fetch_sub(1);
    return i;
  };
  std::vector<aio::Future<int>> futs;
  for (int i = 0; i < 10; ++i) futs.push_back(loop.run_in_executor(&pool, [&job, i] { return job(i); }));
  // While the first two hold both workers, nothing else can start.
  bool both_running = co_await aio::to_thread([&both_in] { return both_in.wait(); });
  AIO_ASSERT_TRUE(both_running);
  EXPECT_EQ(started.load(), 2);
  EXPECT_EQ(pool.thread_count(), 2u);
  release.count_down();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(co_await futs[i], i);
  EXPECT_EQ(max_running.load(), 2);
  EXPECT_EQ(pool.thread_count(), 2u);
}

AIO_TEST(RunInExecutor, SubmitAfterShutdownThrowsUsageError) {
  aio::ThreadPoolExecutor pool(1);
  aio::EventLoop& loop = aio::get_running_loop();
  EXPECT_EQ(co_await loop.run_in_executor(&pool, [] { return 1; }), 1);
  pool.shutdown();
  pool.shutdown();  // idempotent
  try {
    pool.submit([] {});
    ADD_FAILURE() << "submit after shutdown did not throw";
  } catch (const aio::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("shutdown"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)loop.run_in_executor(&pool, [] { return 2; }), aio::UsageError);
  co_await spin();  // the refused call leaves nothing behind to report
}

AIO_TEST(RunInExecutor, AfterShutdownDefaultExecutorTheDefaultExecutorIsGone) {
  aio::EventLoop& loop = aio::get_running_loop();
  EXPECT_EQ(co_await aio::to_thread([] { return 5; }), 5);
  co_await loop.shutdown_default_executor();
  co_await loop.shutdown_default_executor();  // a second call does nothing
  EXPECT_THROW((void)loop.run_in_executor(nullptr, [] { return 1; }), aio::UsageError);
  std::exception_ptr e = co_await error_of(aio::to_thread([] { return 1; }));
  EXPECT_TRUE(holds<aio::UsageError>(e));
  // A user executor still works.
  aio::ThreadPoolExecutor pool(1);
  EXPECT_EQ(co_await loop.run_in_executor(&pool, [] { return 6; }), 6);
}

// An Executor that forwards to a ThreadPoolExecutor and counts.
struct CountingExecutor final : aio::Executor {
  struct Stats {
    std::atomic<int> submits{0};
    std::atomic<int> shutdowns{0};
  };
  explicit CountingExecutor(Stats& s) : stats(s) {}
  void submit(Job job) override {
    stats.submits.fetch_add(1);
    pool.submit(std::move(job));
  }
  void shutdown(bool wait) override {
    stats.shutdowns.fetch_add(1);
    pool.shutdown(wait);
  }
  Stats& stats;
  aio::ThreadPoolExecutor pool{1};
};

aio::Coro<int> main_with_custom_default_executor(CountingExecutor::Stats* stats) {
  aio::get_running_loop().set_default_executor(std::make_unique<CountingExecutor>(*stats));
  int a = co_await aio::to_thread([] { return 1; });
  int b = co_await aio::get_running_loop().run_in_executor(nullptr, [] { return 2; });
  co_return a + b;
}

// test_default_executor / test_set_default_executor: to_thread and run_in_executor(nullptr)
// use it; aio::run shuts it down.
TEST(RunInExecutor, SetDefaultExecutorIsUsedAndShutDownByRun) {
  CountingExecutor::Stats stats;
  EXPECT_EQ(aio::run(main_with_custom_default_executor(&stats)), 3);
  EXPECT_EQ(stats.submits.load(), 2);
  EXPECT_GE(stats.shutdowns.load(), 1);
}

// An executor that loses the jobs it is given: the future ends cancelled, as asyncio's
// does for jobs cancelled by shutdown(cancel_futures=True), instead of hanging.
struct DroppingExecutor final : aio::Executor {
  void submit(Job job) override { Job gone = std::move(job); }
  void shutdown(bool) override {}
};

AIO_TEST(RunInExecutor, AnExecutorThatDropsAJobCancelsTheFuture) {
  DroppingExecutor ex;
  std::atomic<bool> ran{false};
  aio::Future<int> f = aio::get_running_loop().run_in_executor(&ex, [&ran] {
    ran = true;
    return 1;
  });
  co_await until_future_done(f);
  EXPECT_TRUE(f.cancelled());
  EXPECT_FALSE(ran.load());
}

// test_run_in_executor_cancel: a future cancelled before the job finishes; the result that
// arrives later is dropped, shutdown_default_executor waits for the job, close is clean.
TEST(RunInExecutor, CancelledFutureThenShutdownDefaultExecutorAndClose) {
  std::vector<std::string> reports;
  std::atomic<bool> finished{false};
  Gate release;
  {
    aio::EventLoop loop;
    loop.set_exception_handler([&](aio::EventLoop&, const aio::ExceptionContext& c) { reports.push_back(c.message); });
    aio::Future<int> f = loop.run_in_executor(nullptr, [&] {
      release.wait();
      finished = true;
      return 1;
    });
    EXPECT_TRUE(f.cancel());
    release.count_down();
    loop.run_until_complete(loop.shutdown_default_executor());
    EXPECT_TRUE(finished.load());
    EXPECT_TRUE(f.cancelled());
    loop.close();
  }
  EXPECT_TRUE(reports.empty());
}

// close() waits for the default executor's threads: a job running at close() has finished
// (and its thread exited) when close() returns, and its late result is dropped.
TEST(RunInExecutor, CloseJoinsTheDefaultExecutorsThreads) {
  ThreadLog threads;
  const int probes_before = probes_destroyed.load();
  std::atomic<bool> finished{false};
  Gate started, release;
  aio::EventLoop loop;
  aio::Future<int> f = loop.run_in_executor(nullptr, [&] {
    threads.record();
    started.count_down();
    release.wait();
    finished = true;
    return 1;
  });
  ASSERT_TRUE(started.wait());
  release.count_down();
  loop.close();
  EXPECT_TRUE(finished.load());
  EXPECT_EQ(probes_destroyed.load() - probes_before, static_cast<int>(threads.count()));
  EXPECT_FALSE(f.done());
  EXPECT_THROW((void)loop.run_in_executor(nullptr, [] { return 1; }), aio::UsageError);
}

// A user executor may outlive the loop: a job still running when the loop is closed and
// destroyed finishes safely, its result is dropped and what it captured is released.
TEST(RunInExecutor, UserExecutorOutlivesTheLoop) {
  aio::ThreadPoolExecutor pool(1);
  Gate started, release;
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> watch = token;
  {
    aio::EventLoop loop;
    aio::Future<std::string> f = loop.run_in_executor(&pool, [&started, &release, token = std::move(token)] {
      started.count_down();
      release.wait();
      return std::string("nobody waits for this");
    });
    ASSERT_TRUE(started.wait());
    loop.close();
    EXPECT_FALSE(f.done());
  }  // the loop is destroyed while the job runs
  EXPECT_FALSE(watch.expired());
  release.count_down();
  pool.shutdown(true);
  EXPECT_TRUE(watch.expired());
}

// --- ThreadPoolExecutor on its own -----------------------------------------------------------

TEST(ThreadPoolExecutor, ZeroWorkersIsInvalidAndTheDefaultSizeIsAsyncios) {
  EXPECT_THROW(aio::ThreadPoolExecutor(0), std::invalid_argument);
  std::size_t cpus = std::max(1u, std::thread::hardware_concurrency());
  EXPECT_EQ(aio::ThreadPoolExecutor::default_max_workers(), std::min<std::size_t>(32, cpus + 4));
  aio::ThreadPoolExecutor pool;
  EXPECT_EQ(pool.max_workers(), aio::ThreadPoolExecutor::default_max_workers());
  EXPECT_EQ(pool.thread_count(), 0u);
}

// Jobs run in FIFO order; shutdown(wait) still runs the queued ones, then joins.
TEST(ThreadPoolExecutor, ShutdownRunsQueuedJobsInFifoOrderThenJoins) {
  aio::ThreadPoolExecutor pool(1);
  std::mutex m;
  std::vector<int> order;
  Gate release;
  pool.submit([&] {
    release.wait();
    std::lock_guard lock(m);
    order.push_back(0);
  });
  for (int i = 1; i <= 5; ++i)
    pool.submit([&, i] {
      std::lock_guard lock(m);
      order.push_back(i);
    });
  EXPECT_EQ(pool.thread_count(), 1u);
  release.count_down();
  pool.shutdown(true);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_THROW(pool.submit([] {}), aio::UsageError);
}

TEST(ThreadPoolExecutor, ShutdownWithoutWaitReturnsAtOnceAndTheDestructorJoins) {
  std::atomic<bool> finished{false};
  Gate started, release;
  {
    aio::ThreadPoolExecutor pool(1);
    pool.submit([&] {
      started.count_down();
      release.wait();
      finished = true;
    });
    ASSERT_TRUE(started.wait());
    pool.shutdown(false);  // returns while the job is blocked
    EXPECT_FALSE(finished.load());
    EXPECT_THROW(pool.submit([] {}), aio::UsageError);
    release.count_down();
  }  // the destructor joins
  EXPECT_TRUE(finished.load());
}

TEST(ThreadPoolExecutor, AJobThatThrowsIsLoggedAndThePoolGoesOn) {
  LogCapture log;
  std::atomic<bool> second{false};
  {
    aio::ThreadPoolExecutor pool(1);
    pool.submit([] { throw Boom("bad job"); });
    pool.submit([&] { second = true; });
    pool.shutdown(true);
  }
  EXPECT_TRUE(second.load());
  EXPECT_TRUE(log.contains("bad job"));
}

TEST(ThreadPoolExecutor, ShutdownFromOneOfItsOwnJobsDoesNotDeadlock) {
  std::atomic<bool> after{false};
  aio::ThreadPoolExecutor pool(2);
  Gate done;
  pool.submit([&] {
    pool.shutdown(true);  // joins the other thread (if any), not itself
    after = true;
    done.count_down();
  });
  ASSERT_TRUE(done.wait());
  EXPECT_TRUE(after.load());
  EXPECT_THROW(pool.submit([] {}), aio::UsageError);
}  // the destructor joins the thread that shut the pool down

// =========================================================================================
// run_coroutine_threadsafe (test_tasks.py RunCoroutineThreadsafeTests)
// =========================================================================================

aio::Coro<int> add(int a, int b, bool fail = false, bool cancel = false) {
  co_await aio::sleep(0.01);
  if (fail) throw std::runtime_error("Fail!");
  if (cancel) {
    aio::current_task()->cancel();
    co_await aio::sleep(0);
  }
  co_return a + b;
}

// CPython's `target`: from an executor job, submit add() to the loop and block on it.
int target(aio::EventLoop* loop, bool fail, bool cancel) {
  return aio::run_coroutine_threadsafe(add(1, 2, fail, cancel), *loop).get();
}

// test_run_coroutine_threadsafe
AIO_TEST(RunCoroutineThreadsafe, FromAnExecutorJob) {
  aio::EventLoop& loop = aio::get_running_loop();
  EXPECT_EQ(co_await loop.run_in_executor(nullptr, [&loop] { return target(&loop, false, false); }), 3);
}

// test_run_coroutine_threadsafe_with_exception
AIO_TEST(RunCoroutineThreadsafe, WithException) {
  aio::EventLoop& loop = aio::get_running_loop();
  std::exception_ptr e =
      co_await error_of(loop.run_in_executor(nullptr, [&loop] { return target(&loop, true, false); }));
  EXPECT_TRUE(holds<std::runtime_error>(e));
  EXPECT_EQ(what_of(e), "Fail!");
}

// test_run_coroutine_threadsafe_task_cancelled: the std::future holds CancelledError.
AIO_TEST(RunCoroutineThreadsafe, TaskCancelled) {
  aio::EventLoop& loop = aio::get_running_loop();
  bool got_cancelled = co_await aio::to_thread([&loop] {
    try {
      target(&loop, false, true);
    } catch (const aio::CancelledError&) {
      return true;
    }
    return false;
  });
  EXPECT_TRUE(got_cancelled);
}

aio::Coro<int> wait_for_event(aio::Event* ev, int v) {
  co_await ev->wait();
  co_return v;
}

// test_run_coroutine_threadsafe_with_timeout: the std::future is not ready while the
// coroutine waits (here on an event the job sets afterwards).
AIO_TEST(RunCoroutineThreadsafe, WithTimeout) {
  aio::EventLoop& loop = aio::get_running_loop();
  aio::Event ev;
  auto [timed_out, value] = co_await aio::to_thread([&loop, &ev] {
    std::future<int> f = aio::run_coroutine_threadsafe(wait_for_event(&ev, 11), loop);
    bool t = f.wait_for(0ms) == std::future_status::timeout;
    loop.call_soon_threadsafe([&ev] { ev.set(); });
    return std::pair(t, f.get());
  });
  EXPECT_TRUE(timed_out);
  EXPECT_EQ(value, 11);
}

aio::Coro<void> raise_boom() {
  co_await aio::sleep(0);
  throw Boom("from the loop");
}

aio::Coro<std::unique_ptr<int>> make_unique_int(int v) {
  co_await aio::sleep(0);
  co_return std::make_unique<int>(v);
}

// From a plain std::thread while the loop runs: a value, an exception, a move-only value.
AIO_TEST(RunCoroutineThreadsafe, FromAPlainThreadWhileTheLoopRuns) {
  aio::EventLoop& loop = aio::get_running_loop();
  aio::Event done;
  int value = 0;
  std::string error;
  int unique = 0;
  std::thread th([&] {
    // The exception object is shared with the loop thread, and libstdc++'s reference count
    // on it is invisible to ThreadSanitizer (not instrumented). Handing our reference back
    // through call_soon_threadsafe makes the release that frees it visibly ordered after
    // our reads of it; otherwise TSan reports a (false) race.
    std::exception_ptr handed_back;
    try {
      value = aio::run_coroutine_threadsafe(value_after(0.001, 7), loop).get();
      try {
        aio::run_coroutine_threadsafe(raise_boom(), loop).get();
      } catch (const Boom& e) {
        error = e.what();
        handed_back = std::current_exception();
      }
      unique = *aio::run_coroutine_threadsafe(make_unique_int(5), loop).get();
    } catch (...) {
      error = "unexpected: " + aio::describe(std::current_exception());
    }
    loop.call_soon_threadsafe([&done, e = std::move(handed_back)] { done.set(); });
  });
  co_await done.wait();
  th.join();
  EXPECT_EQ(value, 7);
  EXPECT_EQ(error, "from the loop");
  EXPECT_EQ(unique, 5);
}

TEST(RunCoroutineThreadsafe, ClosedLoopPutsAnExceptionInTheFuture) {
  aio::EventLoop loop;
  loop.close();
  std::future<int> f;
  std::thread th([&] { f = aio::run_coroutine_threadsafe(one(), loop); });
  th.join();
  try {
    f.get();
    ADD_FAILURE() << "no exception";
  } catch (const aio::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("closed"), std::string::npos) << e.what();
  }
}

// Submitted while the loop is not running, then the loop is closed: the coroutine never
// ran, and the future says why instead of hanging or breaking its promise.
TEST(RunCoroutineThreadsafe, LoopClosedBeforeTheCoroutineRan) {
  std::future<void> f;
  {
    aio::EventLoop loop;
    std::thread th([&] { f = aio::run_coroutine_threadsafe(nap(0), loop); });
    th.join();
    loop.close();
  }
  try {
    f.get();
    ADD_FAILURE() << "no exception";
  } catch (const aio::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("closed"), std::string::npos) << e.what();
  }
}

// Running a whole aio::run on a second thread and feeding it from this one.
aio::Coro<void> serve_until_stopped(aio::EventLoop** out, Gate* ready, aio::Event** stop) {
  aio::Event ev;
  *out = &aio::get_running_loop();
  *stop = &ev;
  ready->count_down();
  co_await ev.wait();
}

aio::Coro<void> set_event(aio::Event* ev) {
  ev->set();
  co_return;
}

TEST(RunCoroutineThreadsafe, IntoALoopRunningOnAnotherThread) {
  aio::EventLoop* loop = nullptr;
  aio::Event* stop = nullptr;
  Gate ready;
  std::thread th([&] { aio::run(serve_until_stopped(&loop, &ready, &stop)); });
  ASSERT_TRUE(ready.wait());
  std::vector<std::future<int>> futs;
  for (int i = 0; i < 20; ++i) futs.push_back(aio::run_coroutine_threadsafe(value_after(0.001, i), *loop));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(futs[i].get(), i);
  aio::run_coroutine_threadsafe(set_event(stop), *loop).get();
  th.join();
}

// =========================================================================================
// call_soon_threadsafe from many threads at once
// =========================================================================================

aio::Coro<void> wait_event(aio::Event* ev) { co_await ev->wait(); }

AIO_TEST(ExecutorThreads, CallSoonThreadsafeFromEightThreadsAtOnce) {
  constexpr int kThreads = 8;
  constexpr int kEach = 500;
  aio::EventLoop& loop = aio::get_running_loop();
  aio::Event all_in;
  int total = 0;                          // loop thread only
  std::vector<int> per_thread(kThreads);  // loop thread only
  Gate go;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      go.wait();
      for (int i = 0; i < kEach; ++i)
        loop.call_soon_threadsafe([&, t] {
          ++per_thread[t];
          if (++total == kThreads * kEach) all_in.set();
        });
    });
  go.count_down();  // all eight start together
  co_await aio::wait_for(wait_event(&all_in), 30);
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(total, kThreads * kEach);
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(per_thread[t], kEach) << "thread " << t;
}

// =========================================================================================
// aio::run and the default executor
// =========================================================================================

aio::Coro<int> main_using_threads(ThreadLog* threads) {
  std::vector<aio::Coro<int>> coros;
  for (int i = 0; i < 20; ++i)
    coros.push_back(aio::to_thread(
        [threads](int x) {
          threads->record();
          return x;
        },
        i));
  std::vector<int> r = co_await aio::gather(std::move(coros));
  int sum = 0;
  for (int x : r) sum += x;
  co_return sum;
}

// asyncio.run shuts the default executor down: when aio::run returns, every thread it
// started has exited (their thread_local destructors ran).
TEST(ThreadRun, ShutsTheDefaultExecutorDownAndJoinsItsThreads) {
  ThreadLog threads;
  const int before = probes_destroyed.load();
  EXPECT_EQ(aio::run(main_using_threads(&threads)), 190);
  EXPECT_GE(threads.count(), 1u);
  EXPECT_EQ(probes_destroyed.load() - before, static_cast<int>(threads.count()));
}

aio::Coro<void> main_leaving_a_job_running(Gate* started, Gate* release, std::atomic<bool>* finished) {
  // A task awaiting to_thread is left running: aio::run cancels it, but the job goes on.
  aio::Task<void> t = aio::create_task(aio::to_thread([=] {
    started->count_down();
    release->wait();
    *finished = true;
  }));
  co_await aio::to_thread([started] { started->wait(); });
  release->count_down();
}

TEST(ThreadRun, WaitsForAJobWhoseTaskWasCancelled) {
  Gate started, release;
  std::atomic<bool> finished{false};
  aio::run(main_leaving_a_job_running(&started, &release, &finished));
  EXPECT_TRUE(finished.load());
}

// The default executor is shut down while the loop still runs (asyncio runs
// shutdown_default_executor on the loop): a job may still need the loop then.
aio::Coro<void> open_gate_when_cancelled(Gate* gate) {
  aio::Event never;
  try {
    co_await never.wait();
  } catch (const aio::CancelledError&) {
    gate->count_down();  // aio::run's shutdown has begun
    throw;
  }
}

aio::Coro<void> main_with_a_job_that_needs_the_loop_at_shutdown(int* got) {
  aio::EventLoop& loop = aio::get_running_loop();
  auto gate = std::make_shared<Gate>();
  aio::create_task(open_gate_when_cancelled(gate.get()));
  // Fire and forget: nobody awaits this future.
  (void)loop.run_in_executor(nullptr, [gate, &loop, got] {
    if (!gate->wait()) return;
    *got = aio::run_coroutine_threadsafe(value(5), loop).get();
  });
  co_await aio::sleep(0);
}

TEST(ThreadRun, JobsMayStillUseTheLoopWhileTheDefaultExecutorShutsDown) {
  int got = 0;
  aio::run(main_with_a_job_that_needs_the_loop_at_shutdown(&got));
  EXPECT_EQ(got, 5);
}

}  // namespace
