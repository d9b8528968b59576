#include "aio/detail/deferred.hpp"

#include "aio/loop.hpp"

namespace aio::detail {

void Deferred::defer(EventLoop& loop) {
  if (relay_) return;
  Relay* r = LoopAccess::relays(loop).take();
  r->target = this;
  r->loop = &loop;
  r->run_fn = &Deferred::run_relay;
  relay_ = r;
  LoopAccess::schedule(loop, r);
}

void Deferred::run_relay(Runnable* runnable) noexcept {
  auto* r = static_cast<Relay*>(runnable);
  Deferred* target = r->target;
  LoopAccess::relays(*r->loop).give(r);
  if (!target) return;  // withdrawn while queued
  target->relay_ = nullptr;
  target->run_deferred();
}

void Deferred::drop_relay(Relay* r) noexcept {
  if (r->target) r->target->relay_ = nullptr;
  LoopAccess::relays(*r->loop).give(r);
}

void DeferredWaiter::on_done() noexcept { defer(*loop_); }

void DeferredWaiter::hand_over_to(DeferredWaiter& to) noexcept {
  to.loop_ = loop_;
  hand_over(to);
  if (!linked()) return;
  // Take this node's place in the future's list, so the order of waiters is kept.
  IntrusiveRing<FutureWaiter>::replace(this, &to);
}

}  // namespace aio::detail
