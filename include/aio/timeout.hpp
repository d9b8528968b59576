// aio::timeout, aio::timeout_at, aio::wait_for — asyncio.timeout and asyncio.wait_for.
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <type_traits>
#include <utility>

#include "aio/coro.hpp"
#include "aio/delay.hpp"
#include "aio/detail/awaitable_traits.hpp"
#include "aio/detail/done_awaiter.hpp"
#include "aio/handle.hpp"
#include "aio/loop.hpp"
#include "aio/outcome.hpp"
#include "aio/task.hpp"

namespace aio {

namespace detail {

/// asyncio.Timeout's state machine: when the deadline passes, cancel the task running
/// the scope; on exit, turn that cancellation (and only that one) into TimeoutError.
class TimeoutScope {
 public:
  TimeoutScope(TaskBase& task, std::int64_t deadline_ns) : task_(task), cancelling_at_entry_(task.cancelling()) {
    if (deadline_ns == Delay::kNever) return;
    // A callback, not a bare timer: when due it runs in the ready batch after what was
    // already ready (asyncio's order), so a task created just before still gets to start.
    auto on_deadline = [this] {
      expired_ = true;
      task_.cancel();
    };
    EventLoop& loop = *task.loop();
    // Already due: queue it now, ahead of whatever the awaited operation schedules next.
    if (deadline_ns <= LoopAccess::now_ns(loop))
      deadline_ = loop.call_soon(on_deadline);
    else
      deadline_ = LoopAccess::call_at_ns(loop, deadline_ns, on_deadline);
  }
  TimeoutScope(const TimeoutScope&) = delete;
  ~TimeoutScope() { deadline_.cancel(); }

  /// Call when the awaited operation ended with `error` (null on success). Throws
  /// TimeoutError if the deadline cancelled it; otherwise returns.
  void exit(const std::exception_ptr& error) {
    deadline_.cancel();
    if (!expired_) return;
    // The deadline's cancel() is withdrawn; if no other cancel() arrived meanwhile and
    // the operation ended in CancelledError, that was ours: report a timeout instead.
    if (task_.uncancel() <= cancelling_at_entry_ && error && is_cancelled_error(error)) throw TimeoutError();
  }
  bool expired() const noexcept { return expired_; }

 private:
  TaskBase& task_;
  int cancelling_at_entry_;
  bool expired_ = false;
  Handle deadline_;
};

template <class T, class Aw>
Coro<T> run_with_deadline(std::int64_t deadline_ns, Aw aw) {
  TimeoutScope scope(require_task("aio::timeout"), deadline_ns);
  Outcome<value_t<T>> out;
  std::exception_ptr error;
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(aw);
      out.set_value();
    } else {
      out.set_value(co_await std::move(aw));
    }
  } catch (...) {
    error = std::current_exception();
  }
  scope.exit(error);
  if (error) std::rethrow_exception(error);
  if constexpr (!std::is_void_v<T>) co_return std::move(out).value();
}

inline std::int64_t deadline_after(Delay d) {
  if (d.infinite()) return Delay::kNever;
  return LoopAccess::now_ns(get_running_loop()) + d.nanoseconds();
}

}  // namespace detail

/// Awaits `aw` (Coro, Task, Future, or what gather() returns) for at most `delay`; on
/// expiry cancels it, waits for it to finish cancelling, and throws TimeoutError
/// (asyncio.timeout). If `aw` catches the cancellation and returns a value anyway, that
/// value is returned. A Task given here is cancelled on timeout, like in asyncio; a
/// gather has all its children cancelled.
///
///     std::string page = co_await aio::timeout(2.0, fetch(url));
///     auto [a, b] = co_await aio::timeout(2.0, aio::gather(fetch(u1), fetch(u2)));
template <class Aw>
Coro<detail::result_of_t<Aw>> timeout(Delay delay, Aw aw) {
  return detail::run_with_deadline<detail::result_of_t<Aw>>(detail::deadline_after(delay), std::move(aw));
}

/// Like timeout(), with an absolute deadline in loop.time() seconds.
template <class Aw>
Coro<detail::result_of_t<Aw>> timeout_at(double when, Aw aw) {
  std::int64_t ns = when >= 9.2e9 ? Delay::kNever : static_cast<std::int64_t>(when * 1e9);
  return detail::run_with_deadline<detail::result_of_t<Aw>>(ns, std::move(aw));
}

namespace detail {
template <class T>
Coro<T> cancel_now_then_timeout(Task<T> task) {
  if (!task.done()) {
    task.cancel();
    // Wait for the task to finish cancelling, even if we get cancelled meanwhile.
    while (!task.done()) {
      try {
        co_await DoneAwaiter(task.core());
      } catch (const CancelledError&) {
      }
    }
  }
  std::exception_ptr e = task.state()->stored_exception();
  if (e && is_cancelled_error(e)) throw TimeoutError();
  if (e) std::rethrow_exception(e);
  if constexpr (!std::is_void_v<T>) co_return copy_or_move(task.state()->value);
}
}  // namespace detail

namespace detail {
/// wait_for(aw, 0): a future or task that is already done gives its result; anything
/// else is cancelled, and TimeoutError is thrown once it finished cancelling.
template <class T>
Coro<T> check_now(Future<T> f) {
  if (!f.done()) f.cancel();
  std::exception_ptr e = f.core()->stored_exception();
  if (e && is_cancelled_error(e)) throw TimeoutError();
  if (e) std::rethrow_exception(e);
  if constexpr (!std::is_void_v<T>) co_return f.result();
}
template <class T>
Coro<T> check_now(Task<T> t) {
  return cancel_now_then_timeout(std::move(t));
}
template <class T>
Coro<T> check_now(Coro<T> c) {
  return cancel_now_then_timeout(create_task(std::move(c)));
}
/// A gather: its result if every child is already done (or the first error it saw);
/// otherwise its children are cancelled at once, as cancelling the gather's awaiter
/// would, and TimeoutError is thrown once the gather has finished cancelling. A
/// cancellation of the waiting task itself meanwhile stays a CancelledError.
template <class Gather>
requires is_gather_v<Gather> Coro<typename Gather::Result> check_now(Gather gather) {
  TaskBase& task = require_task("aio::wait_for");
  const int cancelling_before = task.cancelling();
  const bool cancelled_by_us = !gather.await_ready();
  if (cancelled_by_us) gather.cancel_wait(std::string());
  std::exception_ptr error;
  try {
    typename Gather::Result result = co_await gather;
    co_return result;
  } catch (...) {
    error = std::current_exception();
  }
  if (cancelled_by_us && is_cancelled_error(error) && task.cancelling() == cancelling_before) throw TimeoutError();
  std::rethrow_exception(error);
}
}  // namespace detail

/// asyncio.wait_for: awaits `aw` (as timeout() takes it) with a timeout; on timeout
/// cancels it, waits until it has finished cancelling, then throws TimeoutError. A delay
/// <= 0 checks once without waiting: what is already done gives its result, anything
/// else is cancelled (a Coro never starts) and TimeoutError follows.
///
///     auto [a, b] = co_await aio::wait_for(aio::gather(fetch(u1), fetch(u2)), 1.0);
template <class Aw>
Coro<detail::result_of_t<Aw>> wait_for(Aw aw, Delay delay) {
  if (delay.nanoseconds() <= 0) return detail::check_now(std::move(aw));
  return timeout(delay, std::move(aw));
}

}  // namespace aio
