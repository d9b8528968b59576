// aio::Barrier — asyncio.Barrier: a fixed number of tasks meet, then all go on.
#pragma once

#include "aio/condition.hpp"
#include "aio/coro.hpp"

namespace aio {

/// asyncio.Barrier. Each of `parties` tasks calls wait(); the last to arrive releases them
/// all. Reusable: once every task has left, the barrier fills again.
///
///     aio::Barrier barrier(3);
///     int index = co_await barrier.wait();   // 0, 1, 2: the order of arrival
///
/// reset() sends BrokenBarrierError to the tasks waiting now and then refills; abort()
/// breaks the barrier for good (every wait() throws BrokenBarrierError). A task cancelled
/// while waiting just leaves (the count drops), as in asyncio — also when the barrier had
/// already tripped but the task had not run yet: it gets CancelledError, the others go on.
class Barrier {
 public:
  /// std::invalid_argument if parties < 1.
  explicit Barrier(int parties);
  Barrier(const Barrier&) = delete;
  Barrier& operator=(const Barrier&) = delete;

  /// Waits for the barrier to trip; returns this task's arrival index, 0 .. parties-1.
  Coro<int> wait();
  /// Back to the initial, empty state; tasks waiting now get BrokenBarrierError.
  Coro<void> reset();
  /// Breaks the barrier: waiting and future wait() calls throw BrokenBarrierError.
  Coro<void> abort();

  int parties() const noexcept { return parties_; }
  /// Tasks waiting for the barrier to fill (0 while it drains or resets).
  int n_waiting() const noexcept { return state_ == State::filling ? count_ : 0; }
  bool broken() const noexcept { return state_ == State::broken; }

 private:
  enum class State { filling, draining, resetting, broken };
  Coro<void> block();
  Coro<void> wait_for_release();
  void leave() noexcept;

  Condition cond_;
  int parties_;
  int count_ = 0;  // tasks inside wait()
  State state_ = State::filling;
};

}  // namespace aio
