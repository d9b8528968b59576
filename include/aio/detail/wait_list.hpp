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
  bool woken = false;  // set by whoever woke it; it stays queued until it runs

  /// Queues the running task and suspends it.
  void enqueue(IntrusiveList<WaitEntry>& list, std::coroutine_handle<> h, const char* what) {
    task = &require_task(what);
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
  bool cancel_wait(const std::string&) noexcept override {
    unlink();
    woken = true;
    task->wake();
    return false;
  }

 protected:
  ~WaitEntry() { unlink(); }
};

/// Wakes the first waiter, unless it is already woken (asyncio's _wake_up_first): a woken
/// waiter stays queued until it runs, so at most one is ever on its way to take a lock.
inline void wake_first(IntrusiveList<WaitEntry>& list) noexcept {
  if (WaitEntry* w = list.front()) w->wake();
}

}  // namespace aio::detail
