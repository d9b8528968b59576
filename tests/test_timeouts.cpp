// aio::wait_for, aio::timeout, aio::timeout_at — ported from CPython's
// Lib/test/test_asyncio/test_waitfor.py (AsyncioWaitForTest, WaitForShieldTests) and
// Lib/test/test_asyncio/test_timeouts.py (TimeoutTests).
//
// aio::timeout(delay, aw) takes the awaitable instead of being an `async with` block, so
// the context-manager object tests are skipped: when()/reschedule()/expired() on the
// manager, "already entered"/"not entered"/"finished"/"expiring" RuntimeErrors, repr,
// entering it outside a task. Also skipped: exception __cause__/__context__ chaining
// (C++ has no exception context), the TaskGroup interplay (test_timeout_taskgroup, it
// belongs to the task-group tests), the test loop's virtual clock (real small delays
// are used instead).

#include <gtest/gtest.h>

#include <aio/aio.hpp>
#include <aio/testing.hpp>

#include <chrono>
#include <exception>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "support.hpp"

using namespace aio_test;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// A very small timeout: it passes "timeout > 0" but costs nothing (test_waitfor's _EPSILON).
constexpr double kEpsilon = 0.0001;

/// Sets *flag = false when destroyed: `finally: foo_running = False`.
struct ClearOnExit {
  bool* flag;
  ~ClearOnExit() { *flag = false; }
};

double now() { return aio::get_running_loop().time(); }

int my_cancelling() { return aio::current_task()->cancelling(); }

aio::Coro<std::string> done_value() { co_return "done"; }

/// Sleeps `d` but swallows every cancellation until the time is up (SlowTask).
aio::Coro<void> slow_task(double d, bool* exited) {
  const double exit_at = now() + d;
  for (;;) {
    const double left = exit_at - now();
    if (left <= 0) break;
    try {
      co_await aio::sleep(left);
    } catch (const aio::CancelledError&) {
    }
  }
  *exited = true;
}

aio::Coro<std::string> foo_running_task(bool* running, aio::Future<void> started) {
  *running = true;
  ClearOnExit clear{running};
  if (!started.done()) started.set_result();
  co_await aio::sleep(10);
  co_return "done";
}

/// On cancellation: waits a little, then re-raises (finally: task_done = True).
aio::Coro<void> slow_to_cancel(bool* task_done) {
  std::exception_ptr cancelled;
  try {
    co_await aio::sleep(10);
  } catch (const aio::CancelledError&) {
    cancelled = std::current_exception();
  }
  if (cancelled) co_await aio::sleep(kEpsilon);
  *task_done = true;
  if (cancelled) std::rethrow_exception(cancelled);
}

aio::Coro<int> return_42_when_cancelled() {
  try {
    co_await aio::sleep(10);
  } catch (const aio::CancelledError&) {
    co_return 42;
  }
  co_return 0;
}

aio::Coro<void> raise_on_cancel(double d) {
  bool cancelled = false;
  try {
    co_await aio::sleep(d);
  } catch (const aio::CancelledError&) {
    cancelled = true;
  }
  if (cancelled) throw Boom("FooException");
}

aio::Coro<void> block_forever() {
  aio::Future<void> fut;
  co_await fut;
}

aio::Coro<std::string> shielded(aio::Task<std::string> t) { co_return co_await aio::shield(t); }

}  // namespace

// =======================================================================================
// wait_for (test_waitfor.py)

AIO_TEST(WaitFor, ReturnsTheValueInTime) {
  // test_wait_for_blocking (timeout=None) and test_wait_for_race_condition
  EXPECT_EQ(co_await aio::wait_for(done_value(), kInf), "done");

  aio::Future<std::string> fut;
  aio::get_running_loop().call_later(0.01, [fut]() mutable { fut.set_result("ok"); });
  EXPECT_EQ(co_await aio::wait_for(fut, 5.0), "ok");

  auto t = aio::create_task(value_after(0.01, 7));
  EXPECT_EQ(co_await aio::wait_for(t, 5.0), 7);
  EXPECT_EQ(my_cancelling(), 0);
}

AIO_TEST(WaitFor, TimeoutCancelsTheTaskAndRaises) {
  // test_wait_for
  bool foo_running = false;
  aio::Future<void> started;
  auto fut = aio::create_task(foo_running_task(&foo_running, started));
  const double t0 = now();
  EXPECT_THROW(co_await aio::wait_for(fut, 0.05), aio::TimeoutError);
  EXPECT_GE(now() - t0, 0.049);
  EXPECT_TRUE(fut.done());
  EXPECT_TRUE(fut.cancelled()) << "it should have been cancelled due to the timeout";
  EXPECT_FALSE(foo_running);
  EXPECT_EQ(my_cancelling(), 0);
}

AIO_TEST(WaitFor, TimeoutCancelsAFuture) {
  aio::Future<int> fut;
  EXPECT_THROW(co_await aio::wait_for(fut, 0.01), aio::TimeoutError);
  EXPECT_TRUE(fut.cancelled());
}

AIO_TEST(WaitFor, TimeoutErrorIsAnAioError) {
  bool caught = false;
  try {
    co_await aio::wait_for(nap(10), 0.01);
  } catch (const aio::Error&) {
    caught = true;
  }
  EXPECT_TRUE(caught);
}

AIO_TEST(WaitFor, WaitsForTheTaskToFinishCancelling) {
  // test_wait_for_waits_for_task_cancellation
  bool task_done = false;
  auto inner = aio::create_task(slow_to_cancel(&task_done));
  EXPECT_THROW(co_await aio::wait_for(inner, kEpsilon), aio::TimeoutError);
  EXPECT_TRUE(task_done) << "wait_for returned before the task finished cancelling";
  EXPECT_TRUE(inner.cancelled());
}

aio::Coro<void> block_then_await(aio::Task<void> t) {
  std::this_thread::sleep_for(std::chrono::milliseconds(2));  // the tiny deadline passes
  co_await t;
}

AIO_TEST(WaitFor, TaskReadyBeforeTheDeadlineRunsFirst) {
  // The deterministic form of the test above. asyncio appends the timers that fell due
  // *after* the callbacks already in the ready queue, so a task created before the
  // wait_for takes its first step before the expired deadline cancels it, and then
  // cancelling it runs its cleanup (task_done). The loop is kept busy past the deadline
  // to make the ordering visible.
  bool task_done = false;
  auto inner = aio::create_task(slow_to_cancel(&task_done));
  EXPECT_THROW(co_await aio::wait_for(block_then_await(inner), kEpsilon), aio::TimeoutError);
  EXPECT_TRUE(inner.cancelled());
  EXPECT_TRUE(task_done) << "the expired deadline cancelled the task before its first step, "
                            "although the task was ready before the deadline fell due";
}

aio::Coro<void> wait_for_zero_after_start(bool* task_done) {
  auto inner = aio::create_task(slow_to_cancel(task_done));
  co_await aio::sleep(kEpsilon);
  co_await aio::wait_for(inner, 0);
}

AIO_TEST(WaitFor, WaitsForTheTaskToFinishCancellingWithTimeoutZero) {
  // test_wait_for_waits_for_task_cancellation_w_timeout_0
  bool task_done = false;
  EXPECT_THROW(co_await wait_for_zero_after_start(&task_done), aio::TimeoutError);
  EXPECT_TRUE(task_done);
}

aio::Coro<void> wait_for_raise_on_cancel() {
  auto inner = aio::create_task(raise_on_cancel(0.2));
  co_await aio::wait_for(inner, kEpsilon);
}

AIO_TEST(WaitFor, ReraisesExceptionDuringCancellation) {
  // test_wait_for_reraises_exception_during_cancellation
  EXPECT_THROW(co_await wait_for_raise_on_cancel(), Boom);
}

AIO_TEST(WaitFor, TimeoutZeroFutureAlreadyDone) {
  // test_wait_for_timeout_less_then_0_or_0_future_done
  aio::Future<std::string> fut;
  fut.set_result("done");
  std::string ret;
  try {
    ret = co_await aio::wait_for(fut, 0);
  } catch (const aio::TimeoutError&) {
    ret = "<TimeoutError>";
  }
  EXPECT_EQ(ret, "done");
  EXPECT_TRUE(fut.done());
  EXPECT_FALSE(fut.cancelled());
}

AIO_TEST(WaitFor, TimeoutZeroTaskAlreadyDone) {
  auto t = aio::create_task(done_value());
  co_await aio::sleep(0);
  AIO_ASSERT_TRUE(t.done());
  EXPECT_EQ(co_await aio::wait_for(t, 0), "done");
  EXPECT_EQ(co_await aio::wait_for(t, -1), "done");
}

aio::Coro<void> set_started(bool* started) {
  *started = true;
  co_return;
}

AIO_TEST(WaitFor, TimeoutZeroCoroutineIsNeverStarted) {
  // test_wait_for_timeout_less_then_0_or_0_coroutine_do_not_started
  for (double timeout : {0.0, -1.0}) {
    bool started = false;
    const double t0 = now();
    EXPECT_THROW(co_await aio::wait_for(set_started(&started), timeout), aio::TimeoutError);
    EXPECT_FALSE(started) << "timeout " << timeout;
    EXPECT_LT(now() - t0, 1.0);
  }
}

AIO_TEST(WaitFor, TimeoutZeroCancelsARunningTask) {
  // test_wait_for_timeout_less_then_0_or_0
  for (double timeout : {0.0, -1.0}) {
    bool foo_running = false;
    aio::Future<void> started;
    auto fut = aio::create_task(foo_running_task(&foo_running, started));
    co_await started;
    EXPECT_TRUE(foo_running);
    EXPECT_THROW(co_await aio::wait_for(fut, timeout), aio::TimeoutError);
    EXPECT_TRUE(fut.done());
    EXPECT_TRUE(fut.cancelled()) << "timeout " << timeout;
    EXPECT_FALSE(foo_running);
  }
}

AIO_TEST(WaitFor, InnerSwallowsCancellationAndReturnsAValue) {
  // test_wait_for_cancel_suppressed
  EXPECT_EQ(co_await aio::wait_for(return_42_when_cancelled(), 0.01), 42);
  EXPECT_EQ(my_cancelling(), 0);
  // This task is not left cancelled: it can sleep again.
  co_await aio::sleep(0.001);
}

aio::Coro<int> expects_cancellation_returns_1() {
  bool cancelled = false;
  try {
    co_await aio::sleep(1);
  } catch (const aio::CancelledError&) {
    cancelled = true;
  }
  EXPECT_TRUE(cancelled);
  co_return 1;
}

AIO_TEST(WaitFor, CancellationRaceCondition) {
  // test_wait_for_cancellation_race_condition
  EXPECT_EQ(co_await aio::wait_for(expects_cancellation_returns_1(), 0.01), 1);
}

AIO_TEST(WaitFor, InnerSwallowsCancellationAsATask) {
  auto t = aio::create_task(return_42_when_cancelled());
  EXPECT_EQ(co_await aio::wait_for(t, 0.01), 42);
  EXPECT_FALSE(t.cancelled());
}

AIO_TEST(WaitFor, OuterCancellationPropagatesCancelledError) {
  // _test_cancel_wait_for / test_cancel_blocking_wait_for / test_cancel_wait_for:
  // cancelling the wait raises CancelledError (not TimeoutError) and cancels the task.
  for (double timeout : {kInf, 60.0}) {
    auto task = aio::create_task(block_forever());
    auto wait = aio::create_task(aio::wait_for(task, timeout));
    aio::get_running_loop().call_soon([wait]() mutable { wait.cancel(); });
    bool cancelled = false, timed_out = false;
    try {
      co_await wait;
    } catch (const aio::CancelledError&) {
      cancelled = true;
    } catch (const aio::TimeoutError&) {
      timed_out = true;
    }
    EXPECT_TRUE(cancelled) << "timeout " << timeout;
    EXPECT_FALSE(timed_out);
    EXPECT_TRUE(wait.cancelled());
    EXPECT_TRUE(task.cancelled()) << "Python issue #23219: cancelling the wait must also cancel the task";
  }
}

aio::Coro<void> wait_for_coro_in_task(double timeout, aio::Future<void> started) {
  started.set_result();
  co_await aio::wait_for(nap(10), timeout);
}

AIO_TEST(WaitFor, OuterCancellationOfACoroutine) {
  aio::Future<void> started;
  auto wait = aio::create_task(wait_for_coro_in_task(5.0, started));
  co_await started;
  co_await aio::sleep(0);
  wait.cancel();
  EXPECT_THROW(co_await wait, aio::CancelledError);
  EXPECT_TRUE(wait.cancelled());
}

aio::Coro<int> stubborn_inner() {
  for (int i = 0; i < 2; ++i) {
    try {
      co_await aio::sleep(0.03);
      break;
    } catch (const aio::CancelledError&) {
    }
  }
  co_await aio::sleep(0.001);
  co_return 42;
}

AIO_TEST(WaitFor, SelfCancellation) {
  // test_wait_for_self_cancellation: wait_for itself is properly cancellable even when
  // the task holds up the initial cancellation.
  auto inner_task = aio::create_task(stubborn_inner());
  auto task = aio::create_task(aio::wait_for(inner_task, 0.01));
  task.cancel();
  EXPECT_THROW(co_await task, aio::CancelledError);
  EXPECT_EQ(co_await inner_task, 42);
}

aio::Coro<void> wait_for_then_sleep(aio::Task<std::string> inner, bool* reached_end) {
  co_await aio::wait_for(inner, 100);
  co_await aio::sleep(1);
  *reached_end = true;
}

AIO_TEST(WaitFor, Issue86296) {
  // test_wait_for_issue86296: the task gets cancelled and does not run to completion.
  auto inner_task = aio::create_task(done_value());
  bool reached_end = false;
  auto task = aio::create_task(wait_for_then_sleep(inner_task, &reached_end));
  EXPECT_FALSE(task.done());
  co_await aio::sleep(0);
  task.cancel();
  EXPECT_THROW(co_await task, aio::CancelledError);
  EXPECT_TRUE(inner_task.done());
  EXPECT_EQ(co_await inner_task, "done");
  EXPECT_FALSE(reached_end);
}

AIO_TEST(WaitFor, CancelledWhileTheInnerIgnoresCancellation) {
  // test_asyncio_wait_for_cancelled: cancelling wait_for waits for the inner to finish.
  bool exited = false;
  auto waitfortask = aio::create_task(aio::wait_for(slow_task(0.05, &exited), 0.1));
  co_await aio::sleep(0);
  waitfortask.cancel();
  std::vector<aio::Task<void>> tasks{waitfortask};
  (void)co_await aio::wait(tasks);
  EXPECT_TRUE(exited);
  if (waitfortask.cancelled())
    SUCCEED();
  else
    (void)waitfortask.exception();
}

AIO_TEST(WaitFor, TimeoutWhileTheInnerIgnoresCancellation) {
  // test_asyncio_wait_for_timeout
  bool exited = false;
  try {
    co_await aio::wait_for(slow_task(0.05, &exited), 0.01);
  } catch (const aio::TimeoutError&) {
  }
  EXPECT_TRUE(exited);
  EXPECT_EQ(my_cancelling(), 0);
}

AIO_TEST(WaitFor, ChronoDurations) {
  EXPECT_EQ(co_await aio::wait_for(value_after(0.001, 3), std::chrono::seconds(5)), 3);
  EXPECT_THROW(co_await aio::wait_for(nap(10), std::chrono::milliseconds(10)), aio::TimeoutError);
  EXPECT_THROW(co_await aio::wait_for(nap(10), std::chrono::duration<double>(0.01)), aio::TimeoutError);
  EXPECT_THROW(co_await aio::wait_for(nap(10), std::chrono::nanoseconds(0)), aio::TimeoutError);
}

// --- WaitForShieldTests -----------------------------------------------------------------

aio::Coro<std::string> sleep_done(double d) {
  co_await aio::sleep(d);
  co_return "done";
}

AIO_TEST(WaitForShield, ZeroTimeout) {
  // test_zero_timeout: the shielding task is cancelled at once, the task it wraps runs on.
  auto task = aio::create_task(sleep_done(0.01));
  auto shielded_task = aio::create_task(shielded(task));
  EXPECT_THROW(co_await aio::wait_for(shielded_task, 0), aio::TimeoutError);
  EXPECT_FALSE(task.done());
  EXPECT_FALSE(task.cancelled());
  EXPECT_TRUE(shielded_task.cancelled());
  EXPECT_EQ(co_await task, "done");
}

AIO_TEST(WaitForShield, NoneTimeout) {
  // test_none_timeout
  auto task = aio::create_task(sleep_done(0.01));
  (void)co_await aio::wait_for(shielded(task), kInf);
  EXPECT_TRUE(task.done());
  EXPECT_EQ(co_await task, "done");
}

AIO_TEST(WaitForShield, ShieldedTimeout) {
  // test_shielded_timeout: shield prevents the task from being cancelled.
  auto task = aio::create_task(sleep_done(0.05));
  EXPECT_THROW(co_await aio::wait_for(shielded(task), 0.01), aio::TimeoutError);
  EXPECT_FALSE(task.done());
  EXPECT_FALSE(task.cancelled());
  EXPECT_EQ(co_await task, "done");
}

// =======================================================================================
// timeout / timeout_at (test_timeouts.py)

AIO_TEST(Timeout, Basic) {
  // test_timeout_basic
  const double t0 = now();
  EXPECT_THROW(co_await aio::timeout(0.01, nap(10)), aio::TimeoutError);
  EXPECT_GE(now() - t0, 0.009);
  EXPECT_EQ(my_cancelling(), 0);
}

AIO_TEST(Timeout, AtBasic) {
  // test_timeout_at_basic
  const double deadline = now() + 0.01;
  EXPECT_THROW(co_await aio::timeout_at(deadline, nap(10)), aio::TimeoutError);
  EXPECT_GE(now(), deadline - 0.001);
}

AIO_TEST(Timeout, AtInThePastAndFarAhead) {
  EXPECT_THROW(co_await aio::timeout_at(now() - 1, nap(10)), aio::TimeoutError);
  EXPECT_EQ(co_await aio::timeout_at(now() + 5, value_after(0.001, 5)), 5);
  EXPECT_EQ(co_await aio::timeout_at(kInf, value_after(0.001, 6)), 6);
}

AIO_TEST(Timeout, ReturnsTheValueInTime) {
  // test_timeout_not_called
  EXPECT_EQ(co_await aio::timeout(10, value_after(0.01, 9)), 9);
  co_await aio::timeout(10, nap(0.001));
  EXPECT_EQ(my_cancelling(), 0);
}

AIO_TEST(Timeout, UnexpiredTimeoutNeverFiresLater) {
  // The deadline of a scope that ended in time must be disarmed.
  EXPECT_EQ(co_await aio::timeout(0.02, value_after(0.001, 1)), 1);
  bool cancelled = false;
  try {
    co_await aio::sleep(0.06);
  } catch (const aio::CancelledError&) {
    cancelled = true;
  }
  EXPECT_FALSE(cancelled) << "an old timeout cancelled the task after its scope ended";
}

AIO_TEST(Timeout, Disabled) {
  // test_timeout_disabled / test_timeout_at_disabled: an infinite Delay never expires.
  co_await aio::timeout(kInf, nap(0.01));
  co_await aio::timeout(aio::Delay(kInf), nap(0.001));
  co_await aio::timeout_at(kInf, nap(0.01));
  EXPECT_EQ(co_await aio::timeout(std::numeric_limits<double>::infinity(), value_after(0.001, 4)), 4);
}

AIO_TEST(Timeout, Zero) {
  // test_timeout_zero / test_timeout_zero_sleep_zero / test_timeout_in_the_past_sleep_zero
  const double t0 = now();
  EXPECT_THROW(co_await aio::timeout(0, nap(10)), aio::TimeoutError);
  EXPECT_THROW(co_await aio::timeout(0, run_briefly()), aio::TimeoutError);
  EXPECT_THROW(co_await aio::timeout(-11, run_briefly()), aio::TimeoutError);
  EXPECT_LT(now() - t0, 1.0);
  EXPECT_EQ(my_cancelling(), 0);
}

aio::Coro<void> note_cancel_and_rethrow(bool* cancelled) {
  std::exception_ptr e;
  try {
    co_await aio::sleep(10);
  } catch (const aio::CancelledError&) {
    *cancelled = true;
    e = std::current_exception();
  }
  if (e) std::rethrow_exception(e);
}

AIO_TEST(Timeout, WaiterSeesCancelledError) {
  // test_waiter_cancelled: inside the scope the expiry is a CancelledError.
  bool cancelled = false;
  EXPECT_THROW(co_await aio::timeout(0.01, note_cancel_and_rethrow(&cancelled)), aio::TimeoutError);
  EXPECT_TRUE(cancelled);
}

aio::Coro<void> nested_same_deadline(double deadline, bool* cancelled) {
  std::exception_ptr e;
  try {
    co_await aio::timeout_at(deadline, nap(10));
  } catch (const aio::CancelledError&) {
    *cancelled = true;
    e = std::current_exception();
  }
  if (e) std::rethrow_exception(e);
}

AIO_TEST(Timeout, NestedTimeoutsSameDeadline) {
  // test_nested_timeouts: only the outermost scope raises TimeoutError.
  bool cancelled = false;
  const double deadline = now() + 0.01;
  EXPECT_THROW(co_await aio::timeout_at(deadline, nested_same_deadline(deadline, &cancelled)), aio::TimeoutError);
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(my_cancelling(), 0);
}

aio::Coro<int> inner_expires(bool* inner_timed_out) {
  try {
    co_await aio::timeout(0.01, nap(10));
  } catch (const aio::TimeoutError&) {
    *inner_timed_out = true;
  }
  co_return 7;
}

AIO_TEST(Timeout, NestedInnerExpires) {
  bool inner_timed_out = false;
  EXPECT_EQ(co_await aio::timeout(5.0, inner_expires(&inner_timed_out)), 7);
  EXPECT_TRUE(inner_timed_out);
  EXPECT_EQ(my_cancelling(), 0);
}

aio::Coro<void> outer_expires_inner(bool* inner_saw_cancel, bool* inner_saw_timeout) {
  std::exception_ptr e;
  try {
    co_await aio::timeout(5.0, nap(10));
  } catch (const aio::CancelledError&) {
    *inner_saw_cancel = true;
    e = std::current_exception();
  } catch (const aio::TimeoutError&) {
    *inner_saw_timeout = true;
    e = std::current_exception();
  }
  if (e) std::rethrow_exception(e);
}

AIO_TEST(Timeout, NestedOuterExpires) {
  bool saw_cancel = false, saw_timeout = false;
  EXPECT_THROW(co_await aio::timeout(0.01, outer_expires_inner(&saw_cancel, &saw_timeout)), aio::TimeoutError);
  EXPECT_TRUE(saw_cancel) << "the inner (unexpired) scope must let CancelledError through";
  EXPECT_FALSE(saw_timeout);
  EXPECT_EQ(my_cancelling(), 0);
}

aio::Coro<void> crunch_then_sleep() {
  std::this_thread::sleep_for(std::chrono::milliseconds(10));  // pretend we crunch numbers
  co_await aio::sleep(1);
}

aio::Coro<void> inner_long_timeout_busy() {
  bool inner_timeout = false;
  try {
    co_await aio::timeout(0.1, crunch_then_sleep());
  } catch (const aio::TimeoutError&) {
    inner_timeout = true;
  }
  EXPECT_FALSE(inner_timeout) << "the inner scope did not expire";
}

AIO_TEST(Timeout, NestedTimeoutsConcurrent) {
  // test_nested_timeouts_concurrent
  aio::get_running_loop().slow_callback_duration = 10;
  EXPECT_THROW(co_await aio::timeout(0.002, inner_long_timeout_busy()), aio::TimeoutError);
}

aio::Coro<void> busy_then_sleep(double busy_s) {
  std::this_thread::sleep_for(std::chrono::duration<double>(busy_s));  // the loop is busy
  co_await aio::sleep(1);
}

aio::Coro<void> inner_expires_while_busy() {
  try {
    co_await aio::timeout(0.01, busy_then_sleep(0.1));
  } catch (const aio::TimeoutError&) {
  }
  co_await aio::sleep(10);  // this sleep must be interrupted by the outer scope
}

AIO_TEST(Timeout, NestedTimeoutsLoopBusy) {
  // test_nested_timeouts_loop_busy
  aio::get_running_loop().slow_callback_duration = 10;
  const double t0 = now();
  EXPECT_THROW(co_await aio::timeout(0.1, inner_expires_while_busy()), aio::TimeoutError);
  EXPECT_LT(now() - t0, 3.0);
  EXPECT_EQ(my_cancelling(), 0);
}

aio::Coro<void> throw_out_of_range() {
  throw std::out_of_range("KeyError");
  co_return;
}

AIO_TEST(Timeout, ForeignExceptionPassesThrough) {
  // test_foreign_exception_passed
  EXPECT_THROW(co_await aio::timeout(0.01, throw_out_of_range()), std::out_of_range);
  EXPECT_EQ(my_cancelling(), 0);
}

AIO_TEST(Timeout, ForeignExceptionOnTimeout) {
  // test_foreign_exception_on_timeout: an exception raised while handling the expiry
  // wins over TimeoutError.
  EXPECT_THROW(co_await aio::timeout(0.01, raise_on_cancel(1)), Boom);
  EXPECT_EQ(my_cancelling(), 0) << "the deadline's cancel() must be withdrawn";
}

aio::Coro<void> exception_replaced_by_cancellation() {
  std::exception_ptr error;
  try {
    throw std::domain_error("1/0");
  } catch (...) {
    error = std::current_exception();
  }
  co_await aio::sleep(1);  // `finally:` that awaits; the expiry interrupts it
  std::rethrow_exception(error);
}

AIO_TEST(Timeout, CancelledCleanupBecomesTimeout) {
  // test_timeout_exception_context: the CancelledError raised in the cleanup replaced the
  // first exception, so the scope reports a timeout.
  EXPECT_THROW(co_await aio::timeout(0.01, exception_replaced_by_cancellation()), aio::TimeoutError);
}

/// cancel() on the running task is delivered at its next await, which it interrupts at
/// once (asyncio's Task.__step cancels the awaited future when _must_cancel is set).
aio::Coro<void> cancel_self_then_sleep(double d) {
  aio::current_task()->cancel();
  co_await aio::sleep(d);
}

aio::Coro<void> foreign_cancel_in_scope() { co_await aio::timeout(10, cancel_self_then_sleep(2.0)); }

AIO_TEST(Timeout, ForeignCancelIsNotATimeoutIfNotExpired) {
  // test_foreign_cancel_doesnt_timeout_if_not_expired
  const double t0 = now();
  auto t = aio::create_task(foreign_cancel_in_scope());
  bool cancelled = false, timed_out = false;
  try {
    co_await t;
  } catch (const aio::CancelledError&) {
    cancelled = true;
  } catch (const aio::TimeoutError&) {
    timed_out = true;
  }
  EXPECT_TRUE(cancelled);
  EXPECT_FALSE(timed_out);
  EXPECT_TRUE(t.cancelled());
  EXPECT_LT(now() - t0, 1.0) << "the self-cancel must interrupt the 2 s sleep at once";
}

aio::Coro<void> expire_then_keep_going(aio::Future<void> expired) {
  bool got = false;
  try {
    co_await aio::sleep(10);
  } catch (const aio::CancelledError&) {
    got = true;
  }
  if (got) {
    expired.set_result();
    co_await aio::sleep(10);  // cleanup that someone else cancels
  }
}

aio::Coro<void> scope_then_foreign_cancel(aio::Future<void> expired) {
  co_await aio::timeout(0.01, expire_then_keep_going(expired));
}

AIO_TEST(Timeout, ForeignCancelAfterExpiryIsNotATimeout) {
  // "If no other cancel() arrived meanwhile": a second, foreign cancel() after the
  // deadline makes the scope propagate CancelledError instead of TimeoutError.
  aio::Future<void> expired;
  auto t = aio::create_task(scope_then_foreign_cancel(expired));
  co_await expired;
  t.cancel();
  bool cancelled = false, timed_out = false;
  try {
    co_await t;
  } catch (const aio::CancelledError&) {
    cancelled = true;
  } catch (const aio::TimeoutError&) {
    timed_out = true;
  }
  EXPECT_TRUE(cancelled);
  EXPECT_FALSE(timed_out);
  EXPECT_TRUE(t.cancelled());
}

aio::Coro<void> outer_catches_timeout(int* cancelling_after, bool* timed_out) {
  try {
    co_await aio::timeout(0.001, nap(10));
  } catch (const aio::TimeoutError&) {
    *timed_out = true;
  }
  *cancelling_after = aio::current_task()->cancelling();
  co_await aio::sleep(0.001);  // not cancelled any more
}

AIO_TEST(Timeout, OuterTaskIsNotCancelled) {
  // test_outer_task_is_not_cancelled, and cancelling() is restored after the expiry.
  int cancelling_after = -1;
  bool timed_out = false;
  auto task = aio::create_task(outer_catches_timeout(&cancelling_after, &timed_out));
  co_await task;
  EXPECT_TRUE(timed_out);
  EXPECT_FALSE(task.cancelled());
  EXPECT_TRUE(task.done());
  EXPECT_EQ(cancelling_after, 0);
  EXPECT_EQ(task.cancelling(), 0);
}

aio::Coro<void> nested_timeout_in_cleanup(bool* inner_timed_out) {
  std::exception_ptr e;
  try {
    co_await aio::sleep(1);
  } catch (const aio::CancelledError&) {
    e = std::current_exception();
  }
  // finally:
  try {
    co_await aio::timeout(0.01, nap(10));
  } catch (const aio::TimeoutError&) {
    *inner_timed_out = true;
  }
  if (e) std::rethrow_exception(e);
}

AIO_TEST(Timeout, NestedTimeoutInCleanup) {
  // test_nested_timeout_in_finally
  bool inner_timed_out = false;
  EXPECT_THROW(co_await aio::timeout(0.01, nested_timeout_in_cleanup(&inner_timed_out)), aio::TimeoutError);
  EXPECT_TRUE(inner_timed_out);
  EXPECT_EQ(my_cancelling(), 0);
}

aio::Coro<void> timeout_after_cancellation(bool* timed_out) {
  bool cancelled = false;
  try {
    aio::current_task()->cancel();
    co_await aio::sleep(1.5);  // work which will be cancelled (at once)
  } catch (const aio::CancelledError&) {
    cancelled = true;
  }
  EXPECT_TRUE(cancelled);
  // finally: some cleanup under a timeout
  try {
    co_await aio::timeout(0.0, nap(1));
  } catch (const aio::TimeoutError&) {
    *timed_out = true;
  }
}

AIO_TEST(Timeout, TimeoutAfterCancellation) {
  // test_timeout_after_cancellation
  bool timed_out = false;
  const double t0 = now();
  auto t = aio::create_task(timeout_after_cancellation(&timed_out));
  try {
    co_await t;
  } catch (const aio::CancelledError&) {
  }
  EXPECT_TRUE(timed_out);
  EXPECT_LT(now() - t0, 1.0) << "the self-cancel must interrupt the 1.5 s sleep at once";
}

aio::Coro<void> cancel_in_timeout_after_cancellation(bool* got_cancelled) {
  bool cancelled = false;
  try {
    aio::current_task()->cancel();
    co_await aio::sleep(1.5);
  } catch (const aio::CancelledError&) {
    cancelled = true;
  }
  EXPECT_TRUE(cancelled);
  try {
    co_await aio::timeout(1.0, cancel_self_then_sleep(1.5));
  } catch (const aio::CancelledError&) {
    *got_cancelled = true;
  }
}

AIO_TEST(Timeout, CancelInTimeoutAfterCancellation) {
  // test_cancel_in_timeout_after_cancellation
  bool got_cancelled = false;
  const double t0 = now();
  auto t = aio::create_task(cancel_in_timeout_after_cancellation(&got_cancelled));
  try {
    co_await t;
  } catch (const aio::CancelledError&) {
  }
  EXPECT_TRUE(got_cancelled);
  EXPECT_LT(now() - t0, 1.0) << "each self-cancel must interrupt its 1.5 s sleep at once";
}

AIO_TEST(Timeout, TaskArgumentIsCancelledOnExpiry) {
  auto t = aio::create_task(nap(10));
  EXPECT_THROW(co_await aio::timeout(0.01, t), aio::TimeoutError);
  EXPECT_TRUE(t.done());
  EXPECT_TRUE(t.cancelled());
  EXPECT_EQ(my_cancelling(), 0);

  auto quick = aio::create_task(value_after(0.001, 11));
  EXPECT_EQ(co_await aio::timeout(5.0, quick), 11);
}

AIO_TEST(Timeout, TaskArgumentFinishesCancellingFirst) {
  bool task_done = false;
  auto t = aio::create_task(slow_to_cancel(&task_done));
  EXPECT_THROW(co_await aio::timeout(0.01, t), aio::TimeoutError);
  EXPECT_TRUE(task_done);
  EXPECT_TRUE(t.cancelled());
}

AIO_TEST(Timeout, FutureArgumentIsCancelledOnExpiry) {
  aio::Future<int> f;
  EXPECT_THROW(co_await aio::timeout(0.01, f), aio::TimeoutError);
  EXPECT_TRUE(f.cancelled());
}

AIO_TEST(Timeout, ChronoDurations) {
  EXPECT_THROW(co_await aio::timeout(std::chrono::milliseconds(10), nap(10)), aio::TimeoutError);
  EXPECT_THROW(co_await aio::timeout(std::chrono::microseconds(1), nap(10)), aio::TimeoutError);
  EXPECT_EQ(co_await aio::timeout(std::chrono::seconds(5), value_after(0.001, 2)), 2);
  EXPECT_EQ(co_await aio::timeout(std::chrono::duration<double>(5.0), value_after(0.001, 3)), 3);
  EXPECT_EQ(co_await aio::timeout(std::chrono::hours(1), value_after(0.001, 4)), 4);
  EXPECT_EQ(my_cancelling(), 0);
}

AIO_TEST(Timeout, ScopeRestoresCancellingRepeatedly) {
  // Many expiries in a row leave no cancel request behind.
  for (int i = 0; i < 20; ++i) {
    EXPECT_THROW(co_await aio::timeout(0.0005, nap(10)), aio::TimeoutError);
    EXPECT_EQ(my_cancelling(), 0) << "iteration " << i;
  }
  co_await aio::sleep(0.001);
}

// =======================================================================================
// wait_for / timeout / timeout_at over a gather: asyncio.wait_for(asyncio.gather(a, b), d).
// CPython's test_waitfor.py cases, replayed with a gathering future as the awaitable (the
// gather's cancel() cancels its children; its result or exception is the gather's).

namespace {

aio::Coro<int> fail_after(double d, std::string what) {
  co_await aio::sleep(d);
  throw Boom(what);
}

/// On cancellation, cleans up until `release` is set (a second cancellation interrupts
/// that), sets *cleaned_up, and re-raises.
aio::Coro<void> cancel_cleanup_until(aio::Future<void> release, bool* cleaned_up) {
  std::exception_ptr cancelled;
  try {
    co_await aio::sleep(10);
  } catch (const aio::CancelledError&) {
    cancelled = std::current_exception();
  }
  if (cancelled) co_await release;
  *cleaned_up = true;
  if (cancelled) std::rethrow_exception(cancelled);
}

aio::Coro<std::tuple<int, int>> wait_for_pair_in_task(aio::Task<void> a, aio::Task<void> b, double timeout,
                                                      aio::Future<void> started) {
  started.set_result();
  auto [x, y] = co_await aio::wait_for(aio::gather(a, b), timeout);
  (void)x;
  (void)y;
  co_return std::tuple<int, int>{0, 0};
}

aio::Coro<void> wait_for_gather_zero_in_task(bool* d1, bool* d2, aio::Future<void> started) {
  auto g = aio::gather(aio::return_exceptions, slow_to_cancel(d1), slow_to_cancel(d2));
  co_await aio::sleep(kEpsilon);  // both children are running
  started.set_result();
  (void)co_await aio::wait_for(std::move(g), 0);
}

}  // namespace

AIO_TEST(WaitForGather, ResultsInTime) {
  // test_wait_for_blocking / test_wait_for_race_condition with a gather.
  auto [a, b] = co_await aio::wait_for(aio::gather(value_after(0.002, 1), value_after(0.001, 2)), 5.0);
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 2);
  auto [c, d] = co_await aio::wait_for(aio::gather(value(3), done_value()), kInf);
  EXPECT_EQ(c, 3);
  EXPECT_EQ(d, "done");
  auto [e, f] = co_await aio::timeout(5.0, aio::gather(value(5), value_after(0.001, 6)));
  EXPECT_EQ(e, 5);
  EXPECT_EQ(f, 6);
  auto [g, h] = co_await aio::timeout_at(now() + 5.0, aio::gather(value(7), value(8)));
  EXPECT_EQ(g, 7);
  EXPECT_EQ(h, 8);
  auto outcomes = co_await aio::wait_for(aio::gather(aio::return_exceptions, value(9), fail_after(0, "x")), 5.0);
  EXPECT_EQ(std::get<0>(outcomes).value(), 9);
  EXPECT_TRUE(holds<Boom>(std::get<1>(outcomes).exception()));
  EXPECT_EQ(my_cancelling(), 0);
}

AIO_TEST(WaitForGather, TimeoutCancelsEveryChild) {
  // test_wait_for: on timeout the gather's children are cancelled, then TimeoutError.
  bool foo_running = false;
  aio::Future<void> started;
  auto foo = aio::create_task(foo_running_task(&foo_running, started));
  auto sleeper = aio::create_task(nap(10));
  co_await started;
  const double t0 = now();
  EXPECT_THROW(co_await aio::wait_for(aio::gather(foo, sleeper), 0.02), aio::TimeoutError);
  EXPECT_GE(now() - t0, 0.019);
  EXPECT_TRUE(foo.cancelled());
  EXPECT_TRUE(sleeper.cancelled());
  EXPECT_FALSE(foo_running);
  EXPECT_EQ(my_cancelling(), 0);

  // The same through timeout() and timeout_at(), with coroutine children.
  EXPECT_THROW(co_await aio::timeout(0.01, aio::gather(nap(10), value_after(10, 1))), aio::TimeoutError);
  EXPECT_THROW(co_await aio::timeout_at(now() + 0.01, aio::gather(nap(10), nap(10))), aio::TimeoutError);
  EXPECT_EQ(my_cancelling(), 0);
}

AIO_TEST(WaitForGather, WaitsForTheChildrenToFinishCancelling) {
  // test_wait_for_waits_for_task_cancellation. A return_exceptions gather ends once every
  // child is done, so the TimeoutError comes after both cleanups.
  bool d1 = false, d2 = false;
  EXPECT_THROW(
      co_await aio::wait_for(aio::gather(aio::return_exceptions, slow_to_cancel(&d1), slow_to_cancel(&d2)), kEpsilon),
      aio::TimeoutError);
  EXPECT_TRUE(d1) << "wait_for returned before the first child finished cancelling";
  EXPECT_TRUE(d2) << "wait_for returned before the second child finished cancelling";

  // A plain gather ends with its first cancelled child (asyncio's _GatheringFuture sets
  // CancelledError then): the TimeoutError comes once that child is done, while a slower
  // one is still cleaning up.
  bool slow_done = false;
  aio::Future<void> release;
  auto slow = aio::create_task(cancel_cleanup_until(release, &slow_done));
  auto quick = aio::create_task(nap(10));
  EXPECT_THROW(co_await aio::wait_for(aio::gather(slow, quick), kEpsilon), aio::TimeoutError);
  EXPECT_TRUE(quick.cancelled());
  EXPECT_FALSE(slow_done);
  release.set_result();
  EXPECT_THROW(co_await slow, aio::CancelledError);
  EXPECT_TRUE(slow_done);
}

AIO_TEST(WaitForGather, ChildSwallowingCancellationStillTimesOut) {
  // test_wait_for_cancel_suppressed gives 42 for a bare coroutine; a gather that was
  // cancelled ends in CancelledError even when its children swallow the cancellation
  // (_GatheringFuture's _cancel_requested), so wait_for reports the timeout.
  EXPECT_THROW(co_await aio::wait_for(aio::gather(return_42_when_cancelled()), 0.01), aio::TimeoutError);
  EXPECT_THROW(co_await aio::wait_for(aio::gather(aio::return_exceptions, return_42_when_cancelled(), nap(10)), 0.01),
               aio::TimeoutError);
  EXPECT_EQ(my_cancelling(), 0);
}

AIO_TEST(WaitForGather, ExceptionOfAChildPropagates) {
  // The first exception of a child is the gather's: it passes through wait_for unchanged
  // and the other children keep running (asyncio.gather).
  auto other = aio::create_task(value_after(0.01, 1));
  std::exception_ptr e = co_await error_of(aio::wait_for(aio::gather(fail_after(0, "child"), other), 5.0));
  EXPECT_TRUE(holds<Boom>(e)) << what_of(e);
  EXPECT_FALSE(other.done());
  EXPECT_EQ(co_await other, 1);
  e = co_await error_of(aio::timeout(5.0, aio::gather(std::vector<aio::Coro<int>>{})));
  EXPECT_FALSE(e) << what_of(e);
}

AIO_TEST(WaitForGather, ReraisesExceptionDuringCancellation) {
  // test_wait_for_reraises_exception_during_cancellation
  std::exception_ptr e = co_await error_of(aio::wait_for(aio::gather(raise_on_cancel(0.2)), kEpsilon));
  EXPECT_TRUE(holds<Boom>(e)) << what_of(e);
  // The zero-delay form, once the child runs (before its first step it has no handler).
  auto started = aio::gather(raise_on_cancel(0.2));
  co_await run_briefly();
  e = co_await error_of(aio::wait_for(std::move(started), 0));
  EXPECT_TRUE(holds<Boom>(e)) << what_of(e);
}

AIO_TEST(WaitForGather, OuterCancellationCancelsTheChildren) {
  // _test_cancel_wait_for (Python issue #23219): cancelling the wait raises CancelledError,
  // not TimeoutError, and cancels every child of the gather.
  for (double timeout : {kInf, 60.0}) {
    auto a = aio::create_task(block_forever());
    auto b = aio::create_task(block_forever());
    aio::Future<void> started;
    auto wait = aio::create_task(wait_for_pair_in_task(a, b, timeout, started));
    co_await started;
    wait.cancel();
    std::exception_ptr e = co_await error_of(wait);
    EXPECT_TRUE(holds<aio::CancelledError>(e)) << "timeout " << timeout << ": " << what_of(e);
    EXPECT_TRUE(a.cancelled()) << "timeout " << timeout;
    EXPECT_TRUE(b.cancelled()) << "timeout " << timeout;
  }
}

AIO_TEST(WaitForGather, TimeoutZeroAllDone) {
  // test_wait_for_timeout_less_then_0_or_0_future_done: a gather whose children are all
  // done already gives its result.
  auto a = aio::create_task(value(1));
  auto b = aio::create_task(done_value());
  co_await run_briefly();
  AIO_ASSERT_TRUE(a.done() && b.done());
  for (double timeout : {0.0, -1.0}) {
    auto [x, y] = co_await aio::wait_for(aio::gather(a, b), timeout);
    EXPECT_EQ(x, 1);
    EXPECT_EQ(y, "done");
  }
  std::vector<aio::Task<int>> tasks{a, a};
  const std::vector<int> ones{1, 1};  // (GCC 12: no braced lists inside a co_await expression)
  EXPECT_EQ(co_await aio::wait_for(aio::gather(tasks), 0), ones);
  EXPECT_TRUE((co_await aio::wait_for(aio::gather(std::vector<aio::Task<int>>()), 0)).empty());
  auto outcomes = co_await aio::wait_for(aio::gather(aio::return_exceptions, tasks), 0);
  EXPECT_EQ(outcomes.size(), 2u);
  EXPECT_EQ(outcomes[1].value(), 1);
  // A gather over children already done learns of them one iteration later (asyncio's
  // done callbacks), so wait_for(..., 0) finds it pending: it cancels it (nothing is left
  // to cancel), waits, and then gives the first child's error; a CancelledError outcome
  // becomes TimeoutError there (Python 3.11 prints the same for this scenario).
  auto failed = aio::create_task(fail_after(0, "done badly"));
  auto cancelled = aio::create_task(block_forever());
  co_await run_briefly();
  cancelled.cancel();
  co_await run_briefly();
  AIO_ASSERT_TRUE(failed.done() && cancelled.done());
  std::exception_ptr e = co_await error_of(aio::wait_for(aio::gather(a, failed), 0));
  EXPECT_TRUE(holds<Boom>(e)) << what_of(e);
  e = co_await error_of(aio::wait_for(aio::gather(cancelled, a), 0));
  EXPECT_TRUE(holds<aio::TimeoutError>(e)) << what_of(e);
}

AIO_TEST(WaitForGather, TimeoutZeroChildrenNeverStart) {
  // test_wait_for_timeout_less_then_0_or_0_coroutine_do_not_started: the gather's
  // children are cancelled before their first step.
  for (double timeout : {0.0, -1.0}) {
    bool s1 = false, s2 = false;
    const double t0 = now();
    EXPECT_THROW(co_await aio::wait_for(aio::gather(set_started(&s1), set_started(&s2)), timeout), aio::TimeoutError);
    EXPECT_FALSE(s1) << "timeout " << timeout;
    EXPECT_FALSE(s2) << "timeout " << timeout;
    EXPECT_LT(now() - t0, 1.0);
    std::vector<aio::Coro<int>> coros;
    coros.push_back(value(1));
    EXPECT_THROW(co_await aio::wait_for(aio::gather(std::move(coros)), timeout), aio::TimeoutError);
  }
  // A child that is done and one that is not: still a timeout, the running one cancelled.
  auto done = aio::create_task(value(1));
  co_await run_briefly();
  auto running = aio::create_task(nap(10));
  EXPECT_THROW(co_await aio::wait_for(aio::gather(done, running), 0), aio::TimeoutError);
  EXPECT_TRUE(running.cancelled());
  EXPECT_FALSE(done.cancelled());
  EXPECT_EQ(my_cancelling(), 0);
}

AIO_TEST(WaitForGather, TimeoutZeroWaitsForTheChildrenToFinishCancelling) {
  // test_wait_for_waits_for_task_cancellation_w_timeout_0
  bool d1 = false, d2 = false;
  aio::Future<void> started;
  std::exception_ptr e = co_await error_of(wait_for_gather_zero_in_task(&d1, &d2, started));
  EXPECT_TRUE(holds<aio::TimeoutError>(e)) << what_of(e);
  EXPECT_TRUE(d1);
  EXPECT_TRUE(d2);
  EXPECT_EQ(my_cancelling(), 0);
}

AIO_TEST(WaitForGather, TimeoutZeroOuterCancellationStaysCancelledError) {
  // Cancelling the waiting task while the zero-delay wait_for waits for the children to
  // finish cancelling: CancelledError (asyncio's _cancel_and_wait lets it through), not a
  // timeout. As for any awaited gather, the cancellation reaches the children again
  // (asyncio would stop waiting for them instead), so none is left running.
  bool d1 = false, d2 = false;
  aio::Future<void> never;
  auto c1 = aio::create_task(cancel_cleanup_until(never, &d1));
  auto c2 = aio::create_task(cancel_cleanup_until(never, &d2));
  aio::Future<void> started;
  auto wait = aio::create_task(wait_for_pair_in_task(c1, c2, 0, started));
  co_await started;
  co_await run_briefly();  // the wait_for cancelled the children and waits for them
  AIO_ASSERT_FALSE(wait.done());
  AIO_ASSERT_FALSE(c1.done());
  wait.cancel();
  std::exception_ptr e = co_await error_of(wait);
  EXPECT_TRUE(holds<aio::CancelledError>(e)) << what_of(e);
  EXPECT_TRUE(c1.cancelled());
  EXPECT_TRUE(c2.cancelled());
  EXPECT_FALSE(d1 || d2) << "the cleanups were not interrupted: the cancellation did not reach the children";
}

AIO_TEST(WaitForGather, VectorForms) {
  std::vector<aio::Coro<int>> coros;
  for (int i = 0; i < 4; ++i) coros.push_back(value_after(0.001 * (4 - i), i));
  const std::vector<int> in_order{0, 1, 2, 3};
  EXPECT_EQ(co_await aio::wait_for(aio::gather(std::move(coros)), 5.0), in_order);

  std::vector<aio::Task<void>> sleepers;
  for (int i = 0; i < 3; ++i) sleepers.push_back(aio::create_task(nap(10)));
  EXPECT_THROW(co_await aio::wait_for(aio::gather(sleepers), 0.01), aio::TimeoutError);
  for (auto& t : sleepers) EXPECT_TRUE(t.cancelled());

  std::vector<aio::Coro<int>> mixed;
  mixed.push_back(value(1));
  mixed.push_back(fail_after(0, "bad"));
  auto outcomes = co_await aio::timeout(5.0, aio::gather(aio::return_exceptions, std::move(mixed)));
  AIO_ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_EQ(outcomes[0].value(), 1);
  EXPECT_TRUE(holds<Boom>(outcomes[1].exception()));

  std::vector<aio::Coro<int>> slow;
  slow.push_back(value_after(10, 1));
  slow.push_back(value_after(10, 2));
  EXPECT_THROW(co_await aio::timeout_at(now() + 0.01, aio::gather(aio::return_exceptions, std::move(slow))),
               aio::TimeoutError);
  EXPECT_EQ(my_cancelling(), 0);
}

AIO_TEST(WaitForGather, MovedGatherKeepsWhatItSaw) {
  // Handing a gather to wait_for moves it: children that finished before (here: failed)
  // are not forgotten.
  auto running = aio::create_task(value_after(0.01, 1));
  auto g = aio::gather(running, fail_after(0, "early"));
  co_await run_briefly();  // the failing child is done before wait_for takes the gather
  std::exception_ptr e = co_await error_of(aio::wait_for(std::move(g), 5.0));
  EXPECT_TRUE(holds<Boom>(e)) << what_of(e);
  EXPECT_EQ(co_await running, 1);
}
