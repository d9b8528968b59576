// Awaiting a future or a task: register as a waiter, suspend, take the result.
#pragma once

#include <coroutine>
#include <optional>
#include <type_traits>
#include <utility>

#include "aio/detail/future_core.hpp"
#include "aio/detail/task_base.hpp"
#include "aio/outcome.hpp"

namespace aio::detail {

/// A copy of the stored value for each awaiter when T is copyable; for a move-only T the
/// (single) awaiter takes it.
template <class V>
V copy_or_move(std::optional<V>& v) {
  if constexpr (std::is_copy_constructible_v<V>) {
    return *v;
  } else {
    return std::move(*v);
  }
}

/// `State` is FutureState<T> or TaskState<T>: a FutureCore with `value` (optional) and
/// `cancel_for_awaiter(msg)` (what cancelling the awaiting task does to the awaited one).
template <class State, class T>
class CoreAwaiter final : public FutureWaiter {
 public:
  explicit CoreAwaiter(State* state) noexcept : state_(state) {}
  CoreAwaiter(CoreAwaiter&& o) noexcept : FutureWaiter(), state_(o.state_) {}
  ~CoreAwaiter() { FutureCore::remove_waiter(this); }

  bool await_ready() const noexcept { return state_->done(); }

  void await_suspend(std::coroutine_handle<> h) {
    TaskBase& task = require_task("co_await on a future or task");
    if (static_cast<FutureCore*>(&task) == static_cast<FutureCore*>(state_))
      throw UsageError("a task cannot await itself (it would never finish)");
    task_ = &task;
    state_->add_waiter(this);
    task.suspend(h, this);
  }

  T await_resume() {
    if (task_) check_cancel(task_);
    state_->rethrow_if_not_ok("co_await");
    if constexpr (!std::is_void_v<T>) return copy_or_move(state_->value);
  }

  bool cancel_wait(const std::string& msg) noexcept override { return state_->cancel_for_awaiter(msg); }
  std::string describe_wait() const override { return state_->describe(); }
  const FutureCore* awaited_future() const noexcept override { return state_; }

 private:
  void on_done() noexcept override { task_->wake(); }

  State* state_;
  TaskBase* task_ = nullptr;
};

}  // namespace aio::detail
