#include "aio/condition.hpp"

#include <exception>
#include <limits>

namespace aio {

// A notified waiter stays queued until it runs (WaitOn unlinks it then), so that notify()
// counts only the waiters it has not woken yet.

Coro<void> Condition::wait() {
  if (!locked()) throw UsageError("Condition.wait: the lock is not held; acquire it first (co_await cond.lock())");
  lock_->release();
  std::exception_ptr error;
  try {
    co_await detail::WaitOn(waiters_, "Condition.wait");
  } catch (...) {
    error = std::current_exception();
  }
  // Re-acquire the lock whatever happened: the caller's code after wait() (or its guard's
  // release) assumes it holds the lock. A cancellation meanwhile is kept and rethrown.
  for (;;) {
    try {
      co_await lock_->acquire();
      break;
    } catch (const CancelledError&) {
      error = std::current_exception();
    }
  }
  if (error) {
    wake(1);  // we may have been notified: pass it on rather than lose it
    std::rethrow_exception(error);
  }
}

void Condition::notify(int n) {
  if (!locked()) throw UsageError("Condition.notify: the lock is not held; acquire it first (co_await cond.lock())");
  wake(n);
}

void Condition::notify_all() {
  if (!locked())
    throw UsageError("Condition.notify_all: the lock is not held; acquire it first (co_await cond.lock())");
  wake(std::numeric_limits<int>::max());
}

void Condition::wake(int n) noexcept {
  waiters_.for_each([&](detail::WaitEntry* w) {
    if (n <= 0 || w->woken) return;
    w->wake();
    --n;
  });
}

}  // namespace aio
