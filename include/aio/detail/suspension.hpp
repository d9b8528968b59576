// What a suspended task waits on, so that cancel() can reach it.
#pragma once

#include <string>

namespace aio::detail {

class FutureCore;

/// cancel_wait() is asyncio's `_fut_waiter.cancel()`: it returns true when the wait will
/// itself end in CancelledError (e.g. the awaited future or task got cancelled and will
/// wake the task); it returns false when it merely stopped waiting and rescheduled the
/// task, in which case the task throws CancelledError from the await on resumption.
struct Suspension {
  virtual bool cancel_wait(const std::string& msg) noexcept = 0;
  /// What the task waits on, for call graphs ("sleep, due in 2.000 s", "Lock.acquire").
  virtual std::string describe_wait() const { return "an aio awaitable"; }
  /// The future or task awaited, when the wait is for exactly one (call graphs' "awaited by").
  virtual const FutureCore* awaited_future() const noexcept { return nullptr; }

 protected:
  ~Suspension() = default;
};

}  // namespace aio::detail
