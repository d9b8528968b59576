// A FIFO of tasks waiting for a synchronization primitive (Lock, Event, ...). Each entry
// lives in the waiting frame; a cancelled waiter unlinks itself in O(1).
#pragma once

#include <coroutine>
#include <string>

#include "aio/detail/intrusive.hpp"
#include "aio/detail/suspension.hpp"
#include "aio/detail/task_base.hpp"

namespace aio::detail {

class WaitEntry : public Suspension, public ListNode {
 public:
  WaitEntry() = default;
  WaitEntry(const WaitEntry&) = delete;
  WaitEntry& operator=(const WaitEntry&) = delete;

  TaskBase* task = nullptr;
  const char* waiting_for = "";  // "Lock.acquire", "Queue.get", ... (call graphs)
  bool woken = false;            // set by whoever woke it; it stays queued until it runs

  /// Queues the running task and suspends it.
  void enqueue(IntrusiveList<WaitEntry>& list, std::coroutine_handle<> h, const char* what_for) {
    task = &require_task(what_for);
    waiting_for = what_for;
    list.push_back(this);
    task->suspend(h, this);
  }
  /// Schedules the waiting task (once).
  void wake() noexcept {
    if (woken) return;
    woken = true;
    task->wake();
  }
  void unlink() noexcept {
    if (linked()) IntrusiveList<WaitEntry>::erase(this);
  }
  /// A cancelled waiter that was not woken yet just stops waiting: the task throws
  /// CancelledError when it resumes.
  std::string describe_wait() const override { return waiting_for; }
  bool cancel_wait(const std::string&) noexcept override {
    unlink();
    woken = true;
    task->wake();
    return false;
  }

 protected:
  ~WaitEntry() { unlink(); }
};

/// `co_await WaitOn(list, "what")`: waits until whoever owns `list` pops this waiter and
/// wakes it (a buffer drained, a server closed, ...). The caller re-checks its condition in
/// a loop. Cancel-safe: a cancelled waiter just leaves the list.
class [[nodiscard]] WaitOn final : public WaitEntry {
 public:
  WaitOn(IntrusiveList<WaitEntry>& list, const char* what) noexcept : list_(list), what_(what) {}
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { enqueue(list_, h, what_); }
  void await_resume() {
    unlink();
    check_cancel(task);
  }

 private:
  IntrusiveList<WaitEntry>& list_;
  const char* what_;
};

/// Wakes every waiter of the list (each is popped first).
inline void wake_all(IntrusiveList<WaitEntry>& list) noexcept {
  while (WaitEntry* w = list.pop_front()) w->wake();
}

/// Wakes the first waiter, unless it is already woken (asyncio's _wake_up_first): a woken
/// waiter stays queued until it runs, so at most one is ever on its way to take a lock.
inline void wake_first(IntrusiveList<WaitEntry>& list) noexcept {
  if (WaitEntry* w = list.front()) w->wake();
}

/// A waiter for a condition that a third party can make false again before the woken
/// task runs (asyncio's `while queue.empty(): await getter`). Waking it queues the waiter
/// itself in the task's place; when the loop reaches it, it re-checks: if the condition
/// still holds (or the task was cancelled meanwhile) the task's step runs right there,
/// otherwise the waiter goes back to the end of the line and the task never resumed.
/// Both outcomes are what asyncio does, without a coroutine frame per wait.
///
/// A scheduled waiter lives in the ready queue: its frame must not be destroyed before the
/// loop runs it — true because a task's frame is only destroyed once the loop is closed,
/// and close() empties the ready queue first.
class RecheckingWaiter : public WaitEntry, public Runnable {
 public:
  RecheckingWaiter() noexcept { run_fn = &RecheckingWaiter::run; }

  /// True once the primitive woke this waiter to re-check (false if only cancelled).
  bool granted = false;

  void enqueue(IntrusiveList<RecheckingWaiter>& list, std::coroutine_handle<> h, const char* what_for) {
    task = &require_task(what_for);
    waiting_for = what_for;
    list_ = &list;
    handle_ = h;
    list.push_back(this);
    task->suspend(h, this);
  }
  /// Takes the waiter off its list and lets it re-check when its turn comes.
  void wake_to_recheck() noexcept {
    unlink();
    granted = woken = true;
    task->wake_via(this);
  }

 protected:
  ~RecheckingWaiter() = default;
  /// Whether the task may go on now (evaluated when its turn in the ready queue comes).
  virtual bool can_proceed() const noexcept = 0;

 private:
  static void run(Runnable* r) noexcept {
    auto* self = static_cast<RecheckingWaiter*>(r);
    if (self->can_proceed() || self->task->cancel_pending()) {
      self->task->step_now();
      return;
    }
    // Someone else took what we were woken for: wait again, at the end of the line.
    self->granted = self->woken = false;
    self->list_->push_back(self);
    self->task->suspend(self->handle_, self);
  }

  IntrusiveList<RecheckingWaiter>* list_ = nullptr;
  std::coroutine_handle<> handle_;
};

/// Wakes the first waiter of a RecheckingWaiter list (asyncio's Queue._wakeup_next).
inline void wake_next(IntrusiveList<RecheckingWaiter>& list) noexcept {
  if (RecheckingWaiter* w = list.front()) w->wake_to_recheck();
}

}  // namespace aio::detail
