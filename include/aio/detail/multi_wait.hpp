// Waiting on many futures or tasks at once: the machinery under gather, wait,
// as_completed and TaskGroup. One waiter node per child, embedded in the combinator's
// own storage (a combinator moved before it is awaited hands them on with take_over());
// a derived class decides, per completed child, whether the wait is over.
#pragma once

#include <coroutine>
#include <cstddef>
#include <span>
#include <string>

#include "aio/detail/future_core.hpp"
#include "aio/detail/task_base.hpp"

namespace aio::detail {

class MultiWait : public Suspension {
 public:
  struct Child final : FutureWaiter {
    MultiWait* owner = nullptr;
    FutureCore* core = nullptr;
    std::size_t index = 0;
    void on_done() noexcept override { owner->on_child_done(*this); }
  };

  MultiWait() = default;
  MultiWait(const MultiWait&) = delete;
  MultiWait& operator=(const MultiWait&) = delete;
  ~MultiWait() { detach_all(); }

 protected:
  /// Binds the child nodes; the span's storage must stay put until the wait is over.
  void bind(std::span<Child> children) noexcept {
    children_ = children;
    for (std::size_t i = 0; i < children.size(); ++i) {
      children[i].owner = this;
      children[i].index = i;
    }
  }
  /// Registers on every child not yet done (and not registered yet), and suspends the
  /// calling task.
  void suspend_on_children(std::coroutine_handle<> h, const char* what) {
    task_ = &require_task(what);
    for (Child& c : children_)
      if (!c.core->done() && !c.linked()) c.core->add_waiter(&c);
    task_->suspend(h, this);
    suspended_ = true;
  }
  /// Takes over `from`'s registrations, for a combinator's move constructor: call after
  /// bind(), with nodes for the same children in the same order. Only valid before the
  /// wait is awaited (a suspended task points at `from`). A registered node is swapped
  /// for its successor in place, so the child still wakes its waiters in their order.
  void take_over(MultiWait& from) noexcept {
    for (std::size_t i = 0; i < children_.size() && i < from.children_.size(); ++i) {
      Child& old_node = from.children_[i];
      Child& new_node = children_[i];
      if (&old_node != &new_node && old_node.linked()) replace_in_list(old_node, new_node);
    }
    finished_ = from.finished_;
    from.children_ = {};
  }
  void detach_all() noexcept {
    for (Child& c : children_) FutureCore::remove_waiter(&c);
  }
  /// Detaches and forgets the children. A derived class that owns the child storage
  /// calls this in its destructor, before that storage is destroyed.
  void unbind() noexcept {
    detach_all();
    children_ = {};
  }
  /// Ends the wait: the task resumes in its next step. Children stay registered until
  /// the combinator is destroyed (gather keeps observing them).
  void finish() noexcept {
    if (finished_) return;
    finished_ = true;
    if (suspended_) task_->wake();
  }
  /// Called for each child that completes while the task is suspended.
  virtual void on_child_done(Child& c) noexcept = 0;

  std::span<Child> children_;
  TaskBase* task_ = nullptr;
  bool suspended_ = false;
  bool finished_ = false;

 private:
  /// Puts new_node where old_node is in its list (O(1), order kept) and unlinks old_node.
  static void replace_in_list(ListNode& old_node, ListNode& new_node) noexcept {
    new_node.prev = old_node.prev;
    new_node.next = old_node.next;
    new_node.prev->next = &new_node;
    new_node.next->prev = &new_node;
    old_node.prev = old_node.next = nullptr;
  }
};

}  // namespace aio::detail
