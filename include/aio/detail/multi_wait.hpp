// Waiting on many futures or tasks at once: the machinery under gather, wait,
// as_completed and TaskGroup. One waiter node per child, embedded in the combinator's
// own storage (a combinator moved before it is awaited hands them on with take_over());
// a derived class decides, per completed child, whether the wait is over.
#pragma once

#include <coroutine>
#include <cstddef>
#include <span>
#include <string>

#include "aio/detail/deferred.hpp"
#include "aio/detail/future_core.hpp"
#include "aio/detail/task_base.hpp"

namespace aio::detail {

class MultiWait : public Suspension {
 public:
  // Learns of its child's end one iteration later, as asyncio's gather, wait and
  // as_completed do through done callbacks (so aio orders their reactions alike).
  struct Child final : DeferredWaiter {
    MultiWait* owner = nullptr;
    FutureCore* core = nullptr;
    std::size_t index = 0;
    bool seen = false;  // on_child_done() ran for it
    void run_deferred() noexcept override {
      seen = true;
      owner->on_child_done(*this);
    }
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
  /// Starts observing every child not observed yet (a child already done is reported one
  /// iteration from now, like a done callback added to a done future).
  void observe_children() {
    for (Child& c : children_)
      if (!c.seen && !c.linked() && !c.deferred_pending()) c.observe(c.core);
  }
  /// Observes the children (see above) and suspends the calling task.
  void suspend_on_children(std::coroutine_handle<> h, const char* what) {
    task_ = &require_task(what);
    what_ = what;
    observe_children();
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
      if (&old_node == &new_node) continue;
      new_node.seen = old_node.seen;
      old_node.hand_over_to(new_node);
    }
    finished_ = from.finished_;
    from.children_ = {};
  }
  void detach_all() noexcept {
    for (Child& c : children_) c.stop_observing();
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
  /// Called one iteration after each observed child completed.
  virtual void on_child_done(Child& c) noexcept = 0;

  std::string describe_wait() const override {
    std::size_t done = 0;
    for (const Child& c : children_) done += c.core->done() ? 1 : 0;
    return std::string(what_) + " of " + std::to_string(children_.size()) + " (" + std::to_string(done) + " done)";
  }

  std::span<Child> children_;
  TaskBase* task_ = nullptr;
  const char* what_ = "";
  bool suspended_ = false;
  bool finished_ = false;
};

}  // namespace aio::detail
