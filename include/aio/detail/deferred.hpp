// Reactions that run one loop iteration later, the way asyncio runs a done callback:
// `fut.add_done_callback(cb)` does not call cb when fut completes, it call_soon()s it.
// gather, wait, as_completed, shield and TaskGroup learn of a child's end that way in
// asyncio, and aio must react in the same iteration for the two to order events alike
// (e.g. both errors of two TaskGroup children failing in one iteration are reported).
#pragma once

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

#include "aio/detail/future_core.hpp"
#include "aio/detail/intrusive.hpp"

namespace aio {
class EventLoop;
}

namespace aio::detail {

class Deferred;

/// Carries one queued reaction through the ready queue. Relays belong to the loop and are
/// recycled, so deferring allocates nothing once the pool has grown to the peak number
/// of reactions queued at once.
struct Relay : Runnable {
  Deferred* target = nullptr;  // null: withdrawn (the reaction no longer runs)
  EventLoop* loop = nullptr;
  Relay* next_free = nullptr;
};

/// The loop's pool of relays.
class RelayPool {
 public:
  RelayPool() = default;
  RelayPool(const RelayPool&) = delete;
  RelayPool& operator=(const RelayPool&) = delete;

  Relay* take() {
    if (!free_) grow();
    Relay* r = free_;
    free_ = r->next_free;
    return r;
  }
  void give(Relay* r) noexcept {
    r->target = nullptr;
    r->next_free = free_;
    free_ = r;
  }

 private:
  void grow() {
    constexpr std::size_t kChunk = 64;
    auto chunk = std::make_unique<Relay[]>(kChunk);
    for (std::size_t i = 0; i < kChunk; ++i) give(&chunk[i]);
    chunks_.push_back(std::move(chunk));
  }

  Relay* free_ = nullptr;
  std::vector<std::unique_ptr<Relay[]>> chunks_;
};

/// Something that reacts to an event one loop iteration after it happened: defer()
/// queues run_deferred() behind whatever is already ready. The object may withdraw the
/// reaction, hand it to a successor (when it is moved) or be destroyed while it is queued.
class Deferred {
 public:
  Deferred() = default;
  Deferred(const Deferred&) noexcept {}  // a copy has nothing queued
  Deferred& operator=(const Deferred&) = delete;

  bool deferred_pending() const noexcept { return relay_ != nullptr; }
  /// Queues run_deferred() on `loop` (once: a reaction already queued is not doubled).
  void defer(EventLoop& loop);
  /// The queued reaction, if any, will not run.
  void withdraw() noexcept {
    if (relay_) relay_->target = nullptr;
    relay_ = nullptr;
  }
  /// The queued reaction, if any, runs on `to` instead.
  void hand_over(Deferred& to) noexcept {
    if (!relay_) return;
    to.withdraw();
    relay_->target = &to;
    to.relay_ = std::exchange(relay_, nullptr);
  }

  /// Runs a relay taken from the ready queue (the loop's run function for relays).
  static void run_relay(Runnable* r) noexcept;
  /// Recycles a relay that will never run (the loop is closing).
  static void drop_relay(Relay* r) noexcept;

 protected:
  ~Deferred() { withdraw(); }
  virtual void run_deferred() noexcept = 0;

 private:
  Relay* relay_ = nullptr;
};

/// A FutureWaiter whose reaction to the completion runs one iteration later: an internal
/// done callback in asyncio's sense, costing no allocation.
class DeferredWaiter : public FutureWaiter, public Deferred {
 public:
  DeferredWaiter() = default;
  DeferredWaiter(const DeferredWaiter& o) noexcept : FutureWaiter(o), Deferred(o), loop_(o.loop_) {}

  /// Starts watching `core`: registers as its waiter, or, when it is already done,
  /// queues the reaction now (asyncio's add_done_callback on a done future).
  void observe(FutureCore* core) {
    loop_ = core->loop();
    if (core->done())
      defer(*loop_);
    else
      core->add_waiter(this);
  }
  /// Stops watching: unregisters, and withdraws a reaction not yet run.
  void stop_observing() noexcept {
    FutureCore::remove_waiter(this);
    withdraw();
  }
  /// Hands the registration (or the queued reaction) over to `to`, e.g. when the object
  /// holding this waiter is moved. `to` must not be registered anywhere.
  void hand_over_to(DeferredWaiter& to) noexcept;

 protected:
  ~DeferredWaiter() { FutureCore::remove_waiter(this); }

 private:
  void on_done() noexcept final;

  EventLoop* loop_ = nullptr;
};

}  // namespace aio::detail
