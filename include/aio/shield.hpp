// aio::shield — asyncio.shield: await a task without passing cancellation on to it.
#pragma once

#include <coroutine>
#include <string>
#include <type_traits>
#include <utility>

#include "aio/detail/awaitable_traits.hpp"
#include "aio/detail/deferred.hpp"
#include "aio/detail/task_base.hpp"
#include "aio/task.hpp"

namespace aio {

namespace detail {

/// Waits for the shielded task without ever cancelling it. Learns of its end one
/// iteration later, as asyncio's shield does (a done callback sets the outer future).
class ShieldWait final : public DeferredWaiter {
 public:
  explicit ShieldWait(FutureCore* core) noexcept : core_(core) {}
  ShieldWait(ShieldWait&& o) noexcept : DeferredWaiter(), core_(o.core_) {}

  bool await_ready() const noexcept { return core_->done(); }
  void await_suspend(std::coroutine_handle<> h) {
    task_ = &require_task("aio::shield");
    observe(core_);
    task_->suspend(h, this);
  }
  void await_resume() const {
    if (task_) check_cancel(task_);
  }
  std::string describe_wait() const override { return "aio::shield(" + core_->describe() + ")"; }
  const FutureCore* awaited_future() const noexcept override { return core_; }
  /// Cancelling the awaiting task only ends its wait.
  bool cancel_wait(const std::string&) noexcept override {
    stop_observing();
    task_->wake();
    return false;
  }

 private:
  void run_deferred() noexcept override { task_->wake(); }
  FutureCore* core_;
  TaskBase* task_ = nullptr;
};

template <class T>
class [[nodiscard]] ShieldAwaiter {
 public:
  using aio_awaitable = void;
  explicit ShieldAwaiter(Task<T> task) : task_(std::move(task)), wait_(task_.core()) {}
  bool await_ready() const noexcept { return wait_.await_ready(); }
  void await_suspend(std::coroutine_handle<> h) { wait_.await_suspend(h); }
  T await_resume() {
    wait_.await_resume();  // CancelledError if the awaiter was cancelled
    task_.state()->rethrow_if_not_ok("aio::shield");
    if constexpr (!std::is_void_v<T>) return copy_or_move(task_.state()->value);
  }

 private:
  Task<T> task_;
  ShieldWait wait_;
};
}  // namespace detail

/// Awaits `aw` (a Task, or a Coro/Future that is wrapped in a task at once). If the
/// awaiting task is cancelled, the await throws CancelledError but the shielded task
/// keeps running (keep its Task handle to collect its result later).
template <class Aw>
auto shield(Aw&& aw) {
  return detail::ShieldAwaiter<detail::result_of_t<Aw>>(detail::ensure_task(std::forward<Aw>(aw)));
}

}  // namespace aio
