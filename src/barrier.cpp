// Follows asyncio's Barrier state machine: filling -> draining -> filling, with resetting
// and broken on the side; every transition happens under the condition's lock.
#include "aio/barrier.hpp"

#include <stdexcept>
#include <string>

namespace aio {

Barrier::Barrier(int parties) : parties_(parties) {
  if (parties < 1) throw std::invalid_argument("Barrier: parties must be >= 1 (got " + std::to_string(parties) + ")");
}

Coro<int> Barrier::wait() {
  auto guard = co_await cond_.lock();
  co_await block();  // a draining or resetting barrier must empty before we enter
  int index = count_++;
  struct Leave {  // on every exit path, cancellation included
    Barrier& b;
    ~Leave() { b.leave(); }
  } on_exit{*this};
  if (index + 1 == parties_) {
    state_ = State::draining;  // the last arrival releases everyone
    cond_.notify_all();
  } else {
    co_await wait_for_release();
  }
  co_return index;
}

Coro<void> Barrier::block() {
  co_await cond_.wait_for([this] { return state_ != State::draining && state_ != State::resetting; });
  if (state_ == State::broken) throw BrokenBarrierError("Barrier.wait: the barrier was aborted");
}

Coro<void> Barrier::wait_for_release() {
  co_await cond_.wait_for([this] { return state_ != State::filling; });
  if (state_ == State::broken || state_ == State::resetting)
    throw BrokenBarrierError("Barrier.wait: the barrier was aborted or reset while this task waited");
}

void Barrier::leave() noexcept {
  --count_;
  if (count_ == 0) {
    // The last task out ends the draining (or resetting): the barrier fills again.
    if (state_ == State::resetting || state_ == State::draining) state_ = State::filling;
    cond_.notify_all();  // (the lock is held: Leave ends before the guard)
  }
}

Coro<void> Barrier::reset() {
  auto guard = co_await cond_.lock();
  if (count_ > 0) {
    state_ = State::resetting;  // the waiting tasks get BrokenBarrierError on their way out
  } else {
    state_ = State::filling;
  }
  cond_.notify_all();
}

Coro<void> Barrier::abort() {
  auto guard = co_await cond_.lock();
  state_ = State::broken;
  cond_.notify_all();
}

}  // namespace aio
