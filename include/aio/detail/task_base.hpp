// The untyped part of a task: stepping its coroutine, suspension bookkeeping, and
// asyncio's cancellation protocol.
#pragma once

#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "aio/detail/context.hpp"
#include "aio/detail/future_core.hpp"
#include "aio/detail/intrusive.hpp"
#include "aio/detail/run_context.hpp"
#include "aio/detail/suspension.hpp"

namespace aio::detail {

class TaskBase : public FutureCore, public Runnable {
 public:
  TaskBase(EventLoop* loop, std::string name);
  ~TaskBase() override;

  /// asyncio Task.cancel(): false if done; otherwise counts the request and delivers it.
  bool cancel(std::string msg = {});
  int cancelling() const noexcept;
  int uncancel() noexcept;
  std::string name() const;
  void set_name(std::string name);
  std::uint32_t id() const noexcept { return id_; }
  std::string describe() const override;

  // --- introspection (aio::capture_call_graph) -------------------------------------------
  /// Where the task continues: its innermost suspended coroutine (or its root, not started).
  std::coroutine_handle<> resume_point() const noexcept { return resume_point_; }
  /// What it waits on now; null while it is scheduled, running or done.
  const Suspension* waiting_on() const noexcept { return wait(); }
  bool started() const noexcept { return started_; }
  /// The exception being handled left the coroutine `function` (cold path).
  void note_exception_frame(const char* function, const char* file, unsigned line) noexcept;
  /// Where `error` went through the task's coroutines, innermost first (if it was traced).
  std::vector<std::string> error_trace(const std::exception_ptr& error) const;

  // --- used by awaitables --------------------------------------------------------------
  /// Records where the task continues and what it waits on. Call from await_suspend.
  void suspend(std::coroutine_handle<> h, Suspension* s) noexcept {
    resume_point_ = h;
    set_wait(s);
  }
  /// Schedules the task's next step (its wait is over).
  void wake() noexcept;
  /// Ends the wait like wake(), but queues `stand_in` in the task's place: when the loop
  /// runs it, it decides whether the task goes on (step_now) or waits again (suspend).
  /// Used by waiters that must re-check their condition at the moment the task would run.
  void wake_via(Runnable* stand_in) noexcept;
  /// Runs the task's next step at once; only from a stand_in queued by wake_via().
  void step_now() noexcept { step(); }
  /// True when a cancellation must be thrown at the await being resumed.
  bool cancel_pending() const noexcept { return must_cancel_; }
  /// Consumes the pending cancellation and throws CancelledError.
  [[noreturn]] void throw_cancelled();

  /// The task's ContextVar values (null: none), and the slot set() writes them to (in the
  /// task's Extras, allocated on first use: a task that never sees a ContextVar pays nothing).
  ContextMap* context() const noexcept;
  ContextSlot& context_slot();

  /// Called by the root coroutine's final suspend: takes its result, destroys it.
  virtual void on_root_complete() noexcept = 0;

 protected:
  /// Stores the root's outcome: value already stored (exception null), or failure.
  void finish_root(std::exception_ptr e) noexcept;
  virtual void destroy_root() noexcept = 0;

  std::coroutine_handle<> resume_point_;

 private:
  static void run_step(Runnable* r) noexcept;
  void step() noexcept;

  std::string take_cancel_message() noexcept;

  // What the task waits on shares a word with its ready-queue link: a task waits on
  // nothing while it is queued (keeps a parked task small).
  Suspension* wait() const noexcept { return queued_ ? nullptr : static_cast<Suspension*>(idle_word); }
  void set_wait(Suspension* s) noexcept {
    if (!queued_) idle_word = s;
  }

  static constexpr std::uint32_t kUnregistered = 0xffffffffu;

  std::uint32_t id_;                              // the N of the default name "Task-N"
  std::uint32_t registry_index_ = kUnregistered;  // place in the loop's list of live tasks
  friend class aio::EventLoop;
  friend struct LoopAccess;
};

/// The task whose step is running, or null.
inline TaskBase* current_task_base() noexcept { return tls_run.task; }

/// Called first in every await_resume after a real suspension: throws CancelledError when
/// the task was cancelled while it was not waiting on anything cancellable.
inline void check_cancel(TaskBase* t) {
  if (t->cancel_pending()) t->throw_cancelled();
}

/// The running task, or UsageError if the caller is not inside one.
TaskBase& require_task(const char* what);

}  // namespace aio::detail
