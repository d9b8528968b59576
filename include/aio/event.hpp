// aio::Event — asyncio.Event.
#pragma once

#include <coroutine>

#include "aio/detail/wait_list.hpp"

namespace aio {

/// A flag that tasks can wait for. `set()` wakes every waiter; `clear()` resets it.
///
///     aio::Event ready;
///     ... co_await ready.wait();   // returns once someone called ready.set()
class Event {
 public:
  Event() = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  bool is_set() const noexcept { return flag_; }
  /// Sets the flag and wakes every waiting task (they resume even if clear() follows).
  void set() noexcept {
    if (flag_) return;
    flag_ = true;
    while (detail::WaitEntry* w = waiters_.pop_front()) w->wake();
  }
  void clear() noexcept { flag_ = false; }

  class [[nodiscard]] Waiter final : public detail::WaitEntry {
   public:
    explicit Waiter(Event& e) noexcept : event_(e) {}
    bool await_ready() const noexcept { return event_.flag_; }
    void await_suspend(std::coroutine_handle<> h) { enqueue(event_.waiters_, h, "Event.wait"); }
    /// Cancel-safe: a cancelled waiter leaves the queue; the event is unaffected.
    void await_resume() const {
      if (task) detail::check_cancel(task);
    }

   private:
    Event& event_;
  };
  /// Waits until the flag is set (returns at once if it is).
  Waiter wait() noexcept { return Waiter(*this); }

 private:
  bool flag_ = false;
  detail::IntrusiveList<detail::WaitEntry> waiters_;
};

}  // namespace aio
