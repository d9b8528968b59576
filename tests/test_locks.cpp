// Lock and Event (CPython Lib/test/test_asyncio/test_locks.py: LockTests, EventTests).
// Not ported yet: Condition, Semaphore, BoundedSemaphore, Barrier (issue 3 goes on).
#include <algorithm>
#include <string>
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
