// What the combinators accept: Coro<T>, Task<T> and Future<T>, and what they yield.
#pragma once

#include <type_traits>
#include <utility>

#include "aio/coro.hpp"
#include "aio/future.hpp"
#include "aio/task.hpp"

namespace aio::detail {

template <class A>
struct awaitable_traits;
template <class T>
struct awaitable_traits<Coro<T>> {
  using type = T;
};
template <class T>
struct awaitable_traits<Task<T>> {
  using type = T;
};
template <class T>
struct awaitable_traits<Future<T>> {
  using type = T;
};

/// The result type of awaiting A (void stays void).
template <class A>
using result_of_t = typename awaitable_traits<std::remove_cvref_t<A>>::type;

template <class T>
Coro<T> await_future(Future<T> f) {
  co_return co_await f;
}

/// A task for the awaitable: Coros are scheduled, Tasks pass through, Futures are awaited
/// by a small task (asyncio.ensure_future).
template <class T>
Task<T> ensure_task(Coro<T>&& c) {
  return create_task(std::move(c));
}
template <class T>
Task<T> ensure_task(Task<T> t) {
  return t;
}
template <class T>
Task<T> ensure_task(Future<T> f) {
  return create_task(await_future(std::move(f)));
}

/// The value of a task that finished successfully (None for void).
template <class T>
value_t<T> take_value(const Task<T>& t) {
  t.state()->rethrow_if_not_ok("gather");
  if constexpr (std::is_void_v<T>) {
    return None{};
  } else {
    return copy_or_move(t.state()->value);
  }
}

/// The task's result or exception (CancelledError if it was cancelled).
template <class T>
Outcome<value_t<T>> take_outcome(const Task<T>& t) {
  Outcome<value_t<T>> out;
  if (std::exception_ptr e = t.state()->stored_exception()) {
    out.set_exception(std::move(e));
  } else if constexpr (std::is_void_v<T>) {
    out.set_value();
  } else {
    out.set_value(copy_or_move(t.state()->value));
  }
  return out;
}

}  // namespace aio::detail
