// aio::wait — asyncio.wait: wait for tasks until a condition or a timeout; cancels nothing.
#pragma once

#include <coroutine>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "aio/delay.hpp"
#include "aio/detail/multi_wait.hpp"
#include "aio/detail/timer_heap.hpp"
#include "aio/loop.hpp"
#include "aio/task.hpp"

namespace aio {

enum class ReturnWhen { FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED };
inline constexpr ReturnWhen FIRST_COMPLETED = ReturnWhen::FIRST_COMPLETED;
inline constexpr ReturnWhen FIRST_EXCEPTION = ReturnWhen::FIRST_EXCEPTION;
inline constexpr ReturnWhen ALL_COMPLETED = ReturnWhen::ALL_COMPLETED;

struct WaitOptions {
  std::optional<Delay> timeout{};  // none: wait as long as it takes
  ReturnWhen return_when = ALL_COMPLETED;
};

template <class T>
struct WaitResult {
  std::vector<Task<T>> done{};
  std::vector<Task<T>> pending{};
};

namespace detail {

template <class T>
class [[nodiscard]] WaitAwaitable final : public MultiWait, public TimerNode {
 public:
  WaitAwaitable(std::vector<Task<T>> tasks, WaitOptions opts)
      : tasks_(std::move(tasks)), nodes_(tasks_.size()), opts_(opts) {
    if (tasks_.empty()) throw std::invalid_argument("aio::wait: the set of tasks is empty");
    for (std::size_t i = 0; i < tasks_.size(); ++i) nodes_[i].core = tasks_[i].core();
    bind(nodes_);
  }
  ~WaitAwaitable() {
    if (queued()) LoopAccess::remove_timer(*task_->loop(), this);
    unbind();
  }

  // Always suspends, even when the condition is met already: asyncio's wait learns of
  // done tasks through done callbacks too, one iteration later.
  bool await_ready() const noexcept { return false; }

  void await_suspend(std::coroutine_handle<> h) {
    suspend_on_children(h, "aio::wait");
    if (opts_.timeout && !opts_.timeout->infinite()) {
      fire = &on_timeout;
      EventLoop& loop = *task_->loop();
      LoopAccess::add_timer(loop, this, LoopAccess::now_ns(loop) + opts_.timeout->nanoseconds());
    }
  }

  WaitResult<T> await_resume() {
    if (suspended_) check_cancel(task_);
    WaitResult<T> r;
    for (auto& t : tasks_) (t.done() ? r.done : r.pending).push_back(t);
    return r;
  }

  /// Cancelling the waiter only stops the wait; the tasks keep running.
  bool cancel_wait(const std::string&) noexcept override {
    cancel_timer();
    finish();
    return false;
  }

 private:
  void on_child_done(Child& c) noexcept override {
    FutureCore::remove_waiter(&c);
    if (condition_met()) {
      cancel_timer();
      finish();
    }
  }
  // The timeout ends the wait one iteration after it is due, as asyncio's timer
  // callback completing the waiter future does.
  struct TimeoutReaction final : Deferred {
    WaitAwaitable* owner = nullptr;
    void run_deferred() noexcept override { owner->finish(); }
  };
  static void on_timeout(TimerNode* t) noexcept {
    auto* self = static_cast<WaitAwaitable*>(t);
    self->timeout_reaction_.owner = self;
    self->timeout_reaction_.defer(*self->task_->loop());
  }
  void cancel_timer() noexcept {
    if (queued()) LoopAccess::remove_timer(*task_->loop(), this);
  }

  bool condition_met() const noexcept {
    std::size_t done = 0;
    for (const Child& c : nodes_) {
      if (!c.core->done()) continue;
      ++done;
      if (opts_.return_when == FIRST_COMPLETED) return true;
      if (opts_.return_when == FIRST_EXCEPTION && c.core->failed()) return true;
    }
    return done == nodes_.size();
  }

  std::vector<Task<T>> tasks_;
  std::vector<Child> nodes_;
  WaitOptions opts_;
  TimeoutReaction timeout_reaction_;
};

}  // namespace detail

/// Waits until the tasks meet `return_when` (default: all completed) or the timeout
/// passes, and returns them split into done and pending. Never cancels or raises for
/// the tasks themselves (as asyncio.wait). std::invalid_argument for an empty vector.
///
///     auto [done, pending] = co_await aio::wait(tasks, {.timeout = 1.0, .return_when = aio::FIRST_COMPLETED});
template <class T>
detail::WaitAwaitable<T> wait(std::vector<Task<T>> tasks, WaitOptions opts = {}) {
  return detail::WaitAwaitable<T>(std::move(tasks), opts);
}

}  // namespace aio
