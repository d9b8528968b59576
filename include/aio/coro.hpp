// aio::Coro<T> — the lazy coroutine type (asyncio's `async def`).
#pragma once

#include <coroutine>
#include <exception>
#include <type_traits>
#include <utility>

#include "aio/detail/frame_alloc.hpp"
#include "aio/detail/run_context.hpp"
#include "aio/detail/task_base.hpp"
#include "aio/errors.hpp"
#include "aio/outcome.hpp"

namespace aio {

template <class T = void>
class Coro;

namespace detail {

/// Debug mode: reports a Coro destroyed without ever running (cold path).
void report_never_awaited(std::coroutine_handle<> h) noexcept;
bool debug_enabled_here() noexcept;
[[noreturn]] void throw_bad_coro_await(bool empty);

struct PromiseBase {
  std::coroutine_handle<> continuation{};  // the awaiting coroutine, if awaited
  TaskBase* root_of = nullptr;             // the task it is the root of, if any
  bool started = false;

  // Frames come from the per-thread recycling pool.
  static void* operator new(std::size_t n) { return frame_alloc(n); }
  static void operator delete(void* p, std::size_t n) noexcept { frame_free(p, n); }

  std::suspend_always initial_suspend() const noexcept { return {}; }

  struct FinalAwaiter {
    bool await_ready() const noexcept { return false; }
    template <class P>
    void await_suspend(std::coroutine_handle<P> h) noexcept {
      PromiseBase& p = h.promise();
      if (p.continuation) {
        tls_run.next = p.continuation;  // the trampoline resumes the awaiter
      } else if (p.root_of) {
        p.root_of->on_root_complete();  // may destroy this frame: touch nothing after
      }
    }
    void await_resume() const noexcept {}
  };
  FinalAwaiter final_suspend() const noexcept { return {}; }
};

template <class T>
struct Promise : PromiseBase {
  Outcome<value_t<T>> result;

  Coro<T> get_return_object() noexcept;
  void unhandled_exception() noexcept { result.set_exception(std::current_exception()); }
  template <class U = T>
    requires std::is_convertible_v<U&&, T>
  void return_value(U&& v) {
    result.set_value(std::forward<U>(v));
  }
  value_t<T> take() { return std::move(result).value(); }
};

/// A void coroutine's outcome: just the exception, if any (8 bytes, not an Outcome).
struct VoidResult {
  std::exception_ptr error;
  bool has_exception() const noexcept { return error != nullptr; }
  std::exception_ptr exception() const noexcept { return error; }
  void set_exception(std::exception_ptr e) noexcept { error = std::move(e); }
};

template <>
struct Promise<void> : PromiseBase {
  VoidResult result;

  Coro<void> get_return_object() noexcept;
  void unhandled_exception() noexcept { result.set_exception(std::current_exception()); }
  void return_void() noexcept {}
  void take() {
    if (result.error) std::rethrow_exception(result.error);
  }
};

}  // namespace detail

/// A lazy coroutine returning T: nothing runs until it is awaited (`co_await f()`) or
/// scheduled (`aio::create_task(f())`). Move-only; awaited at most once.
///
///     aio::Coro<int> add(int a, int b) { co_await aio::sleep(0.1); co_return a + b; }
///     int x = co_await add(1, 2);
///
/// Awaiting a Coro runs it inline in the awaiting task, like `await coro()` in Python:
/// no task is created and no trip through the event loop is made. Chains of awaits of any
/// depth run in constant stack space. Destroying a Coro that never ran is legal (debug
/// mode logs "coroutine '...' was never awaited").
template <class T>
class [[nodiscard]] Coro {
 public:
  using promise_type = detail::Promise<T>;
  using value_type = T;
  using Handle = std::coroutine_handle<promise_type>;

  Coro() noexcept = default;
  explicit Coro(Handle h) noexcept : h_(h) {}
  Coro(Coro&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  Coro& operator=(Coro&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  Coro(const Coro&) = delete;
  Coro& operator=(const Coro&) = delete;
  ~Coro() { reset(); }

  /// True when it holds a coroutine (not moved-from).
  explicit operator bool() const noexcept { return static_cast<bool>(h_); }

  struct Awaiter {
    Handle h;
    bool await_ready() const {
      if (!h || h.promise().started) detail::throw_bad_coro_await(!h);
      return false;
    }
    void await_suspend(std::coroutine_handle<> awaiting) noexcept {
      h.promise().started = true;
      h.promise().continuation = awaiting;
      detail::tls_run.next = h;  // run the child next, via the trampoline
    }
    decltype(auto) await_resume() { return h.promise().take(); }
  };
  Awaiter operator co_await() && noexcept { return Awaiter{h_}; }
  Awaiter operator co_await() & noexcept { return Awaiter{h_}; }

  /// Releases the coroutine handle (used by tasks, which adopt the frame).
  Handle release() noexcept { return std::exchange(h_, {}); }

 private:
  void reset() noexcept {
    if (!h_) return;
    if (!h_.promise().started && detail::debug_enabled_here()) detail::report_never_awaited(h_);
    h_.destroy();
    h_ = {};
  }

  Handle h_{};
};

namespace detail {
template <class T>
Coro<T> Promise<T>::get_return_object() noexcept {
  return Coro<T>(std::coroutine_handle<Promise<T>>::from_promise(*this));
}
inline Coro<void> Promise<void>::get_return_object() noexcept {
  return Coro<void>(std::coroutine_handle<Promise<void>>::from_promise(*this));
}
}  // namespace detail

}  // namespace aio
