// aio::run — asyncio.run: the entry point of an aio program.
#pragma once

#include <utility>

#include "aio/coro.hpp"
#include "aio/loop.hpp"
#include "aio/task.hpp"

namespace aio {

struct RunOptions {
  /// Debug mode: logs never-awaited coroutines, slow callbacks and steps.
  bool debug = false;
  Backend backend = Backend::automatic;
};

namespace detail {
/// The options after the environment's overrides (AIO_DEBUG=1, AIO_BACKEND=...).
LoopOptions loop_options_for_run(const RunOptions& opts, bool& debug);
void check_no_running_loop(const char* what);
/// Cancels every task still alive, runs the loop until they finish, reports their
/// errors, then closes the loop (asyncio.Runner.close).
void shutdown_loop(EventLoop& loop) noexcept;
}  // namespace detail

/// Creates an event loop, runs `main` to completion, then cancels and finishes every task
/// still alive and closes the loop. Returns main's value or rethrows its exception.
/// UsageError when called while a loop is running on this thread.
///
///     aio::Coro<int> amain() { co_await aio::sleep(0.1); co_return 42; }
///     int main() { return aio::run(amain()) == 42 ? 0 : 1; }
template <class T>
T run(Coro<T> main, RunOptions opts = {}) {
  detail::check_no_running_loop("aio::run");
  bool debug = opts.debug;
  EventLoop loop(detail::loop_options_for_run(opts, debug));
  loop.set_debug(debug);
  struct Shutdown {
    EventLoop& loop;
    ~Shutdown() { detail::shutdown_loop(loop); }
  } shutdown{loop};
  return loop.run_until_complete(std::move(main));
}

}  // namespace aio
