// aio::Future<T> — a result that will be set later (asyncio.Future).
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "aio/detail/core_awaiter.hpp"
#include "aio/detail/future_core.hpp"
#include "aio/detail/intrusive.hpp"
#include "aio/loop.hpp"
#include "aio/outcome.hpp"

namespace aio {

namespace detail {

template <class T>
class FutureState final : public FutureCore {
 public:
  using FutureCore::FutureCore;
  std::optional<value_t<T>> value;

  template <class... Args>
  void set_value(Args&&... args) {
    throw_if_done("Future.set_result");
    value.emplace(std::forward<Args>(args)...);
    finish_with_value();
  }
  /// Cancelling a task that awaits a future cancels the future (asyncio semantics).
  bool cancel_for_awaiter(const std::string& msg) noexcept { return cancel_future(msg); }
};

EventLoop& loop_for_new_future();

}  // namespace detail

/// A placeholder for a result that some callback or task will set later.
///
///     aio::Future<int> fut = loop.create_future<int>();
///     loop.call_later(0.1, [fut]() mutable { fut.set_result(42); });
///     int v = co_await fut;   // 42
///
/// A copyable handle: copies refer to the same future. Any number of tasks may await it.
/// Cancelling a task that awaits the future cancels the future too (as in asyncio); use
/// aio::shield to avoid that.
template <class T = void>
class Future {
  using State = detail::FutureState<T>;
  using Value = detail::value_t<T>;

 public:
  using aio_awaitable = void;
  /// A pending future bound to the running loop (UsageError outside a running loop).
  Future() : Future(detail::loop_for_new_future()) {}
  explicit Future(EventLoop& loop) : state_(new State(&loop), /*adopt=*/true) {}

  /// Sets the result and wakes the awaiters. InvalidStateError if already done.
  template <class U = Value>
  requires(!std::is_void_v<T> && std::is_constructible_v<Value, U&&>) void set_result(U&& value) {
    state_->set_value(std::forward<U>(value));
  }
  void set_result() requires std::is_void_v<T> { state_->set_value(); }
  /// Sets an exception (a CancelledError makes it cancelled). InvalidStateError if done.
  void set_exception(std::exception_ptr e) { state_->set_exception_core(std::move(e), "Future.set_exception"); }
  template <class E>
  requires(!std::is_same_v<std::decay_t<E>, std::exception_ptr>) void set_exception(E&& e) {
    set_exception(std::make_exception_ptr(std::forward<E>(e)));
  }

  /// Cancels the future and wakes its awaiters with CancelledError. False if done.
  bool cancel(std::string msg = {}) { return state_->cancel_future(std::move(msg)); }
  bool cancelled() const noexcept { return state_->cancelled(); }
  bool done() const noexcept { return state_->done(); }

  /// The result. Throws InvalidStateError if not done, CancelledError if cancelled, the
  /// exception if one was set.
  decltype(auto) result() const {
    state_->rethrow_if_not_ok("Future.result");
    if constexpr (!std::is_void_v<T>) return static_cast<const Value&>(*state_->value);
  }
  /// The exception set, or null. InvalidStateError if not done, CancelledError if cancelled.
  std::exception_ptr exception() const { return state_->exception("Future.exception"); }

  /// Runs fn(future) on the loop soon after the future is done. Returns an id for
  /// remove_done_callback.
  std::uint64_t add_done_callback(std::function<void(Future&)> fn) {
    return state_->add_done_callback_core([fn = std::move(fn)](detail::FutureCore& core) {
      Future f(static_cast<State*>(&core));
      fn(f);
    });
  }
  /// Removes callbacks added with that id; returns how many were removed.
  std::size_t remove_done_callback(std::uint64_t id) { return state_->remove_done_callback_core(id); }

  /// Suspends until done; returns the result or throws like result().
  detail::CoreAwaiter<State, T> operator co_await() const noexcept {
    return detail::CoreAwaiter<State, T>(state_.get());
  }

  friend bool operator==(const Future& a, const Future& b) noexcept { return a.state_ == b.state_; }

  /// The untyped core (for combinators).
  detail::FutureCore* core() const noexcept { return state_.get(); }

 private:
  explicit Future(State* s) : state_(s) {}
  detail::Ref<State> state_;
};

}  // namespace aio
