// The untyped heart of Future<T> and Task<T>: state, exception, waiters and callbacks.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "aio/detail/frame_alloc.hpp"
#include "aio/detail/intrusive.hpp"
#include "aio/detail/suspension.hpp"

namespace aio {
class EventLoop;
}

namespace aio::detail {

/// Something waiting for a future to complete: an awaiting task, a gather, a wait().
/// Embedded in the waiter's own frame, so registering allocates nothing; a waiter that
/// gives up (cancellation) unlinks itself (a walk round the future's few waiters).
///
/// It is also a Suspension, so that an awaiter that waits on one future needs a single
/// vtable pointer for both roles (this keeps a parked task's frame small). Waiters that
/// are never what a task waits on keep the default cancel_wait().
struct FutureWaiter : Suspension, RingNode {
  FutureWaiter() = default;
  FutureWaiter(const FutureWaiter&) noexcept : Suspension(), RingNode() {}  // links are not copied
  /// Called when the future completes (after it was unlinked from the future's list),
  /// in registration order. A reaction that stands for an asyncio done callback must not
  /// run here but be queued (a task's wake-up, detail/deferred.hpp): that is what keeps
  /// aio's order of events asyncio's.
  virtual void on_done() noexcept = 0;
  bool cancel_wait(const std::string&) noexcept override { return false; }
  /// Non-zero for a node made by add_done_callback_core (the id it returned).
  virtual std::uint64_t callback_id() const noexcept { return 0; }

 protected:
  ~FutureWaiter() = default;
};

/// True when e holds an aio::CancelledError.
bool is_cancelled_error(const std::exception_ptr& e) noexcept;

class FutureCore : public Pooled {
 public:
  enum class State : std::uint8_t { pending, finished, cancelled };

  explicit FutureCore(EventLoop* loop) noexcept : loop_(loop) {}
  FutureCore(const FutureCore&) = delete;
  FutureCore& operator=(const FutureCore&) = delete;
  virtual ~FutureCore();

  void add_ref() noexcept { ++refs_; }
  void release() noexcept {
    if (--refs_ == 0) {
      report_unretrieved();
      delete this;
    }
  }

  State state() const noexcept { return state_; }
  bool done() const noexcept { return state_ != State::pending; }
  bool cancelled() const noexcept { return state_ == State::cancelled; }
  /// Finished with an exception (not cancelled).
  bool failed() const noexcept { return state_ == State::finished && has_exception_; }
  EventLoop* loop() const noexcept { return loop_; }

  void add_waiter(FutureWaiter* w) noexcept { waiters_.push(w); }
  static void remove_waiter(FutureWaiter* w) noexcept {
    if (w->linked()) IntrusiveRing<FutureWaiter>::erase(w);
  }

  /// Throws InvalidStateError if pending, CancelledError if cancelled, the stored
  /// exception if failed; marks the exception as retrieved. `what` names the object.
  void rethrow_if_not_ok(const char* what);
  /// The stored exception (CancelledError for a cancelled one), marked retrieved.
  /// Throws InvalidStateError while pending.
  std::exception_ptr exception(const char* what);
  /// Declares that nobody will ever look at this future's exception on purpose
  /// (e.g. the other children of a gather that already failed).
  void mark_retrieved() noexcept { exception_retrieved_ = true; }
  /// The stored exception as is (CancelledError for a cancelled one, null on success),
  /// marked retrieved. Only valid once done.
  std::exception_ptr stored_exception() noexcept;

  /// Pending → cancelled; wakes waiters. Returns false if already done.
  bool cancel_future(std::string msg);
  /// Pending → failed (or cancelled if `e` holds a CancelledError); wakes waiters.
  void set_exception_core(std::exception_ptr e, const char* what);

  using DoneCallback = std::function<void(FutureCore&)>;
  /// Registers fn to run on the loop soon after completion (at once-scheduled if done).
  /// Callbacks and waiters share one list: on completion they are scheduled in the order
  /// they registered, as asyncio does with a task's wake-up and its done callbacks.
  std::uint64_t add_done_callback_core(DoneCallback fn);
  std::size_t remove_done_callback_core(std::uint64_t id);

  /// Human-readable name for logs: "Task 'fetch-1'" or "Future".
  virtual std::string describe() const;

 protected:
  void throw_if_done(const char* what) const;
  /// Marks finished (value already stored by the derived class) and wakes waiters.
  void finish_with_value() noexcept;
  /// Marks finished/cancelled with an exception and wakes waiters.
  void finish_with_exception(std::exception_ptr e, bool cancelled) noexcept;

 private:
  void wake_all() noexcept;
  void report_unretrieved() noexcept;

  std::uint32_t refs_ = 1;
  State state_ = State::pending;
  bool exception_retrieved_ = false;
  bool has_exception_ = false;  // the exception itself is in the Extras

 protected:
  // A task's flags, in what would be this word's padding (keeps a parked task small).
  bool must_cancel_ : 1 = false;  // cancel() is to be thrown at the next await
  bool started_ : 1 = false;      // the first step ran
  bool queued_ : 1 = false;       // in the ready queue, its step to come

 private:
  EventLoop* loop_;
  IntrusiveRing<FutureWaiter> waiters_;

 protected:
  /// Rarely used state, allocated on first use: the exception, done callbacks, a task's
  /// name, cancel count and pending cancel message (keeps a parked task small).
  struct Extras;
  Extras& extras();
  Extras* extras_ = nullptr;
};

}  // namespace aio::detail
