// aio::sleep — asyncio.sleep.
#pragma once

#include <coroutine>
#include <cstdint>
#include <cstdio>
#include <string>

#include "aio/delay.hpp"
#include "aio/detail/deferred.hpp"
#include "aio/detail/task_base.hpp"
#include "aio/detail/timer_heap.hpp"
#include "aio/loop.hpp"

namespace aio {

namespace detail {

/// The awaiter behind aio::sleep. Its timer node lives in the awaiting frame, so a sleep
/// allocates nothing; cancelling it removes the timer.
///
/// When the timer is due, the task wakes one iteration later, as in asyncio (the timer's
/// callback completes a future, which schedules the task's wake-up): so a task's sleep
/// and a loop.call_later() callback order alike in both.
class [[nodiscard]] SleepAwaiter final : public Suspension, public TimerNode, public Deferred {
 public:
  explicit SleepAwaiter(std::int64_t delay_ns) noexcept : delay_ns_(delay_ns) {}
  SleepAwaiter(const SleepAwaiter&) = delete;
  ~SleepAwaiter() {
    if (queued()) LoopAccess::remove_timer(*task_->loop(), this);
  }

  bool await_ready() const noexcept { return false; }  // sleep(0) still yields once

  void await_suspend(std::coroutine_handle<> h) {
    task_ = &require_task("aio::sleep");
    EventLoop& loop = *task_->loop();
    if (delay_ns_ <= 0) {
      task_->suspend(h, nullptr);  // already scheduled: a cancel() just marks it pending
      task_->wake();
      return;
    }
    task_->suspend(h, this);
    fire = &on_timer;
    std::int64_t deadline = delay_ns_ == Delay::kNever ? Delay::kNever : LoopAccess::now_ns(loop) + delay_ns_;
    LoopAccess::add_timer(loop, this, deadline);
  }

  void await_resume() const { check_cancel(task_); }

  std::string describe_wait() const override {
    if (when == Delay::kNever) return "sleep (forever)";
    double left = static_cast<double>(when - LoopAccess::now_ns(*task_->loop())) / 1e9;
    char text[64];
    std::snprintf(text, sizeof text, "sleep (due in %.3f s)", left < 0 ? 0.0 : left);
    return text;
  }
  bool cancel_wait(const std::string&) noexcept override {
    // Already due: the wake-up is queued; the task throws CancelledError when it runs.
    if (deferred_pending()) return false;
    LoopAccess::remove_timer(*task_->loop(), this);
    task_->wake();
    return false;
  }

 private:
  static void on_timer(TimerNode* t) noexcept {
    auto* self = static_cast<SleepAwaiter*>(t);
    self->defer(*self->task_->loop());
  }
  void run_deferred() noexcept override { task_->wake(); }

  std::int64_t delay_ns_;
  TaskBase* task_ = nullptr;
};

}  // namespace detail

/// Suspends the calling task for `delay` (asyncio.sleep). `sleep(0)` lets every other
/// ready task run once and then resumes. Cancel-safe: cancelling removes the timer.
///
///     co_await aio::sleep(0.25);
///     co_await aio::sleep(std::chrono::milliseconds(250));
inline detail::SleepAwaiter sleep(Delay delay) noexcept { return detail::SleepAwaiter(delay.nanoseconds()); }

}  // namespace aio
