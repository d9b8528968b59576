// aio::Condition — asyncio.Condition: wait for a state change under a Lock.
#pragma once

#include <coroutine>
#include <type_traits>

#include "aio/coro.hpp"
#include "aio/detail/wait_list.hpp"
#include "aio/lock.hpp"

namespace aio {

/// asyncio.Condition. Tasks holding its lock wait() until another task, also holding the
/// lock, calls notify(); wait() gives the lock up while it waits and has it again when it
/// returns — on every path, cancellation included.
///
///     aio::Condition cond;
///     auto guard = co_await cond.lock();
///     co_await cond.wait_for([&] { return !jobs.empty(); });
///
/// By default a Condition has its own Lock; pass one to share it with other code.
class Condition {
 public:
  Condition() noexcept : lock_(&own_lock_) {}
  explicit Condition(Lock& lock) noexcept : lock_(&lock) {}
  Condition(const Condition&) = delete;
  Condition& operator=(const Condition&) = delete;

  // The underlying lock's interface.
  Lock::Acquire acquire() noexcept { return lock_->acquire(); }
  Lock::Locking lock() noexcept { return lock_->lock(); }
  void release() { lock_->release(); }
  bool locked() const noexcept { return lock_->locked(); }

  /// Releases the lock, waits until notified, and re-acquires the lock before returning
  /// or throwing. UsageError if the lock is not held. If the wait ends in an exception
  /// (cancellation) after a notify() picked this task, the notification passes to another
  /// waiter, so none is lost (a spurious wake-up is allowed, as in asyncio).
  Coro<void> wait();

  /// Waits until pred() is true (checking it first, then after each wake-up) and returns
  /// its last value. Same lock rules as wait().
  template <class Pred>
  Coro<std::decay_t<std::invoke_result_t<Pred&>>> wait_for(Pred pred) {
    auto result = pred();
    while (!result) {
      co_await wait();
      result = pred();
    }
    co_return result;
  }

  /// Wakes up to n waiting tasks (each still has to re-acquire the lock). UsageError if
  /// the lock is not held.
  void notify(int n = 1);
  /// Wakes every waiting task. UsageError if the lock is not held.
  void notify_all();

 private:
  void wake(int n) noexcept;

  Lock own_lock_;
  Lock* lock_;
  detail::IntrusiveList<detail::WaitEntry> waiters_;
};

}  // namespace aio
