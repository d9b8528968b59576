// aio::to_thread and aio::run_coroutine_threadsafe: crossing between the loop and other
// threads (asyncio.to_thread, asyncio.run_coroutine_threadsafe).
#pragma once

#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <type_traits>
#include <utility>

#include "aio/coro.hpp"
#include "aio/detail/context.hpp"
#include "aio/errors.hpp"
#include "aio/executor.hpp"
#include "aio/loop.hpp"
#include "aio/task.hpp"

namespace aio {

namespace detail {
template <class F, class... Args>
using to_thread_result_t = std::remove_cvref_t<std::invoke_result_t<F, Args...>>;
}  // namespace detail

/// Runs f(args...) on the running loop's default thread pool and returns its result
/// (asyncio.to_thread). f and args are copied (or moved) into the job, like std::thread's
/// arguments: pass std::ref(x) to share x. The exception f throws is rethrown here, with its
/// type. f sees the caller's ContextVar values (a set() in f stays in f). A lazy
/// coroutine: nothing starts until it is awaited or made a task, so it composes with
/// gather, wait_for and task_group.
///
///     std::string text = co_await aio::to_thread(read_whole_file, path);
///
/// Cancelling the awaiting task does not stop f (a thread cannot be interrupted); its
/// result is dropped when it arrives. aio::run waits for such stragglers before returning.
template <class F, class... Args>
requires std::is_invocable_v<F, Args...> Coro<detail::to_thread_result_t<F, Args...>> to_thread(F f, Args... args) {
  using R = detail::to_thread_result_t<F, Args...>;
  // asyncio's to_thread runs f in a copy of the caller's context (its ContextVars).
  auto call = [f = std::move(f), ... args = std::move(args), context = detail::capture_context()]() mutable -> R {
    detail::ContextScope scope(std::move(context));
    return std::invoke(std::move(f), std::move(args)...);
  };
  if constexpr (std::is_void_v<R>) {
    co_await get_running_loop().run_in_executor(nullptr, std::move(call));
  } else {
    co_return co_await get_running_loop().run_in_executor(nullptr, std::move(call));
  }
}

namespace detail {

/// A coroutine sent to a loop from another thread, and the promise its caller waits on.
template <class T>
class ThreadsafeCoroutine {
 public:
  explicit ThreadsafeCoroutine(Coro<T> coro) noexcept : coro_(std::move(coro)) {}
  ThreadsafeCoroutine(const ThreadsafeCoroutine&) = delete;
  ThreadsafeCoroutine& operator=(const ThreadsafeCoroutine&) = delete;
  // Never settled: the loop was closed before the task could run or report back.
  ~ThreadsafeCoroutine() {
    if (!settled_)
      fail(std::make_exception_ptr(
          UsageError("run_coroutine_threadsafe: the event loop was closed before the coroutine finished")));
  }

  std::future<T> get_future() { return promise_.get_future(); }

  void fail(std::exception_ptr e) noexcept {
    settled_ = true;
    try {
      promise_.set_exception(std::move(e));
    } catch (...) {  // already satisfied
    }
  }

  /// On the loop's thread: wraps the coroutine in a task that reports to the promise.
  static void start(const std::shared_ptr<ThreadsafeCoroutine>& self, EventLoop& loop) noexcept {
    try {
      Task<T> task = loop.create_task(std::move(self->coro_));
      task.add_done_callback([self](Task<T>& t) { self->finish(t); });
    } catch (...) {
      self->fail(std::current_exception());
    }
  }

 private:
  void finish(Task<T>& task) noexcept {
    try {
      if (std::exception_ptr e = task.core()->stored_exception()) {  // CancelledError if cancelled
        fail(std::move(e));
        return;
      }
      if constexpr (std::is_void_v<T>) {
        promise_.set_value();
      } else {
        promise_.set_value(copy_or_move(task.state()->value));
      }
      settled_ = true;
    } catch (...) {  // the value's copy or move threw
      fail(std::current_exception());
    }
  }

  Coro<T> coro_;
  std::promise<T> promise_;
  bool settled_ = false;  // ordered by the shared_ptr handoffs: one thread at a time
};

}  // namespace detail

/// Submits `coro` to `loop` from any other thread and returns a std::future for its result
/// (asyncio.run_coroutine_threadsafe). The coroutine runs as a task on the loop's thread;
/// the future gets its value or exception (aio::CancelledError if the task was cancelled).
/// If the loop is closed, or closes before the task finishes, the future holds a
/// UsageError saying so. `loop` must be alive during the call.
///
///     // on a worker thread, with `loop` running elsewhere:
///     std::future<int> f = aio::run_coroutine_threadsafe(fetch_count(), loop);
///     int n = f.get();   // blocks this thread, not the loop
///
/// Calling get() on the loop's own thread would deadlock: there, await a task instead.
template <class T>
std::future<T> run_coroutine_threadsafe(Coro<T> coro, EventLoop& loop) {
  auto state = std::make_shared<detail::ThreadsafeCoroutine<T>>(std::move(coro));
  std::future<T> result = state->get_future();
  try {
    loop.call_soon_threadsafe([state, &loop] { detail::ThreadsafeCoroutine<T>::start(state, loop); });
  } catch (const UsageError&) {
    state->fail(std::make_exception_ptr(UsageError("run_coroutine_threadsafe: the event loop is closed")));
  } catch (...) {
    state->fail(std::current_exception());
  }
  return result;
}

}  // namespace aio
