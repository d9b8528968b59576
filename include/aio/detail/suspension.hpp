// What a suspended task waits on, so that cancel() can reach it.
#pragma once

#include <string>

namespace aio::detail {

/// cancel_wait() is asyncio's `_fut_waiter.cancel()`: it returns true when the wait will
/// itself end in CancelledError (e.g. the awaited future or task got cancelled and will
/// wake the task); it returns false when it merely stopped waiting and rescheduled the
/// task, in which case the task throws CancelledError from the await on resumption.
struct Suspension {
  virtual bool cancel_wait(const std::string& msg) noexcept = 0;

 protected:
  ~Suspension() = default;
};

}  // namespace aio::detail
