// aio::AsyncGenerator<T> — a coroutine that co_yields values (Python's async generators,
// PEP 525).
#pragma once

#include <concepts>
#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "aio/coro.hpp"
#include "aio/detail/run_context.hpp"
#include "aio/errors.hpp"

namespace aio {

template <class T>
class AsyncGenerator;

namespace detail {

/// A generator's promise. Like a Coro's it keeps, in `parent`, who runs next when the body
/// stops: here the next() that resumed it, set again at each next(). The body hands control
/// back through the trampoline (tls_run.next) at each co_yield and at its end.
template <class T>
struct GeneratorPromise : PromiseBase {
  explicit GeneratorPromise(CoroutineName n = AIO_DETAIL_COROUTINE_NAME) noexcept : PromiseBase(n) {}

  T* current = nullptr;      // the value at the co_yield the body stopped at
  std::optional<T> copy;     // where an lvalue (or a value of another type) is yielded from
  std::exception_ptr error;  // what the body threw, until next() rethrows it
  bool running = false;      // a next() is running the body
  bool finished = false;     // the body returned or threw

  AsyncGenerator<T> get_return_object() noexcept;
  void return_void() noexcept {}
  void unhandled_exception() noexcept {
    note_exception_leaving(*this);
    error = std::current_exception();
  }

  /// Back to the next() that resumed the body, via the trampoline.
  void hand_back() noexcept {
    running = false;
    tls_run.next = std::coroutine_handle<>::from_address(reinterpret_cast<void*>(parent));
  }

  struct YieldAwaiter {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<GeneratorPromise> h) noexcept { h.promise().hand_back(); }
    void await_resume() const noexcept {}
  };
  /// `co_yield std::move(x)` or `co_yield make()`: next() moves the value out of the body.
  YieldAwaiter yield_value(T&& value) noexcept {
    current = std::addressof(value);
    return {};
  }
  /// `co_yield x` (an lvalue: it is copied) or a value of a type T is constructible from.
  template <class U>
  requires std::constructible_from<T, U&&> YieldAwaiter yield_value(U&& value) {
    current = std::addressof(copy.emplace(std::forward<U>(value)));
    return {};
  }

  struct FinalAwaiter {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<GeneratorPromise> h) noexcept {
      GeneratorPromise& p = h.promise();
      p.finished = true;
      p.current = nullptr;
      p.hand_back();
    }
    void await_resume() const noexcept {}
  };
  FinalAwaiter final_suspend() const noexcept { return {}; }
};

/// Runs the body of a generator up to its next co_yield (or its end) inline, in the task
/// that awaits this: no task and no trip through the loop, as with awaiting a Coro.
template <class T>
struct GeneratorStep {
  using aio_awaitable = void;
  std::coroutine_handle<GeneratorPromise<T>> body;

  bool await_ready() const {
    GeneratorPromise<T>& p = body.promise();
    if (p.running)
      throw UsageError(
          "AsyncGenerator::next: the generator is already running (a previous next() has not "
          "finished yet); await one next() at a time");
    return p.finished;
  }
  void await_suspend(std::coroutine_handle<> consumer) noexcept {
    GeneratorPromise<T>& p = body.promise();
    p.set_continuation(consumer);
    p.running = true;
    tls_run.next = body;
  }
  std::optional<T> await_resume() {
    GeneratorPromise<T>& p = body.promise();
    if (p.error) std::rethrow_exception(std::exchange(p.error, nullptr));
    if (p.finished) return std::nullopt;
    return std::optional<T>(std::move(*p.current));
  }
};

// A Coro, so that next() composes with everything that takes one: wait_for, timeout,
// gather, create_task (asyncio: `await asyncio.wait_for(agen.__anext__(), 1)`).
template <class T>
Coro<std::optional<T>> anext(std::coroutine_handle<GeneratorPromise<T>> body) {
  co_return co_await GeneratorStep<T>{body};
}

}  // namespace detail

/// A coroutine that produces a sequence of values, awaiting between them (Python's
/// `async def` with `yield`). The body runs only while the consumer awaits next(), inline
/// in the consumer's task, like an awaited Coro.
///
///     aio::AsyncGenerator<int> ticks(int n) {
///       for (int i = 0; i < n; ++i) {
///         co_await aio::sleep(1);
///         co_yield i;
///       }
///     }
///
///     auto gen = ticks(3);
///     while (std::optional<int> i = co_await gen.next()) std::printf("%d\n", *i);
///
/// - next() runs the body to its next co_yield and returns that value, or an empty
///   optional once the body has returned; later calls return empty too.
/// - An exception thrown in the body comes out of that next() (and the generator is then
///   finished). Cancelling the consumer's task cancels what the body awaits: the body
///   sees CancelledError there, as any coroutine of the task would.
/// - Only one next() may run at a time: a second one while the body is still running
///   (from another task, or gathered) throws UsageError.
/// - Destroying a generator destroys its body where it stopped: the destructors of its
///   locals run (RAII), but it cannot await any more (Python's aclose() can). Do not
///   destroy it while a next() of another task is running it. A generator never started
///   is fine to destroy.
///
/// Move-only. The generator must outlive the Coro that next() returns.
template <class T>
class [[nodiscard]] AsyncGenerator {
  static_assert(std::is_object_v<T> && !std::is_const_v<T>,
                "AsyncGenerator<T>: T must be a non-const object type (yield a pointer or a "
                "std::reference_wrapper to yield references)");

 public:
  using promise_type = detail::GeneratorPromise<T>;
  using value_type = T;
  using Handle = std::coroutine_handle<promise_type>;

  AsyncGenerator() noexcept = default;
  explicit AsyncGenerator(Handle h) noexcept : body_(h) {}
  AsyncGenerator(AsyncGenerator&& o) noexcept : body_(std::exchange(o.body_, {})) {}
  AsyncGenerator& operator=(AsyncGenerator&& o) noexcept {
    if (this != &o) {
      reset();
      body_ = std::exchange(o.body_, {});
    }
    return *this;
  }
  AsyncGenerator(const AsyncGenerator&) = delete;
  AsyncGenerator& operator=(const AsyncGenerator&) = delete;
  ~AsyncGenerator() { reset(); }

  /// The next value, or empty at the end (Python's `await agen.__anext__()`, with
  /// StopAsyncIteration as the empty optional). Throws what the body throws; UsageError
  /// while another next() runs, or on an empty (moved-from) generator.
  Coro<std::optional<T>> next() {
    if (!body_) throw UsageError("AsyncGenerator::next: this generator is empty (moved from or default-constructed)");
    return detail::anext(body_);
  }

  /// True once the body has returned or thrown (next() will return empty).
  bool done() const noexcept { return !body_ || body_.promise().finished; }
  /// True when it holds a generator (not moved-from).
  explicit operator bool() const noexcept { return static_cast<bool>(body_); }

 private:
  void reset() noexcept {
    if (body_) body_.destroy();
    body_ = {};
  }

  Handle body_{};
};

namespace detail {
template <class T>
AsyncGenerator<T> GeneratorPromise<T>::get_return_object() noexcept {
  return AsyncGenerator<T>(std::coroutine_handle<GeneratorPromise<T>>::from_promise(*this));
}
}  // namespace detail

}  // namespace aio
