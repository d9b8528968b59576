// aio::Task<T>, aio::TaskRef, create_task, current_task, all_tasks (asyncio.Task).
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "aio/coro.hpp"
#include "aio/detail/core_awaiter.hpp"
#include "aio/detail/task_base.hpp"
#include "aio/future.hpp"
#include "aio/loop.hpp"
#include "aio/outcome.hpp"

namespace aio {

namespace detail {

template <class T>
class TaskState final : public TaskBase {
 public:
  TaskState(EventLoop* loop, Coro<T>&& coro, std::string name)
      : TaskBase(loop, std::move(name)), root_(coro.release()) {
    root_.promise().set_root_of(this);
    resume_point_ = root_;
  }
  ~TaskState() override { destroy_root(); }

  struct NoValue {};
  // A void task stores no value at all (keeps a parked task small).
  [[no_unique_address]] std::conditional_t<std::is_void_v<T>, NoValue, std::optional<value_t<T>>> value;

  void on_root_complete() noexcept override {
    std::exception_ptr error;
    if constexpr (std::is_void_v<T>) {
      error = root_.promise().take_exception();
    } else {
      auto& outcome = root_.promise().result;
      if (outcome.has_exception()) {
        error = outcome.exception();
      } else {
        try {
          value.emplace(std::move(outcome).value());
        } catch (...) {  // the value's move constructor threw
          error = std::current_exception();
        }
      }
    }
    destroy_root();
    finish_root(std::move(error));
  }
  /// Cancelling a task that awaits this task cancels this task too (asyncio semantics).
  bool cancel_for_awaiter(const std::string& msg) noexcept { return cancel(msg); }

 private:
  void destroy_root() noexcept override {
    if (root_) {
      root_.destroy();
      root_ = {};
    }
  }
  typename Coro<T>::Handle root_;
};

}  // namespace detail

/// A type-erased, reference-counted handle to any task: what current_task() and
/// all_tasks() return.
class TaskRef {
 public:
  TaskRef() = default;
  explicit TaskRef(detail::TaskBase* t) noexcept : task_(t) {}

  bool cancel(std::string msg = {}) { return task_->cancel(std::move(msg)); }
  bool cancelled() const noexcept { return task_->cancelled(); }
  bool done() const noexcept { return task_->done(); }
  int cancelling() const noexcept { return task_->cancelling(); }
  int uncancel() noexcept { return task_->uncancel(); }
  std::string get_name() const { return task_->name(); }
  void set_name(std::string name) { task_->set_name(std::move(name)); }
  /// The exception (null when it succeeded). InvalidStateError if not done,
  /// CancelledError if cancelled.
  std::exception_ptr exception() const { return task_->exception("Task.exception"); }

  friend bool operator==(const TaskRef& a, const TaskRef& b) noexcept { return a.task_ == b.task_; }
  detail::TaskBase* base() const noexcept { return task_.get(); }

 private:
  detail::Ref<detail::TaskBase> task_;
};

/// A coroutine scheduled to run on the loop concurrently with its creator.
///
///     aio::Task<int> t = aio::create_task(compute(), "compute");
///     ...                      // compute() runs while we do other things
///     int v = co_await t;      // its result (or its exception)
///
/// Copyable and reference-counted. The loop keeps a running task alive even when every
/// handle is dropped (unlike asyncio, where an unreferenced task may be collected).
template <class T = void>
class Task {
  using State = detail::TaskState<T>;
  using Value = detail::value_t<T>;

 public:
  using aio_awaitable = void;
  Task() = default;
  explicit Task(State* s) noexcept : state_(s) {}

  /// Requests cancellation: the task's current (or next) await throws CancelledError.
  /// Returns false if the task is already done. If the task awaits another task, that
  /// task is cancelled too.
  bool cancel(std::string msg = {}) { return state_->cancel(std::move(msg)); }
  bool cancelled() const noexcept { return state_->cancelled(); }
  bool done() const noexcept { return state_->done(); }
  /// The number of pending cancel() requests (asyncio 3.11 Task.cancelling()).
  int cancelling() const noexcept { return state_->cancelling(); }
  /// Decrements cancelling(); returns the new count.
  int uncancel() noexcept { return state_->uncancel(); }

  /// The result. InvalidStateError if not done, CancelledError if cancelled, the task's
  /// exception if it failed.
  decltype(auto) result() const {
    state_->rethrow_if_not_ok("Task.result");
    if constexpr (!std::is_void_v<T>) return static_cast<const Value&>(*state_->value);
  }
  /// The exception, or null. InvalidStateError if not done, CancelledError if cancelled.
  std::exception_ptr exception() const { return state_->exception("Task.exception"); }

  /// Runs fn(task) on the loop soon after the task is done; returns an id for removal.
  std::uint64_t add_done_callback(std::function<void(Task&)> fn) {
    return state_->add_done_callback_core([fn = std::move(fn)](detail::FutureCore& core) {
      Task t(static_cast<State*>(&core));
      fn(t);
    });
  }
  std::size_t remove_done_callback(std::uint64_t id) { return state_->remove_done_callback_core(id); }

  std::string get_name() const { return state_->name(); }
  void set_name(std::string name) { state_->set_name(std::move(name)); }

  operator TaskRef() const noexcept { return TaskRef(state_.get()); }  // NOLINT: implicit
  explicit operator bool() const noexcept { return static_cast<bool>(state_); }
  friend bool operator==(const Task& a, const Task& b) noexcept { return a.state_ == b.state_; }

  /// Waits for the task and returns its result (or rethrows). Any number of coroutines
  /// may await the same task.
  detail::CoreAwaiter<State, T> operator co_await() const noexcept {
    return detail::CoreAwaiter<State, T>(state_.get());
  }

  detail::FutureCore* core() const noexcept { return state_.get(); }
  State* state() const noexcept { return state_.get(); }

 private:
  detail::Ref<State> state_;
};

/// Schedules coro on the running loop as a task (asyncio.create_task). UsageError
/// outside a running loop.
template <class T>
Task<T> create_task(Coro<T> coro, std::string name = {}) {
  return get_running_loop().create_task(std::move(coro), std::move(name));
}

/// The task running now, if any (asyncio.current_task).
std::optional<TaskRef> current_task();
/// The running loop's tasks that are not done (asyncio.all_tasks). UsageError outside a
/// running loop.
std::vector<TaskRef> all_tasks();

template <class T>
Task<T> EventLoop::create_task(Coro<T> coro, std::string name) {
  check_open("create_task");
  if (!coro) throw UsageError("create_task: the Coro is empty (moved from, or already handed to a task)");
  if (coro.started()) throw UsageError("create_task: this Coro was already awaited; a Coro runs once");
  auto* state = new detail::TaskState<T>(this, std::move(coro), std::move(name));
  Task<T> task(state);  // the handle's reference; the loop keeps the creation one
  try {
    detail::LoopAccess::track_task(*this, state);
  } catch (...) {
    state->release();
    throw;
  }
  return task;
}

template <class T>
T EventLoop::run_until_complete(Coro<T> coro) {
  check_open("run_until_complete");
  if (running_) throw UsageError("run_until_complete: this loop is already running; await the coroutine instead");
  return run_until_complete(create_task(std::move(coro)));
}

namespace detail {
/// Runs `loop` until `core` is done (the non-template part of run_until_complete).
void run_loop_until(EventLoop& loop, FutureCore* core);
}  // namespace detail

template <class T>
T EventLoop::run_until_complete(Task<T> task) {
  detail::run_loop_until(*this, task.core());
  task.state()->rethrow_if_not_ok("run_until_complete");
  if constexpr (!std::is_void_v<T>) return detail::copy_or_move(task.state()->value);
}

template <class T>
Future<T> EventLoop::create_future() {
  check_open("create_future");
  return Future<T>(*this);
}

}  // namespace aio
