// aio::run_workers: a supervisor process (no event loop: it only waits for signals) and
// n forked workers, each running aio::run. See include/aio/workers.hpp for the contract.
#include "aio/workers.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "aio/errors.hpp"
#include "aio/loop.hpp"
#include "aio/runner.hpp"
#include "aio/task.hpp"
#include "workers_detail.hpp"

namespace aio {
namespace {

using Clock = std::chrono::steady_clock;

// Tests only: supervise as on a kernel without pidfd_open.
std::atomic<bool> pidfds_forced_off{false};

// The signals that ask the workers to stop; the supervisor forwards them.
constexpr int kStopSignals[] = {SIGINT, SIGTERM};
// What the supervisor takes over while it runs.
constexpr int kSupervisorSignals[] = {SIGINT, SIGTERM, SIGCHLD};

std::string prefix(int index, pid_t pid) {
  std::string s = "aio::run_workers: worker ";
  s.append(std::to_string(index)).append(" (pid ").append(std::to_string(pid)).append(")");
  return s;
}

// "exited with status 3" / "was killed by signal 6 (Aborted)".
std::string describe_wait_status(int wait_status) {
  if (WIFEXITED(wait_status)) return "exited with status " + std::to_string(WEXITSTATUS(wait_status));
  const int sig = WTERMSIG(wait_status);
  std::string s = "was killed by signal ";
  s.append(std::to_string(sig)).append(" (").append(::strsignal(sig)).append(")");
  return s;
}

// "0.5 s", "60 s".
std::string seconds(Delay d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", d.seconds());
  return buf;
}

// The shell's convention: the exit code, or 128 + the signal number.
int exit_code_of(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

// --- the supervisor's signals ---------------------------------------------------------------
//
// A process-directed signal goes to any thread that does not block it, and the program may
// have threads run_workers knows nothing of (a logging or metrics library, a thread pool).
// So the supervisor never relies on receiving a signal in its own thread: it installs real
// handlers, and whichever thread runs one only counts the signal and writes a byte to a
// self-pipe that the supervisor polls. Workers ending are seen through pidfds, which need
// no signal at all; SIGCHLD (also counted) is only a wake-up for kernels without pidfd_open,
// where the supervisor re-checks waitpid at least every kFallbackPollMs as well.

constexpr int kFallbackPollMs = 250;

// What the handlers touch: lock-free atomics and a pipe, nothing else.
struct SignalInbox {
  std::atomic<int> wake_fd{-1};    // write end of the self-pipe
  std::atomic<unsigned> count[3];  // per kSupervisorSignals entry, received so far
};
SignalInbox inbox;
static_assert(std::atomic<int>::is_always_lock_free && std::atomic<unsigned>::is_always_lock_free);

extern "C" void supervisor_on_signal(int sig) {
  const int saved_errno = errno;
  for (std::size_t i = 0; i < std::size(kSupervisorSignals); ++i)
    if (kSupervisorSignals[i] == sig) inbox.count[i].fetch_add(1, std::memory_order_relaxed);
  if (const int fd = inbox.wake_fd.load(std::memory_order_relaxed); fd >= 0) {
    const char byte = static_cast<char>(sig);
    [[maybe_unused]] const ssize_t n = ::write(fd, &byte, 1);  // full pipe: a wake-up is pending anyway
  }
  errno = saved_errno;
}

// The self-pipe: created once per process and never closed there, so that a handler that
// runs on another thread just as run_workers returns never writes to a reused descriptor.
// A worker (a forked copy) drops its inherited copy and makes its own if it needs one.
struct SelfPipe {
  int read_fd = -1;
  int write_fd = -1;
  pid_t owner = 0;
};
SelfPipe self_pipe;

int self_pipe_read_end() {
  if (self_pipe.owner != ::getpid()) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
      throw std::system_error(errno, std::generic_category(), "aio::run_workers: pipe2 for the signal wake-ups");
    self_pipe = {fds[0], fds[1], ::getpid()};
  }
  inbox.wake_fd.store(self_pipe.write_fd, std::memory_order_relaxed);
  return self_pipe.read_fd;
}

// One run_workers at a time per process: the handlers and the inbox are process-wide.
std::atomic<bool> supervising{false};

// Takes SIGINT, SIGTERM and SIGCHLD over with the counting handler (SIGCHLD ignored would
// also make the kernel reap the workers itself), unblocks them in this thread so that they
// can never stay pending unseen when every other thread blocks them, and puts the caller's
// dispositions and mask back in the destructor.
class SignalTakeover {
 public:
  SignalTakeover() {
    if (supervising.exchange(true))
      throw UsageError("aio::run_workers: already running in this process (one supervisor at a time)");
    try {
      wake_fd_ = self_pipe_read_end();
    } catch (...) {
      supervising = false;
      throw;
    }
    drain();
    for (auto& c : inbox.count) c.store(0, std::memory_order_relaxed);
    sigemptyset(&watched_);
    for (int sig : kSupervisorSignals) sigaddset(&watched_, sig);
    ::pthread_sigmask(SIG_SETMASK, nullptr, &caller_mask_);
    struct sigaction counting {};
    counting.sa_handler = &supervisor_on_signal;
    counting.sa_flags = SA_RESTART;  // the program's other threads should not see EINTR for us
    sigfillset(&counting.sa_mask);   // one handler at a time per thread
    for (std::size_t i = 0; i < std::size(kSupervisorSignals); ++i)
      ::sigaction(kSupervisorSignals[i], &counting, &caller_actions_[i]);
    ::pthread_sigmask(SIG_UNBLOCK, &watched_, nullptr);
  }

  ~SignalTakeover() {
    restore_dispositions();
    ::pthread_sigmask(SIG_SETMASK, &caller_mask_, nullptr);
    inbox.wake_fd.store(-1, std::memory_order_relaxed);
    drain();
    supervising = false;
  }

  SignalTakeover(const SignalTakeover&) = delete;
  SignalTakeover& operator=(const SignalTakeover&) = delete;

  // The descriptor that becomes readable when a watched signal arrived.
  int wake_fd() const noexcept { return wake_fd_; }

  // Empties the self-pipe (the counters say what arrived).
  void drain() const noexcept {
    char buf[64];
    while (::read(wake_fd_, buf, sizeof buf) > 0) {
    }
  }

  // How many of `sig` arrived since the last call.
  static unsigned take(int sig) noexcept {
    for (std::size_t i = 0; i < std::size(kSupervisorSignals); ++i)
      if (kSupervisorSignals[i] == sig) return inbox.count[i].exchange(0, std::memory_order_relaxed);
    return 0;
  }

  // fork() with every signal blocked in this thread, so that the child cannot run the
  // counting handler (and write to the supervisor's pipe) before prepare_worker.
  pid_t fork_blocked() const noexcept {
    sigset_t all, before;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &before);
    const pid_t pid = ::fork();
    if (pid != 0) ::pthread_sigmask(SIG_SETMASK, &before, nullptr);
    return pid;
  }

  // In a freshly forked worker (every signal still blocked): the caller's dispositions and
  // mask, except that SIGINT and SIGTERM stay blocked until the worker's loop handles them
  // (they stay pending meanwhile). The inherited self-pipe is not the worker's.
  void prepare_worker() const noexcept {
    restore_dispositions();
    inbox.wake_fd.store(-1, std::memory_order_relaxed);
    ::close(self_pipe.read_fd);
    ::close(self_pipe.write_fd);
    self_pipe = {};
    supervising = false;
    sigset_t mask = caller_mask_;
    for (int sig : kStopSignals) sigaddset(&mask, sig);
    ::pthread_sigmask(SIG_SETMASK, &mask, nullptr);
  }

  // The mask a worker runs with once its loop handles SIGINT and SIGTERM.
  sigset_t worker_mask() const noexcept {
    sigset_t mask = caller_mask_;
    for (int sig : kStopSignals) sigdelset(&mask, sig);
    return mask;
  }

 private:
  void restore_dispositions() const noexcept {
    for (std::size_t i = 0; i < std::size(kSupervisorSignals); ++i)
      ::sigaction(kSupervisorSignals[i], &caller_actions_[i], nullptr);
  }

  int wake_fd_ = -1;
  sigset_t watched_{};
  sigset_t caller_mask_{};
  struct sigaction caller_actions_[std::size(kSupervisorSignals)]{};
};

// --- the worker side -----------------------------------------------------------------------

// aio::run's main in a worker: runs main(index) as a task that SIGINT or SIGTERM cancels
// (once: repeated stop signals while it finishes are merged). Ending by that cancellation
// is a clean exit; any other outcome of main propagates.
Coro<void> worker_main(const std::function<Coro<void>(int)>& main, int index, sigset_t mask) {
  EventLoop& loop = get_running_loop();
  Task<void> task = loop.create_task(main(index), "aio worker " + std::to_string(index));
  bool stopping = false;
  for (int sig : kStopSignals) {
    loop.add_signal_handler(sig, [&stopping, task, sig]() mutable {
      if (stopping) return;
      stopping = true;
      task.cancel(sig == SIGINT ? "SIGINT" : "SIGTERM");
    });
  }
  ::pthread_sigmask(SIG_SETMASK, &mask, nullptr);  // stop signals that came early arrive now
  std::exception_ptr failure;
  try {
    co_await task;
  } catch (const CancelledError&) {
    if (!stopping) failure = std::current_exception();
  } catch (...) {
    failure = std::current_exception();
  }
  for (int sig : kStopSignals) loop.remove_signal_handler(sig);
  if (failure) std::rethrow_exception(failure);
}

// The whole life of a worker process. Never returns: the caller's stack above fork()
// belongs to the supervisor.
[[noreturn]] void worker_process(int index, const std::function<Coro<void>(int)>& main, const WorkerOptions& options,
                                 const SignalTakeover& signals, pid_t supervisor) noexcept {
  int status = 1;
  try {
    signals.prepare_worker();
    // If the supervisor dies (even by SIGKILL), the workers are told to stop.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != supervisor) ::_exit(0);  // it died before prctl: nobody to serve for
    aio::run(worker_main(main, index, signals.worker_mask()), options.run);
    status = 0;
  } catch (...) {
    log_line(prefix(index, ::getpid()) + ": main failed: " + describe(std::current_exception()));
  }
  std::fflush(nullptr);
  ::_exit(status);
}

// --- the supervisor side -------------------------------------------------------------------

// fork() copies only the calling thread: a lock another thread holds stays locked forever
// in every worker. Not an error (the other threads may never touch what the workers use),
// but worth a line in the log.
void warn_if_threads_running() {
  DIR* tasks = ::opendir("/proc/self/task");  // one entry per thread
  if (!tasks) return;
  int threads = 0;
  while (const dirent* e = ::readdir(tasks))
    if (e->d_name[0] != '.') ++threads;
  ::closedir(tasks);
  if (threads > 1) {
    log_line("aio::run_workers: this process runs " + std::to_string(threads) +
             " threads; fork() copies only the calling one (call run_workers before starting threads)");
  }
}

struct Worker {
  pid_t pid = 0;                           // 0: not running
  int pidfd = -1;                          // readable once it has ended; -1: none (no pidfd_open)
  std::deque<Clock::time_point> restarts;  // the restarts within the restart window
};

class Supervisor {
 public:
  Supervisor(int n, const std::function<Coro<void>(int)>& main, const WorkerOptions& options,
             const SignalTakeover& signals)
      : main_(main), options_(options), signals_(signals), workers_(static_cast<std::size_t>(n)) {}

  // Kills and reaps whatever still runs (only reached that way when an exception ends run()).
  ~Supervisor() {
    for (Worker& w : workers_) {
      if (w.pid <= 0) continue;
      ::kill(w.pid, SIGKILL);
      while (::waitpid(w.pid, nullptr, 0) < 0 && errno == EINTR) {
      }
      close_pidfd(w);
    }
  }

  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  int run() {
    for (int i = 0; i < static_cast<int>(workers_.size()); ++i) start(i);
    while (live_ > 0) {
      wait_for_news();
      signals_.drain();
      // Stop signals first: a worker that crashed meanwhile is then not restarted.
      for (int sig : kStopSignals)
        for (unsigned k = SignalTakeover::take(sig); k > 0; --k) on_stop_signal(sig);
      SignalTakeover::take(SIGCHLD);  // only a wake-up: reap() checks every worker
      reap();
      if (kill_deadline_ && Clock::now() >= *kill_deadline_) on_shutdown_timeout();
    }
    return result_;
  }

 private:
  void start(int index) {
    std::fflush(nullptr);  // or the workers would write the buffered output again
    const pid_t supervisor = ::getpid();
    const pid_t pid = signals_.fork_blocked();
    if (pid < 0) {
      throw std::system_error(errno, std::generic_category(),
                              "aio::run_workers: fork() for worker " + std::to_string(index));
    }
    if (pid == 0) {
      for (Worker& w : workers_) close_pidfd(w);  // the supervisor's, not the worker's
      worker_process(index, main_, options_, signals_, supervisor);
    }
    Worker& w = workers_[static_cast<std::size_t>(index)];
    w.pid = pid;
    w.pidfd = pidfds_forced_off ? -1 : static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (w.pidfd < 0) w.pidfd = -1;  // a kernel before 5.3: the SIGCHLD wake-up and polling
    ++live_;
  }

  // Sleeps until something may have happened: a watched signal arrived, a worker ended,
  // the shutdown deadline passed (or, for workers without a pidfd, the fallback period).
  void wait_for_news() {
    std::vector<pollfd> fds;
    fds.push_back({signals_.wake_fd(), POLLIN, 0});
    bool polling_fallback = false;
    for (const Worker& w : workers_) {
      if (w.pid <= 0) continue;
      if (w.pidfd >= 0)
        fds.push_back({w.pidfd, POLLIN, 0});
      else
        polling_fallback = true;
    }
    int timeout_ms = polling_fallback ? kFallbackPollMs : -1;
    if (kill_deadline_) {
      const auto left = std::max(Clock::duration::zero(), *kill_deadline_ - Clock::now());
      const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
      const int deadline_ms = static_cast<int>(std::min<long long>(ms, 1'000'000'000));
      timeout_ms = timeout_ms < 0 ? deadline_ms : std::min(timeout_ms, deadline_ms);
    }
    if (::poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR)
      throw std::system_error(errno, std::generic_category(), "aio::run_workers: poll");
  }

  static void close_pidfd(Worker& w) noexcept {
    if (w.pidfd >= 0) ::close(w.pidfd);
    w.pidfd = -1;
  }

  void reap() {
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      Worker& w = workers_[i];
      if (w.pid <= 0) continue;
      int wait_status = 0;
      const pid_t r = ::waitpid(w.pid, &wait_status, WNOHANG);
      if (r == 0 || (r < 0 && errno == EINTR)) continue;
      const pid_t pid = w.pid;
      w.pid = 0;
      close_pidfd(w);
      --live_;
      if (r < 0) {  // ECHILD: someone else in this process reaped it
        log_line(prefix(static_cast<int>(i), pid) + " was reaped by someone else; not restarted");
        continue;
      }
      on_worker_exit(static_cast<int>(i), pid, wait_status);
    }
  }

  void on_worker_exit(int index, pid_t pid, int wait_status) {
    const bool clean = WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
    if (shutting_down_) {
      const bool stopped_by_us = WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == stop_signal_;
      if (clean || stopped_by_us) return;
      log_line(prefix(index, pid) + " " + describe_wait_status(wait_status) + " while shutting down");
      record_failure(wait_status);
      return;
    }
    if (clean) return;  // main returned: its work is done
    std::string what = prefix(index, pid) + " " + describe_wait_status(wait_status);
    if (!may_restart(workers_[static_cast<std::size_t>(index)])) {
      if (options_.max_restarts == 0) {
        what.append("; not restarted (max_restarts = 0), shutting every worker down");
      } else {
        what.append("; restarted ")
            .append(std::to_string(options_.max_restarts))
            .append(" time(s) within ")
            .append(seconds(options_.restart_window))
            .append(" already: crash loop, shutting every worker down");
      }
      log_line(what);
      record_failure(wait_status);
      begin_shutdown(SIGTERM);
      return;
    }
    log_line(what + "; restarting it");
    try {
      start(index);
    } catch (const std::system_error& e) {
      log_line(std::string(e.what()) + "; shutting every worker down");
      record_failure(wait_status);
      begin_shutdown(SIGTERM);
    }
  }

  bool may_restart(Worker& w) {
    const auto now = Clock::now();
    const auto window = std::chrono::nanoseconds(options_.restart_window.nanoseconds());
    while (!w.restarts.empty() && now - w.restarts.front() > window) w.restarts.pop_front();
    if (static_cast<long>(w.restarts.size()) >= options_.max_restarts) return false;
    w.restarts.push_back(now);
    return true;
  }

  void on_stop_signal(int sig) {
    if (!shutting_down_) {
      begin_shutdown(sig);
      return;
    }
    // A second stop signal (Ctrl-C twice) does not wait for the workers any more.
    log_line("aio::run_workers: second stop signal; killing the workers");
    signal_workers(SIGKILL);
    kill_deadline_.reset();
  }

  void begin_shutdown(int sig) {
    shutting_down_ = true;
    stop_signal_ = sig;
    if (!options_.shutdown_timeout.infinite())
      kill_deadline_ = Clock::now() + std::chrono::nanoseconds(options_.shutdown_timeout.nanoseconds());
    signal_workers(sig);
  }

  void on_shutdown_timeout() {
    log_line("aio::run_workers: " + std::to_string(live_) + " worker(s) still running " +
             seconds(options_.shutdown_timeout) + " after the stop signal; killing them");
    signal_workers(SIGKILL);
    kill_deadline_.reset();
  }

  void signal_workers(int sig) {
    for (const Worker& w : workers_)
      if (w.pid > 0) ::kill(w.pid, sig);
  }

  void record_failure(int wait_status) {
    if (result_ == 0) result_ = exit_code_of(wait_status);
  }

  const std::function<Coro<void>(int)>& main_;
  const WorkerOptions& options_;
  const SignalTakeover& signals_;
  std::vector<Worker> workers_;
  int live_ = 0;
  int result_ = 0;
  bool shutting_down_ = false;
  int stop_signal_ = 0;  // what begin_shutdown sent (a worker it killed ended cleanly)
  std::optional<Clock::time_point> kill_deadline_;
};

}  // namespace

namespace detail {
void force_workers_without_pidfd(bool on) noexcept { pidfds_forced_off = on; }
}  // namespace detail

int run_workers(int n, std::function<Coro<void>(int worker_index)> main) {
  return run_workers(n, std::move(main), WorkerOptions{});
}

int run_workers(int n, std::function<Coro<void>(int worker_index)> main, WorkerOptions options) {
  if (n < 1) throw std::invalid_argument("aio::run_workers: n = " + std::to_string(n) + "; need at least 1 worker");
  if (!main) throw std::invalid_argument("aio::run_workers: main is empty; pass the coroutine function to run");
  if (options.max_restarts < 0)
    throw std::invalid_argument("aio::run_workers: max_restarts = " + std::to_string(options.max_restarts) +
                                "; use 0 to never restart");
  detail::check_no_running_loop("aio::run_workers");
  warn_if_threads_running();
  SignalTakeover signals;
  Supervisor supervisor(n, main, options, signals);
  return supervisor.run();
}

}  // namespace aio
