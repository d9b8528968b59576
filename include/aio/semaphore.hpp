// aio::Semaphore and aio::BoundedSemaphore — asyncio's (3.12+: FIFO, and a cancelled
// waiter never swallows a wake-up).
#pragma once

#include <coroutine>
#include <stdexcept>
#include <string>
#include <utility>

#include "aio/detail/wait_list.hpp"
#include "aio/errors.hpp"

namespace aio {

class Semaphore;

/// Owns one unit of a Semaphore and releases it when destroyed (on every exit path,
/// exceptions and cancellation included). Move-only.
class [[nodiscard]] SemaphoreGuard {
 public:
  SemaphoreGuard() = default;
  explicit SemaphoreGuard(Semaphore& s) noexcept : sem_(&s) {}
  SemaphoreGuard(SemaphoreGuard&& o) noexcept : sem_(std::exchange(o.sem_, nullptr)) {}
  SemaphoreGuard& operator=(SemaphoreGuard&& o) noexcept {
    if (this != &o) {
      unlock();
      sem_ = std::exchange(o.sem_, nullptr);
    }
    return *this;
  }
  ~SemaphoreGuard() { unlock(); }
  /// Releases early; the destructor then does nothing.
  void unlock() noexcept;
  bool owns_lock() const noexcept { return sem_ != nullptr; }

 private:
  Semaphore* sem_ = nullptr;
};

/// asyncio.Semaphore: a counter of free units. acquire() takes one, waiting while there are
/// none; release() returns one. Waiters are served in FIFO order, and a newcomer never
/// overtakes a queued task even when a unit is free.
///
///     aio::Semaphore slots(3);            // at most three downloads at once
///     auto guard = co_await slots.lock();
///
/// Cancel-safe: a task cancelled while waiting takes no unit; if a unit had already been
/// given to it, the unit passes to the next waiter.
class Semaphore {
 public:
  /// std::invalid_argument if value < 0.
  explicit Semaphore(int value = 1) : value_(value) {
    if (value < 0)
      throw std::invalid_argument("Semaphore: the initial value must be >= 0 (got " + std::to_string(value) + ")");
  }
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;
  virtual ~Semaphore() = default;

  /// True if acquire() would wait: no unit is free, or tasks are queued ahead.
  bool locked() const noexcept { return value_ == 0 || !waiters_.empty(); }
  /// The number of free units not yet promised to a woken waiter.
  int value() const noexcept { return value_; }

  class [[nodiscard]] Acquire : public detail::WaitEntry {
   public:
    explicit Acquire(Semaphore& s) noexcept : sem_(s) {}
    bool await_ready() noexcept {
      if (sem_.locked()) return false;
      --sem_.value_;
      return true;
    }
    void await_suspend(std::coroutine_handle<> h) { enqueue(sem_.waiters_, h, "Semaphore.acquire"); }
    void await_resume() {
      if (!task) return;  // acquired without waiting
      // Granted waiters stay queued until they run (so that locked() stays true for
      // newcomers); a cancelled one has already left.
      bool granted = linked();
      unlink();
      bool cancelled = task->cancel_pending();
      if (cancelled && granted) ++sem_.value_;  // give back the unit we were handed
      // Waiters that queued behind us while units were free may go now.
      while (sem_.value_ > 0 && sem_.wake_up_next()) {
      }
      if (cancelled) task->throw_cancelled();
    }

   protected:
    Semaphore& sem_;
  };
  /// Waits for a free unit and takes it. Give it back with release().
  Acquire acquire() noexcept { return Acquire(*this); }

  class [[nodiscard]] Locking final : public Acquire {
   public:
    using Acquire::Acquire;
    SemaphoreGuard await_resume() {
      Acquire::await_resume();
      return SemaphoreGuard(sem_);
    }
  };
  /// Like acquire(), returning a guard that releases the unit when it goes out of scope.
  Locking lock() noexcept { return Locking(*this); }

  /// Returns a unit and wakes the first waiter. (A plain Semaphore may be released more
  /// often than acquired, as in asyncio; BoundedSemaphore forbids it.)
  virtual void release() {
    ++value_;
    wake_up_next();
  }

 private:
  friend class SemaphoreGuard;
  /// Hands a unit to the first waiter not woken yet (asyncio's _wake_up_next).
  bool wake_up_next() noexcept {
    detail::WaitEntry* w = waiters_.find_if([](const detail::WaitEntry* e) { return !e->woken; });
    if (!w) return false;
    --value_;
    w->wake();
    return true;
  }

  int value_;
  detail::IntrusiveList<detail::WaitEntry> waiters_;
};

/// asyncio.BoundedSemaphore: a Semaphore that refuses to be released above its initial
/// value (UsageError), which catches a release without a matching acquire.
class BoundedSemaphore final : public Semaphore {
 public:
  explicit BoundedSemaphore(int value = 1) : Semaphore(value), bound_(value) {}
  /// UsageError if every unit is already free.
  void release() override {
    if (value() >= bound_)
      throw UsageError("BoundedSemaphore.release: released more times than acquired (bound " + std::to_string(bound_) +
                       ")");
    Semaphore::release();
  }

 private:
  int bound_;
};

inline void SemaphoreGuard::unlock() noexcept {
  if (Semaphore* s = std::exchange(sem_, nullptr)) {
    try {
      s->release();
    } catch (const UsageError&) {
      // A BoundedSemaphore already released by hand: nothing left to give back.
    }
  }
}

}  // namespace aio
