// aio::Coro<T> — the lazy coroutine type (asyncio's `async def`).
#pragma once

#include <concepts>
#if __has_include(<source_location>)
#include <source_location>
#endif
#include <coroutine>
#include <cstdint>
#include <exception>
#include <string>
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

/// Reports a Coro destroyed without ever running (cold path; always on, as asyncio's
/// "coroutine ... was never awaited" warning is).
void report_never_awaited(const char* name) noexcept;
bool debug_enabled_here() noexcept;

/// What a Coro may co_await: aio's awaitables. Every awaiter that suspends a task derives
/// from Suspension (the task's cancel() must reach it); types that are awaited through an
/// operator co_await or that wrap such an awaiter say so with a member type
/// `aio_awaitable`.
template <class A>
concept AioAwaitable = std::derived_from<std::remove_cvref_t<A>, Suspension> || requires {
  typename std::remove_cvref_t<A>::aio_awaitable;
};
[[noreturn]] void throw_bad_coro_await(bool empty);
/// Records that the exception being handled left this coroutine (cold path): a failed
/// task's never-retrieved report shows the await chain the exception went through.
void note_exception_leaving(const struct PromiseBase& p) noexcept;

/// The name of the function that creates a coroutine, captured at the call (debug mode
/// names never-awaited coroutines with it). Explicit, so that a coroutine taking one
/// `const char*` parameter never has it mistaken for this.
/// The coroutine function and where it is, captured by its promise's default argument when
/// the coroutine is created (never-awaited reports, call graphs). Where the standard library
/// has std::source_location (GCC 12) it is one pointer to a static record; otherwise (Clang 14
/// with libstdc++ 12) three fields.
#if defined(__cpp_lib_source_location)
class CoroutineName {
 public:
  explicit CoroutineName(std::source_location where) noexcept : where_(where) {}
  const char* function() const noexcept { return where_.function_name(); }  // full signature
  const char* file() const noexcept { return where_.file_name(); }
  unsigned line() const noexcept { return where_.line(); }  // GCC: the closing brace's line

 private:
  std::source_location where_;
};
#define AIO_DETAIL_COROUTINE_NAME ::aio::detail::CoroutineName(std::source_location::current())
#else
class CoroutineName {
 public:
  CoroutineName(const char* function, const char* file, unsigned line) noexcept
      : function_(function), file_(file), line_(line) {}
  const char* function() const noexcept { return function_; }  // the bare name
  const char* file() const noexcept { return file_; }
  unsigned line() const noexcept { return line_; }  // Clang: the function's first line

 private:
  const char* function_;
  const char* file_;
  unsigned line_;
};
#define AIO_DETAIL_COROUTINE_NAME ::aio::detail::CoroutineName(__builtin_FUNCTION(), __builtin_FILE(), __builtin_LINE())
#endif
/// "app::fetch" out of "aio::Coro<int> app::fetch(std::string)" (a lambda's stays as it is).
std::string short_function_name(const char* signature);

template <class A>
concept HasMemberCoAwait = requires(A&& a) {
  static_cast<A&&>(a).operator co_await();
};

/// What `co_await x` in a Coro really awaits: a one-pointer forwarder to x, which stays
/// where it is (a temporary of the co_await expression, or a named awaiter). A forwarder,
/// because GCC 12 copies whatever await_transform returns, and most of aio's awaiters
/// are linked into lists and cannot be copied.
template <class Awaiter>
class AwaitForward {
 public:
  explicit AwaitForward(Awaiter& a) noexcept : a_(&a) {}
  bool await_ready() { return a_->await_ready(); }
  template <class H>
  decltype(auto) await_suspend(H h) {
    return a_->await_suspend(h);
  }
  decltype(auto) await_resume() { return a_->await_resume(); }

 private:
  Awaiter* a_;
};

/// The same for a type awaited through its operator co_await (Coro, Task, Future): holds
/// the awaiter that operator made (those are movable, and only moved before they wait).
template <class Awaiter>
class AwaitOwned {
 public:
  explicit AwaitOwned(Awaiter&& a) noexcept(std::is_nothrow_move_constructible_v<Awaiter>) : a_(std::move(a)) {}
  bool await_ready() { return a_.await_ready(); }
  template <class H>
  decltype(auto) await_suspend(H h) {
    return a_.await_suspend(h);
  }
  decltype(auto) await_resume() { return a_.await_resume(); }

 private:
  Awaiter a_;
};

struct PromiseBase {
  explicit PromiseBase(CoroutineName n) noexcept : site(n) {}

  // Who runs next when this coroutine finishes. 0: it never started. Bit 0 set: the
  // TaskBase it is the root of. Otherwise: the address of the awaiting coroutine.
  // (Both kinds of pointer are at least 8-byte aligned; one word keeps frames small.)
  std::uintptr_t parent = 0;
  CoroutineName site;  // the coroutine function, and where it is

  bool started() const noexcept { return parent != 0; }
  void set_continuation(std::coroutine_handle<> awaiting) noexcept {
    parent = reinterpret_cast<std::uintptr_t>(awaiting.address());
  }
  void set_root_of(TaskBase* task) noexcept { parent = reinterpret_cast<std::uintptr_t>(task) | 1u; }

  // Frames come from the per-thread recycling pool.
  static void* operator new(std::size_t n) { return frame_alloc(n); }
  static void operator delete(void* p, std::size_t n) noexcept { frame_free(p, n); }

  std::suspend_always initial_suspend() const noexcept { return {}; }

  /// Only aio's awaitables: anything else (std::suspend_always, another library's
  /// awaiter) would suspend the task with nothing to resume it, a silent hang.
  template <class A>
  auto await_transform(A&& awaitable) const {
    static_assert(AioAwaitable<A>,
                  "aio::Coro can only co_await aio's awaitables (Coro, Task, Future, gather, sleep, locks, "
                  "queues, streams, ...): a foreign awaitable would suspend the task with nothing to "
                  "resume it. To bridge a callback API, complete an aio::Future<T> from the callback "
                  "and co_await the future.");
    if constexpr (HasMemberCoAwait<A>) {
      using Awaiter = decltype(static_cast<A&&>(awaitable).operator co_await());
      return AwaitOwned<Awaiter>(static_cast<A&&>(awaitable).operator co_await());
    } else {
      return AwaitForward<std::remove_reference_t<A>>(awaitable);
    }
  }

  struct FinalAwaiter {
    bool await_ready() const noexcept { return false; }
    template <class P>
    void await_suspend(std::coroutine_handle<P> h) noexcept {
      std::uintptr_t next = h.promise().parent;
      if (next & 1u) {
        // The root of a task: hand the result over. This destroys the frame.
        reinterpret_cast<TaskBase*>(next & ~std::uintptr_t{1})->on_root_complete();
      } else {
        // The trampoline resumes the awaiting coroutine.
        tls_run.next = std::coroutine_handle<>::from_address(reinterpret_cast<void*>(next));
      }
    }
    void await_resume() const noexcept {}
  };
  FinalAwaiter final_suspend() const noexcept { return {}; }
};

template <class T>
struct Promise : PromiseBase {
  explicit Promise(CoroutineName n = AIO_DETAIL_COROUTINE_NAME) noexcept : PromiseBase(n) {}
  Outcome<value_t<T>> result;

  Coro<T> get_return_object() noexcept;
  void unhandled_exception() noexcept {
    note_exception_leaving(*this);
    result.set_exception(std::current_exception());
  }
  template <class U = T>
  requires std::is_convertible_v<U&&, T>
  void return_value(U&& v) { result.set_value(std::forward<U>(v)); }
  value_t<T> take() { return std::move(result).value(); }
};

/// A void coroutine keeps no outcome in its frame: its exception, if any, waits in the
/// trampoline (RunContext::failure) for whoever runs right after it — the awaiting
/// coroutine, resumed next by the trampoline, or its task, told at its final suspend.
template <>
struct Promise<void> : PromiseBase {
  explicit Promise(CoroutineName n = AIO_DETAIL_COROUTINE_NAME) noexcept : PromiseBase(n) {}

  Coro<void> get_return_object() noexcept;
  void unhandled_exception() noexcept {
    note_exception_leaving(*this);
    *tls_run.failure = std::current_exception();  // coroutines only run inside resume_chain
  }
  void return_void() noexcept {}
  /// The exception this coroutine just ended with (null if it returned). Only valid right
  /// after it completed, in the awaiter that resumed next or in its task's completion.
  static std::exception_ptr take_exception() noexcept { return std::exchange(*tls_run.failure, nullptr); }
  void take() {
    if (std::exception_ptr e = take_exception()) std::rethrow_exception(std::move(e));
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
/// depth run in constant stack space. Destroying a Coro that never ran is legal, and
/// always logged ("coroutine '...' was never awaited": usually a forgotten co_await).
/// Only aio's awaitables can be awaited inside (a foreign one fails to compile).
template <class T>
class [[nodiscard]] Coro {
 public:
  using promise_type = detail::Promise<T>;
  using value_type = T;
  using aio_awaitable = void;
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
      if (!h || h.promise().started()) detail::throw_bad_coro_await(!h);
      return false;
    }
    void await_suspend(std::coroutine_handle<> awaiting) noexcept {
      h.promise().set_continuation(awaiting);
      detail::tls_run.next = h;  // run the child next, via the trampoline
    }
    decltype(auto) await_resume() { return h.promise().take(); }
  };
  Awaiter operator co_await() && noexcept { return Awaiter{h_}; }
  Awaiter operator co_await() & noexcept { return Awaiter{h_}; }

  /// True once it has been awaited or handed to a task.
  bool started() const noexcept { return h_ && h_.promise().started(); }
  /// The name of the coroutine function (for diagnostics).
  const char* name() const noexcept { return h_ ? h_.promise().site.function() : ""; }

  /// Releases the coroutine handle (used by tasks, which adopt the frame).
  Handle release() noexcept { return std::exchange(h_, {}); }

 private:
  void reset() noexcept {
    if (!h_) return;
    if (!h_.promise().started()) detail::report_never_awaited(h_.promise().site.function());
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
