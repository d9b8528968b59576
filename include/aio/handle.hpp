// aio::Handle and aio::TimerHandle — what call_soon/call_later/call_at return.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "aio/detail/frame_alloc.hpp"
#include "aio/detail/intrusive.hpp"
#include "aio/detail/timer_heap.hpp"

namespace aio {
class EventLoop;
}

namespace aio::detail {

/// A scheduled callback: lives in the ready queue (call_soon) or the timer heap
/// (call_later), reference-counted between the loop and the user's Handle.
class CallbackCore : public Runnable, public TimerNode, public Pooled {
 public:
  explicit CallbackCore(EventLoop* loop) noexcept : loop_(loop) {}
  CallbackCore(const CallbackCore&) = delete;
  CallbackCore& operator=(const CallbackCore&) = delete;
  virtual ~CallbackCore() = default;

  void add_ref() noexcept { ++refs_; }
  void release() noexcept {
    if (--refs_ == 0) delete this;
  }
  bool cancelled() const noexcept { return cancelled_; }
  void cancel() noexcept;
  virtual void invoke() = 0;
  EventLoop* loop() const noexcept { return loop_; }

 private:
  std::uint32_t refs_ = 1;
  bool cancelled_ = false;
  EventLoop* loop_;
};

template <class F>
class CallbackNode final : public CallbackCore {
 public:
  CallbackNode(EventLoop* loop, F fn) : CallbackCore(loop), fn_(std::move(fn)) {}
  void invoke() override { fn_(); }

 private:
  F fn_;
};

}  // namespace aio::detail

namespace aio {

/// A callback scheduled with call_soon: `cancel()` keeps it from running.
class Handle {
 public:
  Handle() = default;
  explicit Handle(detail::CallbackCore* core) noexcept : core_(core) {}
  /// Keeps the callback from running; no effect once it ran.
  void cancel() noexcept {
    if (core_) core_->cancel();
  }
  bool cancelled() const noexcept { return core_ && core_->cancelled(); }

 protected:
  detail::Ref<detail::CallbackCore> core_;
};

/// A callback scheduled with call_later/call_at; `when()` is its loop.time() deadline.
class TimerHandle : public Handle {
 public:
  using Handle::Handle;
  double when() const noexcept { return core_ ? static_cast<double>(core_->when) / 1e9 : 0.0; }
};

}  // namespace aio
