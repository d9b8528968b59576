// aio::Lock — asyncio.Lock: a mutual-exclusion lock for tasks, FIFO-fair.
#pragma once

#include <coroutine>
#include <utility>

#include "aio/detail/wait_list.hpp"
#include "aio/errors.hpp"

namespace aio {

class Lock;

/// Owns an acquired Lock and releases it when destroyed (on every exit path, exceptions
/// and cancellation included). Move-only.
class [[nodiscard]] LockGuard {
 public:
  LockGuard() = default;
  explicit LockGuard(Lock& lock) noexcept : lock_(&lock) {}
  LockGuard(LockGuard&& o) noexcept : lock_(std::exchange(o.lock_, nullptr)) {}
  LockGuard& operator=(LockGuard&& o) noexcept {
    if (this != &o) {
      unlock();
      lock_ = std::exchange(o.lock_, nullptr);
    }
    return *this;
  }
  ~LockGuard() { unlock(); }
  /// Releases early; the destructor then does nothing.
  void unlock() noexcept;
  bool owns_lock() const noexcept { return lock_ != nullptr; }

 private:
  Lock* lock_ = nullptr;
};

/// asyncio.Lock. Waiters acquire in FIFO order; a newcomer never overtakes a queued task.
///
///     aio::Lock lock;
///     {
///       auto guard = co_await lock.lock();   // released at the end of the scope
///       ...
///     }
///
/// Cancel-safe: a task cancelled while waiting never ends up holding the lock, and if it
/// had already been chosen to get it, the lock passes to the next waiter.
class Lock {
 public:
  Lock() = default;
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

  bool locked() const noexcept { return locked_; }

  class [[nodiscard]] Acquire : public detail::WaitEntry {
   public:
    explicit Acquire(Lock& l) noexcept : lock_(l) {}
    bool await_ready() noexcept {
      // Free and nobody queued (a woken waiter stays queued until it runs): take it.
      if (lock_.locked_ || !lock_.waiters_.empty()) return false;
      lock_.locked_ = true;
      return true;
    }
    void await_suspend(std::coroutine_handle<> h) { enqueue(lock_.waiters_, h, "Lock.acquire"); }
    void await_resume() {
      if (!task) return;  // acquired without waiting
      unlink();
      if (task->cancel_pending()) {
        // Chosen by release() but cancelled before running: hand the wake-up on.
        if (!lock_.locked_) detail::wake_first(lock_.waiters_);
        task->throw_cancelled();
      }
      lock_.locked_ = true;
    }

   protected:
    Lock& lock_;
  };

  /// Waits until the lock is free, then takes it. Release it with release().
  Acquire acquire() noexcept { return Acquire(*this); }

  class [[nodiscard]] Locking final : public Acquire {
   public:
    using Acquire::Acquire;
    LockGuard await_resume() {
      Acquire::await_resume();
      return LockGuard(lock_);
    }
  };
  /// Like acquire(), returning a guard that releases the lock when it goes out of scope.
  Locking lock() noexcept { return Locking(*this); }

  /// Releases the lock and lets the first waiter take it. UsageError if not locked.
  void release() {
    if (!locked_) throw UsageError("Lock.release: the lock is not acquired (release only what you acquired)");
    locked_ = false;
    detail::wake_first(waiters_);
  }

 private:
  bool locked_ = false;
  detail::IntrusiveList<detail::WaitEntry> waiters_;
};

inline void LockGuard::unlock() noexcept {
  Lock* l = std::exchange(lock_, nullptr);
  if (l && l->locked()) l->release();  // (if the owner released it by hand, nothing to do)
}

}  // namespace aio
