// Process (the handle) and ProcessState (the child's exit watcher and pipes).
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <system_error>
#include <vector>

#include "aio/gather.hpp"
#include "aio/subprocess.hpp"
#include "process/process_state.hpp"

namespace aio {

namespace detail {

namespace {

bool sigchld_forced = false;

// The SIGCHLD fallback (kernels without pidfd_open): the children this thread's loop
// watches, checked with waitpid(WNOHANG) on every SIGCHLD.
thread_local std::vector<ProcessState*> sigchld_children;

void on_sigchld() {
  // try_reap may remove entries: walk a copy.
  std::vector<ProcessState*> children = sigchld_children;
  for (ProcessState* child : children) child->try_reap();
}

}  // namespace

void force_sigchld_child_watcher(bool on) noexcept { sigchld_forced = on; }

ProcessState::ProcessState(EventLoop& loop, pid_t pid, int pidfd) : loop_(loop), pid_(pid) {
  if (pidfd >= 0 && !sigchld_forced) {
    pidfd_ = IoHandle(loop, pidfd);
  } else if (pidfd >= 0) {
    ::close(pidfd);
  }
  watch_op_.state = this;
  watch_op_.kind = IoKind::poll_readable;
  watch_op_.on_complete = &ProcessState::on_pidfd_readable;
}

ProcessState::~ProcessState() = default;

void ProcessState::watch() {
  watching_ = true;
  add_ref();  // the watcher's reference: the child is reaped even if the Process is dropped
  LoopAccess::add_close_hook(loop_, this);
  if (pidfd_.is_open()) {
    if (!pidfd_.backend().submit(pidfd_.registration(), watch_op_)) return;  // parked until exit
    try_reap();                                                              // already readable: the child has exited
    return;
  }
  if (sigchld_children.empty()) LoopAccess::watch_sigchld(loop_, &on_sigchld);
  sigchld_children.push_back(this);
  in_sigchld_list_ = true;
  try_reap();  // it may have exited before the handler was in place
}

void ProcessState::on_pidfd_readable(IoOp* op) noexcept {
  ProcessState* self = static_cast<WatchOp*>(op)->state;
  if (op->result == -EBADF) return;  // the watch is being torn down
  if (!self->try_reap() && self->pidfd_.is_open()) {
    // Readable but not waitable cannot happen for a child; re-arm rather than lose it.
    if (self->pidfd_.backend().submit(self->pidfd_.registration(), self->watch_op_)) self->try_reap();
  }
}

void ProcessState::record_exit(int status) noexcept {
  if (WIFEXITED(status)) {
    returncode_ = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    returncode_ = -WTERMSIG(status);
  } else {
    returncode_ = 255;
  }
}

bool ProcessState::try_reap() noexcept {
  if (returncode_) return true;
  int status = 0;
  pid_t r;
  do r = ::waitpid(pid_, &status, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == 0) return false;
  if (r == pid_) {
    record_exit(status);
  } else {
    // ECHILD: someone else reaped it (SIGCHLD set to SIG_IGN, or a waitpid(-1) elsewhere).
    // asyncio reports 255 then, and so do we.
    returncode_ = 255;
    log_line("child process " + std::to_string(pid_) +
             " was reaped by someone else (is SIGCHLD ignored?); reporting return code 255");
  }
  wake_all(exit_waiters_);
  stop_watching();  // may release the last reference: nothing after this
  return true;
}

void ProcessState::stop_watching() noexcept {
  if (!watching_) return;
  watching_ = false;
  if (linked()) IntrusiveList<CloseHook>::erase(this);
  if (in_sigchld_list_) {
    in_sigchld_list_ = false;
    std::erase(sigchld_children, this);
    if (sigchld_children.empty()) LoopAccess::unwatch_sigchld(loop_);
  }
  // The watch may still be in flight (a completion-based backend reports it later, when
  // this object may be gone): hand it to the backend rather than let it complete.
  if (watch_op_.in_flight) pidfd_.backend().abandon(watch_op_);
  pidfd_.close();
  release();
}

void ProcessState::on_loop_close() noexcept {
  // The pipes are registered with the loop's backend, which goes away with the loop.
  in = StreamWriter();
  out = StreamReader();
  err = StreamReader();
  has_in = has_out = has_err = false;
  // The loop is closing with the child still running: kill it and reap it now (a
  // SIGKILLed process exits at once), so that no zombie outlives the loop.
  if (!returncode_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    pid_t r;
    do r = ::waitpid(pid_, &status, 0);
    while (r < 0 && errno == EINTR);
    if (r == pid_) {
      record_exit(status);
    } else {
      returncode_ = 255;
    }
    wake_all(exit_waiters_);
  }
  stop_watching();
}

void ProcessState::handle_dropped() noexcept {
  in = StreamWriter();
  out = StreamReader();
  err = StreamReader();
  if (!try_reap()) {
    // As asyncio's transport does when it is closed with the child still running.
    ::kill(pid_, SIGKILL);
  }
  release();
}

void ProcessState::send_signal(int sig) {
  if (try_reap()) return;  // reaped: the pid may belong to someone else by now
  int r;
  if (pidfd_.is_open()) {
    r = static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd_.fd(), sig, nullptr, 0));
  } else {
    r = ::kill(pid_, sig);
  }
  if (r < 0 && errno != ESRCH) {  // ESRCH: exited, not reaped yet
    std::string what = "Process.send_signal(";
    what += std::to_string(sig);
    what += ") to pid ";
    what += std::to_string(pid_);
    throw std::system_error(errno, std::generic_category(), what);
  }
}

}  // namespace detail

// --- Process -------------------------------------------------------------------------

Process::Process(detail::ProcessState* state) noexcept : state_(state) {}
Process::Process(Process&& o) noexcept : state_(std::exchange(o.state_, nullptr)) {}
Process& Process::operator=(Process&& o) noexcept {
  if (this != &o) {
    if (state_) state_->handle_dropped();
    state_ = std::exchange(o.state_, nullptr);
  }
  return *this;
}
Process::~Process() {
  if (state_) state_->handle_dropped();
}

namespace {
detail::ProcessState& state_of(detail::ProcessState* s, const char* what) {
  if (!s) throw UsageError(std::string("Process.") + what + ": this Process was moved from");
  return *s;
}
}  // namespace

int Process::pid() const noexcept { return state_ ? state_->pid() : -1; }

std::optional<int> Process::returncode() const noexcept {
  if (!state_) return std::nullopt;
  return state_->returncode();
}

Coro<int> Process::wait() {
  detail::ProcessState& s = state_of(state_, "wait");
  while (!s.returncode()) co_await detail::WaitOn(s.exit_waiters(), "Process.wait");
  co_return *s.returncode();
}

namespace {

Coro<void> feed_stdin(StreamWriter* in, std::string input) {
  try {
    if (!input.empty()) {
      in->write(input);
      co_await in->drain();
    }
  } catch (const std::system_error& e) {
    // The child exited (or closed stdin) without reading everything: as in asyncio,
    // not an error of communicate().
    if (e.code().value() != EPIPE && e.code().value() != ECONNRESET) throw;
  }
  in->close();
}

Coro<std::string> read_to_end(StreamReader* reader) {
  std::string data = co_await reader->read(-1);
  co_return data;
}

Coro<std::string> nothing() { co_return std::string(); }

}  // namespace

Coro<std::pair<std::string, std::string>> Process::communicate(std::string input) {
  detail::ProcessState& s = state_of(state_, "communicate");
  if (!input.empty() && !s.has_in)
    throw UsageError(
        "Process.communicate: input was given but the child's stdin is not a PIPE; start it with .in = aio::PIPE");
  Coro<std::string> reading_out = s.has_out ? read_to_end(&s.out) : nothing();
  Coro<std::string> reading_err = s.has_err ? read_to_end(&s.err) : nothing();
  std::pair<std::string, std::string> result;
  if (s.has_in) {
    auto [fed, out, err] =
        co_await gather(feed_stdin(&s.in, std::move(input)), std::move(reading_out), std::move(reading_err));
    (void)fed;
    result = {std::move(out), std::move(err)};
  } else {
    auto [out, err] = co_await gather(std::move(reading_out), std::move(reading_err));
    result = {std::move(out), std::move(err)};
  }
  co_await wait();
  co_return result;
}

void Process::send_signal(int sig) { state_of(state_, "send_signal").send_signal(sig); }
void Process::terminate() { send_signal(SIGTERM); }
void Process::kill() { send_signal(SIGKILL); }

StreamWriter& Process::in() {
  detail::ProcessState& s = state_of(state_, "in");
  if (!s.has_in) throw UsageError("Process.in(): the child's stdin is not a PIPE; start it with .in = aio::PIPE");
  return s.in;
}
StreamReader& Process::out() {
  detail::ProcessState& s = state_of(state_, "out");
  if (!s.has_out) throw UsageError("Process.out(): the child's stdout is not a PIPE; start it with .out = aio::PIPE");
  return s.out;
}
StreamReader& Process::err() {
  detail::ProcessState& s = state_of(state_, "err");
  if (!s.has_err) throw UsageError("Process.err(): the child's stderr is not a PIPE; start it with .err = aio::PIPE");
  return s.err;
}

}  // namespace aio
