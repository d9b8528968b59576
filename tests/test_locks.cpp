// Lock, Event, Condition, Semaphore, BoundedSemaphore and Barrier: ports of CPython's
// Lib/test/test_asyncio/test_locks.py (LockTests, EventTests, ConditionTests, SemaphoreTests,
// BarrierTests; asyncio 3.12/3.13 semantics). Each test names the CPython case it comes from;
// tests without one are aio's own (RAII guards, extra cancellation points, stress).
//
// Mapping: RuntimeError (wait/notify without the lock) -> aio::UsageError; ValueError
// (over-releasing a BoundedSemaphore) -> aio::UsageError; ValueError (Semaphore(-1),
// Barrier(0)) -> std::invalid_argument; `async with cond/sem` -> `auto g = co_await x.lock()`;
// `async with barrier as i` -> `int i = co_await barrier.wait()`.
//
// Not ported: the repr tests (test_repr of each class, test_barrier, test_draining_state,
// which read the state out of repr()); the loop-binding tests (test_ambiguous_loops, the
// `loop=` constructor tests); the "`await lock` / `with await lock` is a TypeError" tests
// (test_lock, test_semaphore's await part, test_lock_by_with_statement: no such syntax in
// C++). Checks on private fields (_waiters, _count) are replaced by observable behaviour.
#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <aio/testing.hpp>

#include "support.hpp"

namespace {

using namespace aio_test;

aio::Coro<void> take_and_record(aio::Lock& lock, std::vector<int>& order, int id) {
  co_await lock.acquire();
  order.push_back(id);
  lock.release();
}

struct Occupancy {
  int inside = 0, max_inside = 0, entered = 0;
};

// (Named coroutines, not temporary capturing lambdas: a lambda's captures live in the
// closure object, which a lazily started coroutine would outlive.)
aio::Coro<void> critical_section(aio::Lock& lock, Occupancy& o) {
  auto guard = co_await lock.lock();
  struct Inside {  // leaves on every path, cancellation included (before the guard)
    Occupancy& o;
    explicit Inside(Occupancy& occ) : o(occ) {
      ++o.inside;
      ++o.entered;
      o.max_inside = std::max(o.max_inside, o.inside);
    }
    ~Inside() { --o.inside; }
  } in(o);
  co_await aio::sleep(0);
}

aio::Coro<void> wait_and_flag(aio::Event& ev, bool& flag) {
  co_await ev.wait();
  flag = true;
}

}  // namespace

AIO_TEST(Lock, AcquireRelease) {
  aio::Lock lock;
  EXPECT_FALSE(lock.locked());
  co_await lock.acquire();
  EXPECT_TRUE(lock.locked());
  lock.release();
  EXPECT_FALSE(lock.locked());
}

AIO_TEST(Lock, ReleaseUnlockedIsAUsageError) {
  aio::Lock lock;
  EXPECT_THROW(lock.release(), aio::UsageError);
  co_return;
}

AIO_TEST(Lock, WaitersAcquireInFifoOrder) {
  // test_acquire: three waiters queue behind the holder and get the lock in order.
  aio::Lock lock;
  std::vector<int> order;
  co_await lock.acquire();
  auto t1 = aio::create_task(take_and_record(lock, order, 1));
  auto t2 = aio::create_task(take_and_record(lock, order, 2));
  auto t3 = aio::create_task(take_and_record(lock, order, 3));
  co_await run_briefly();
  EXPECT_TRUE(order.empty());
  lock.release();
  co_await aio::gather(t1, t2, t3);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_FALSE(lock.locked());
}

AIO_TEST(Lock, NewcomerDoesNotOvertakeAWokenWaiter) {
  // After release() chose a waiter, a task that calls acquire() before it ran must queue.
  aio::Lock lock;
  std::vector<int> order;
  co_await lock.acquire();
  auto first = aio::create_task(take_and_record(lock, order, 1));
  co_await run_briefly();
  lock.release();  // `first` is woken but has not run yet
  auto late = aio::create_task(take_and_record(lock, order, 2));
  co_await aio::gather(first, late);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

AIO_TEST(Lock, CancelWhileWaitingLeavesTheLockAlone) {
  // test_acquire_cancel
  aio::Lock lock;
  co_await lock.acquire();
  auto waiter = aio::create_task([](aio::Lock& l) -> aio::Coro<void> { co_await l.acquire(); }(lock));
  co_await run_briefly();
  waiter.cancel();
  EXPECT_THROW(co_await waiter, aio::CancelledError);
  EXPECT_TRUE(lock.locked());  // still ours
  lock.release();
  EXPECT_FALSE(lock.locked());
}

AIO_TEST(Lock, CancelledAfterBeingWokenPassesTheLockOn) {
  // test_cancel_release_race: release() picks the first waiter, which is cancelled before
  // it runs; the lock must go to the next waiter instead of being lost.
  aio::Lock lock;
  std::vector<int> order;
  co_await lock.acquire();
  auto first = aio::create_task(take_and_record(lock, order, 1));
  auto second = aio::create_task(take_and_record(lock, order, 2));
  co_await run_briefly();
  lock.release();  // wakes `first`
  first.cancel();  // ... which is cancelled before it runs
  EXPECT_THROW(co_await first, aio::CancelledError);
  co_await second;
  EXPECT_EQ(order, (std::vector<int>{2}));
  EXPECT_FALSE(lock.locked());
}

AIO_TEST(Lock, CancelOneOfSeveralWaiters) {
  // test_cancel_race / finished_waiter_cancelled
  aio::Lock lock;
  std::vector<int> order;
  co_await lock.acquire();
  auto t1 = aio::create_task(take_and_record(lock, order, 1));
  auto t2 = aio::create_task(take_and_record(lock, order, 2));
  auto t3 = aio::create_task(take_and_record(lock, order, 3));
  co_await run_briefly();
  t2.cancel();
  co_await run_briefly();
  lock.release();
  co_await t1;
  EXPECT_THROW(co_await t2, aio::CancelledError);
  co_await t3;
  EXPECT_EQ(order, (std::vector<int>{1, 3}));
  EXPECT_FALSE(lock.locked());
}

AIO_TEST(Lock, GuardReleasesOnScopeExit) {
  aio::Lock lock;
  {
    auto guard = co_await lock.lock();
    EXPECT_TRUE(guard.owns_lock());
    EXPECT_TRUE(lock.locked());
  }
  EXPECT_FALSE(lock.locked());
}

AIO_TEST(Lock, GuardReleasesOnException) {
  aio::Lock lock;
  auto body = [](aio::Lock& l) -> aio::Coro<void> {
    auto guard = co_await l.lock();
    throw Boom("inside the lock");
  };
  EXPECT_THROW(co_await body(lock), Boom);
  EXPECT_FALSE(lock.locked());
}

AIO_TEST(Lock, GuardReleasesOnCancellation) {
  aio::Lock lock;
  auto holder = aio::create_task([](aio::Lock& l) -> aio::Coro<void> {
    auto guard = co_await l.lock();
    co_await aio::sleep(10);
  }(lock));
  co_await run_briefly();
  EXPECT_TRUE(lock.locked());
  holder.cancel();
  EXPECT_THROW(co_await holder, aio::CancelledError);
  EXPECT_FALSE(lock.locked());
}

AIO_TEST(Lock, StressManyTasksCancelledAtRandomNeverStrandTheLock) {
  aio::Lock lock;
  Occupancy o;
  std::vector<aio::Task<void>> tasks;
  for (int i = 0; i < 200; ++i) tasks.push_back(aio::create_task(critical_section(lock, o)));
  for (std::size_t i = 0; i < tasks.size(); i += 3) tasks[i].cancel();  // before they start
  co_await run_briefly();
  for (std::size_t i = 1; i < tasks.size(); i += 5) tasks[i].cancel();  // while queued or inside
  co_await aio::gather(aio::return_exceptions, tasks);
  EXPECT_EQ(o.max_inside, 1);
  EXPECT_GT(o.entered, 0);
  EXPECT_EQ(o.inside, 0);
  EXPECT_FALSE(lock.locked());
}

AIO_TEST(Event, WaitReturnsOnceSet) {
  // test_wait
  aio::Event ev;
  EXPECT_FALSE(ev.is_set());
  bool woke1 = false, woke2 = false;
  auto t1 = aio::create_task(wait_and_flag(ev, woke1));
  auto t2 = aio::create_task(wait_and_flag(ev, woke2));
  co_await run_briefly();
  EXPECT_FALSE(woke1 || woke2);
  ev.set();
  co_await aio::gather(t1, t2);
  EXPECT_TRUE(woke1 && woke2);
  EXPECT_TRUE(ev.is_set());
  co_await ev.wait();  // already set: returns at once
}

AIO_TEST(Event, ClearAfterSetStillWakesTheWaiters) {
  // test_clear_with_waiters
  aio::Event ev;
  bool woke = false;
  auto t = aio::create_task(wait_and_flag(ev, woke));
  co_await run_briefly();
  ev.set();
  ev.clear();
  EXPECT_FALSE(ev.is_set());
  co_await t;
  EXPECT_TRUE(woke);
}

AIO_TEST(Event, CancelledWaiterLeavesNoTrace) {
  // test_wait_cancel
  aio::Event ev;
  bool woke = false;
  auto t = aio::create_task(wait_and_flag(ev, woke));
  co_await run_briefly();
  t.cancel();
  EXPECT_THROW(co_await t, aio::CancelledError);
  ev.set();  // nobody left to wake: must not touch the cancelled waiter
  EXPECT_TRUE(ev.is_set());
  EXPECT_FALSE(woke);
}

// ============================================================================================
// Condition (ConditionTests)
// ============================================================================================

namespace {

// Gathers `tasks`, failing with TimeoutError instead of hanging when a wake-up is lost.
// (aio::timeout takes a Coro, Task or Future, not gather()'s awaitable: hence the Coro.)
aio::Coro<void> gather_all(std::vector<aio::Task<void>> tasks) { co_await aio::gather(std::move(tasks)); }
aio::Coro<std::vector<int>> gather_ints(std::vector<aio::Task<int>> tasks) {
  co_return co_await aio::gather(std::move(tasks));
}
aio::Coro<void> gather_within_10s(const std::vector<aio::Task<void>>& tasks) {
  co_await aio::timeout(10.0, gather_all(tasks));
}

// Takes the lock, waits once, records `id` and returns still holding the lock (test_wait).
aio::Coro<void> cond_wait_keep(aio::Condition& cond, std::vector<int>& result, int id) {
  co_await cond.acquire();
  co_await cond.wait();
  result.push_back(id);
}

// Takes the lock, waits once, records `id`, releases (test_notify, test_notify_all).
aio::Coro<void> cond_wait_release(aio::Condition& cond, std::vector<int>& result, int id) {
  co_await cond.acquire();
  co_await cond.wait();
  result.push_back(id);
  cond.release();
}

aio::Coro<void> guarded_wait(aio::Condition& cond, bool& waited) {
  auto guard = co_await cond.lock();
  waited = true;  // make sure this area was reached
  co_await cond.wait();
}

aio::Coro<void> wait_for_flag(aio::Condition& cond, const bool& flag, std::vector<int>& result) {
  co_await cond.acquire();
  if (co_await cond.wait_for([&flag] { return flag; })) {
    result.push_back(1);
    cond.release();
  }
}

// What a task saw when its wait_for() was cancelled.
struct CancelSeen {
  bool caught = false;
  bool locked_in_catch = false;
  std::string message;
};

aio::Coro<void> wait_for_flag_noting_cancel(aio::Condition& cond, const bool& wake, CancelSeen& seen) {
  auto guard = co_await cond.lock();
  try {
    co_await cond.wait_for([&wake] { return wake; });
  } catch (const aio::CancelledError& e) {
    seen.caught = true;
    seen.locked_in_catch = cond.locked();  // the lock is ours again before the error leaves
    seen.message = e.message();
    throw;
  }
}

// test_cancelled_wakeup's consumer: takes one item whenever state > 0; returns at state < 0.
aio::Coro<void> consumer(aio::Condition& cond, int& state) {
  auto guard = co_await cond.lock();
  for (;;) {
    co_await cond.wait_for([&state] { return state != 0; });
    if (state < 0) co_return;
    --state;
  }
}

aio::Coro<void> check_shared_lock(aio::Lock& lock, aio::Condition& cond) {
  EXPECT_FALSE(lock.locked());
  EXPECT_FALSE(cond.locked());
  {
    auto guard = co_await cond.lock();
    EXPECT_TRUE(lock.locked());
    EXPECT_TRUE(cond.locked());
  }
  EXPECT_FALSE(lock.locked());
  EXPECT_FALSE(cond.locked());
  {
    auto guard = co_await lock.lock();
    EXPECT_TRUE(lock.locked());
    EXPECT_TRUE(cond.locked());
  }
  EXPECT_FALSE(lock.locked());
  EXPECT_FALSE(cond.locked());
}

template <class Pred>
aio::Coro<int> guarded_wait_for(aio::Condition& cond, Pred pred) {
  auto guard = co_await cond.lock();
  co_return co_await cond.wait_for(std::move(pred));
}

aio::Coro<void> wait_then_throw(aio::Condition& cond, const bool& ready) {
  auto guard = co_await cond.lock();
  co_await cond.wait_for([&ready] { return ready; });
  throw Boom("after the wait");
}

// Waits once under a guard (released on every path), then records `id`.
aio::Coro<void> guarded_wait_record(aio::Condition& cond, std::vector<int>& result, int id) {
  auto guard = co_await cond.lock();
  co_await cond.wait();
  result.push_back(id);
}

aio::Coro<void> take_cond_and_record(aio::Condition& cond, std::vector<int>& order, int id) {
  auto guard = co_await cond.lock();
  order.push_back(id);
}

}  // namespace

AIO_TEST(Condition, WaitAndNotifyOneByOne) {
  // test_wait
  aio::Condition cond;
  std::vector<int> result;
  auto t1 = aio::create_task(cond_wait_keep(cond, result, 1));
  auto t2 = aio::create_task(cond_wait_keep(cond, result, 2));
  auto t3 = aio::create_task(cond_wait_keep(cond, result, 3));

  co_await aio::sleep(0);
  EXPECT_TRUE(result.empty());
  EXPECT_FALSE(cond.locked());  // every waiter gave the lock up

  co_await cond.acquire();
  cond.notify();
  co_await aio::sleep(0);
  EXPECT_TRUE(result.empty());  // t1 woke, but we hold the lock
  EXPECT_TRUE(cond.locked());

  cond.release();
  co_await aio::sleep(0);
  EXPECT_EQ(result, (std::vector<int>{1}));
  EXPECT_TRUE(cond.locked());  // t1 returned holding it

  cond.notify(2);
  co_await aio::sleep(0);
  EXPECT_EQ(result, (std::vector<int>{1}));
  EXPECT_TRUE(cond.locked());

  cond.release();  // (t1's hold)
  co_await aio::sleep(0);
  EXPECT_EQ(result, (std::vector<int>{1, 2}));
  EXPECT_TRUE(cond.locked());

  cond.release();
  co_await aio::sleep(0);
  EXPECT_EQ(result, (std::vector<int>{1, 2, 3}));
  EXPECT_TRUE(cond.locked());

  EXPECT_TRUE(t1.done() && t2.done() && t3.done());
  cond.release();
}

AIO_TEST(Condition, CancelledWaitReacquiresTheLock) {
  // test_wait_cancel
  aio::Condition cond;
  co_await cond.acquire();
  auto waiter = aio::create_task(cond.wait());
  aio::get_running_loop().call_soon([&waiter] { waiter.cancel(); });
  EXPECT_THROW(co_await waiter, aio::CancelledError);
  EXPECT_TRUE(cond.locked());
  // No trace of the cancelled waiter: a notify goes to the next one (not cond._waiters).
  std::vector<int> result;
  auto next = aio::create_task(cond_wait_release(cond, result, 7));
  cond.release();
  co_await aio::sleep(0);
  co_await cond.acquire();
  cond.notify(1);
  cond.release();
  co_await next;
  EXPECT_EQ(result, (std::vector<int>{7}));
  EXPECT_FALSE(cond.locked());
}

AIO_TEST(Condition, CancelWhileTheLockIsContested) {
  // test_wait_cancel_contested
  aio::Condition cond;
  co_await cond.acquire();
  EXPECT_TRUE(cond.locked());
  auto waiter = aio::create_task(cond.wait());
  co_await aio::sleep(0);
  EXPECT_FALSE(cond.locked());

  // Notify, but contest the lock before cancelling.
  co_await cond.acquire();
  EXPECT_TRUE(cond.locked());
  cond.notify();
  aio::get_running_loop().call_soon([&waiter] { waiter.cancel(); });
  aio::get_running_loop().call_soon([&cond] { cond.release(); });
  std::exception_ptr error = co_await error_of(waiter);
  // (CPython tolerates either outcome here; asyncio 3.13 ends in CancelledError.)
  EXPECT_TRUE(!error || holds<aio::CancelledError>(error)) << what_of(error);
  EXPECT_TRUE(cond.locked());  // the waiter has the lock again either way
  cond.release();
}

AIO_TEST(Condition, CancelAfterNotifyWhileReacquiring) {
  // test_wait_cancel_after_notify (bpo-32841)
  aio::Condition cond;
  bool waited = false;
  auto waiter = aio::create_task(guarded_wait(cond, waited));
  co_await aio::sleep(0);  // start waiting

  co_await cond.acquire();
  cond.notify();
  co_await aio::sleep(0);  // the waiter gets to acquire()
  waiter.cancel();
  co_await aio::sleep(0);       // the cancellation arrives while it re-acquires
  EXPECT_FALSE(waiter.done());  // it must keep trying for the lock we hold
  cond.release();
  co_await aio::sleep(0);  // now the cancellation leaves

  EXPECT_TRUE(waiter.done());
  EXPECT_TRUE(waiter.cancelled());
  EXPECT_TRUE(waited);
  EXPECT_FALSE(cond.locked());  // the waiter's guard released what wait() re-acquired
}

AIO_TEST(Condition, WaitWithoutTheLockIsAUsageError) {
  // test_wait_unacquired
  aio::Condition cond;
  EXPECT_THROW(co_await cond.wait(), aio::UsageError);
  EXPECT_FALSE(cond.locked());
}

AIO_TEST(Condition, WaitForRechecksThePredicateAfterEachNotify) {
  // test_wait_for
  aio::Condition cond;
  bool presult = false;
  std::vector<int> result;
  auto t = aio::create_task(wait_for_flag(cond, presult, result));

  co_await aio::sleep(0);
  EXPECT_TRUE(result.empty());

  co_await cond.acquire();
  cond.notify();
  cond.release();
  co_await aio::sleep(0);
  EXPECT_TRUE(result.empty());  // woke, predicate still false: waits again

  presult = true;
  co_await cond.acquire();
  cond.notify();
  cond.release();
  co_await aio::sleep(0);
  EXPECT_EQ(result, (std::vector<int>{1}));
  EXPECT_TRUE(t.done());
  co_await t;
  EXPECT_FALSE(cond.locked());
}

AIO_TEST(Condition, WaitForWithoutTheLock) {
  // test_wait_for_unacquired: a predicate true at once needs no lock (and its value is
  // returned); one that is false needs the lock to wait.
  aio::Condition cond;
  int v = co_await cond.wait_for([] { return 42; });
  EXPECT_EQ(v, 42);
  std::optional<std::vector<int>> list = co_await cond.wait_for([] {
    return std::optional<std::vector<int>>(std::vector<int>{1, 2, 3});
  });
  EXPECT_TRUE(list.has_value());
  if (list) {
    EXPECT_EQ(*list, (std::vector<int>{1, 2, 3}));
  }
  EXPECT_THROW(co_await cond.wait_for([] { return false; }), aio::UsageError);
  EXPECT_FALSE(cond.locked());
}

AIO_TEST(Condition, WaitForReturnsThePredicatesValueAndRunsItUnderTheLock) {
  aio::Condition cond;
  int value = 0;
  bool always_locked = true;
  int calls = 0;
  auto pred = [&] {
    ++calls;
    always_locked = always_locked && cond.locked();
    return value;
  };
  auto waiter = aio::create_task(guarded_wait_for(cond, pred));
  co_await aio::sleep(0);
  EXPECT_FALSE(waiter.done());
  co_await cond.acquire();
  value = 7;
  cond.notify();
  cond.release();
  EXPECT_EQ(co_await waiter, 7);
  EXPECT_EQ(calls, 2);
  EXPECT_TRUE(always_locked);
}

AIO_TEST(Condition, NotifyWakesAtMostN) {
  // test_notify
  aio::Condition cond;
  std::vector<int> result;
  auto t1 = aio::create_task(cond_wait_release(cond, result, 1));
  auto t2 = aio::create_task(cond_wait_release(cond, result, 2));
  auto t3 = aio::create_task(cond_wait_release(cond, result, 3));

  co_await aio::sleep(0);
  EXPECT_TRUE(result.empty());

  co_await cond.acquire();
  cond.notify(1);
  cond.release();
  co_await aio::sleep(0);
  EXPECT_EQ(result, (std::vector<int>{1}));

  co_await cond.acquire();
  cond.notify(1);
  cond.notify(2048);
  cond.release();
  co_await aio::sleep(0);
  EXPECT_EQ(result, (std::vector<int>{1, 2, 3}));
  EXPECT_TRUE(t1.done() && t2.done() && t3.done());
  co_await aio::gather(t1, t2, t3);
}

AIO_TEST(Condition, NotifyAllWakesEveryWaiter) {
  // test_notify_all
  aio::Condition cond;
  std::vector<int> result;
  auto t1 = aio::create_task(cond_wait_release(cond, result, 1));
  auto t2 = aio::create_task(cond_wait_release(cond, result, 2));

  co_await aio::sleep(0);
  EXPECT_TRUE(result.empty());

  co_await cond.acquire();
  cond.notify_all();
  cond.release();
  co_await aio::sleep(0);
  EXPECT_EQ(result, (std::vector<int>{1, 2}));
  EXPECT_TRUE(t1.done() && t2.done());
  co_await aio::gather(t1, t2);
}

AIO_TEST(Condition, NotifyWithoutTheLockIsAUsageError) {
  // test_notify_unacquired, test_notify_all_unacquired
  aio::Condition cond;
  EXPECT_THROW(cond.notify(), aio::UsageError);
  EXPECT_THROW(cond.notify(3), aio::UsageError);
  EXPECT_THROW(cond.notify_all(), aio::UsageError);
  co_return;
}

AIO_TEST(Condition, GuardHoldsTheLockForTheScope) {
  // test_context_manager
  aio::Condition cond;
  EXPECT_FALSE(cond.locked());
  {
    auto guard = co_await cond.lock();
    EXPECT_TRUE(guard.owns_lock());
    EXPECT_TRUE(cond.locked());
  }
  EXPECT_FALSE(cond.locked());
  co_await cond.acquire();
  EXPECT_TRUE(cond.locked());
  cond.release();
  EXPECT_FALSE(cond.locked());
}

AIO_TEST(Condition, ExplicitLockIsShared) {
  // test_explicit_lock
  aio::Lock lock;
  aio::Condition cond(lock);
  co_await check_shared_lock(lock, cond);
  // A wait on the condition gives the shared Lock up, and takes it back.
  std::vector<int> result;
  auto waiter = aio::create_task(cond_wait_release(cond, result, 1));
  co_await aio::sleep(0);
  EXPECT_FALSE(lock.locked());
  co_await lock.acquire();
  cond.notify();
  lock.release();
  co_await waiter;
  EXPECT_EQ(result, (std::vector<int>{1}));
  EXPECT_FALSE(lock.locked());
}

AIO_TEST(Condition, TwoConditionsOverOneLock) {
  aio::Lock lock;
  aio::Condition a(lock), b(lock);
  std::vector<int> result;
  auto ta = aio::create_task(cond_wait_release(a, result, 1));
  auto tb = aio::create_task(cond_wait_release(b, result, 2));
  co_await aio::sleep(0);
  EXPECT_FALSE(lock.locked());
  co_await lock.acquire();
  b.notify_all();  // only b's waiter
  lock.release();
  co_await aio::sleep(0);
  EXPECT_EQ(result, (std::vector<int>{2}));
  EXPECT_FALSE(ta.done());
  co_await a.acquire();
  a.notify();
  a.release();
  co_await aio::gather(ta, tb);
  EXPECT_EQ(result, (std::vector<int>{2, 1}));
}

AIO_TEST(Condition, TimeoutInsideTheGuardedBlock) {
  // test_timeout_in_block: the timed-out wait has the lock again, so the guard's release is
  // legal.
  aio::Condition cond;
  {
    auto guard = co_await cond.lock();
    EXPECT_THROW(co_await aio::wait_for(cond.wait(), 0.01), aio::TimeoutError);
    EXPECT_TRUE(cond.locked());
    EXPECT_THROW(co_await aio::timeout(0.01, cond.wait()), aio::TimeoutError);
    EXPECT_TRUE(cond.locked());
  }
  EXPECT_FALSE(cond.locked());
}

AIO_TEST(Condition, CancelledWhileWaitingForTheNotify) {
  // test_cancelled_error_wakeup: the CancelledError leaves unchanged (with its message),
  // after the lock was re-acquired.
  aio::Condition cond;
  bool wake = false;
  CancelSeen seen;
  auto task = aio::create_task(wait_for_flag_noting_cancel(cond, wake, seen));
  co_await aio::sleep(0);
  // The task waits on the condition: cancel it there.
  task.cancel("foo");
  std::exception_ptr error = co_await error_of(task);
  auto cancelled = exception_as<aio::CancelledError>(error);
  EXPECT_TRUE(cancelled.has_value()) << what_of(error);
  if (cancelled) {
    EXPECT_EQ(cancelled->message(), "foo");
  }
  EXPECT_TRUE(task.cancelled());
  EXPECT_TRUE(seen.caught);
  EXPECT_TRUE(seen.locked_in_catch);
  EXPECT_EQ(seen.message, "foo");
  EXPECT_FALSE(cond.locked());
}

AIO_TEST(Condition, CancelledWhileReacquiringTheLock) {
  // test_cancelled_error_re_aquire
  aio::Condition cond;
  bool wake = false;
  CancelSeen seen;
  auto task = aio::create_task(wait_for_flag_noting_cancel(cond, wake, seen));
  co_await aio::sleep(0);
  // The task waits on the condition.
  co_await cond.acquire();
  wake = true;
  cond.notify();
  co_await aio::sleep(0);
  // It now tries to re-acquire the lock: cancel it there.
  task.cancel("foo");
  cond.release();
  std::exception_ptr error = co_await error_of(task);
  auto cancelled = exception_as<aio::CancelledError>(error);
  EXPECT_TRUE(cancelled.has_value()) << what_of(error);
  if (cancelled) {
    EXPECT_EQ(cancelled->message(), "foo");
  }
  EXPECT_TRUE(seen.caught);
  EXPECT_TRUE(seen.locked_in_catch);
  EXPECT_EQ(seen.message, "foo");
  EXPECT_FALSE(cond.locked());
}

AIO_TEST(Condition, CancelledAgainAndAgainWhileReacquiring) {
  // Every cancellation that arrives while wait() re-acquires is absorbed until the lock is
  // back; then one CancelledError leaves.
  aio::Condition cond;
  bool wake = false;
  CancelSeen seen;
  auto task = aio::create_task(wait_for_flag_noting_cancel(cond, wake, seen));
  co_await aio::sleep(0);
  co_await cond.acquire();
  wake = true;
  cond.notify();
  co_await aio::sleep(0);  // re-acquiring
  for (int i = 0; i < 3; ++i) {
    task.cancel("again");
    co_await spin(3);
    EXPECT_FALSE(task.done());  // we still hold the lock: it must not leave without it
    EXPECT_FALSE(seen.caught);
  }
  cond.release();
  EXPECT_THROW(co_await task, aio::CancelledError);
  EXPECT_TRUE(seen.caught);
  EXPECT_TRUE(seen.locked_in_catch);
  EXPECT_FALSE(cond.locked());
}

AIO_TEST(Condition, CancelledWakeupIsNotLost) {
  // test_cancelled_wakeup: a waiter cancelled after notify() chose it, before it ran, passes
  // the notification on.
  aio::Condition cond;
  int state = 0;
  std::vector<aio::Task<void>> c;
  c.push_back(aio::create_task(consumer(cond, state)));
  c.push_back(aio::create_task(consumer(cond, state)));
  co_await aio::sleep(0);  // both settle in wait_for
  {
    auto guard = co_await cond.lock();
    state += 1;  // produce one item and wake up one consumer
    cond.notify(1);
    c[0].cancel();  // ... cancelled before it runs
    // Wait for the item to be consumed: if the notify was lost, it never is.
    try {
      co_await aio::timeout(0.01, cond.wait_for([&state] { return state == 0; }));
    } catch (const aio::TimeoutError&) {
    }
    EXPECT_EQ(state, 0);
    state = -1;
    cond.notify_all();
  }
  co_await c[1];
  EXPECT_THROW(co_await c[0], aio::CancelledError);
}

AIO_TEST(Condition, CancelledWakeupWhileRelockingIsNotLost) {
  // test_cancelled_wakeup_relock: the same, with the cancel arriving while the chosen waiter
  // re-acquires the lock.
  aio::Condition cond;
  int state = 0;
  std::vector<aio::Task<void>> c;
  c.push_back(aio::create_task(consumer(cond, state)));
  c.push_back(aio::create_task(consumer(cond, state)));
  co_await aio::sleep(0);
  {
    auto guard = co_await cond.lock();
    state += 1;
    cond.notify(1);
    co_await aio::sleep(0);  // the chosen waiter wakes and waits for the lock
    c[0].cancel();
    try {
      co_await aio::timeout(0.01, cond.wait_for([&state] { return state == 0; }));
    } catch (const aio::TimeoutError&) {
    }
    EXPECT_EQ(state, 0);
    state = -1;
    cond.notify_all();
  }
  co_await c[1];
  EXPECT_THROW(co_await c[0], aio::CancelledError);
}

AIO_TEST(Condition, NotifyToACancelledWaiterGoesToTheNext) {
  // The deterministic core of test_cancelled_wakeup: notify(1) picks A, A is cancelled
  // before it runs, B must get through.
  aio::Condition cond;
  std::vector<int> result;
  auto a = aio::create_task(guarded_wait_record(cond, result, 1));
  auto b = aio::create_task(guarded_wait_record(cond, result, 2));
  co_await aio::sleep(0);
  co_await cond.acquire();
  cond.notify(1);
  a.cancel();
  cond.release();
  EXPECT_THROW(co_await a, aio::CancelledError);
  co_await aio::timeout(10.0, b);  // (a lost notify would hang here)
  EXPECT_EQ(result, (std::vector<int>{2}));
  EXPECT_FALSE(cond.locked());
}

AIO_TEST(Condition, CancelledNotNotifiedWaiterTakesNoNotify) {
  // A cancelled waiter that was not notified leaves no trace: notify(1) goes to the next.
  aio::Condition cond;
  std::vector<int> result;
  auto a = aio::create_task(guarded_wait_record(cond, result, 1));
  auto b = aio::create_task(guarded_wait_record(cond, result, 2));
  co_await aio::sleep(0);
  a.cancel();
  EXPECT_THROW(co_await a, aio::CancelledError);
  EXPECT_FALSE(cond.locked());
  co_await cond.acquire();
  cond.notify(1);
  cond.release();
  co_await aio::timeout(10.0, b);
  EXPECT_EQ(result, (std::vector<int>{2}));
}

AIO_TEST(Condition, GuardReleasesOnExceptionAfterWait) {
  aio::Condition cond;
  bool ready = false;
  auto t = aio::create_task(wait_then_throw(cond, ready));
  co_await aio::sleep(0);
  {
    auto guard = co_await cond.lock();
    ready = true;
    cond.notify_all();
  }
  EXPECT_THROW(co_await t, Boom);
  EXPECT_FALSE(cond.locked());
}

AIO_TEST(Condition, GuardReleasesOnCancellationDuringWait) {
  aio::Condition cond;
  bool ready = false;
  auto t = aio::create_task(wait_then_throw(cond, ready));
  co_await aio::sleep(0);
  t.cancel();
  EXPECT_THROW(co_await t, aio::CancelledError);
  EXPECT_FALSE(cond.locked());  // re-acquired by wait(), then released by the guard
  // and the lock is usable at once by the next task
  std::vector<int> order;
  co_await take_cond_and_record(cond, order, 1);
  EXPECT_EQ(order, (std::vector<int>{1}));
}

AIO_TEST(Condition, GuardReleasesWhenCancelledWhileReacquiring) {
  // Cancellation while wait() re-acquires, with a third task queued for the lock: the
  // cancelled one gets the lock, leaves, and its guard hands the lock on.
  aio::Condition cond;
  bool ready = false;
  std::vector<int> order;
  auto t = aio::create_task(wait_then_throw(cond, ready));
  co_await aio::sleep(0);
  co_await cond.acquire();
  ready = true;
  cond.notify();
  co_await aio::sleep(0);  // t waits for the lock
  auto other = aio::create_task(take_cond_and_record(cond, order, 2));
  co_await aio::sleep(0);  // `other` queues behind t
  t.cancel();
  cond.release();
  EXPECT_THROW(co_await t, aio::CancelledError);
  co_await other;
  EXPECT_EQ(order, (std::vector<int>{2}));
  EXPECT_FALSE(cond.locked());
}

// ============================================================================================
// Semaphore and BoundedSemaphore (SemaphoreTests)
// ============================================================================================

namespace {

aio::Coro<void> sem_acquire(aio::Semaphore& sem) { co_await sem.acquire(); }

aio::Coro<void> sem_acquire_record(aio::Semaphore& sem, std::vector<int>& result, int id) {
  co_await sem.acquire();
  result.push_back(id);
}

aio::Coro<void> sem_guarded_record(aio::Semaphore& sem, std::vector<int>& result, int id) {
  auto guard = co_await sem.lock();
  result.push_back(id);
}

// test_acquire_no_hang's c1: holds the semaphore across a yield, then cancels `other`.
aio::Coro<void> hold_then_cancel(aio::Semaphore& sem, std::optional<aio::Task<void>>& other) {
  {
    auto guard = co_await sem.lock();
    co_await aio::sleep(0);
  }
  other->cancel();
}

// test_acquire_no_hang's c2: must never get in.
aio::Coro<void> must_not_enter(aio::Semaphore& sem) {
  auto guard = co_await sem.lock();
  ADD_FAILURE() << "the cancelled task entered the semaphore";
}

// test_acquire_fifo_order's coro (sleep(0) instead of sleep(0.01): the order is the same).
aio::Coro<void> acquire_twice_tagged(aio::Semaphore& sem, std::vector<std::string>& result, std::string tag) {
  co_await sem.acquire();
  result.push_back(tag + "_1");
  co_await aio::sleep(0);
  sem.release();

  co_await sem.acquire();
  result.push_back(tag + "_2");
  co_await aio::sleep(0);
  sem.release();
}

// test_acquire_fifo_order_2's c2.
aio::Coro<void> record_release_reacquire(aio::Semaphore& sem, std::vector<int>& result) {
  co_await sem.acquire();
  result.push_back(2);
  sem.release();
  co_await sem.acquire();
  result.push_back(4);
}

// test_acquire_fifo_order_4's c1..c4.
aio::Coro<void> fifo4_c4(std::vector<int>& result) {
  result.push_back(4);
  co_return;
}
aio::Coro<void> fifo4_c1(aio::Semaphore& sem, std::vector<int>& result, std::optional<aio::Task<void>>& t4) {
  // Waits at once; woken by c2.
  EXPECT_EQ(sem.value(), 0);
  co_await sem.acquire();
  // Waking up, it has let every task queued behind it go as well.
  EXPECT_EQ(sem.value(), 0);
  // A fourth task created now runs after c3, not before c2.
  t4 = aio::create_task(fifo4_c4(result));
  result.push_back(1);
}
aio::Coro<void> fifo4_c2(aio::Semaphore& sem, std::vector<int>& result) {
  // Releases three times, for c1, c2 and c3.
  sem.release();
  sem.release();
  sem.release();
  EXPECT_EQ(sem.value(), 2);
  EXPECT_TRUE(sem.locked());  // c1 has not woken up yet
  co_await sem.acquire();
  result.push_back(2);
}
aio::Coro<void> fifo4_c3(aio::Semaphore& sem, std::vector<int>& result) {
  co_await sem.acquire();
  EXPECT_TRUE(sem.locked());
  result.push_back(3);
}

aio::Coro<void> sem_hold_forever(aio::Semaphore& sem) {
  auto guard = co_await sem.lock();
  co_await aio::sleep(3600);
}

aio::Coro<void> sem_throw_inside(aio::Semaphore& sem) {
  auto guard = co_await sem.lock();
  throw Boom("inside the semaphore");
}

struct SemOccupancy {
  int inside = 0, max_inside = 0, entered = 0;
};

aio::Coro<void> sem_critical_section(aio::Semaphore& sem, SemOccupancy& o) {
  auto guard = co_await sem.lock();
  struct Inside {
    SemOccupancy& o;
    explicit Inside(SemOccupancy& occ) : o(occ) {
      ++o.inside;
      ++o.entered;
      o.max_inside = std::max(o.max_inside, o.inside);
    }
    ~Inside() { --o.inside; }
  } in(o);
  co_await aio::sleep(0);
  co_await aio::sleep(0);
}

}  // namespace

AIO_TEST(Semaphore, InitialValueZeroIsLocked) {
  // test_initial_value_zero
  aio::Semaphore sem(0);
  EXPECT_TRUE(sem.locked());
  EXPECT_EQ(sem.value(), 0);
  co_return;
}

AIO_TEST(Semaphore, DefaultValueIsOne) {
  // test_semaphore (the value part)
  aio::Semaphore sem;
  EXPECT_EQ(sem.value(), 1);
  EXPECT_FALSE(sem.locked());
  aio::BoundedSemaphore bounded;
  EXPECT_EQ(bounded.value(), 1);
  EXPECT_FALSE(bounded.locked());
  co_return;
}

AIO_TEST(Semaphore, NegativeValueIsInvalid) {
  // test_semaphore_value
  EXPECT_THROW({ aio::Semaphore s(-1); }, std::invalid_argument);
  EXPECT_THROW({ aio::BoundedSemaphore s(-1); }, std::invalid_argument);
  co_return;
}

AIO_TEST(Semaphore, Acquire) {
  // test_acquire
  aio::Semaphore sem(3);
  std::vector<int> result;
  co_await sem.acquire();
  co_await sem.acquire();
  EXPECT_FALSE(sem.locked());

  auto t1 = aio::create_task(sem_acquire_record(sem, result, 1));
  auto t2 = aio::create_task(sem_acquire_record(sem, result, 2));
  auto t3 = aio::create_task(sem_acquire_record(sem, result, 3));
  co_await aio::sleep(0);
  EXPECT_EQ(result, (std::vector<int>{1}));
  EXPECT_TRUE(sem.locked());
  EXPECT_EQ(sem.value(), 0);

  auto t4 = aio::create_task(sem_acquire_record(sem, result, 4));
  sem.release();
  sem.release();
  EXPECT_EQ(sem.value(), 0);  // both units promised to the woken waiters

  co_await aio::sleep(0);
  EXPECT_EQ(sem.value(), 0);
  EXPECT_EQ(result.size(), 3u);
  EXPECT_TRUE(sem.locked());
  EXPECT_TRUE(t1.done());
  int done = int(t2.done()) + int(t3.done()) + int(t4.done());
  EXPECT_EQ(done, 2);
  EXPECT_FALSE(t4.done());  // FIFO: the newcomer queued behind t2 and t3

  // clean up the locked semaphore
  sem.release();
  co_await aio::gather(t2, t3, t4);
  EXPECT_EQ(result, (std::vector<int>{1, 2, 3, 4}));
}

AIO_TEST(Semaphore, AcquireCancel) {
  // test_acquire_cancel
  aio::Semaphore sem;
  co_await sem.acquire();
  auto acquire = aio::create_task(sem_acquire(sem));
  aio::get_running_loop().call_soon([&acquire] { acquire.cancel(); });
  EXPECT_THROW(co_await acquire, aio::CancelledError);
  // No trace of it (not sem._waiters): one release frees the semaphore.
  EXPECT_TRUE(sem.locked());
  sem.release();
  EXPECT_FALSE(sem.locked());
  EXPECT_EQ(sem.value(), 1);
}

AIO_TEST(Semaphore, AcquireCancelBeforeAwoken) {
  // test_acquire_cancel_before_awoken
  aio::Semaphore sem(0);
  auto t1 = aio::create_task(sem_acquire(sem));
  auto t2 = aio::create_task(sem_acquire(sem));
  auto t3 = aio::create_task(sem_acquire(sem));
  auto t4 = aio::create_task(sem_acquire(sem));
  co_await aio::sleep(0);

  t1.cancel();
  t2.cancel();
  sem.release();

  co_await aio::sleep(0);
  co_await aio::sleep(0);
  EXPECT_EQ(int(t3.done()) + int(t4.done()), 1);
  EXPECT_TRUE(t3.done());
  EXPECT_FALSE(t4.done());

  t3.cancel();  // (done: no effect)
  t4.cancel();
  co_await aio::sleep(0);
  EXPECT_TRUE(t1.cancelled() && t2.cancelled() && t4.cancelled());
  EXPECT_FALSE(t3.cancelled());
  co_await aio::gather(aio::return_exceptions, t1, t2, t3, t4);
  EXPECT_EQ(sem.value(), 0);  // t3 holds the one unit
}

AIO_TEST(Semaphore, AcquireHang) {
  // test_acquire_hang
  aio::Semaphore sem(0);
  auto t1 = aio::create_task(sem_acquire(sem));
  auto t2 = aio::create_task(sem_acquire(sem));
  co_await aio::sleep(0);

  t1.cancel();
  sem.release();
  co_await aio::sleep(0);
  co_await aio::sleep(0);
  EXPECT_TRUE(sem.locked());
  EXPECT_TRUE(t2.done());
  EXPECT_THROW(co_await t1, aio::CancelledError);
  co_await aio::timeout(10.0, t2);
}

AIO_TEST(Semaphore, AcquireNoHang) {
  // test_acquire_no_hang: a waiter cancelled after release() chose it gives its unit back.
  aio::Semaphore sem(1);
  std::optional<aio::Task<void>> t2;
  auto t1 = aio::create_task(hold_then_cancel(sem, t2));
  t2 = aio::create_task(must_not_enter(sem));

  auto results = co_await aio::gather(aio::return_exceptions, t1, *t2);
  EXPECT_TRUE(std::get<0>(results).ok());
  EXPECT_TRUE(holds<aio::CancelledError>(std::get<1>(results).exception()));

  co_await aio::wait_for(sem_acquire(sem), 1.0);
  EXPECT_EQ(sem.value(), 0);
  sem.release();
}

AIO_TEST(Semaphore, BoundedReleaseNotAcquired) {
  // test_release_not_acquired
  aio::BoundedSemaphore sem;
  EXPECT_THROW(sem.release(), aio::UsageError);
  EXPECT_EQ(sem.value(), 1);
  co_return;
}

AIO_TEST(Semaphore, BoundedOverReleaseAfterBalancedUse) {
  aio::BoundedSemaphore sem(2);
  co_await sem.acquire();
  co_await sem.acquire();
  EXPECT_TRUE(sem.locked());
  sem.release();
  sem.release();
  EXPECT_EQ(sem.value(), 2);
  EXPECT_THROW(sem.release(), aio::UsageError);
  EXPECT_EQ(sem.value(), 2);  // unchanged by the refused release
  EXPECT_FALSE(sem.locked());
  // A plain Semaphore may be released above its initial value (as in asyncio).
  aio::Semaphore plain(1);
  plain.release();
  EXPECT_EQ(plain.value(), 2);
}

AIO_TEST(Semaphore, ReleaseNoWaiters) {
  // test_release_no_waiters
  aio::Semaphore sem;
  co_await sem.acquire();
  EXPECT_TRUE(sem.locked());
  sem.release();
  EXPECT_FALSE(sem.locked());
}

AIO_TEST(Semaphore, AcquireFifoOrder) {
  // test_acquire_fifo_order
  aio::Semaphore sem(1);
  std::vector<std::string> result;
  co_await aio::task_group([&](aio::TaskGroup& tg) -> aio::Coro<void> {
    tg.create_task(acquire_twice_tagged(sem, result, "c1"));
    tg.create_task(acquire_twice_tagged(sem, result, "c2"));
    tg.create_task(acquire_twice_tagged(sem, result, "c3"));
    co_return;
  });
  EXPECT_EQ(result, (std::vector<std::string>{"c1_1", "c2_1", "c3_1", "c1_2", "c2_2", "c3_2"}));
}

AIO_TEST(Semaphore, AcquireFifoOrder2) {
  // test_acquire_fifo_order_2: a task that releases and re-acquires queues behind c3, which
  // was woken but had not run yet.
  aio::Semaphore sem(1);
  std::vector<int> result;
  auto t1 = aio::create_task(sem_acquire_record(sem, result, 1));
  auto t2 = aio::create_task(record_release_reacquire(sem, result));
  auto t3 = aio::create_task(sem_acquire_record(sem, result, 3));
  co_await aio::sleep(0);
  sem.release();
  sem.release();
  std::vector<aio::Task<void>> all{t1, t2, t3};
  co_await gather_within_10s(all);
  EXPECT_EQ(result, (std::vector<int>{1, 2, 3, 4}));
}

AIO_TEST(Semaphore, AcquireFifoOrder3) {
  // test_acquire_fifo_order_3: a cancelled first waiter does not disturb the order.
  aio::Semaphore sem(0);
  std::vector<int> result;
  auto t1 = aio::create_task(sem_acquire_record(sem, result, 1));
  auto t2 = aio::create_task(sem_acquire_record(sem, result, 2));
  auto t3 = aio::create_task(sem_acquire_record(sem, result, 3));
  co_await aio::sleep(0);
  t1.cancel();
  co_await aio::sleep(0);
  sem.release();
  sem.release();
  co_await aio::gather(aio::return_exceptions, t1, t2, t3);
  EXPECT_EQ(result, (std::vector<int>{2, 3}));
  EXPECT_TRUE(t1.cancelled());
}

AIO_TEST(Semaphore, AcquireFifoOrder4) {
  // test_acquire_fifo_order_4 (3.13): a successful acquire() wakes the tasks queued behind
  // it while units are free.
  aio::Semaphore sem(0);
  std::vector<int> result;
  std::optional<aio::Task<void>> t4;
  auto t1 = aio::create_task(fifo4_c1(sem, result, t4));
  auto t2 = aio::create_task(fifo4_c2(sem, result));
  auto t3 = aio::create_task(fifo4_c3(sem, result));
  co_await aio::sleep(0);
  // Three tasks queued; the first has not woken up yet.
  EXPECT_EQ(sem.value(), 2);
  EXPECT_TRUE(sem.locked());
  co_await aio::sleep(0);
  AIO_ASSERT_TRUE(t4.has_value());
  std::vector<aio::Task<void>> all{t1, t2, t3, *t4};
  co_await gather_within_10s(all);
  EXPECT_EQ(result, (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(sem.value(), 0);
}

AIO_TEST(Semaphore, GuardReleasesOnScopeExit) {
  aio::Semaphore sem(2);
  {
    auto g1 = co_await sem.lock();
    EXPECT_TRUE(g1.owns_lock());
    EXPECT_EQ(sem.value(), 1);
    {
      auto g2 = co_await sem.lock();
      EXPECT_TRUE(sem.locked());
    }
    EXPECT_EQ(sem.value(), 1);
    g1.unlock();  // early
    EXPECT_FALSE(g1.owns_lock());
    EXPECT_EQ(sem.value(), 2);
  }
  EXPECT_EQ(sem.value(), 2);  // the destructor did not release a second time
}

AIO_TEST(Semaphore, GuardReleasesOnException) {
  aio::Semaphore sem(1);
  EXPECT_THROW(co_await sem_throw_inside(sem), Boom);
  EXPECT_EQ(sem.value(), 1);
  EXPECT_FALSE(sem.locked());
  aio::BoundedSemaphore bounded(1);
  EXPECT_THROW(co_await sem_throw_inside(bounded), Boom);
  EXPECT_EQ(bounded.value(), 1);
}

AIO_TEST(Semaphore, GuardReleasesOnCancellation) {
  aio::Semaphore sem(1);
  std::vector<int> result;
  auto holder = aio::create_task(sem_hold_forever(sem));
  co_await aio::sleep(0);
  EXPECT_TRUE(sem.locked());
  auto next = aio::create_task(sem_guarded_record(sem, result, 2));
  co_await aio::sleep(0);
  holder.cancel();
  EXPECT_THROW(co_await holder, aio::CancelledError);
  co_await aio::timeout(10.0, next);  // got the unit the cancelled holder's guard gave back
  EXPECT_EQ(result, (std::vector<int>{2}));
  EXPECT_EQ(sem.value(), 1);
}

AIO_TEST(Semaphore, GuardCancelledWhileWaitingTakesNothing) {
  aio::Semaphore sem(0);
  std::vector<int> result;
  auto a = aio::create_task(sem_guarded_record(sem, result, 1));
  auto b = aio::create_task(sem_guarded_record(sem, result, 2));
  co_await aio::sleep(0);
  a.cancel();  // while queued
  EXPECT_THROW(co_await a, aio::CancelledError);
  EXPECT_EQ(sem.value(), 0);  // a's guard never existed: nothing released
  sem.release();
  co_await aio::timeout(10.0, b);
  EXPECT_EQ(result, (std::vector<int>{2}));
  EXPECT_EQ(sem.value(), 1);
}

AIO_TEST(Semaphore, GuardCancelledAfterBeingChosenPassesTheUnitOn) {
  aio::Semaphore sem(0);
  std::vector<int> result;
  auto a = aio::create_task(sem_guarded_record(sem, result, 1));
  auto b = aio::create_task(sem_guarded_record(sem, result, 2));
  co_await aio::sleep(0);
  sem.release();  // chooses a
  a.cancel();     // ... before it runs
  EXPECT_THROW(co_await a, aio::CancelledError);
  co_await aio::timeout(10.0, b);  // (a lost unit would hang here)
  EXPECT_EQ(result, (std::vector<int>{2}));
  EXPECT_EQ(sem.value(), 1);  // exactly one unit, back after b's guard
}

AIO_TEST(Semaphore, BoundedGuardAfterAManualRelease) {
  // The guard of a BoundedSemaphore released by hand has nothing left to give back: its
  // destructor must neither throw nor over-release.
  aio::BoundedSemaphore sem(1);
  {
    auto guard = co_await sem.lock();
    sem.release();
    EXPECT_EQ(sem.value(), 1);
  }
  EXPECT_EQ(sem.value(), 1);
}

AIO_TEST(Semaphore, StressManyTasksCancelledAtRandomNeverExceedTheValue) {
  aio::Semaphore sem(3);
  SemOccupancy o;
  std::vector<aio::Task<void>> tasks;
  for (int i = 0; i < 200; ++i) tasks.push_back(aio::create_task(sem_critical_section(sem, o)));
  for (std::size_t i = 0; i < tasks.size(); i += 3) tasks[i].cancel();  // before they start
  co_await run_briefly();
  for (std::size_t i = 1; i < tasks.size(); i += 5) tasks[i].cancel();  // queued or inside
  co_await run_briefly();
  for (std::size_t i = 2; i < tasks.size(); i += 7) tasks[i].cancel();  // maybe chosen, not run
  auto outcomes = co_await aio::gather(aio::return_exceptions, tasks);
  int finished = 0;
  for (auto& out : outcomes) {
    if (out.ok())
      ++finished;
    else
      EXPECT_TRUE(holds<aio::CancelledError>(out.exception())) << what_of(out.exception());
  }
  EXPECT_GT(finished, 50);
  EXPECT_GE(o.entered, finished);  // every task that finished got in
  EXPECT_EQ(o.max_inside, 3);      // never more than the value, and the value was used
  EXPECT_EQ(o.inside, 0);
  EXPECT_EQ(sem.value(), 3);
  EXPECT_FALSE(sem.locked());
}

// ============================================================================================
// Barrier (BarrierTests; N = 5 unless a test says otherwise)
// ============================================================================================

namespace {

constexpr int kParties = 5;

aio::Coro<void> record_index(aio::Barrier& b, std::vector<int>& results) { results.push_back(co_await b.wait()); }

// test_filling_tasks_wait_twice: 1 before the first trip, 0 after it.
aio::Coro<void> wait_twice(aio::Barrier& b, std::vector<int>& results) {
  co_await b.wait();
  results.push_back(1);
  co_await b.wait();
  results.push_back(0);
}

// test_filling_tasks_check_return_value
aio::Coro<int> wait_twice_return_second(aio::Barrier& b, int& passed_first, int& passed_second) {
  co_await b.wait();
  ++passed_first;
  int i = co_await b.wait();
  ++passed_second;
  co_return i;
}

// test_blocking_tasks_while_draining
aio::Coro<void> rewait_or_meet_elsewhere(aio::Barrier& b, aio::Barrier& nowaiting, int& rewait_n) {
  co_await b.wait();  // first time
  if (rewait_n > 0) {
    --rewait_n;
    co_await b.wait();  // again, only the `rewait` first ones
  } else {
    co_await nowaiting.wait();  // the others meet here first (after the draining ended)
    co_await b.wait();
  }
}

// test_filling_tasks_cancel_one
aio::Coro<void> wait_then_count(aio::Barrier& b, int& passed) {
  co_await b.wait();
  ++passed;
}

// test_reset_barrier_while_tasks_waiting
aio::Coro<void> wait_expecting_broken(aio::Barrier& b, int& broken) {
  try {
    co_await b.wait();
  } catch (const aio::BrokenBarrierError&) {
    ++broken;
  }
}

// test_reset_barrier_when_tasks_half_draining: the task after which `rest` tasks are still
// draining resets the barrier (CPython compares barrier._count; here the exits are counted).
struct HalfDraining {
  int parties, rest, exited = 0, broken = 0;
};
aio::Coro<void> reset_when_half_drained(aio::Barrier& b, HalfDraining& s) {
  try {
    co_await b.wait();
  } catch (const aio::BrokenBarrierError&) {
    ++s.broken;  // still waiting to drain when the reset came
    co_return;
  }
  ++s.exited;
  if (s.parties - s.exited == s.rest) co_await b.reset();  // `rest` tasks still inside
}

// test_reset_barrier_when_tasks_half_draining_half_blocking
struct HalfBlocking {
  int blocking_tasks, count = 0, results1 = 0, results2 = 0;
};
aio::Coro<void> reset_half_draining_half_blocking(aio::Barrier& b, HalfBlocking& s) {
  bool broke = false;
  try {
    co_await b.wait();
  } catch (const aio::BrokenBarrierError&) {
    broke = true;
  }
  if (broke) {
    ++s.results1;       // a task still waiting to drain
    co_await b.wait();  // and now waits again, to fill the barrier
    co_return;
  }
  ++s.count;
  if (s.count > s.blocking_tasks) {
    co_await b.reset();  // BrokenBarrierError for the tasks not drained yet
    co_await b.wait();
  } else {
    try {
      co_await b.wait();  // blocked (draining), then waits for the refill
    } catch (const aio::BrokenBarrierError&) {
      ++s.results2;  // never: blocked tasks are not broken by a reset
    }
  }
}

// test_reset_barrier_while_tasks_waiting_and_waiting_again
aio::Coro<void> broken_then_wait_again(aio::Barrier& b, int& results1, int& results2) {
  try {
    co_await b.wait();
  } catch (const aio::BrokenBarrierError&) {
    ++results1;
  }
  co_await b.wait();  // (CPython: in `finally`)
  ++results2;
}
aio::Coro<void> wait_and_count(aio::Barrier& b, int& results2) {
  co_await b.wait();
  ++results2;
}

// test_reset_barrier_while_tasks_draining
struct WhileDraining {
  int parties, count = 0, results1 = 0, results2 = 0, results3 = 0;
};
aio::Coro<void> reset_while_draining(aio::Barrier& b, WhileDraining& s) {
  co_await b.wait();
  ++s.count;
  if (s.count == s.parties) {
    co_await b.reset();  // the last task out of the barrier
    co_await b.wait();   // waits here to reach `parties`
  } else {
    try {
      co_await b.wait();  // second wait
      ++s.results1;       // N-1 tasks get here
    } catch (const std::exception&) {
      ++s.results2;  // never
    }
  }
  co_await b.wait();  // pass the barrier once more
  ++s.results3;
}

// test_abort_barrier_when_tasks_half_draining_half_blocking
aio::Coro<void> abort_half_draining_half_blocking(aio::Barrier& b, HalfBlocking& s) {
  try {
    co_await b.wait();
  } catch (const aio::BrokenBarrierError&) {
    ++s.results1;  // tasks waiting to drain
    co_return;
  }
  ++s.count;
  if (s.count > s.blocking_tasks) {
    co_await b.abort();  // BrokenBarrierError for everyone
  } else {
    try {
      co_await b.wait();
    } catch (const aio::BrokenBarrierError&) {
      ++s.results2;  // blocked tasks (already drained)
    }
  }
}

// test_abort_barrier_when_exception
struct AbortOnError {
  int parties, results1 = 0, results2 = 0;
};
aio::Coro<void> abort_when_exception(aio::Barrier& b, AbortOnError& s) {
  bool failed = false;
  try {
    int i = co_await b.wait();
    if (i == s.parties / 2) throw Boom("the middle task fails");
    co_await b.wait();
    ++s.results1;
  } catch (const aio::BrokenBarrierError&) {
    ++s.results2;
  } catch (const Boom&) {
    failed = true;
  }
  if (failed) co_await b.abort();
}

// test_abort_barrier_when_exception_then_resetting
struct AbortThenReset {
  int parties, results1 = 0, results2 = 0, results3 = 0;
};
aio::Coro<void> abort_then_reset(aio::Barrier& b1, aio::Barrier& b2, AbortThenReset& s) {
  bool failed = false;
  try {
    int i = co_await b1.wait();
    if (i == s.parties / 2) throw Boom("the middle task fails");
    co_await b1.wait();
    ++s.results1;
  } catch (const aio::BrokenBarrierError&) {
    ++s.results2;
  } catch (const Boom&) {
    failed = true;
  }
  if (failed) co_await b1.abort();

  // Synchronize and reset b1: synchronize first so that everyone has left it when we
  // reset, and after so that no one enters it before the reset.
  int i = co_await b2.wait();
  if (i == s.parties / 2) co_await b1.reset();
  co_await b2.wait();
  co_await b1.wait();
  ++s.results3;
}

aio::Coro<void> wait_on_barrier(aio::Barrier& b) { co_await b.wait(); }

std::vector<aio::Task<void>> spawn(int n, aio::Barrier& b, std::vector<int>& results) {
  std::vector<aio::Task<void>> tasks;
  for (int i = 0; i < n; ++i) tasks.push_back(aio::create_task(record_index(b, results)));
  return tasks;
}

// A full round on `b` succeeds (the barrier is back to filling, not resetting/broken).
aio::Coro<void> expect_full_round(aio::Barrier& b) {
  std::vector<int> indices;
  co_await gather_within_10s(spawn(b.parties(), b, indices));
  std::sort(indices.begin(), indices.end());
  std::vector<int> expected;
  for (int i = 0; i < b.parties(); ++i) expected.push_back(i);
  EXPECT_EQ(indices, expected);
  EXPECT_EQ(b.n_waiting(), 0);
}

}  // namespace

AIO_TEST(Barrier, PartiesMustBePositive) {
  // test_barrier_parties
  EXPECT_THROW({ aio::Barrier b(0); }, std::invalid_argument);
  EXPECT_THROW({ aio::Barrier b(-4); }, std::invalid_argument);
  aio::Barrier b(kParties);
  EXPECT_EQ(b.parties(), kParties);
  EXPECT_EQ(b.n_waiting(), 0);
  EXPECT_FALSE(b.broken());
  co_return;
}

AIO_TEST(Barrier, IndicesAreTheArrivalOrder) {
  // test_context_manager (N = 3)
  aio::Barrier b(3);
  std::vector<int> results;
  co_await gather_within_10s(spawn(3, b, results));
  std::sort(results.begin(), results.end());
  EXPECT_EQ(results, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(b.n_waiting(), 0);
  EXPECT_FALSE(b.broken());
}

AIO_TEST(Barrier, FillingOneTask) {
  // test_filling_one_task
  aio::Barrier b(1);
  EXPECT_EQ(co_await b.wait(), 0);
  EXPECT_EQ(b.n_waiting(), 0);
  EXPECT_FALSE(b.broken());
}

AIO_TEST(Barrier, FillingOneTaskTwice) {
  // test_filling_one_task_twice
  aio::Barrier b(1);
  auto t1 = aio::create_task(b.wait());
  co_await aio::sleep(0);
  EXPECT_EQ(b.n_waiting(), 0);
  auto t2 = aio::create_task(b.wait());
  co_await aio::sleep(0);
  EXPECT_TRUE(t1.done());
  EXPECT_TRUE(t2.done());
  if (t1.done() && t2.done()) {
    EXPECT_EQ(t1.result(), 0);
    EXPECT_EQ(t2.result(), 0);
  }
  EXPECT_EQ(b.n_waiting(), 0);
  EXPECT_FALSE(b.broken());
  co_await aio::gather(t1, t2);
}

AIO_TEST(Barrier, FillingTaskByTask) {
  // test_filling_task_by_task (N = 3)
  aio::Barrier b(3);
  auto t1 = aio::create_task(b.wait());
  co_await aio::sleep(0);
  EXPECT_EQ(b.n_waiting(), 1);
  auto t2 = aio::create_task(b.wait());
  co_await aio::sleep(0);
  EXPECT_EQ(b.n_waiting(), 2);
  EXPECT_FALSE(t1.done());
  auto t3 = aio::create_task(b.wait());
  co_await aio::sleep(0);
  std::vector<aio::Task<int>> all;
  all.push_back(t1);
  all.push_back(t2);
  all.push_back(t3);
  auto waited = co_await aio::wait(all);
  EXPECT_EQ(waited.done.size(), 3u);
  EXPECT_TRUE(waited.pending.empty());
  EXPECT_EQ(t1.result(), 0);
  EXPECT_EQ(t2.result(), 1);
  EXPECT_EQ(t3.result(), 2);
  EXPECT_EQ(b.n_waiting(), 0);
  EXPECT_FALSE(b.broken());
}

AIO_TEST(Barrier, FillingTasksWaitTwice) {
  // test_filling_tasks_wait_twice
  aio::Barrier b(kParties);
  std::vector<int> results;
  std::vector<aio::Task<void>> tasks;
  for (int i = 0; i < kParties; ++i) tasks.push_back(aio::create_task(wait_twice(b, results)));
  co_await gather_within_10s(tasks);
  EXPECT_EQ(results.size(), std::size_t(2 * kParties));
  EXPECT_EQ(std::count(results.begin(), results.end(), 1), kParties);
  EXPECT_EQ(std::count(results.begin(), results.end(), 0), kParties);
  // Nobody passes the second trip before everybody passed the first.
  EXPECT_TRUE(std::is_sorted(results.rbegin(), results.rend()));
  EXPECT_EQ(b.n_waiting(), 0);
  EXPECT_FALSE(b.broken());
}

AIO_TEST(Barrier, FillingTasksCheckReturnValue) {
  // test_filling_tasks_check_return_value
  aio::Barrier b(kParties);
  int first = 0, second = 0;
  std::vector<aio::Task<int>> tasks;
  for (int i = 0; i < kParties; ++i) tasks.push_back(aio::create_task(wait_twice_return_second(b, first, second)));
  std::vector<int> res = co_await aio::timeout(10.0, gather_ints(tasks));
  EXPECT_EQ(first, kParties);
  EXPECT_EQ(second, kParties);
  std::sort(res.begin(), res.end());
  EXPECT_EQ(res, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(b.n_waiting(), 0);
  EXPECT_FALSE(b.broken());
}

AIO_TEST(Barrier, BlockingTasksWhileDraining) {
  // test_blocking_tasks_while_draining: success means barrier_nowaiting was waited for by
  // exactly N - rewait = 3 tasks, i.e. the rewaiting tasks were held until the drain ended.
  constexpr int rewait = 2;
  aio::Barrier b(kParties);
  aio::Barrier nowaiting(kParties - rewait);
  int rewait_n = rewait;
  std::vector<aio::Task<void>> tasks;
  for (int i = 0; i < kParties; ++i)
    tasks.push_back(aio::create_task(rewait_or_meet_elsewhere(b, nowaiting, rewait_n)));
  co_await gather_within_10s(tasks);
  EXPECT_EQ(rewait_n, 0);
  EXPECT_EQ(b.n_waiting(), 0);
  EXPECT_EQ(nowaiting.n_waiting(), 0);
  EXPECT_FALSE(b.broken());
}

AIO_TEST(Barrier, FillingTasksCancelOne) {
  // test_filling_tasks_cancel_one (N = 3)
  aio::Barrier b(3);
  int passed = 0;
  auto t1 = aio::create_task(wait_then_count(b, passed));
  co_await aio::sleep(0);
  EXPECT_EQ(b.n_waiting(), 1);
  auto t2 = aio::create_task(wait_then_count(b, passed));
  co_await aio::sleep(0);
  EXPECT_EQ(b.n_waiting(), 2);

  t1.cancel();
  co_await aio::sleep(0);
  EXPECT_EQ(b.n_waiting(), 1);
  EXPECT_THROW(co_await t1, aio::CancelledError);
  EXPECT_TRUE(t1.cancelled());

  auto t3 = aio::create_task(wait_then_count(b, passed));
  co_await aio::sleep(0);
  EXPECT_EQ(b.n_waiting(), 2);
  auto t4 = aio::create_task(wait_then_count(b, passed));
  std::vector<aio::Task<void>> rest{t2, t3, t4};
  co_await gather_within_10s(rest);
  EXPECT_EQ(passed, 3);
  EXPECT_EQ(b.n_waiting(), 0);
  EXPECT_FALSE(b.broken());
}

AIO_TEST(Barrier, CancelledAfterTheTripBeforeRunning) {
  // asyncio: a task woken by the trip but cancelled before it runs ends in CancelledError
  // (Condition.wait re-raises it); the others pass and the barrier refills.
  aio::Barrier b(3);
  auto t1 = aio::create_task(b.wait());
  auto t2 = aio::create_task(b.wait());
  co_await aio::sleep(0);
  auto t3 = aio::create_task(b.wait());
  co_await aio::sleep(0);  // t3 trips the barrier; t1 and t2 are woken, not run yet
  EXPECT_TRUE(t3.done());
  EXPECT_FALSE(t1.done());
  t1.cancel();
  auto out = co_await aio::gather(aio::return_exceptions, t1, t2, t3);
  EXPECT_TRUE(holds<aio::CancelledError>(std::get<0>(out).exception())) << what_of(std::get<0>(out).exception());
  EXPECT_TRUE(std::get<1>(out).ok());
  if (std::get<1>(out).ok()) {
    EXPECT_EQ(std::get<1>(out).value(), 1);
  }
  EXPECT_EQ(t3.result(), 2);
  EXPECT_FALSE(b.broken());
  co_await expect_full_round(b);
}

AIO_TEST(Barrier, CancelledWhileBlockedByTheDraining) {
  // A task that arrives while the barrier drains waits in block(); cancelled there, it
  // leaves without having counted, and the next round is not disturbed.
  aio::Barrier b(2);
  auto t1 = aio::create_task(b.wait());
  co_await aio::sleep(0);
  auto t2 = aio::create_task(b.wait());    // trips
  auto late = aio::create_task(b.wait());  // arrives while t1 has not left: blocked
  co_await aio::sleep(0);
  EXPECT_TRUE(t2.done());
  EXPECT_FALSE(late.done());
  late.cancel();
  EXPECT_THROW(co_await late, aio::CancelledError);
  EXPECT_EQ(co_await t1, 0);
  EXPECT_EQ(t2.result(), 1);
  EXPECT_EQ(b.n_waiting(), 0);
  co_await expect_full_round(b);
}

AIO_TEST(Barrier, ArrivalDuringDrainingCountsForTheNextRound) {
  // The blocked late arrival of the test above, not cancelled: it gets index 0 of round 2.
  aio::Barrier b(2);
  auto t1 = aio::create_task(b.wait());
  co_await aio::sleep(0);
  auto t2 = aio::create_task(b.wait());
  auto late = aio::create_task(b.wait());
  co_await aio::sleep(0);
  EXPECT_FALSE(late.done());
  EXPECT_EQ(co_await t1, 0);
  co_await aio::sleep(0);
  EXPECT_EQ(b.n_waiting(), 1);  // `late`, now in round 2
  int last = co_await aio::timeout(10.0, b.wait());
  EXPECT_EQ(last, 1);
  EXPECT_EQ(co_await late, 0);
  co_await t2;
}

AIO_TEST(Barrier, ResetEmptyBarrier) {
  // test_reset_barrier
  aio::Barrier b(1);
  auto t = aio::create_task(b.reset());
  co_await aio::sleep(0);
  EXPECT_TRUE(t.done());
  EXPECT_EQ(b.n_waiting(), 0);
  EXPECT_FALSE(b.broken());
  co_await t;
  EXPECT_EQ(co_await aio::timeout(10.0, b.wait()), 0);  // filling, not stuck resetting
}

AIO_TEST(Barrier, ResetWhileTasksWaiting) {
  // test_reset_barrier_while_tasks_waiting
  aio::Barrier b(kParties);
  int broken = 0;
  std::vector<aio::Task<void>> tasks;
  for (int i = 0; i < kParties - 1; ++i) tasks.push_back(aio::create_task(wait_expecting_broken(b, broken)));
  co_await aio::sleep(0);
  EXPECT_EQ(b.n_waiting(), kParties - 1);
  auto reset = aio::create_task(b.reset());
  co_await gather_within_10s(tasks);
  co_await reset;
  EXPECT_EQ(broken, kParties - 1);
  EXPECT_EQ(b.n_waiting(), 0);
  EXPECT_FALSE(b.broken());
  co_await expect_full_round(b);  // (not resetting any more)
}

AIO_TEST(Barrier, ResetWhenTasksHalfDraining) {
  // test_reset_barrier_when_tasks_half_draining
  aio::Barrier b(kParties);
  HalfDraining s{kParties, kParties / 2};
  std::vector<aio::Task<void>> tasks;
  for (int i = 0; i < kParties; ++i) tasks.push_back(aio::create_task(reset_when_half_drained(b, s)));
  co_await gather_within_10s(tasks);
  EXPECT_EQ(s.broken, kParties / 2);
  EXPECT_EQ(b.n_waiting(), 0);
  EXPECT_FALSE(b.broken());
  co_await expect_full_round(b);
}

AIO_TEST(Barrier, ResetWhenTasksHalfDrainingHalfBlocking) {
  // test_reset_barrier_when_tasks_half_draining_half_blocking
  aio::Barrier b(kParties);
  HalfBlocking s{kParties / 2};
  std::vector<aio::Task<void>> tasks;
  for (int i = 0; i < kParties; ++i) tasks.push_back(aio::create_task(reset_half_draining_half_blocking(b, s)));
  co_await gather_within_10s(tasks);
  EXPECT_EQ(s.results1, kParties / 2);
  EXPECT_EQ(s.results2, 0);
  EXPECT_EQ(b.n_waiting(), 0);
  EXPECT_FALSE(b.broken());
  co_await expect_full_round(b);
}

AIO_TEST(Barrier, ResetWhileTasksWaitingAndWaitingAgain) {
  // test_reset_barrier_while_tasks_waiting_and_waiting_again
  aio::Barrier b(kParties);
  int results1 = 0, results2 = 0;
  std::vector<aio::Task<void>> tasks;
  for (int i = 0; i < kParties - 1; ++i)
    tasks.push_back(aio::create_task(broken_then_wait_again(b, results1, results2)));
  // reset: the N-1 waiting tasks get BrokenBarrierError
  auto reset = aio::create_task(b.reset());
  co_await aio::sleep(0);
  // the last party completes their second wait
  auto last = aio::create_task(wait_and_count(b, results2));
  co_await gather_within_10s(tasks);
  co_await last;
  co_await reset;
  EXPECT_FALSE(b.broken());
  EXPECT_EQ(results1, kParties - 1);
  EXPECT_EQ(results2, kParties);
  EXPECT_EQ(b.n_waiting(), 0);
}

AIO_TEST(Barrier, ResetWhileTasksDraining) {
  // test_reset_barrier_while_tasks_draining
  aio::Barrier b(kParties);
  WhileDraining s{kParties};
  std::vector<aio::Task<void>> tasks;
  for (int i = 0; i < kParties; ++i) tasks.push_back(aio::create_task(reset_while_draining(b, s)));
  co_await gather_within_10s(tasks);
  EXPECT_FALSE(b.broken());
  EXPECT_EQ(s.results1, kParties - 1);
  EXPECT_EQ(s.results2, 0);
  EXPECT_EQ(s.results3, kParties);
  EXPECT_EQ(b.n_waiting(), 0);
}

AIO_TEST(Barrier, AbortEmptyBarrier) {
  // test_abort_barrier
  aio::Barrier b(1);
  auto t = aio::create_task(b.abort());
  co_await aio::sleep(0);
  EXPECT_TRUE(t.done());
  EXPECT_EQ(b.n_waiting(), 0);
  EXPECT_TRUE(b.broken());
  co_await t;
  EXPECT_THROW(co_await b.wait(), aio::BrokenBarrierError);  // broken for good
  EXPECT_THROW(co_await b.wait(), aio::BrokenBarrierError);
  EXPECT_TRUE(b.broken());
}

AIO_TEST(Barrier, AbortWhenTasksHalfDrainingHalfBlocking) {
  // test_abort_barrier_when_tasks_half_draining_half_blocking
  aio::Barrier b(kParties);
  HalfBlocking s{kParties / 2};
  std::vector<aio::Task<void>> tasks;
  for (int i = 0; i < kParties; ++i) tasks.push_back(aio::create_task(abort_half_draining_half_blocking(b, s)));
  co_await gather_within_10s(tasks);
  EXPECT_TRUE(b.broken());
  EXPECT_EQ(s.results1, kParties / 2);
  EXPECT_EQ(s.results2, kParties - kParties / 2 - 1);
  EXPECT_EQ(b.n_waiting(), 0);
}

AIO_TEST(Barrier, AbortWhenException) {
  // test_abort_barrier_when_exception (threading's lock_tests.test_reset)
  aio::Barrier b(kParties);
  AbortOnError s{kParties};
  std::vector<aio::Task<void>> tasks;
  for (int i = 0; i < kParties; ++i) tasks.push_back(aio::create_task(abort_when_exception(b, s)));
  co_await gather_within_10s(tasks);
  EXPECT_TRUE(b.broken());
  EXPECT_EQ(s.results1, 0);
  EXPECT_EQ(s.results2, kParties - 1);
  EXPECT_EQ(b.n_waiting(), 0);
}

AIO_TEST(Barrier, AbortWhenExceptionThenResetting) {
  // test_abort_barrier_when_exception_then_resetting (threading's test_abort_and_reset)
  aio::Barrier b1(kParties), b2(kParties);
  AbortThenReset s{kParties};
  std::vector<aio::Task<void>> tasks;
  for (int i = 0; i < kParties; ++i) tasks.push_back(aio::create_task(abort_then_reset(b1, b2, s)));
  co_await gather_within_10s(tasks);
  EXPECT_FALSE(b1.broken());
  EXPECT_EQ(s.results1, 0);
  EXPECT_EQ(s.results2, kParties - 1);
  EXPECT_EQ(s.results3, kParties);
  EXPECT_EQ(b1.n_waiting(), 0);
}

AIO_TEST(Barrier, ResetThenAbortWithTasksWaiting) {
  // The state sequence of test_repr, through the accessors instead of repr(): filling with
  // 2 of 5 waiting, a reset breaks them, refilling, an abort breaks the barrier for good.
  aio::Barrier b(kParties);
  int broken = 0;
  std::vector<aio::Task<void>> waiters;
  for (int i = 0; i < 2; ++i) waiters.push_back(aio::create_task(wait_expecting_broken(b, broken)));
  co_await aio::sleep(0);
  EXPECT_EQ(b.n_waiting(), 2);
  EXPECT_FALSE(b.broken());
  co_await b.reset();
  EXPECT_EQ(b.n_waiting(), 0);  // resetting
  co_await gather_within_10s(waiters);
  EXPECT_EQ(broken, 2);
  EXPECT_FALSE(b.broken());

  waiters.clear();
  for (int i = 0; i < 2; ++i) waiters.push_back(aio::create_task(wait_expecting_broken(b, broken)));
  co_await aio::sleep(0);
  EXPECT_EQ(b.n_waiting(), 2);  // filling again
  co_await b.abort();
  EXPECT_TRUE(b.broken());
  EXPECT_EQ(b.n_waiting(), 0);
  co_await gather_within_10s(waiters);
  EXPECT_EQ(broken, 4);
  EXPECT_THROW(co_await b.wait(), aio::BrokenBarrierError);
}

AIO_TEST(Barrier, CancelledAbortDoesNotBreakIt) {
  // An abort() task cancelled before it ran does nothing (cancellation at its first await).
  aio::Barrier b(2);
  auto waiter = aio::create_task(b.wait());
  auto abort = aio::create_task(b.abort());
  abort.cancel();
  EXPECT_THROW(co_await abort, aio::CancelledError);
  EXPECT_FALSE(b.broken());
  EXPECT_EQ(b.n_waiting(), 1);
  EXPECT_EQ(co_await b.wait(), 1);
  EXPECT_EQ(co_await waiter, 0);
}

AIO_TEST(Barrier, WaitOnAOnePartyBarrierNeverBlocks) {
  aio::Barrier b(1);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(co_await b.wait(), 0);
  auto t = aio::create_task(wait_on_barrier(b));
  co_await t;
  EXPECT_EQ(b.n_waiting(), 0);
}
