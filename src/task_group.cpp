#include "aio/task_group.hpp"

namespace aio {

/// Suspends the parent until the group has no running task. Cancelling it only stops
/// the wait (exit() decides what the cancellation means).
class TaskGroup::WaitAllDone final : public detail::Suspension {
 public:
  explicit WaitAllDone(TaskGroup& g) noexcept : group_(g) {}
  bool await_ready() const noexcept { return group_.children_.empty(); }
  void await_suspend(std::coroutine_handle<> h) noexcept {
    task_ = &group_.parent_;
    group_.exit_waiter_ = task_;
    task_->suspend(h, this);
  }
  void await_resume() const {
    group_.exit_waiter_ = nullptr;
    if (task_) detail::check_cancel(task_);
  }
  std::string describe_wait() const override {
    return "TaskGroup (" + std::to_string(group_.children_.size()) + " tasks running)";
  }
  bool cancel_wait(const std::string&) noexcept override {
    group_.exit_waiter_ = nullptr;
    task_->wake();
    return false;
  }

 private:
  TaskGroup& group_;
  detail::TaskBase* task_ = nullptr;
};

TaskGroup::~TaskGroup() {
  // Only reached with children left if the parent's frame is destroyed mid-exit (the
  // loop was torn down): unlink so no completion touches this object again.
  for (Child& c : children_) c.stop_observing();
}

void TaskGroup::throw_not_accepting() const {
  if (aborting_)
    throw UsageError("TaskGroup.create_task: the task group is shutting down after a failure or cancellation");
  throw UsageError("TaskGroup.create_task: the task group has finished; create tasks inside the body");
}

void TaskGroup::adopt(detail::TaskBase* task) {
  Child& c = children_.emplace_back();
  c.group = this;
  c.task = detail::Ref<detail::TaskBase>(task);
  c.observe(task);
}

void TaskGroup::on_child_done(Child& c) noexcept {
  detail::Ref<detail::TaskBase> task = std::move(c.task);
  for (auto it = children_.begin(); it != children_.end(); ++it) {
    if (&*it == &c) {
      children_.erase(it);
      break;
    }
  }
  if (children_.empty() && exit_waiter_) {
    exit_waiter_ = nullptr;
    parent_.wake();
  }
  if (task->cancelled() || !task->failed()) return;
  errors_.push_back(task->stored_exception());
  if (!aborting_ && !parent_cancel_requested_) {
    // Interrupt whatever the body awaits right now; exit() withdraws this cancel again.
    abort();
    parent_cancel_requested_ = true;
    parent_.cancel();
  }
}

void TaskGroup::abort() noexcept {
  aborting_ = true;
  for (Child& c : children_)
    if (!c.task->done()) c.task->cancel();
}

Coro<void> TaskGroup::exit(std::exception_ptr body_error) {
  exiting_ = true;
  bool body_cancelled = detail::is_cancelled_error(body_error);
  std::exception_ptr propagate_cancel = body_cancelled ? body_error : nullptr;
  if (body_error && !aborting_) abort();

  while (!children_.empty()) {
    bool cancelled = false;
    try {
      co_await WaitAllDone(*this);
    } catch (const CancelledError&) {
      cancelled = true;
      if (!aborting_) propagate_cancel = std::current_exception();
    }
    // The parent itself is being cancelled while the tasks still run: cancel them too.
    if (cancelled && !aborting_) abort();
  }

  // Python 3.13 order: the group's own cancel() of the parent is withdrawn only now,
  // after every task finished, so that a cancel from outside still shows.
  if (parent_cancel_requested_ && parent_.uncancel() == 0) propagate_cancel = nullptr;

  if (propagate_cancel && errors_.empty()) std::rethrow_exception(propagate_cancel);
  if (body_error && !body_cancelled) errors_.push_back(body_error);
  if (!errors_.empty()) {
    // A cancel from outside is still pending: withdraw and re-request it, so that it
    // reaches the parent's next await after the ExceptionGroup is handled (3.13).
    if (parent_.cancelling() > 0) {
      parent_.uncancel();
      parent_.cancel();
    }
    throw ExceptionGroup("unhandled errors in a TaskGroup", std::move(errors_));
  }
}

}  // namespace aio
