// aio::run — asyncio.run: the entry point of an aio program.
#pragma once

#include <exception>
#include <utility>

#include "aio/coro.hpp"
#include "aio/loop.hpp"
#include "aio/task.hpp"

namespace aio {

struct RunOptions {
  /// Debug mode: logs never-awaited coroutines, slow callbacks and steps.
  bool debug = false;
  Backend backend = Backend::automatic;
  /// Virtual time, for tests: the clock jumps to the next timer whenever no task is ready
  /// and no I/O is in flight (`loop.time()` is that clock). See LoopOptions::virtual_time.
  bool virtual_time = false;
  /// A signal (e.g. SIGUSR1) that makes the loop log every live task's call graph
  /// (aio::format_all_tasks), like `python -m asyncio pstree PID`: `kill -USR1 <pid>`.
  /// 0: none. The environment variable AIO_DUMP_SIGNAL (`USR1`, `SIGUSR1` or a number)
  /// sets it too.
  int dump_signal = 0;
};

namespace detail {
/// The options after the environment's overrides (AIO_DEBUG=1, AIO_BACKEND=...).
LoopOptions loop_options_for_run(const RunOptions& opts, bool& debug);
void check_no_running_loop(const char* what);
/// Installs the handler for RunOptions::dump_signal / AIO_DUMP_SIGNAL, if any.
void install_dump_signal(EventLoop& loop, const RunOptions& opts);
/// While alive (in the main thread, if SIGINT has its default disposition): SIGINT
/// cancels `main`; a second SIGINT restores the default and kills the process.
class SigintGuard {
 public:
  SigintGuard(EventLoop& loop, TaskRef main);
  ~SigintGuard();
  SigintGuard(const SigintGuard&) = delete;
  SigintGuard& operator=(const SigintGuard&) = delete;
  /// True when SIGINT cancelled main (and the cancellation was not withdrawn).
  bool interrupted() const noexcept { return interrupts_ > 0; }

 private:
  EventLoop& loop_;
  bool installed_ = false;
  int interrupts_ = 0;
  void* previous_ = nullptr;  // struct sigaction*
};
/// Cancels every task still alive, runs the loop until they finish, reports their
/// errors, shuts the default executor down (joining its threads), then closes the loop
/// (asyncio.Runner.close).
void shutdown_loop(EventLoop& loop) noexcept;
/// shutdown_loop once: now, or when the guard is destroyed.
class LoopShutdown {
 public:
  explicit LoopShutdown(EventLoop& loop) : loop_(&loop) {}
  ~LoopShutdown() { now(); }
  LoopShutdown(const LoopShutdown&) = delete;
  LoopShutdown& operator=(const LoopShutdown&) = delete;
  void now() noexcept {
    if (EventLoop* loop = std::exchange(loop_, nullptr)) shutdown_loop(*loop);
  }

 private:
  EventLoop* loop_;
};
/// Makes an exception that leaves main end the process as Python would (src/uncaught.cpp):
/// KeyboardInterrupt prints "KeyboardInterrupt" and kills the process with SIGINT; any
/// other exception prints "aio: uncaught exception <type>: <message>", then aborts.
/// Installs a std::terminate handler the first time it is called, and only if the program
/// has not set its own.
void install_uncaught_exception_report() noexcept;
}  // namespace detail

/// Creates an event loop, runs `main` to completion, then cancels and finishes every task
/// still alive, shuts the default executor down (waiting for the jobs that to_thread and
/// run_in_executor(nullptr, ...) started) and closes the loop. Returns main's value or
/// rethrows its exception.
/// UsageError when called while a loop is running on this thread.
///
///     aio::Coro<int> amain() { co_await aio::sleep(0.1); co_return 42; }
///     int main() { return aio::run(amain()) == 42 ? 0 : 1; }
///
/// In the main thread, SIGINT (Ctrl-C) cancels `main` (asyncio's Runner): if main ends
/// cancelled, run throws aio::KeyboardInterrupt after the shutdown. A second SIGINT kills
/// the process the default way. The previous SIGINT disposition is restored afterwards.
///
/// An exception that leaves `main()` (the C++ one) ends the process as in Python: for
/// KeyboardInterrupt, the line "KeyboardInterrupt" on stderr and death by SIGINT (shell
/// status 130); for any other, "aio: uncaught exception <type>: <message>" and abort().
/// (aio::run installs a std::terminate handler for that, the first time it runs, unless
/// the program already set its own; one the program sets later replaces it.) To end
/// quietly on Ctrl-C instead, catch it:
///
///     try { aio::run(amain()); } catch (const aio::KeyboardInterrupt&) { return 130; }
template <class T>
T run(Coro<T> main, RunOptions opts = {}) {
  detail::check_no_running_loop("aio::run");
  detail::install_uncaught_exception_report();
  bool debug = opts.debug;
  EventLoop loop(detail::loop_options_for_run(opts, debug));
  loop.set_debug(debug);
  detail::LoopShutdown shutdown(loop);
  detail::install_dump_signal(loop, opts);
  std::exception_ptr error;
  {
    Task<T> task = loop.create_task(std::move(main));
    detail::SigintGuard sigint(loop, task);
    try {
      return loop.run_until_complete(task);
    } catch (const CancelledError&) {
      error = sigint.interrupted() && task.uncancel() == 0 ? std::make_exception_ptr(KeyboardInterrupt())
                                                           : std::current_exception();
    } catch (...) {
      error = std::current_exception();
    }
  }
  // Shut down before throwing, not in a destructor: an exception that nobody catches
  // unwinds nothing (std::terminate comes first), and the other tasks must still get
  // their cancellation and cleanup, as asyncio.run's `finally` gives them.
  shutdown.now();
  std::rethrow_exception(error);
}

}  // namespace aio
