// aio::TaskGroup and aio::task_group — asyncio.TaskGroup (structured concurrency).
#pragma once

#include <coroutine>
#include <cstddef>
#include <exception>
#include <list>
#include <string>
#include <utility>
#include <vector>

#include "aio/coro.hpp"
#include "aio/detail/awaitable_traits.hpp"
#include "aio/detail/deferred.hpp"
#include "aio/detail/future_core.hpp"
#include "aio/detail/task_base.hpp"
#include "aio/errors.hpp"
#include "aio/task.hpp"

namespace aio {

/// The group handed to a task_group body; create the group's tasks with it.
class TaskGroup {
 public:
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;
  ~TaskGroup();

  /// Starts coro as a task of the group. UsageError once the group has finished or is
  /// shutting down after a failure.
  template <class T>
  Task<T> create_task(Coro<T> coro, std::string name = {}) {
    if (!accepting()) {
      // Refused: close the coroutine quietly (it was not "never awaited" by mistake).
      if (auto h = coro.release()) h.destroy();
      throw_not_accepting();
    }
    Task<T> task = parent_.loop()->create_task(std::move(coro), std::move(name));
    adopt(task.state());
    return task;
  }

 private:
  template <class Body>
  friend Coro<void> task_group(Body body);

  // Learns of its task's end one iteration later, as asyncio's _on_task_done callback
  // does: two children failing in the same iteration both end up in the ExceptionGroup.
  struct Child final : detail::DeferredWaiter {
    TaskGroup* group = nullptr;
    detail::Ref<detail::TaskBase> task;  // kept alive until the group has seen its end
    void run_deferred() noexcept override { group->on_child_done(*this); }
  };
  class WaitAllDone;

  explicit TaskGroup(detail::TaskBase& parent) noexcept : parent_(parent) {}
  bool accepting() const noexcept { return !aborting_ && !(exiting_ && children_.empty()); }
  [[noreturn]] void throw_not_accepting() const;
  void adopt(detail::TaskBase* task);
  void on_child_done(Child& c) noexcept;
  void abort() noexcept;
  /// asyncio's TaskGroup.__aexit__: waits for every task, then raises what is due.
  Coro<void> exit(std::exception_ptr body_error);

  detail::TaskBase& parent_;
  std::list<Child> children_;  // running tasks; stable addresses for the waiter nodes
  std::vector<std::exception_ptr> errors_;
  detail::TaskBase* exit_waiter_ = nullptr;  // the parent, suspended in exit()
  bool exiting_ = false;
  bool aborting_ = false;
  bool parent_cancel_requested_ = false;
};

/// Runs `body(group)` and returns once the body and every task it created in the group
/// have finished (asyncio.TaskGroup).
///
///     co_await aio::task_group([&](aio::TaskGroup& tg) -> aio::Coro<void> {
///       tg.create_task(fetch("a"));
///       tg.create_task(fetch("b"));
///       co_return;
///     });
///
/// If a task fails, every other task and the body are cancelled, and ExceptionGroup is
/// thrown with every exception that is not a cancellation. If the caller is cancelled,
/// the group's tasks are cancelled and CancelledError propagates once they finished.
template <class Body>
Coro<void> task_group(Body body) {
  TaskGroup group(detail::require_task("aio::task_group"));
  std::exception_ptr body_error;
  try {
    co_await body(group);
  } catch (...) {
    body_error = std::current_exception();
  }
  co_await group.exit(std::move(body_error));
}

}  // namespace aio
