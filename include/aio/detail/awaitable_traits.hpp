// What the combinators accept: Coro<T>, Task<T>, Future<T> and what gather() returns,
// and what they yield.
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

// gather()'s awaiters (defined in aio/gather.hpp) are awaitables too, as asyncio's
// gathering future is: wait_for(gather(a, b), 1.0), shield(gather(...)), gather(gather(...)).
template <bool kReturnExceptions, class... Ts>
class GatherTuple;
template <bool kReturnExceptions, class T>
class GatherVector;

template <class A>
inline constexpr bool is_gather_v = false;
template <bool kReturnExceptions, class... Ts>
inline constexpr bool is_gather_v<GatherTuple<kReturnExceptions, Ts...>> = true;
template <bool kReturnExceptions, class T>
inline constexpr bool is_gather_v<GatherVector<kReturnExceptions, T>> = true;

template <bool kReturnExceptions, class... Ts>
struct awaitable_traits<GatherTuple<kReturnExceptions, Ts...>> {
  using type = typename GatherTuple<kReturnExceptions, Ts...>::Result;
};
template <bool kReturnExceptions, class T>
struct awaitable_traits<GatherVector<kReturnExceptions, T>> {
  using type = typename GatherVector<kReturnExceptions, T>::Result;
};

/// The result type of awaiting A (void stays void).
template <class A>
using result_of_t = typename awaitable_traits<std::remove_cvref_t<A>>::type;

template <class T>
Coro<T> await_future(Future<T> f) {
  co_return co_await f;
}

template <class Gather>
Coro<typename Gather::Result> await_gather(Gather gather) {
  typename Gather::Result result = co_await gather;
  co_return result;
}

/// A task for the awaitable: Coros are scheduled, Tasks pass through, Futures and gathers
/// are awaited by a small task (asyncio.ensure_future).
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
/// A gather is awaited by a small task (by value: pass it as an rvalue, it is not copyable).
template <class Gather>
requires is_gather_v<Gather> Task<typename Gather::Result> ensure_task(Gather gather) {
  return create_task(await_gather(std::move(gather)));
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
