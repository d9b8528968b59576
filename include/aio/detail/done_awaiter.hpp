// Waiting until a future or task is done, without taking its result.
#pragma once

#include <coroutine>
#include <string>

#include "aio/detail/future_core.hpp"
#include "aio/detail/task_base.hpp"

namespace aio::detail {

/// `co_await DoneAwaiter(core)` returns once `core` is done. Cancelling the awaiting task
/// only stops the wait: the awaited future or task is left alone (this is shield()).
class DoneAwaiter final : public FutureWaiter {
 public:
  explicit DoneAwaiter(FutureCore* core) noexcept : core_(core) {}
  DoneAwaiter(DoneAwaiter&& o) noexcept : FutureWaiter(), core_(o.core_) {}
  ~DoneAwaiter() { FutureCore::remove_waiter(this); }

  bool await_ready() const noexcept { return core_->done(); }
  void await_suspend(std::coroutine_handle<> h) {
    task_ = &require_task("waiting for a task");
    core_->add_waiter(this);
    task_->suspend(h, this);
  }
  void await_resume() const {
    if (task_) check_cancel(task_);
  }
  std::string describe_wait() const override { return core_->describe() + " to finish"; }
  const FutureCore* awaited_future() const noexcept override { return core_; }
  bool cancel_wait(const std::string&) noexcept override {
    FutureCore::remove_waiter(this);
    task_->wake();
    return false;
  }

 private:
  void on_done() noexcept override { task_->wake(); }
  FutureCore* core_;
  TaskBase* task_ = nullptr;
};

}  // namespace aio::detail
