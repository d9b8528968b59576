// aio::wait — ported from CPython's Lib/test/test_asyncio/test_tasks.py (test_wait,
// test_wait_first_completed, test_wait_really_done, test_wait_first_exception,
// test_wait_first_exception_in_wait, test_wait_with_exception, test_wait_with_timeout,
// test_wait_concurrent_complete, test_wait_duplicate_coroutines, test_wait_errors,
// test_wait_invalid_args, test_yield_wait_does_not_shield_cancel) and API.md's
// asyncio.wait contract.
//
// Skipped (Python-only): passing coroutines / iterators / generators / a bare future
// (TypeError or deprecation paths: aio takes std::vector<Task<T>>, checked at compile
// time), an invalid return_when value (an enum here), the test loop's virtual clock
// (real small delays are used instead), set-vs-list result types.

#include <gtest/gtest.h>

#include <aio/aio.hpp>
#include <aio/testing.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <exception>
#include <limits>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "support.hpp"

using namespace aio_test;

// Note: `{.return_when = ...}` alone trips GCC 12's -Wmissing-field-initializers
// (WaitOptions::timeout has no default member initializer), hence the explicit nullopt.

namespace {

aio::Coro<int> fail_now(std::string what) {
  throw Boom(what);
  co_return 0;
}

aio::Coro<int> fail_after(double d, std::string what) {
  co_await aio::sleep(d);
  throw Boom(what);
}

template <class T>
std::set<int> results_of(const std::vector<aio::Task<T>>& v) {
  std::set<int> out;
  for (const auto& t : v) out.insert(t.result());
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// ALL_COMPLETED (the default).

AIO_TEST(Wait, AllCompleted) {
  // test_wait
  auto a = aio::create_task(value_after(0.01, 1));
  auto b = aio::create_task(value_after(0.02, 2));
  const double t0 = aio::get_running_loop().time();
  std::vector<aio::Task<int>> tasks{b, a};
  auto [done, pending] = co_await aio::wait(tasks);
  EXPECT_GE(aio::get_running_loop().time() - t0, 0.019);
  EXPECT_EQ(done.size(), 2u);
  EXPECT_TRUE(contains(done, a));
  EXPECT_TRUE(contains(done, b));
  EXPECT_TRUE(pending.empty());
  EXPECT_EQ(results_of(done), (std::set<int>{1, 2}));

  // Doing it again finds everything done already (a different path).
  auto again = co_await aio::wait(tasks);
  EXPECT_EQ(again.done.size(), 2u);
  EXPECT_TRUE(again.pending.empty());
}

AIO_TEST(Wait, AllCompletedWithException) {
  // test_wait_with_exception: wait() itself never raises for the tasks.
  auto a = aio::create_task(value_after(0.01, 1));
  auto b = aio::create_task(fail_after(0.02, "really"));
  std::vector<aio::Task<int>> tasks{b, a};
  auto [done, pending] = co_await aio::wait(tasks);
  EXPECT_EQ(done.size(), 2u);
  EXPECT_TRUE(pending.empty());
  int errors = 0;
  for (auto& t : done)
    if (t.exception()) ++errors;
  EXPECT_EQ(errors, 1);
  EXPECT_THROW(b.result(), Boom);
}

AIO_TEST(Wait, VoidTasks) {
  std::vector<aio::Task<void>> tasks{aio::create_task(spin(1)), aio::create_task(spin(3))};
  auto r = co_await aio::wait(tasks);
  EXPECT_EQ(r.done.size(), 2u);
  EXPECT_TRUE(r.pending.empty());
  for (auto& t : tasks) EXPECT_TRUE(t.done());
}

AIO_TEST(Wait, DuplicateTasks) {
  // test_wait_duplicate_coroutines: the same task twice is fine.
  auto c = aio::create_task(value_after(0.001, 1));
  auto s = aio::create_task(value_after(0.002, 2));
  std::vector<aio::Task<int>> tasks{c, c, s};
  auto [done, pending] = co_await aio::wait(tasks);
  EXPECT_TRUE(pending.empty());
  EXPECT_EQ(results_of(done), (std::set<int>{1, 2}));
}

AIO_TEST(Wait, ManyTasks) {
  std::vector<aio::Task<void>> tasks;
  for (int i = 0; i < 1000; ++i) tasks.push_back(aio::create_task(spin(1 + i % 4)));
  auto r = co_await aio::wait(tasks);
  EXPECT_EQ(r.done.size(), 1000u);
  EXPECT_TRUE(r.pending.empty());
}

// ---------------------------------------------------------------------------------------
// FIRST_COMPLETED.

AIO_TEST(Wait, FirstCompleted) {
  // test_wait_first_completed
  aio::Future<int> fa;
  auto a = aio::create_task(await_future(fa));
  auto b = aio::create_task(value_after(0.01, 2));
  std::vector<aio::Task<int>> tasks{b, a};
  // Named, not a structured binding: Clang 14 cannot capture those in AIO_ASSERT_*.
  auto waited = co_await aio::wait(tasks, {.timeout = std::nullopt, .return_when = aio::FIRST_COMPLETED});
  auto& done = waited.done;
  auto& pending = waited.pending;
  AIO_ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0] == b);
  AIO_ASSERT_EQ(pending.size(), 1u);
  EXPECT_TRUE(pending[0] == a);
  EXPECT_FALSE(a.done());
  EXPECT_FALSE(a.cancelled());
  EXPECT_TRUE(b.done());
  EXPECT_EQ(b.result(), 2);
  fa.set_result(1);
  EXPECT_EQ(co_await a, 1);
}

AIO_TEST(Wait, FirstCompletedReallyDone) {
  // test_wait_really_done: whatever is in `done` is really done, whatever is in
  // `pending` really is not.
  auto a = aio::create_task(spin(1));
  auto b = aio::create_task(spin(2));
  std::vector<aio::Task<void>> tasks{b, a};
  auto [done, pending] = co_await aio::wait(tasks, {.timeout = std::nullopt, .return_when = aio::FIRST_COMPLETED});
  EXPECT_TRUE(contains(done, a));
  EXPECT_EQ(done.size() + pending.size(), 2u);
  for (auto& t : done) EXPECT_TRUE(t.done());
  for (auto& t : pending) EXPECT_FALSE(t.done());
  co_await b;
}

AIO_TEST(Wait, FirstCompletedAlreadyDone) {
  auto a = aio::create_task(value_after(0, 1));
  aio::Future<int> never;
  auto b = aio::create_task(await_future(never));
  co_await spin();
  AIO_ASSERT_TRUE(a.done());
  std::vector<aio::Task<int>> tasks{b, a};
  // Named, not a structured binding: Clang 14 cannot capture those in AIO_ASSERT_*.
  auto waited = co_await aio::wait(tasks, {.timeout = std::nullopt, .return_when = aio::FIRST_COMPLETED});
  auto& done = waited.done;
  auto& pending = waited.pending;
  AIO_ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0] == a);
  AIO_ASSERT_EQ(pending.size(), 1u);
  EXPECT_TRUE(pending[0] == b);
  b.cancel();
  EXPECT_THROW(co_await b, aio::CancelledError);
}

// ---------------------------------------------------------------------------------------
// FIRST_EXCEPTION.

AIO_TEST(Wait, FirstExceptionAlreadyFailed) {
  // test_wait_first_exception: the task already has an exception.
  aio::Future<int> fa;
  auto a = aio::create_task(await_future(fa));
  auto b = aio::create_task(fail_now("err"));
  co_await aio::sleep(0);
  AIO_ASSERT_TRUE(b.done());
  std::vector<aio::Task<int>> tasks{b, a};
  // Named, not a structured binding: Clang 14 cannot capture those in AIO_ASSERT_*.
  auto waited = co_await aio::wait(tasks, {.timeout = std::nullopt, .return_when = aio::FIRST_EXCEPTION});
  auto& done = waited.done;
  auto& pending = waited.pending;
  AIO_ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0] == b);
  AIO_ASSERT_EQ(pending.size(), 1u);
  EXPECT_TRUE(pending[0] == a);
  EXPECT_THROW(b.result(), Boom);
  fa.set_result(1);
  EXPECT_EQ(co_await a, 1);
}

AIO_TEST(Wait, FirstExceptionDuringTheWait) {
  // test_wait_first_exception_in_wait
  aio::Future<int> fa;
  auto a = aio::create_task(await_future(fa));
  auto b = aio::create_task(fail_after(0.01, "err"));
  std::vector<aio::Task<int>> tasks{b, a};
  const double t0 = aio::get_running_loop().time();
  // Named, not a structured binding: Clang 14 cannot capture those in AIO_ASSERT_*.
  auto waited = co_await aio::wait(tasks, {.timeout = std::nullopt, .return_when = aio::FIRST_EXCEPTION});
  auto& done = waited.done;
  auto& pending = waited.pending;
  EXPECT_GE(aio::get_running_loop().time() - t0, 0.009);
  AIO_ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0] == b);
  AIO_ASSERT_EQ(pending.size(), 1u);
  EXPECT_TRUE(pending[0] == a);
  EXPECT_THROW(b.result(), Boom);
  fa.set_result(1);
  EXPECT_EQ(co_await a, 1);
}

AIO_TEST(Wait, FirstExceptionWithoutAnyExceptionWaitsForAll) {
  auto a = aio::create_task(value_after(0.01, 1));
  auto b = aio::create_task(value_after(0.02, 2));
  std::vector<aio::Task<int>> tasks{a, b};
  auto [done, pending] = co_await aio::wait(tasks, {.timeout = std::nullopt, .return_when = aio::FIRST_EXCEPTION});
  EXPECT_EQ(done.size(), 2u);
  EXPECT_TRUE(pending.empty());
  EXPECT_EQ(results_of(done), (std::set<int>{1, 2}));
}

aio::Coro<aio::WaitResult<int>> wait_first_exception(std::vector<aio::Task<int>> tasks) {
  co_return co_await aio::wait(tasks, {.timeout = std::nullopt, .return_when = aio::FIRST_EXCEPTION});
}

AIO_TEST(Wait, FirstExceptionIgnoresCancellation) {
  // asyncio's FIRST_EXCEPTION counts only tasks that raised, not cancelled ones.
  aio::Future<int> fa, fb;
  auto a = aio::create_task(await_future(fa));
  auto b = aio::create_task(await_future(fb));
  std::vector<aio::Task<int>> tasks{a, b};
  auto w = aio::create_task(wait_first_exception(tasks));
  co_await spin();
  a.cancel();
  co_await spin();
  EXPECT_TRUE(a.cancelled());
  EXPECT_FALSE(w.done()) << "a cancelled task is not an exception for FIRST_EXCEPTION";
  fb.set_result(2);
  auto r = co_await w;
  EXPECT_EQ(r.done.size(), 2u);
  EXPECT_TRUE(r.pending.empty());
}

// ---------------------------------------------------------------------------------------
// Timeout: returns with pending tasks, never cancels them.

AIO_TEST(Wait, TimeoutReturnsPendingTasks) {
  // test_wait_with_timeout / test_wait_concurrent_complete
  aio::Future<int> fb;
  auto a = aio::create_task(value_after(0.01, 1));
  auto b = aio::create_task(await_future(fb));
  std::vector<aio::Task<int>> tasks{b, a};
  const double t0 = aio::get_running_loop().time();
  // Named, not a structured binding: Clang 14 cannot capture those in AIO_ASSERT_*.
  auto waited = co_await aio::wait(tasks, {.timeout = 0.05});
  auto& done = waited.done;
  auto& pending = waited.pending;
  EXPECT_GE(aio::get_running_loop().time() - t0, 0.049);
  AIO_ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0] == a);
  AIO_ASSERT_EQ(pending.size(), 1u);
  EXPECT_TRUE(pending[0] == b);
  EXPECT_FALSE(b.done());
  EXPECT_FALSE(b.cancelled()) << "wait() never cancels";
  EXPECT_EQ(b.cancelling(), 0);
  fb.set_result(2);
  EXPECT_EQ(co_await b, 2);
}

AIO_TEST(Wait, TimeoutWithFirstCompletedNobodyCompletes) {
  aio::Future<int> f1, f2;
  auto a = aio::create_task(await_future(f1));
  auto b = aio::create_task(await_future(f2));
  std::vector<aio::Task<int>> tasks{a, b};
  auto [done, pending] = co_await aio::wait(tasks, {.timeout = 0.01, .return_when = aio::FIRST_COMPLETED});
  EXPECT_TRUE(done.empty());
  EXPECT_EQ(pending.size(), 2u);
  f1.set_result(1);
  f2.set_result(2);
  EXPECT_EQ(co_await a, 1);
  EXPECT_EQ(co_await b, 2);
}

AIO_TEST(Wait, TimeoutZero) {
  aio::Future<int> f;
  auto a = aio::create_task(await_future(f));
  std::vector<aio::Task<int>> tasks{a};
  auto [done, pending] = co_await aio::wait(tasks, {.timeout = 0});
  EXPECT_TRUE(done.empty());
  EXPECT_EQ(pending.size(), 1u);
  EXPECT_FALSE(a.cancelled());
  f.set_result(1);
  EXPECT_EQ(co_await a, 1);
}

AIO_TEST(Wait, TimeoutAsChronoDuration) {
  aio::Future<int> f;
  auto a = aio::create_task(await_future(f));
  std::vector<aio::Task<int>> tasks{a};
  const double t0 = aio::get_running_loop().time();
  auto r = co_await aio::wait(tasks, {.timeout = std::chrono::milliseconds(20)});
  EXPECT_GE(aio::get_running_loop().time() - t0, 0.019);
  EXPECT_EQ(r.pending.size(), 1u);
  f.set_result(1);
  co_await a;
}

AIO_TEST(Wait, EverythingDoneBeforeTheTimeout) {
  auto a = aio::create_task(value_after(0.01, 1));
  std::vector<aio::Task<int>> tasks{a};
  const double t0 = aio::get_running_loop().time();
  auto r = co_await aio::wait(tasks, {.timeout = 5.0});
  EXPECT_LT(aio::get_running_loop().time() - t0, 2.5) << "wait() must return as soon as the tasks are done";
  EXPECT_EQ(r.done.size(), 1u);
  // The timer is gone: sleeping past nothing in particular is not disturbed.
  co_await aio::sleep(0.01);
}

AIO_TEST(Wait, InfiniteTimeout) {
  auto a = aio::create_task(value_after(0.001, 1));
  std::vector<aio::Task<int>> tasks{a};
  auto r = co_await aio::wait(tasks, {.timeout = std::numeric_limits<double>::infinity()});
  EXPECT_EQ(r.done.size(), 1u);
}

// ---------------------------------------------------------------------------------------
// Already-done tasks, and the empty vector.

AIO_TEST(Wait, AllAlreadyDone) {
  auto a = aio::create_task(value_after(0, 1));
  auto b = aio::create_task(fail_now("done already"));
  co_await spin();
  std::vector<aio::Task<int>> tasks{a, b};
  for (auto rw : {aio::ALL_COMPLETED, aio::FIRST_COMPLETED, aio::FIRST_EXCEPTION}) {
    auto r = co_await aio::wait(tasks, {.timeout = std::nullopt, .return_when = rw});
    EXPECT_EQ(r.done.size(), 2u);
    EXPECT_TRUE(r.pending.empty());
  }
  EXPECT_THROW(b.result(), Boom);
}

AIO_TEST(Wait, EmptyVectorIsInvalidArgument) {
  // test_wait_errors / test_wait_invalid_args: ValueError in asyncio.
  std::vector<aio::Task<int>> none;
  EXPECT_THROW((void)aio::wait(none), std::invalid_argument);
  EXPECT_THROW((void)aio::wait(none, {.timeout = 1.0, .return_when = aio::FIRST_COMPLETED}), std::invalid_argument);
  co_return;
}

// ---------------------------------------------------------------------------------------
// Cancelling the waiter leaves the tasks running.

aio::Coro<void> wait_on_task(aio::Task<void> t, int* proof, aio::WaitOptions opts) {
  std::vector<aio::Task<void>> tasks{t};
  (void)co_await aio::wait(tasks, opts);
  *proof += 100;
}

AIO_TEST(Wait, CancellingTheWaiterLeavesTasksRunning) {
  // test_yield_wait_does_not_shield_cancel
  int proof = 0;
  aio::Future<void> waiter;
  auto inner = aio::create_task(wait_then_prove(waiter, &proof));
  auto f = aio::create_task(wait_on_task(inner, &proof, aio::WaitOptions{.timeout = std::nullopt}));
  co_await aio::sleep(0);
  EXPECT_TRUE(f.cancel());
  EXPECT_THROW(co_await f, aio::CancelledError);
  EXPECT_TRUE(f.cancelled());
  EXPECT_FALSE(inner.done());
  EXPECT_FALSE(inner.cancelled());
  EXPECT_EQ(inner.cancelling(), 0);
  EXPECT_FALSE(waiter.cancelled());
  waiter.set_result();
  co_await inner;
  EXPECT_EQ(proof, 1);
}

AIO_TEST(Wait, CancellingTheWaiterWithATimeoutLeavesNoTimer) {
  int proof = 0;
  aio::Future<void> waiter;
  auto inner = aio::create_task(wait_then_prove(waiter, &proof));
  auto f = aio::create_task(wait_on_task(inner, &proof, {.timeout = 0.02, .return_when = aio::FIRST_COMPLETED}));
  co_await aio::sleep(0);
  f.cancel("stop waiting");
  std::string msg;
  try {
    co_await f;
  } catch (const aio::CancelledError& e) {
    msg = e.message();
  }
  EXPECT_EQ(msg, "stop waiting");
  // Past the wait's deadline: its timer must be gone with it.
  co_await aio::sleep(0.05);
  EXPECT_FALSE(inner.done());
  waiter.set_result();
  co_await inner;
  EXPECT_EQ(proof, 1);
}
