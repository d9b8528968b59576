// aio::run_workers — many cores: n processes, each with its own event loop (the pre-fork
// model of gunicorn/uvicorn workers, with aio::run in every worker).
#pragma once

#include <functional>
#include <type_traits>

#include "aio/coro.hpp"
#include "aio/delay.hpp"
#include "aio/runner.hpp"

namespace aio {

/// How run_workers supervises its workers. Trivially destructible, like aio's other
/// option structs, so a braced `aio::WorkerOptions{...}` temporary is safe anywhere.
///
///     aio::run_workers(4, serve, {.max_restarts = 3, .shutdown_timeout = 10.0});
struct WorkerOptions {
  /// How many times one worker may be restarted within `restart_window`. The crash after
  /// that is a crash loop: the supervisor stops restarting, shuts the other workers down
  /// (as for SIGTERM) and run_workers returns that crash's status. 0: never restart.
  int max_restarts = 5;
  /// The span over which restarts are counted (a sliding window per worker).
  Delay restart_window = 60.0;
  /// After SIGINT/SIGTERM has been forwarded (or a crash loop began the shutdown),
  /// workers still alive this long afterwards are killed with SIGKILL.
  Delay shutdown_timeout = 30.0;
  /// What each worker passes to aio::run (debug mode, backend). AIO_DEBUG and AIO_BACKEND
  /// in the environment override it, as for aio::run.
  RunOptions run{};
};
static_assert(std::is_trivially_destructible_v<WorkerOptions>);

/// Runs `main(i)` for i in [0, n) in n worker processes, each with its own event loop
/// (`aio::run(main(i))` in a forked child), and supervises them until all have exited.
/// The calling process is the supervisor: it runs no event loop and only waits for
/// signals (its workers ending, SIGINT, SIGTERM).
/// Servers in the workers share one port by binding with `reuse_port` (SO_REUSEPORT: the
/// kernel spreads new connections over the listening workers):
///
///     aio::Coro<void> serve(int worker) {
///       aio::ServerOptions options{.reuse_port = true};
///       aio::Server server = co_await aio::start_server(handle_client, "0.0.0.0", 8080, options);
///       co_await server.serve_forever();
///     }
///     int main() { return aio::run_workers(4, serve); }
///
/// Signals. SIGINT and SIGTERM sent to the supervisor are forwarded to every worker, where
/// either one cancels `main` (as Ctrl-C does under aio::run); a worker whose main returns or
/// ends cancelled by that signal exits with status 0. Several SIGINT/SIGTERM reaching one
/// worker (Ctrl-C in a terminal signals the whole process group, then the supervisor
/// forwards it) cancel main once. A second SIGINT or SIGTERM to the supervisor during the
/// shutdown kills the workers at once (SIGKILL); workers still alive `shutdown_timeout`
/// after the first one are killed too. A worker also gets SIGTERM if the supervisor dies.
///
/// Restarts. A worker that exits non-zero (main threw: status 1, the exception logged
/// with the worker's index through aio::log_line) or dies from a signal (a crash: SIGSEGV,
/// abort()) is started again, in a new process with the same index, unless the supervisor
/// is shutting down or the worker exceeded `options.max_restarts` (then everything shuts
/// down). Each crash and restart is logged. A worker that exits 0 by itself (main
/// returned) is not restarted; run_workers returns once every worker has exited.
///
/// Returns 0 when every worker's last run ended cleanly: exit status 0, or killed by the
/// SIGINT/SIGTERM the supervisor forwarded (main may have put their default back). Otherwise
/// the status of the first worker whose last run failed: its exit code, or 128 + the signal
/// number for a worker killed by a signal (137 for one killed after shutdown_timeout), the
/// shell's convention. Crashes followed by a successful restart do not count.
///
/// Requirements: call it before the process has started any other thread if you can
/// (fork copies only the calling thread: a lock another thread held stays locked in the
/// workers; run_workers logs a warning when it finds other threads), one run_workers at a
/// time per process (else aio::UsageError), and not while an event loop runs on this
/// thread. Other threads do not disturb the supervision itself: workers ending are watched
/// through pidfds (on kernels before 5.3: SIGCHLD plus a waitpid re-check every 250 ms),
/// and SIGINT/SIGTERM are caught by handlers that work in whichever thread the kernel
/// picks. `main` and what it captures are copied into every worker by fork, as are open
/// descriptors. While it runs, run_workers installs its own handlers for SIGINT, SIGTERM
/// and SIGCHLD (with SA_RESTART) and unblocks them in the calling thread; it puts the
/// caller's dispositions and mask back before returning. Workers start with the caller's
/// signal mask and dispositions, except that their loop handles SIGINT and SIGTERM while
/// main runs. Every worker ends with _exit(): it never returns into the caller's stack and
/// runs no atexit handlers or static destructors (stdio buffers are flushed).
///
/// Throws std::invalid_argument when n < 1, main is empty or options.max_restarts < 0;
/// aio::UsageError when called while an event loop runs on this thread or while another
/// run_workers supervises in this process; std::system_error
/// when the first workers cannot be forked (those already started are killed and reaped).
int run_workers(int n, std::function<Coro<void>(int worker_index)> main);
int run_workers(int n, std::function<Coro<void>(int worker_index)> main, WorkerOptions options);

}  // namespace aio
