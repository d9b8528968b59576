// Subprocesses (aio::create_subprocess_exec / create_subprocess_shell and aio::Process):
// ports of CPython's Lib/test/test_asyncio/test_subprocess.py (SubprocessMixin), a few of
// uvloop's process tests (large stdout/stdin) and test_events.py's stdout/stderr cases,
// plus what aio's contract adds: spawn errors thrown by create_subprocess_* (ENOENT,
// EACCES), no zombies, no fds leaked into the child, default signal state in the child,
// reaping of dropped Processes, cancellation at every await, no SIGPIPE. Each test names
// the CPython case it comes from; tests without one are aio's own.
//
// Every test here is a PROC_TEST: an AIO_TEST (fresh loop; fails on leftover tasks, leaked
// fds, unhandled loop errors) followed by a check that the test left no child behind —
// neither a zombie (a child that exited and was never reaped) nor a running one. The check
// peeks with waitid(WNOWAIT), so it never reaps anything itself unless it found a leftover
// (which it then kills and reaps so that the next test starts clean). Each PROC_TEST runs
// twice: Subprocess.X watches children with pidfds, SubprocessOverSigchld.X with the
// SIGCHLD fallback of kernels without pidfd_open (forced by a test hook).
//
// Mapping: bytes -> std::string; BrokenPipeError / ConnectionResetError ->
// std::system_error (EPIPE / ECONNRESET); `proc.stdin/stdout/stderr` -> in()/out()/err();
// `stdout=None` results of communicate() -> "" (the header's contract); a file object as
// stdout -> aio::from_fd(fd); PROGRAM_CAT -> /bin/cat; PROGRAM_BLOCKED -> python3
// sleeping for an hour; ProcessLookupError from kill() after the exit -> nothing happens
// (aio's documented contract).
//
// Not ported: SubprocessTransportTests (test_proc_exited, test_subprocess_repr: the
// private transport); the SubprocessProtocol tests (test_subprocess_protocol_events,
// test_subprocess_consistent_callbacks, test_cancel_post_init, test_close_kill_running,
// test_close_gets_process_closed: loop.subprocess_exec with a protocol has no aio
// equivalent, and aio's Process has no close() — dropping it leaves the child running by
// contract, see DroppedProcess*); test_create_subprocess_exec_text_mode_fails /
// _shell_text_mode_fails (aio has no text mode, encoding or errors options to reject:
// data is always bytes in std::string); test_popen_error / _with_stdin_pipe (they mock
// subprocess.Popen to raise; the real spawn failures here — ENOENT, EACCES, E2BIG — check
// the same thing: no fd and no child is left); test_process_create_warning (Python
// warnings); the watcher classes (ThreadedChildWatcher, PidfdChildWatcher... — aio has the
// pidfd watcher and the SIGCHLD fallback, both run); test_kill_issue43884's Windows part
// (the rest is KillIssue43884GrandchildHoldingThePipe); test_stdin_broken_pipe's pass_fds
// (aio has no pass_fds: the child reads one line of stdin instead of a side pipe);
// test_pause_reading's mocked pause_reading/resume_reading (replaced by
// PipeReaderDoesNotSlurpWhatNobodyReads); uvloop's _1000000 large-stdout case (seconds of
// byte-by-byte Python; CommunicateTenMegabytesBothWays covers big transfers).
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <aio/subprocess.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <aio/testing.hpp>

#include "process/process_state.hpp"  // force_sigchld_child_watcher (tests only)
#include "support.hpp"

namespace {

using namespace aio_test;

constexpr const char* kPython = "/usr/bin/python3";
constexpr double kLong = 60.0;  // a bound on anything that should take milliseconds

// --- leftover children -----------------------------------------------------------------------

// Fails the current test if a child of this process is left (a zombie, or one still
// running after a grace period), then kills and reaps it so that later tests start clean.
void expect_no_children_left() {
  for (int attempt = 0; attempt < 500; ++attempt) {  // up to ~5 s for dying children
    siginfo_t info{};
    if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return;  // ECHILD: none
    if (info.si_pid != 0) {                                                   // exited and nobody reaped it
      ADD_FAILURE() << "the test left a zombie child, pid " << info.si_pid;
      ::waitpid(info.si_pid, nullptr, 0);
      continue;
    }
    ::usleep(10'000);  // children exist but all run: give them a moment
  }
  // Still running: find them through /proc, report, kill, reap.
  if (DIR* d = ::opendir("/proc")) {
    while (dirent* e = ::readdir(d)) {
      const int pid = std::atoi(e->d_name);
      if (pid <= 0) continue;
      std::ifstream stat("/proc/" + std::string(e->d_name) + "/stat");
      std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
      const auto close_paren = all.rfind(')');
      if (close_paren == std::string::npos) continue;
      std::istringstream rest(all.substr(close_paren + 2));
      char state = 0;
      int ppid = 0;
      rest >> state >> ppid;
      if (ppid != ::getpid()) continue;
      ADD_FAILURE() << "the test left a running child, pid " << pid;
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    ::closedir(d);
  }
}

// The state letter of our child `pid` in /proc ('R', 'S', 'Z'...), or 0 when there is no
// such child any more (reaped).
char child_state(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto close_paren = all.rfind(')');
  if (close_paren == std::string::npos || close_paren + 2 >= all.size()) return 0;
  std::istringstream rest(all.substr(close_paren + 2));
  char state = 0;
  int ppid = 0;
  rest >> state >> ppid;
  return ppid == ::getpid() ? state : 0;
}

// Lets the loop run until pred() holds or `timeout` seconds pass. Returns pred().
aio::Coro<bool> eventually(std::function<bool()> pred, double timeout = kLong) {
  aio::EventLoop& loop = aio::get_running_loop();
  const double deadline = loop.time() + timeout;
  while (!pred() && loop.time() < deadline) co_await aio::sleep(0.002);
  co_return pred();
}

// --- programs --------------------------------------------------------------------------------

std::vector<std::string> python(std::string code) {
  std::vector<std::string> argv;
  argv.emplace_back(kPython);
  argv.emplace_back("-c");
  argv.push_back(std::move(code));
  return argv;
}

// PROGRAM_BLOCKED.
std::vector<std::string> blocked() { return python("import time; time.sleep(3600)"); }

// PROGRAM_CAT (cat copies stdin to stdout, as the Python snippet does).
std::vector<std::string> cat() { return {"/bin/cat"}; }

// n bytes that are not all alike (so that lost, doubled or reordered chunks show).
std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
  return s;
}

// The exception `aw` throws, as a std::system_error's errno value (0: none or another kind).
template <class Awaitable>
aio::Coro<int> errno_of(Awaitable aw) {
  int code = 0;
  try {
    co_await std::move(aw);
  } catch (const std::system_error& e) {
    code = e.code().value();
  } catch (...) {
    code = -1;
  }
  co_return code;
}

// A temporary file, removed at the end of the scope.
class TempFile {
 public:
  TempFile() {
    char name[] = "/tmp/aio-test-subprocess-XXXXXX";
    fd_ = ::mkstemp(name);
    path_ = name;
  }
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  std::string contents() const {
    std::ifstream in(path_, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

 private:
  int fd_ = -1;
  std::string path_;
};

// Puts the previous disposition of `sig` back at the end of the scope.
class SavedDisposition {
 public:
  explicit SavedDisposition(int sig) : sig_(sig) { ::sigaction(sig_, nullptr, &saved_); }
  ~SavedDisposition() { ::sigaction(sig_, &saved_, nullptr); }
  SavedDisposition(const SavedDisposition&) = delete;
  SavedDisposition& operator=(const SavedDisposition&) = delete;

 private:
  int sig_;
  struct sigaction saved_ {};
};

// Wait for `p`, bounded (a child that never exits fails the test instead of hanging it).
aio::Coro<int> wait_bounded(aio::Process& p) {
  int rc = co_await aio::wait_for(p.wait(), kLong);
  co_return rc;
}

aio::Coro<std::pair<std::string, std::string>> communicate_bounded(aio::Process& p, std::string input = {}) {
  auto result = co_await aio::wait_for(p.communicate(std::move(input)), kLong);
  co_return result;
}

// Kills p (if it still runs) and reaps it: the cleanup of tests that leave a child running.
aio::Coro<void> kill_and_reap(aio::Process& p) {
  if (!p.returncode()) p.kill();
  co_await wait_bounded(p);
}

// aio::gather over a vector, as a coroutine (wait_for takes coroutines and tasks).
template <class T>
aio::Coro<std::vector<T>> gather_all(std::vector<aio::Coro<T>> coros) {
  std::vector<T> results = co_await aio::gather(std::move(coros));
  co_return results;
}

template <class T>
aio::Coro<std::vector<T>> gather_tasks(std::vector<aio::Task<T>> tasks) {
  std::vector<T> results = co_await aio::gather(std::move(tasks));
  co_return results;
}

aio::Coro<std::string> read_all(aio::StreamReader& r) {
  std::string all = co_await aio::wait_for(r.read(), kLong);
  co_return all;
}

}  // namespace

// For the SubprocessOverSigchld copies: watch children with SIGCHLD (the fallback for
// kernels without pidfd_open) instead of pidfds, for the scope.
class SigchldWatcher {
 public:
  SigchldWatcher() { aio::detail::force_sigchld_child_watcher(true); }
  ~SigchldWatcher() { aio::detail::force_sigchld_child_watcher(false); }
  SigchldWatcher(const SigchldWatcher&) = delete;
  SigchldWatcher& operator=(const SigchldWatcher&) = delete;
};

// A subprocess test: an AIO_TEST, then the check that it left no child behind; defined
// twice, as Subprocess.Name (pidfd watcher) and SubprocessOverSigchld.Name (SIGCHLD one).
#define PROC_TEST(Suite, Name)                                     \
  static ::aio::Coro<void> proc_test_body_##Suite##_##Name();      \
  TEST(Suite, Name) {                                              \
    ::aio::testing::run_test(proc_test_body_##Suite##_##Name());   \
    expect_no_children_left();                                     \
  }                                                                \
  TEST(Suite##OverSigchld, Name) {                                 \
    {                                                              \
      SigchldWatcher sigchld;                                      \
      ::aio::testing::run_test(proc_test_body_##Suite##_##Name()); \
    }                                                              \
    expect_no_children_left();                                     \
  }                                                                \
  static ::aio::Coro<void> proc_test_body_##Suite##_##Name()

// ============================================================================================
// SubprocessMixin: pipes, communicate, exit codes
// ============================================================================================

PROC_TEST(Subprocess, StdinStdout) {
  // test_stdin_stdout / test_stdin_stdout_pipe.
  aio::Process proc = co_await aio::create_subprocess_exec(cat(), {.in = aio::PIPE, .out = aio::PIPE});
  EXPECT_GT(proc.pid(), 0);
  EXPECT_FALSE(proc.returncode().has_value());
  proc.in().write("some data");
  co_await proc.in().drain();
  proc.in().close();
  std::string data = co_await read_all(proc.out());
  int exitcode = co_await wait_bounded(proc);
  EXPECT_EQ(exitcode, 0);
  EXPECT_EQ(data, "some data");
  EXPECT_EQ(proc.returncode(), 0);
}

PROC_TEST(Subprocess, StdinWriteEofAndWaitClosed) {
  // asyncio's pipe StreamWriter: can_write_eof() is True and write_eof() closes the pipe
  // (the child sees EOF); close() + wait_closed() finishes.
  aio::Process proc = co_await aio::create_subprocess_exec(cat(), {.in = aio::PIPE, .out = aio::PIPE});
  EXPECT_TRUE(proc.in().can_write_eof());
  proc.in().write("half");
  proc.in().write_eof();
  EXPECT_EQ(co_await read_all(proc.out()), "half");
  EXPECT_EQ(co_await wait_bounded(proc), 0);
  proc.in().close();
  EXPECT_TRUE(proc.in().is_closing());
  co_await aio::wait_for(proc.in().wait_closed(), kLong);
}

PROC_TEST(Subprocess, Communicate) {
  // test_communicate.
  aio::Process proc = co_await aio::create_subprocess_exec(cat(), {.in = aio::PIPE, .out = aio::PIPE});
  auto [out, err] = co_await communicate_bounded(proc, "some data");
  EXPECT_EQ(proc.returncode(), 0);
  EXPECT_EQ(out, "some data");
  EXPECT_EQ(err, "");  // stderr is not a PIPE
}

PROC_TEST(Subprocess, CommunicateNoneInput) {
  // test_communicate_none_input: no input closes stdin at once.
  aio::Process proc = co_await aio::create_subprocess_exec(cat(), {.in = aio::PIPE, .out = aio::PIPE});
  auto [out, err] = co_await communicate_bounded(proc);
  EXPECT_EQ(proc.returncode(), 0);
  EXPECT_EQ(out, "");
  EXPECT_EQ(err, "");
}

PROC_TEST(Subprocess, CommunicateWithoutAnyPipe) {
  // test_communicate's no-PIPE shape (asyncio returns (None, None)): it just waits.
  aio::Process proc = co_await aio::create_subprocess_shell("exit 3");
  auto [out, err] = co_await communicate_bounded(proc);
  EXPECT_EQ(out, "");
  EXPECT_EQ(err, "");
  EXPECT_EQ(proc.returncode(), 3);
}

PROC_TEST(Subprocess, CommunicateInputNeedsAStdinPipe) {
  // aio's own (documented): input without a stdin PIPE is a UsageError, not silently lost.
  aio::Process proc = co_await aio::create_subprocess_exec(cat(), {.in = aio::DEVNULL, .out = aio::PIPE});
  std::exception_ptr e = co_await error_of(proc.communicate("lost"));
  EXPECT_TRUE(holds<aio::UsageError>(e)) << what_of(e);
  co_await kill_and_reap(proc);
}

PROC_TEST(Subprocess, StreamsThatAreNotPipesAreUsageErrors) {
  // aio's own (documented): in()/out()/err() exist only for PIPE streams.
  aio::Process proc = co_await aio::create_subprocess_exec("/bin/true");
  EXPECT_THROW(proc.in(), aio::UsageError);
  EXPECT_THROW(proc.out(), aio::UsageError);
  EXPECT_THROW(proc.err(), aio::UsageError);
  co_await wait_bounded(proc);
  aio::Process other = co_await aio::create_subprocess_exec("/bin/sh", "-c", "echo x",
                                                            aio::ProcessOptions{.out = aio::PIPE, .err = aio::STDOUT});
  EXPECT_THROW(other.err(), aio::UsageError);  // STDOUT is not a pipe of its own
  EXPECT_EQ(co_await read_all(other.out()), "x\n");
  co_await wait_bounded(other);
}

PROC_TEST(Subprocess, Shell) {
  // test_shell.
  aio::Process proc = co_await aio::create_subprocess_shell("exit 7");
  EXPECT_EQ(co_await wait_bounded(proc), 7);
  EXPECT_EQ(proc.returncode(), 7);
}

PROC_TEST(Subprocess, ShellCommandNotFoundIs127) {
  // aio's own (documented): the shell's own errors come back as the return code.
  aio::Process proc = co_await aio::create_subprocess_shell("no-such-command-aio-test 2>/dev/null");
  EXPECT_EQ(co_await wait_bounded(proc), 127);
}

PROC_TEST(Subprocess, StartNewSession) {
  // test_start_new_session.
  aio::Process proc = co_await aio::create_subprocess_shell("exit 8", {.start_new_session = true});
  EXPECT_EQ(co_await wait_bounded(proc), 8);
}

PROC_TEST(Subprocess, StartNewSessionMakesTheChildASessionLeader) {
  // aio's own check of what start_new_session does (setsid in the child).
  const std::string parent_sid = std::to_string(::getsid(0));
  std::string code = "import os; print(os.getsid(0) == os.getpid(), os.getsid(0) != ";
  code.append(parent_sid).append(")");
  aio::Process in_session =
      co_await aio::create_subprocess_exec(python(code), {.out = aio::PIPE, .start_new_session = true});
  auto [out, err] = co_await communicate_bounded(in_session);
  EXPECT_EQ(out, "True True\n");
  aio::Process same_session = co_await aio::create_subprocess_exec(python(code), {.out = aio::PIPE});
  auto [out2, err2] = co_await communicate_bounded(same_session);
  EXPECT_EQ(out2, "False False\n");
}

PROC_TEST(Subprocess, Kill) {
  // test_kill.
  aio::Process proc = co_await aio::create_subprocess_exec(blocked());
  proc.kill();
  EXPECT_EQ(co_await wait_bounded(proc), -SIGKILL);
  EXPECT_EQ(proc.returncode(), -SIGKILL);
}

PROC_TEST(Subprocess, Terminate) {
  // test_terminate.
  aio::Process proc = co_await aio::create_subprocess_exec(blocked());
  proc.terminate();
  EXPECT_EQ(co_await wait_bounded(proc), -SIGTERM);
}

PROC_TEST(Subprocess, SendSignal) {
  // test_send_signal (bpo-31034: the parent may have decided to ignore SIGHUP, and an
  // ignored disposition survives exec — so, like CPython, the test sets SIG_DFL first;
  // ChildStartsWithDefaultSignalMaskAndDispositions covers the ignored case).
  SavedDisposition saved(SIGHUP);
  ::signal(SIGHUP, SIG_DFL);
  aio::Process proc = co_await aio::create_subprocess_exec(
      python("import time; print('sleeping', flush=True); time.sleep(3600)"), {.out = aio::PIPE});
  std::string line = co_await aio::wait_for(proc.out().readline(), kLong);
  EXPECT_EQ(line, "sleeping\n");
  proc.send_signal(SIGHUP);
  EXPECT_EQ(co_await wait_bounded(proc), -SIGHUP);
}

PROC_TEST(Subprocess, ReturncodeOfAChildKilledBySignalItRaised) {
  // aio's own: a child that dies of a signal of its own (not sent by us) also gives -N.
  aio::Process proc = co_await aio::create_subprocess_shell("kill -SEGV $$");
  EXPECT_EQ(co_await wait_bounded(proc), -SIGSEGV);
}

PROC_TEST(Subprocess, SignalsAfterTheChildWasReapedDoNothing) {
  // test_close_dont_kill_finished, in aio's terms: once the child is reaped, kill(),
  // terminate() and send_signal() do nothing (asyncio raises ProcessLookupError; aio's
  // contract says nothing happens, since the pid may belong to someone else by then).
  aio::Process proc = co_await aio::create_subprocess_exec("/bin/true");
  EXPECT_EQ(co_await wait_bounded(proc), 0);
  EXPECT_NO_THROW(proc.kill());
  EXPECT_NO_THROW(proc.terminate());
  EXPECT_NO_THROW(proc.send_signal(SIGUSR1));
  EXPECT_EQ(proc.returncode(), 0);
}

PROC_TEST(Subprocess, KillAfterExitButBeforeTheLoopNoticedDoesNotChangeTheStatus) {
  // test_close_dont_kill_finished: the child has exited (a zombie), the loop has not
  // reaped it yet; kill() must neither fail nor turn exit code 0 into -SIGKILL.
  aio::Process proc = co_await aio::create_subprocess_exec("/bin/true");
  const int pid = proc.pid();
  // Spin without yielding to the loop, so that it cannot reap the child meanwhile (0:
  // already reaped, by a mechanism that does not need the loop — also fine).
  for (int i = 0; i < 5000 && child_state(pid) != 'Z' && child_state(pid) != 0; ++i) ::usleep(1000);
  EXPECT_NO_THROW(proc.kill());
  EXPECT_EQ(co_await wait_bounded(proc), 0);
}

PROC_TEST(Subprocess, WaitTwiceAndConcurrently) {
  // test_subprocess_concurrent_wait: ten wait()s after communicate all give the code;
  // check_stdout_output: a wait() task after the exit is done after one iteration.
  aio::Process proc = co_await aio::create_subprocess_exec(cat(), {.in = aio::PIPE, .out = aio::PIPE});
  auto [out, err] = co_await communicate_bounded(proc, "some data");
  EXPECT_EQ(out, "some data");
  EXPECT_EQ(proc.returncode(), 0);
  std::vector<aio::Coro<int>> waits;
  for (int i = 0; i < 10; ++i) waits.push_back(proc.wait());
  std::vector<int> codes = co_await aio::gather(std::move(waits));
  EXPECT_EQ(codes, std::vector<int>(10, 0));
  aio::Task<int> late = aio::create_task(proc.wait());
  co_await run_briefly();
  AIO_ASSERT_TRUE(late.done());
  EXPECT_EQ(late.result(), 0);
}

PROC_TEST(Subprocess, ConcurrentWaitersWhileRunning) {
  // aio's own: several tasks waiting on a running child all get the code.
  aio::Process proc = co_await aio::create_subprocess_exec(cat(), {.in = aio::PIPE});
  std::vector<aio::Task<int>> waiters;
  for (int i = 0; i < 5; ++i) waiters.push_back(aio::create_task(proc.wait()));
  co_await spin(3);
  for (auto& w : waiters) EXPECT_FALSE(w.done());
  proc.in().close();  // cat exits on EOF
  std::vector<int> codes = co_await aio::wait_for(gather_tasks(waiters), kLong);
  EXPECT_EQ(codes, std::vector<int>(5, 0));
}

PROC_TEST(Subprocess, CommunicateStdoutOfManyProcessesAtOnce) {
  // test_subprocess_communicate_stdout (gh-100133): ten children gathered, each output
  // goes to its own caller.
  std::vector<aio::Process> procs;
  for (int i = 0; i < 10; ++i) {
    std::string code = "print('foo";
    code.append(std::to_string(i)).append("')");
    procs.push_back(co_await aio::create_subprocess_exec(python(code), {.out = aio::PIPE}));
  }
  std::vector<aio::Coro<std::pair<std::string, std::string>>> talks;
  for (auto& p : procs) talks.push_back(p.communicate());
  auto results = co_await aio::wait_for(gather_all(std::move(talks)), kLong);
  for (int i = 0; i < 10; ++i) {
    std::string expected = "foo";
    expected.append(std::to_string(i)).append("\n");
    EXPECT_EQ(results.at(static_cast<std::size_t>(i)).first, expected);
    EXPECT_EQ(procs.at(static_cast<std::size_t>(i)).returncode(), 0);
  }
}

// --- stdin ----------------------------------------------------------------------------------

PROC_TEST(Subprocess, StdinNotInheritable) {
  // test_stdin_not_inheritable (asyncio issue #209): if the child inherited the parent's
  // end of its own stdin pipe, it would never see EOF and communicate() would hang.
  aio::Process proc =
      co_await aio::create_subprocess_exec(python("import sys; data = sys.stdin.read(); print(len(data))"),
                                           {.in = aio::PIPE, .out = aio::PIPE, .err = aio::PIPE});
  auto [out, err] = co_await communicate_bounded(proc, "abc");
  EXPECT_EQ(out, "3\n");
  EXPECT_EQ(err, "");
  EXPECT_EQ(co_await wait_bounded(proc), 0);
}

PROC_TEST(Subprocess, EmptyInput) {
  // test_empty_input.
  aio::Process proc =
      co_await aio::create_subprocess_exec(python("import sys; data = sys.stdin.read(); print(len(data))"),
                                           {.in = aio::PIPE, .out = aio::PIPE, .err = aio::PIPE});
  auto [out, err] = co_await communicate_bounded(proc, "");
  EXPECT_EQ(out, "0\n");
  EXPECT_EQ(proc.returncode(), 0);
}

PROC_TEST(Subprocess, DevnullInput) {
  // test_devnull_input.
  aio::Process proc =
      co_await aio::create_subprocess_exec(python("import sys; data = sys.stdin.read(); print(len(data))"),
                                           {.in = aio::DEVNULL, .out = aio::PIPE, .err = aio::PIPE});
  auto [out, err] = co_await communicate_bounded(proc);
  EXPECT_EQ(out, "0\n");
  EXPECT_EQ(proc.returncode(), 0);
}

PROC_TEST(Subprocess, DevnullOutput) {
  // test_devnull_output (asyncio's None -> "").
  aio::Process proc =
      co_await aio::create_subprocess_exec(python("import sys; data = sys.stdin.read(); print(len(data))"),
                                           {.in = aio::PIPE, .out = aio::DEVNULL, .err = aio::PIPE});
  auto [out, err] = co_await communicate_bounded(proc, "abc");
  EXPECT_EQ(out, "");
  EXPECT_EQ(err, "");
  EXPECT_EQ(proc.returncode(), 0);
}

PROC_TEST(Subprocess, DevnullError) {
  // test_devnull_error.
  aio::Process proc = co_await aio::create_subprocess_exec(
      python("import sys; data = sys.stdin.read(); print(len(data)); print('oops', file=sys.stderr)"),
      {.in = aio::PIPE, .out = aio::PIPE, .err = aio::DEVNULL});
  auto [out, err] = co_await communicate_bounded(proc, "abc");
  EXPECT_EQ(out, "3\n");
  EXPECT_EQ(err, "");
  EXPECT_EQ(proc.returncode(), 0);
}

PROC_TEST(Subprocess, DevnullReallyIsDevNull) {
  // aio's own: DEVNULL streams are /dev/null (same device number), not closed fds.
  aio::Process proc =
      co_await aio::create_subprocess_exec(python("import os\n"
                                                  "null = os.stat('/dev/null').st_rdev\n"
                                                  "print(os.fstat(0).st_rdev == null, os.fstat(2).st_rdev == null)"),
                                           {.in = aio::DEVNULL, .out = aio::PIPE, .err = aio::DEVNULL});
  auto [out, err] = co_await communicate_bounded(proc);
  EXPECT_EQ(out, "True True\n");
}

PROC_TEST(Subprocess, DevstdinInput) {
  // test_devstdin_input: the child can open /dev/stdin (it is a pipe, not a socket).
  aio::Process proc =
      co_await aio::create_subprocess_exec(python("file = open('/dev/stdin'); data = file.read(); print(len(data))"),
                                           {.in = aio::PIPE, .out = aio::PIPE, .err = aio::PIPE});
  auto [out, err] = co_await communicate_bounded(proc, "abc");
  EXPECT_EQ(out, "3\n") << err;
  EXPECT_EQ(proc.returncode(), 0);
}

PROC_TEST(Subprocess, StdinBrokenPipe) {
  // test_stdin_broken_pipe: the child stops reading (and exits) while we still write;
  // drain() raises EPIPE (BrokenPipeError) — and SIGPIPE does not kill the test binary.
  aio::Process proc =
      co_await aio::create_subprocess_exec(python("import sys; sys.stdin.readline()"), {.in = aio::PIPE});
  std::string data = "go\n";
  data.append(4 * 1024 * 1024, 'x');  // more than any pipe buffer
  proc.in().write(data);
  const int err = co_await errno_of(aio::wait_for(proc.in().drain(), kLong));
  EXPECT_TRUE(err == EPIPE || err == ECONNRESET) << "errno " << err;
  EXPECT_EQ(co_await wait_bounded(proc), 0);
}

PROC_TEST(Subprocess, WriteToStdinAfterTheChildExitedIsEpipe) {
  // aio's own: the child is gone before the write; drain() reports EPIPE, no SIGPIPE.
  aio::Process proc = co_await aio::create_subprocess_exec("/bin/true", aio::ProcessOptions{.in = aio::PIPE});
  EXPECT_EQ(co_await wait_bounded(proc), 0);
  proc.in().write("nobody reads this\n");
  const int err = co_await errno_of(aio::wait_for(proc.in().drain(), kLong));
  EXPECT_EQ(err, EPIPE);
}

PROC_TEST(Subprocess, CommunicateIgnoreBrokenPipe) {
  // test_communicate_ignore_broken_pipe: the child exits without reading its input;
  // communicate() ignores the EPIPE.
  aio::Process proc = co_await aio::create_subprocess_exec("/bin/true", aio::ProcessOptions{.in = aio::PIPE});
  HandlerLog log;
  log.install();
  std::exception_ptr e = co_await error_of(communicate_bounded(proc, std::string(4 * 1024 * 1024 + 1, 'x')));
  EXPECT_FALSE(e) << what_of(e);
  EXPECT_EQ(co_await wait_bounded(proc), 0);
  EXPECT_TRUE(log.contexts.empty());
}

PROC_TEST(Subprocess, WriteHugeStdin) {
  // uvloop's test_write_huge_stdin_8192 / _8193 / _219263 / _219264: a line-reading child
  // counts what a single write() + drain() sent.
  const char* code =
      "import sys\n"
      "n = 0\n"
      "while True:\n"
      "    line = sys.stdin.readline()\n"
      "    if not line:\n"
      "        print('unexpected EOF', file=sys.stderr)\n"
      "        break\n"
      "    if line == 'END\\n':\n"
      "        break\n"
      "    n += 1\n"
      "print(n)";
  static constexpr std::size_t kSizes[] = {8192, 8193, 219263, 219264};
  for (std::size_t buf_size : kSizes) {
    aio::Process proc = co_await aio::create_subprocess_exec(python(code), {.in = aio::PIPE, .out = aio::PIPE});
    const std::size_t num_lines = buf_size - 4;
    std::string data(num_lines, '\n');
    data.append("END\n");
    proc.in().write(data);
    co_await aio::wait_for(proc.in().drain(), kLong);
    EXPECT_EQ(co_await wait_bounded(proc), 0);
    EXPECT_EQ(co_await read_all(proc.out()), std::to_string(num_lines) + "\n");
  }
}

// --- stdout / stderr ---------------------------------------------------------------------

PROC_TEST(Subprocess, StdoutStderrPipes) {
  // test_events.test_subprocess_stderr (stdout and stderr as separate pipes).
  aio::Process proc =
      co_await aio::create_subprocess_shell("echo out; echo err >&2; exit 5", {.out = aio::PIPE, .err = aio::PIPE});
  auto [out, err] = co_await communicate_bounded(proc);
  EXPECT_EQ(out, "out\n");
  EXPECT_EQ(err, "err\n");
  EXPECT_EQ(proc.returncode(), 5);
}

PROC_TEST(Subprocess, StderrToStdout) {
  // test_events.test_subprocess_stderr_redirect_to_stdout (2>&1).
  aio::Process proc = co_await aio::create_subprocess_shell("echo out; echo err >&2; echo out2",
                                                            {.out = aio::PIPE, .err = aio::STDOUT});
  auto [out, err] = co_await communicate_bounded(proc);
  EXPECT_EQ(out, "out\nerr\nout2\n");
  EXPECT_EQ(err, "");
  EXPECT_EQ(proc.returncode(), 0);
}

PROC_TEST(Subprocess, StderrToStdoutFollowsAFile) {
  // aio's own: STDOUT goes wherever stdout goes, a file too.
  TempFile file;
  aio::Process proc = co_await aio::create_subprocess_shell("echo out; echo err >&2",
                                                            {.out = aio::from_fd(file.fd()), .err = aio::STDOUT});
  EXPECT_EQ(co_await wait_bounded(proc), 0);
  EXPECT_EQ(file.contents(), "out\nerr\n");
}

PROC_TEST(Subprocess, StdinStdoutFile) {
  // test_stdin_stdout_file: stdout to a file (from_fd); the parent keeps its fd.
  TempFile file;
  aio::Process proc = co_await aio::create_subprocess_exec(cat(), {.in = aio::PIPE, .out = aio::from_fd(file.fd())});
  proc.in().write("some data");
  co_await proc.in().drain();
  proc.in().close();
  EXPECT_EQ(co_await wait_bounded(proc), 0);
  EXPECT_EQ(file.contents(), "some data");
  EXPECT_NE(::fcntl(file.fd(), F_GETFD), -1);  // still open in the parent
}

PROC_TEST(Subprocess, StdinStderrFile) {
  // test_stdin_stderr_file: the traceback of 1/0 lands in the file; exit code 1.
  TempFile file;
  std::vector<std::string> argv{kPython, "-W", "ignore", "-c", "1/0"};
  aio::Process proc = co_await aio::create_subprocess_exec(argv, {.in = aio::PIPE, .err = aio::from_fd(file.fd())});
  EXPECT_EQ(co_await wait_bounded(proc), 1);
  EXPECT_NE(file.contents().find("ZeroDivisionError"), std::string::npos) << file.contents();
}

PROC_TEST(Subprocess, StdinFromAFile) {
  // aio's own: stdin from a file through from_fd.
  TempFile file;
  AIO_ASSERT_EQ(::write(file.fd(), "from a file", 11), 11);
  AIO_ASSERT_EQ(::lseek(file.fd(), 0, SEEK_SET), 0);
  aio::Process proc = co_await aio::create_subprocess_exec(cat(), {.in = aio::from_fd(file.fd()), .out = aio::PIPE});
  auto [out, err] = co_await communicate_bounded(proc);
  EXPECT_EQ(out, "from a file");
  EXPECT_EQ(proc.returncode(), 0);
}

PROC_TEST(Subprocess, FromFdOfASocket) {
  // aio's own: from_fd takes any fd — a socket as the child's stdout.
  int sv[2];
  AIO_ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  aio::Process proc = co_await aio::create_subprocess_shell("printf hello", {.out = aio::from_fd(sv[1])});
  EXPECT_EQ(co_await wait_bounded(proc), 0);
  ::close(sv[1]);
  char buf[16] = {};
  EXPECT_EQ(::read(sv[0], buf, sizeof buf), 5);
  EXPECT_EQ(std::string(buf), "hello");
  ::close(sv[0]);
}

PROC_TEST(Subprocess, InheritSharesTheParentsStream) {
  // aio's own: INHERIT gives the child the parent's own stream (same file).
  struct stat mine {};
  AIO_ASSERT_EQ(::fstat(2, &mine), 0);
  aio::Process proc = co_await aio::create_subprocess_exec(
      python("import os; s = os.fstat(2); print(s.st_dev, s.st_ino)"), {.out = aio::PIPE});
  auto [out, err] = co_await communicate_bounded(proc);
  std::string expected = std::to_string(mine.st_dev);
  expected.append(" ").append(std::to_string(mine.st_ino)).append("\n");
  EXPECT_EQ(out, expected);
}

PROC_TEST(Subprocess, ReadStdoutLineByLine) {
  // aio's own (the date-reading example): lines arrive as the child prints them — the
  // child prints one line per line it reads, so each readline() must return before the
  // child has printed the next.
  aio::Process proc = co_await aio::create_subprocess_exec(python("import sys\n"
                                                                  "for i in range(3):\n"
                                                                  "    print('line', i, flush=True)\n"
                                                                  "    sys.stdin.readline()\n"),
                                                           {.in = aio::PIPE, .out = aio::PIPE});
  for (int i = 0; i < 3; ++i) {
    std::string line = co_await aio::wait_for(proc.out().readline(), kLong);
    std::string expected = "line ";
    expected.append(std::to_string(i)).append("\n");
    EXPECT_EQ(line, expected);
    proc.in().write("next\n");
    co_await proc.in().drain();
  }
  EXPECT_EQ(co_await aio::wait_for(proc.out().readline(), kLong), "");  // EOF
  EXPECT_TRUE(proc.out().at_eof());
  EXPECT_EQ(co_await wait_bounded(proc), 0);
}

PROC_TEST(Subprocess, ChildClosingStdoutEarly) {
  // aio's own: the child closes stdout and keeps running; the reader sees EOF at once,
  // then the child exits when told.
  aio::Process proc =
      co_await aio::create_subprocess_shell("echo a; exec 1>&-; read x; exit 4", {.in = aio::PIPE, .out = aio::PIPE});
  EXPECT_EQ(co_await read_all(proc.out()), "a\n");
  EXPECT_TRUE(proc.out().at_eof());
  EXPECT_FALSE(proc.returncode().has_value());  // still waiting for its line
  proc.in().write("go\n");
  co_await proc.in().drain();
  EXPECT_EQ(co_await wait_bounded(proc), 4);
}

PROC_TEST(Subprocess, ReadStdoutAfterProcessExit) {
  // test_read_stdout_after_process_exit: 256 KiB written, exit 1; reading in 64 KiB steps
  // with pauses (the child has exited meanwhile) still gets everything.
  aio::Process proc = co_await aio::create_subprocess_exec(python("import sys\n"
                                                                  "for _ in range(64):\n"
                                                                  "    sys.stdout.write('x' * 4096)\n"
                                                                  "sys.stdout.flush()\n"
                                                                  "sys.exit(1)"),
                                                           {.out = aio::PIPE});
  std::size_t total = 0;
  for (;;) {
    std::string data = co_await aio::wait_for(proc.out().read(65536), kLong);
    if (data.empty()) break;
    total += data.size();
    co_await aio::sleep(0.01);
  }
  EXPECT_EQ(total, std::size_t{64 * 4096});
  EXPECT_EQ(co_await wait_bounded(proc), 1);
}

PROC_TEST(Subprocess, PauseReadingLimitSmallerThanOutput) {
  // test_pause_reading: with limit=10, a child writing 21 bytes still gets them all
  // through communicate().
  constexpr std::size_t kLimit = 10;
  constexpr std::size_t kSize = kLimit * 2 + 1;
  std::string code = "import sys; sys.stdout.write('x' * ";
  code.append(std::to_string(kSize)).append("); sys.stdout.flush()");
  aio::Process proc =
      co_await aio::create_subprocess_exec(python(code), {.in = aio::PIPE, .out = aio::PIPE, .limit = kLimit});
  EXPECT_EQ(proc.out().limit(), kLimit);
  auto [out, err] = co_await communicate_bounded(proc);
  EXPECT_EQ(out, std::string(kSize, 'x'));
}

PROC_TEST(Subprocess, ReadlineLimitApplies) {
  // aio's own (asyncio's limit=): a line longer than the limit is a LimitOverrunError.
  aio::Process proc = co_await aio::create_subprocess_exec(python("print('y' * 100)"), {.out = aio::PIPE, .limit = 16});
  std::exception_ptr e = co_await error_of(aio::wait_for(proc.out().readline(), kLong));
  EXPECT_TRUE(holds<aio::LimitOverrunError>(e)) << what_of(e);
  co_await read_all(proc.out());
  EXPECT_EQ(co_await wait_bounded(proc), 0);
}

PROC_TEST(Subprocess, PipeReaderDoesNotSlurpWhatNobodyReads) {
  // test_pause_reading's point (issue #22685: the reader pauses rather than buffering all
  // the child writes): 4 MiB written, nobody reads; the reader holds far less than that,
  // and the bytes all arrive once read.
  constexpr std::size_t kTotal = 4 * 1024 * 1024;
  std::string code = "import sys; sys.stdout.write('z' * ";
  code.append(std::to_string(kTotal)).append("); sys.stdout.flush()");
  aio::Process proc = co_await aio::create_subprocess_exec(python(code), {.out = aio::PIPE, .limit = 1024});
  std::string first = co_await aio::wait_for(proc.out().readexactly(1), kLong);  // the child writes
  co_await aio::sleep(0.05);
  co_await spin(20);
  EXPECT_LT(proc.out().buffered(), kTotal / 4);
  EXPECT_FALSE(proc.returncode().has_value());  // blocked on the full pipe
  std::string rest = co_await read_all(proc.out());
  EXPECT_EQ(first.size() + rest.size(), kTotal);
  EXPECT_EQ(co_await wait_bounded(proc), 0);
}

PROC_TEST(Subprocess, CommunicateLargeStdout) {
  // uvloop's test_communicate_large_stdout_65536 / _65537 (_1000000 left out: a
  // byte-by-byte Python copy of 1 MB takes seconds; CommunicateTenMegabytesBothWays
  // covers big transfers): a child copying stdin to stdout byte by byte.
  static constexpr std::size_t kSizes[] = {65536, 65537};
  for (std::size_t size : kSizes) {
    aio::Process proc =
        co_await aio::create_subprocess_exec(python("import sys, shutil; shutil.copyfileobj(sys.stdin, sys.stdout, 1)"),
                                             {.in = aio::PIPE, .out = aio::PIPE, .err = aio::PIPE});
    auto [out, err] = co_await communicate_bounded(proc, std::string(size, 'x'));
    EXPECT_EQ(out.size(), size) << err;
    EXPECT_EQ(out, std::string(size, 'x'));
  }
}

PROC_TEST(Subprocess, CommunicateTenMegabytesBothWays) {
  // aio's own (the contract): 10 MiB in and 10 MiB out at once through cat — stdin is fed
  // while stdout is drained, so neither pipe can fill up and deadlock.
  const std::string input = pattern(10 * 1024 * 1024);
  aio::Process proc =
      co_await aio::create_subprocess_exec(cat(), {.in = aio::PIPE, .out = aio::PIPE, .err = aio::PIPE});
  auto [out, err] = co_await communicate_bounded(proc, input);
  EXPECT_EQ(out.size(), input.size());
  EXPECT_TRUE(out == input);
  EXPECT_EQ(err, "");
  EXPECT_EQ(proc.returncode(), 0);
}

PROC_TEST(Subprocess, CommunicateBigStdoutAndStderrTogether) {
  // aio's own: both output pipes past their buffer sizes at once.
  aio::Process proc =
      co_await aio::create_subprocess_exec(python("import sys\n"
                                                  "for i in range(64):\n"
                                                  "    sys.stdout.write('o' * 16384); sys.stdout.flush()\n"
                                                  "    sys.stderr.write('e' * 16384); sys.stderr.flush()\n"),
                                           {.out = aio::PIPE, .err = aio::PIPE});
  auto [out, err] = co_await communicate_bounded(proc);
  EXPECT_EQ(out, std::string(64 * 16384, 'o'));
  EXPECT_EQ(err, std::string(64 * 16384, 'e'));
}

// ============================================================================================
// How the child starts: program lookup, arguments, cwd, env, errors
// ============================================================================================

PROC_TEST(Subprocess, CreateSubprocessExecWithPath) {
  // test_create_subprocess_exec_with_path (FakePath -> plain strings): an absolute path,
  // a PATH lookup, and "." as an argument.
  aio::Process p1 = co_await aio::create_subprocess_exec(kPython, "-c", "pass");
  EXPECT_EQ(co_await wait_bounded(p1), 0);
  aio::Process p2 = co_await aio::create_subprocess_exec(kPython, "-c", "pass", ".");
  EXPECT_EQ(co_await wait_bounded(p2), 0);
  aio::Process p3 = co_await aio::create_subprocess_exec("true");  // looked up in PATH
  EXPECT_EQ(co_await wait_bounded(p3), 0);
  aio::Process p4 = co_await aio::create_subprocess_exec("false");
  EXPECT_EQ(co_await wait_bounded(p4), 1);
}

PROC_TEST(Subprocess, ArgumentsArePassedVerbatim) {
  // aio's own: no shell in between — spaces, quotes, $ and empty strings stay as they are.
  std::vector<std::string> argv = python("import sys, json; print(json.dumps(sys.argv[1:]))");
  argv.emplace_back("a b");
  argv.emplace_back("\"q\"");
  argv.emplace_back("$HOME");
  argv.emplace_back("");
  argv.emplace_back("*");
  aio::Process proc = co_await aio::create_subprocess_exec(argv, {.out = aio::PIPE});
  auto [out, err] = co_await communicate_bounded(proc);
  EXPECT_EQ(out, "[\"a b\", \"\\\"q\\\"\", \"$HOME\", \"\", \"*\"]\n");
}

PROC_TEST(Subprocess, VariadicFormWithOptions) {
  // asyncio's create_subprocess_exec(*args, stdout=PIPE) shape.
  aio::Process proc = co_await aio::create_subprocess_exec("/bin/sh", "-c", "echo $0 $1", "zero", std::string("one"),
                                                           aio::ProcessOptions{.out = aio::PIPE});
  auto [out, err] = co_await communicate_bounded(proc);
  EXPECT_EQ(out, "zero one\n");
}

PROC_TEST(Subprocess, Cwd) {
  // aio's own (asyncio's cwd=).
  aio::Process proc =
      co_await aio::create_subprocess_exec(python("import os; print(os.getcwd())"), {.out = aio::PIPE, .cwd = "/tmp"});
  auto [out, err] = co_await communicate_bounded(proc);
  EXPECT_EQ(out, "/tmp\n");
  char here[4096];
  AIO_ASSERT_TRUE(::getcwd(here, sizeof here) != nullptr);
  aio::Process same = co_await aio::create_subprocess_exec(python("import os; print(os.getcwd())"), {.out = aio::PIPE});
  auto [out2, err2] = co_await communicate_bounded(same);
  EXPECT_EQ(out2, std::string(here) + "\n");
}

PROC_TEST(Subprocess, CwdFromATemporaryString) {
  // aio's own (documented: the options' views are copied before create_subprocess_* returns).
  aio::ProcessOptions options{.out = aio::PIPE};
  std::string dir = "/tmp";
  options.cwd = dir;
  aio::Coro<aio::Process> starting = aio::create_subprocess_shell("pwd", options);
  dir.assign("/nonexistent-clobbered");  // the coroutine has not run yet
  aio::Process proc = co_await std::move(starting);
  auto [out, err] = co_await communicate_bounded(proc);
  EXPECT_EQ(out, "/tmp\n");
}

PROC_TEST(Subprocess, CreateSubprocessEnvShell) {
  // test_create_subprocess_env_shell.
  std::vector<std::string> overrides{"FOO=bar"};
  std::vector<std::string> env = aio::environment_with(overrides);
  std::string cmd = kPython;
  cmd.append(" -c \"import os, sys; sys.stdout.write(os.getenv('FOO'))\"");
  aio::Process proc = co_await aio::create_subprocess_shell(cmd, {.out = aio::PIPE, .env = env});
  auto [out, err] = co_await communicate_bounded(proc);
  EXPECT_EQ(out, "bar");
  EXPECT_EQ(proc.returncode(), 0);
  aio::Task<int> again = aio::create_task(proc.wait());
  co_await run_briefly();
  AIO_ASSERT_TRUE(again.done());
  EXPECT_EQ(again.result(), 0);
}

PROC_TEST(Subprocess, CreateSubprocessEnvExec) {
  // test_create_subprocess_env_exec.
  std::vector<std::string> overrides{"FOO=baz"};
  std::vector<std::string> env = aio::environment_with(overrides);
  aio::Process proc = co_await aio::create_subprocess_exec(python("import os, sys; sys.stdout.write(os.getenv('FOO'))"),
                                                           {.out = aio::PIPE, .env = env});
  auto [out, err] = co_await communicate_bounded(proc);
  EXPECT_EQ(out, "baz");
}

PROC_TEST(Subprocess, EnvReplacesTheWholeEnvironment) {
  // aio's own (asyncio's env= is the child's whole environment).
  ScopedEnv parent_only("AIO_TEST_PARENT_ONLY", "1");
  std::vector<std::string> env{"ONLY=this", "EMPTY="};
  aio::Process proc = co_await aio::create_subprocess_exec(
      python("import os, json; print(json.dumps(sorted(os.environ.items())))"), {.out = aio::PIPE, .env = env});
  auto [out, err] = co_await communicate_bounded(proc);
  // Python itself may add LC_CTYPE when the locale is C; nothing else may appear.
  EXPECT_NE(out.find("[\"ONLY\", \"this\"]"), std::string::npos) << out;
  EXPECT_NE(out.find("[\"EMPTY\", \"\"]"), std::string::npos) << out;
  EXPECT_EQ(out.find("AIO_TEST_PARENT_ONLY"), std::string::npos) << out;
  EXPECT_EQ(out.find("PATH"), std::string::npos) << out;
}

PROC_TEST(Subprocess, EnvironmentWith) {
  // aio's own: environment_with copies the parent's environment, replaces or adds.
  ScopedEnv a("AIO_TEST_ENV_A", "old");
  ScopedEnv b("AIO_TEST_ENV_B", nullptr);
  std::vector<std::string> overrides{"AIO_TEST_ENV_A=new", "AIO_TEST_ENV_B=added"};
  std::vector<std::string> env = aio::environment_with(overrides);
  int a_count = 0;
  bool has_path = false;
  for (const std::string& e : env) {
    if (e.rfind("AIO_TEST_ENV_A=", 0) == 0) {
      ++a_count;
      EXPECT_EQ(e, "AIO_TEST_ENV_A=new");
    }
    if (e.rfind("PATH=", 0) == 0) has_path = true;
  }
  EXPECT_EQ(a_count, 1);
  EXPECT_TRUE(contains(env, std::string("AIO_TEST_ENV_B=added")));
  EXPECT_EQ(has_path, std::getenv("PATH") != nullptr);
  std::vector<std::string> plain = aio::environment_with();
  EXPECT_TRUE(contains(plain, std::string("AIO_TEST_ENV_A=old")));
  co_return;
}

PROC_TEST(Subprocess, ProgramNotFoundIsEnoentFromCreate) {
  // aio's own (documented): the spawn error comes from create_subprocess_exec, not wait(),
  // and leaves no fd and no child behind (test_popen_error's point), PIPEs or not.
  static constexpr const char* kPrograms[] = {"no-such-program-aio-test", "/nonexistent/aio/program"};
  for (const char* program : kPrograms) {
    std::vector<std::string> argv{program};
    int code = 0;
    try {
      aio::Process p =
          co_await aio::create_subprocess_exec(argv, {.in = aio::PIPE, .out = aio::PIPE, .err = aio::PIPE});
      ADD_FAILURE() << program << " started, pid " << p.pid();
      co_await kill_and_reap(p);
    } catch (const std::system_error& e) {
      code = e.code().value();
      EXPECT_NE(std::string(e.what()).find(program), std::string::npos) << e.what();  // says which
    }
    EXPECT_EQ(code, ENOENT) << program;
  }
}

PROC_TEST(Subprocess, NonexistentCwdIsEnoent) {
  // aio's own (documented).
  std::vector<std::string> argv{"/bin/true"};
  const int code =
      co_await errno_of(aio::create_subprocess_exec(argv, {.out = aio::PIPE, .cwd = "/nonexistent/aio/dir"}));
  EXPECT_EQ(code, ENOENT);
}

PROC_TEST(Subprocess, DirectoryAsProgramIsEacces) {
  // aio's own (documented): not executable -> EACCES (a directory, a 0644 file).
  std::vector<std::string> dir{"/tmp"};
  EXPECT_EQ(co_await errno_of(aio::create_subprocess_exec(dir)), EACCES);
  TempFile file;
  AIO_ASSERT_EQ(::fchmod(file.fd(), 0644), 0);
  std::vector<std::string> not_executable{file.path()};
  EXPECT_EQ(co_await errno_of(aio::create_subprocess_exec(not_executable, {.out = aio::PIPE})), EACCES);
}

PROC_TEST(Subprocess, EmptyOrInvalidArguments) {
  // aio's own (documented): an empty argv or a NUL byte is std::invalid_argument.
  std::vector<std::string> empty;
  std::exception_ptr e1 = co_await error_of(aio::create_subprocess_exec(empty));
  EXPECT_TRUE(holds<std::invalid_argument>(e1)) << what_of(e1);
  std::vector<std::string> nul{"/bin/echo", std::string("a\0b", 3)};
  std::exception_ptr e2 = co_await error_of(aio::create_subprocess_exec(nul));
  EXPECT_TRUE(holds<std::invalid_argument>(e2)) << what_of(e2);
  std::exception_ptr e3 = co_await error_of(aio::create_subprocess_shell(std::string("echo \0 x", 8)));
  EXPECT_TRUE(holds<std::invalid_argument>(e3)) << what_of(e3);
  // asyncio (subprocess.Popen) raises ValueError("embedded null byte") for env and cwd
  // too; a NUL would otherwise cut the value short silently.
  std::vector<std::string> bad_env{std::string("A=1\0B=2", 7)};
  std::vector<std::string> argv{"/bin/true"};
  std::exception_ptr e4 = co_await error_of(aio::create_subprocess_exec(argv, {.env = bad_env}));
  EXPECT_TRUE(holds<std::invalid_argument>(e4)) << what_of(e4);
  const std::string bad_cwd("/tmp\0/nonexistent", 18);
  std::exception_ptr e5 = co_await error_of(aio::create_subprocess_exec(argv, {.cwd = bad_cwd}));
  EXPECT_TRUE(holds<std::invalid_argument>(e5)) << what_of(e5);
}

PROC_TEST(Subprocess, ArgumentTooLongIsE2big) {
  // aio's own: the kernel's E2BIG (a single argument over 128 KiB) comes back from
  // create_subprocess_exec as a std::system_error, and leaves nothing behind.
  std::vector<std::string> argv{"/bin/true", std::string(256 * 1024, 'a')};
  EXPECT_EQ(co_await errno_of(aio::create_subprocess_exec(argv, {.in = aio::PIPE, .out = aio::PIPE})), E2BIG);
}

namespace {

// cat through pipes, started and talked to while this process's fd 0 is closed.
aio::Coro<std::string> cat_with_fd0_closed(std::optional<int>& returncode) {
  aio::Process proc =
      co_await aio::create_subprocess_exec(cat(), {.in = aio::PIPE, .out = aio::PIPE, .err = aio::PIPE});
  auto [out, err] = co_await communicate_bounded(proc, "fd 0 was closed");
  returncode = proc.returncode();
  co_return out + err;
}

}  // namespace

PROC_TEST(Subprocess, ParentWithClosedStdin) {
  // aio's own: with the parent's fd 0 closed, a new pipe may get fd 0; setting up the
  // child's 0/1/2 must not clobber one of its own pipe ends. (fd 0 is given back only
  // once the child and its pipes are gone: until then it may be one of them.)
  const int saved_stdin = ::fcntl(0, F_DUPFD_CLOEXEC, 10);
  AIO_ASSERT_GE(saved_stdin, 0);
  ::close(0);
  std::optional<int> returncode;
  std::exception_ptr error = nullptr;
  std::string out;
  try {
    out = co_await cat_with_fd0_closed(returncode);
  } catch (...) {
    error = std::current_exception();
  }
  ::dup2(saved_stdin, 0);
  ::close(saved_stdin);
  EXPECT_FALSE(error) << what_of(error);
  EXPECT_EQ(out, "fd 0 was closed");
  EXPECT_EQ(returncode, 0);
}

// ============================================================================================
// What the child inherits: fds, signal state
// ============================================================================================

namespace {

// The child's open fds, as "0 1 2 3" (3 is the fd its own listdir uses).
const char* kListFds = "import os; print(' '.join(sorted(os.listdir('/proc/self/fd'), key=int)))";

std::vector<int> parse_fds(const std::string& line) {
  std::vector<int> fds;
  std::istringstream in(line);
  for (int fd; in >> fd;) fds.push_back(fd);
  return fds;
}

}  // namespace

PROC_TEST(Subprocess, NoFdsLeakIntoTheChild) {
  // aio's own: the loop's fds (epoll, eventfd...) and the pipes of other children do not
  // reach a new child: it sees 0, 1, 2, the fd of its own listdir — and nothing else
  // (close_fds also closes fds this process holds without FD_CLOEXEC, such as one the
  // test runner passed down; FdsOpenedWithoutCloexecDoNotLeakEither checks those).
  aio::Process other =
      co_await aio::create_subprocess_exec(cat(), {.in = aio::PIPE, .out = aio::PIPE, .err = aio::PIPE});
  aio::Process proc =
      co_await aio::create_subprocess_exec(python(kListFds), {.in = aio::PIPE, .out = aio::PIPE, .err = aio::PIPE});
  auto [out, err] = co_await communicate_bounded(proc);
  std::vector<int> unexpected;
  int extra = 0;
  for (int fd : parse_fds(out)) {
    if (fd <= 2) continue;
    if (++extra > 1) unexpected.push_back(fd);  // the first one is listdir's
  }
  EXPECT_EQ(extra, 1) << "child fds: " << out << err;
  EXPECT_TRUE(unexpected.empty()) << "child fds: " << out;
  other.in().close();
  co_await communicate_bounded(other);
}

PROC_TEST(Subprocess, FdsOpenedWithoutCloexecDoNotLeakEither) {
  // asyncio's close_fds=True default: even an fd the program opened without O_CLOEXEC
  // (and whatever this test binary itself inherited) is closed in the child.
  int p[2];
  AIO_ASSERT_EQ(::pipe(p), 0);  // no O_CLOEXEC on purpose
  aio::Process proc = co_await aio::create_subprocess_exec(python(kListFds), {.out = aio::PIPE});
  auto [out, err] = co_await communicate_bounded(proc);
  EXPECT_EQ(out, "0 1 2 3\n");
  ::close(p[0]);
  ::close(p[1]);
}

PROC_TEST(Subprocess, SecondChildDoesNotHoldTheFirstChildsPipes) {
  // aio's own (the classic "cat never sees EOF"): a child started later must not inherit
  // the parent's end of an earlier child's stdin, or closing it would not reach cat.
  aio::Process first = co_await aio::create_subprocess_exec(cat(), {.in = aio::PIPE, .out = aio::PIPE});
  aio::Process second = co_await aio::create_subprocess_exec(blocked(), {.in = aio::PIPE, .out = aio::PIPE});
  auto [out, err] = co_await communicate_bounded(first, "through cat");
  EXPECT_EQ(out, "through cat");
  EXPECT_EQ(first.returncode(), 0);
  co_await kill_and_reap(second);
}

namespace {

// The child's "SigBlk:" and "SigIgn:" lines of /proc/self/status.
aio::Coro<std::string> child_signal_state() {
  std::vector<std::string> argv{"/bin/sh", "-c", "grep -E '^Sig(Blk|Ign):' /proc/self/status"};
  aio::Process proc = co_await aio::create_subprocess_exec(argv, {.out = aio::PIPE});
  auto [out, err] = co_await communicate_bounded(proc);
  co_return out;
}

}  // namespace

PROC_TEST(Subprocess, ChildStartsWithDefaultSignalMaskAndDispositions) {
  // aio's own (the header: an empty signal mask and SIGPIPE at its default; asyncio's
  // restore_signals=True): whatever the parent does with signals — SIGPIPE ignored, a loop
  // handler for SIGUSR1 (caught signals go back to default at exec), SIGUSR2 blocked in
  // this thread — the child starts with nothing blocked and nothing ignored. (Signals 32
  // and 33 are left out: glibc's posix_spawn leaves its two internal signals, SIGCANCEL
  // and SIGSETXID, ignored in the child whatever the spawn attributes say.)
  SavedDisposition pipe(SIGPIPE);
  SavedDisposition usr1(SIGUSR1);
  ::signal(SIGPIPE, SIG_IGN);
  aio::EventLoop& loop = aio::get_running_loop();
  loop.add_signal_handler(SIGUSR1, [] {});
  sigset_t block, old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR2);
  ::pthread_sigmask(SIG_BLOCK, &block, &old_mask);
  std::string state = co_await child_signal_state();
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  EXPECT_TRUE(loop.remove_signal_handler(SIGUSR1));
  unsigned long long blocked_mask = ~0ull, ignored_mask = ~0ull;
  const int parsed = std::sscanf(state.c_str(), "SigBlk:\t%llx\nSigIgn:\t%llx", &blocked_mask, &ignored_mask);
  EXPECT_EQ(parsed, 2) << state;
  const unsigned long long glibc_internal = (1ull << (32 - 1)) | (1ull << (33 - 1));
  EXPECT_EQ(blocked_mask, 0u) << state;
  EXPECT_EQ(ignored_mask & ~glibc_internal, 0u) << state << "(bit N-1 = signal N)";
}

PROC_TEST(Subprocess, UserSigchldHandlerDoesNotBreakWait) {
  // aio's own: a program's own SIGCHLD handler on the loop (asyncio's watchers used
  // SIGCHLD) neither steals the exit status from wait() nor is replaced or removed by
  // aio's child watching. (Bounded by 10 s: a lost exit fails instead of hanging.)
  SavedDisposition chld(SIGCHLD);
  aio::EventLoop& loop = aio::get_running_loop();
  int sigchld_calls = 0;
  loop.add_signal_handler(SIGCHLD, [&] { ++sigchld_calls; });
  aio::Process proc = co_await aio::create_subprocess_shell("exit 6");
  int rc = -1000;
  try {
    rc = co_await aio::wait_for(proc.wait(), 10.0);
  } catch (const aio::TimeoutError&) {
    ADD_FAILURE() << "wait() never saw the exit";
  }
  EXPECT_EQ(rc, 6);
  AIO_ASSERT_AWAITS_TRUE(eventually([&] { return sigchld_calls > 0; }, 10.0));
  const int calls_before = sigchld_calls;
  aio::Process second = co_await aio::create_subprocess_exec(blocked());
  second.terminate();
  EXPECT_EQ(co_await wait_bounded(second), -SIGTERM);
  AIO_ASSERT_AWAITS_TRUE(eventually([&] { return sigchld_calls > calls_before; }, 10.0));
  EXPECT_TRUE(loop.remove_signal_handler(SIGCHLD));  // still the program's, still there
}

PROC_TEST(Subprocess, SigchldIgnoredDoesNotHangWait) {
  // asyncio's "Unknown child process pid %d, will report returncode 255": with SIGCHLD
  // set to SIG_IGN the kernel reaps children itself; wait() must still return (255 then,
  // or the real code where aio's own SIGCHLD handler keeps the kernel from reaping).
  SavedDisposition chld(SIGCHLD);
  ::signal(SIGCHLD, SIG_IGN);
  LogCapture log;
  aio::Process proc = co_await aio::create_subprocess_shell("exit 3");
  int rc = -1000;
  try {
    rc = co_await aio::wait_for(proc.wait(), 10.0);
  } catch (const aio::TimeoutError&) {
    ADD_FAILURE() << "wait() hangs when SIGCHLD is ignored";
  }
  if (rc == -1000) {
    ::signal(SIGCHLD, SIG_DFL);
    co_await kill_and_reap(proc);
  }
  EXPECT_TRUE(rc == 255 || rc == 3) << rc;
  if (rc == 255) {
    EXPECT_TRUE(log.contains("255")) << "no log line says why the return code is 255";
  }
}

// ============================================================================================
// Reaping: no zombies, dropped Processes
// ============================================================================================

PROC_TEST(Subprocess, DroppedProcessKillsAndReapsARunningChild) {
  // test_close_kill_running, in aio's terms (the header: as asyncio's transport does when
  // closed, dropping the Process of a running child kills it, and the loop reaps it). The
  // child writes "ready" into a pipe of ours and sleeps; it holds the pipe's only write
  // end, so the pipe reports a hang-up the moment the child dies.
  int p[2];
  AIO_ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  int pid = 0;
  {
    aio::Process proc = co_await aio::create_subprocess_exec(
        python("import time; print('ready', flush=True); time.sleep(3600)"), {.out = aio::from_fd(p[1])});
    pid = proc.pid();
    ::close(p[1]);
    std::string got;
    while (got.size() < 6) {  // (it may come in pieces)
      pollfd ready{p[0], POLLIN, 0};
      char buf[16];
      if (::poll(&ready, 1, 10'000) != 1) break;
      const ssize_t n = ::read(p[0], buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    EXPECT_EQ(got, "ready\n");  // it runs: now drop it
  }
  pollfd hangup{p[0], POLLIN, 0};
  EXPECT_EQ(::poll(&hangup, 1, 10'000), 1) << "the child still runs after its Process was dropped";
  ::close(p[0]);
  AIO_ASSERT_AWAITS_TRUE(eventually([&] { return child_state(pid) == 0; }));  // and it was reaped
}

PROC_TEST(Subprocess, DroppedProcessWhoseChildExitedIsReaped) {
  // test_close_dont_kill_finished's other half: a child that exits by itself after its
  // Process is gone (cat, once the dropped Process closed its stdin) is still reaped.
  int pid = 0;
  {
    aio::Process proc = co_await aio::create_subprocess_exec(cat(), {.in = aio::PIPE, .out = aio::PIPE});
    pid = proc.pid();
  }
  AIO_ASSERT_AWAITS_TRUE(eventually([&] { return child_state(pid) == 0; }));
}

PROC_TEST(Subprocess, ManyShortChildrenLeaveNoZombies) {
  // aio's own: 50 children at once, each waited; nothing is left (PROC_TEST checks).
  std::vector<aio::Process> procs;
  for (int i = 0; i < 50; ++i)
    procs.push_back(co_await aio::create_subprocess_exec(i % 2 ? "/bin/true" : "/bin/false"));
  std::vector<aio::Coro<int>> waits;
  for (auto& p : procs) waits.push_back(p.wait());
  std::vector<int> codes = co_await aio::wait_for(gather_all(std::move(waits)), kLong);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(codes.at(static_cast<std::size_t>(i)), i % 2 ? 0 : 1);
}

PROC_TEST(Subprocess, ProcessCanBeMoved) {
  // aio's own: a moved-from Process is empty; the moved-to one owns the child.
  aio::Process a = co_await aio::create_subprocess_exec(cat(), {.in = aio::PIPE, .out = aio::PIPE});
  const int pid = a.pid();
  aio::Process b = std::move(a);
  EXPECT_EQ(b.pid(), pid);
  std::vector<aio::Process> v;
  v.push_back(std::move(b));
  auto [out, err] = co_await communicate_bounded(v.at(0), "moved");
  EXPECT_EQ(out, "moved");
  EXPECT_EQ(v.at(0).returncode(), 0);
}

PROC_TEST(Subprocess, KillIssue43884GrandchildHoldingThePipe) {
  // test_kill_issue43884: the shell is killed while a grandchild still holds the stdout
  // pipe; wait() returns for the shell without waiting for the pipe to close.
  aio::Process proc = co_await aio::create_subprocess_shell("sleep 30 & echo $!; wait", {.out = aio::PIPE});
  std::string line = co_await aio::wait_for(proc.out().readline(), kLong);
  const int grandchild = std::atoi(line.c_str());
  AIO_ASSERT_GT(grandchild, 0);
  proc.kill();
  EXPECT_EQ(co_await wait_bounded(proc), -SIGKILL);
  EXPECT_FALSE(proc.out().at_eof());  // the grandchild still holds the pipe
  ::kill(grandchild, SIGKILL);        // (it is init's child now, not ours)
  EXPECT_EQ(co_await read_all(proc.out()), "");
}

namespace {

aio::Coro<std::pair<int, std::string>> cat_some_data() {
  aio::Process proc = co_await aio::create_subprocess_exec(cat(), {.in = aio::PIPE, .out = aio::PIPE});
  auto [out, err] = co_await communicate_bounded(proc, "some data");
  co_return std::pair<int, std::string>(proc.returncode().value_or(-1000), out);
}

std::pair<int, std::string> run_cat_some_data() { return aio::run(cat_some_data()); }

}  // namespace

PROC_TEST(Subprocess, SpawnFromALoopOnAnotherThread) {
  // test_create_subprocess_with_pidfd: asyncio.run(in_thread()) inside to_thread — while
  // this loop watches a child of its own, so two loops watch children at once.
  aio::Process mine = co_await aio::create_subprocess_exec(cat(), {.in = aio::PIPE, .out = aio::PIPE});
  auto [rc, out] = co_await aio::to_thread(run_cat_some_data);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out, "some data");
  auto [mine_out, mine_err] = co_await communicate_bounded(mine, "mine");
  EXPECT_EQ(mine_out, "mine");
  EXPECT_EQ(mine.returncode(), 0);
}

namespace {

aio::Coro<aio::Process> start_cat() {
  aio::Process proc = co_await aio::create_subprocess_exec(cat(), {.in = aio::PIPE, .out = aio::PIPE});
  co_return proc;
}

}  // namespace

TEST(Subprocess, ProcessOutlivingItsLoop) {
  // aio's own: a Process returned out of aio::run (its child still running when the loop
  // closed) stays safe to query and to drop, and no zombie is left. (aio kills and reaps
  // such children when their loop closes.)
  std::optional<aio::Process> proc;
  proc.emplace(aio::run(start_cat()));
  EXPECT_GT(proc->pid(), 0);
  EXPECT_TRUE(proc->returncode().has_value());
  EXPECT_NO_THROW(proc->kill());  // reaped: does nothing
  proc.reset();
  expect_no_children_left();
}

// ============================================================================================
// Cancellation at every await
// ============================================================================================

PROC_TEST(Subprocess, CancelProcessWait) {
  // test_cancel_process_wait (issue #23140): cancelling wait() leaves the child alone;
  // a later wait() still gets its status.
  aio::Process proc = co_await aio::create_subprocess_exec(blocked());
  aio::Task<int> task = aio::create_task(proc.wait());
  aio::get_running_loop().call_soon([task]() mutable { task.cancel(); });
  std::exception_ptr e = co_await error_of(task);
  EXPECT_TRUE(holds<aio::CancelledError>(e));
  task.cancel();  // cancelling again does nothing
  EXPECT_FALSE(proc.returncode().has_value());
  EXPECT_NE(child_state(proc.pid()), 'Z');
  proc.kill();
  EXPECT_EQ(co_await wait_bounded(proc), -SIGKILL);
}

namespace {

aio::Coro<void> spawn_blocked_into(std::optional<aio::Process>& slot) {
  slot.emplace(co_await aio::create_subprocess_exec(blocked()));
}

}  // namespace

PROC_TEST(Subprocess, CancelCreateSubprocessExec) {
  // test_cancel_make_subprocess_transport_exec: cancelling the spawn leaves nothing —
  // either no child was started, or the Process came back and can be killed; no fd, no
  // zombie either way (PROC_TEST and AIO_TEST check).
  for (int delay_rounds = 0; delay_rounds < 3; ++delay_rounds) {
    std::optional<aio::Process> slot;
    aio::Task<void> task = aio::create_task(spawn_blocked_into(slot));
    for (int i = 0; i < delay_rounds; ++i) co_await run_briefly();
    task.cancel();
    co_await error_of(task);
    if (slot) co_await kill_and_reap(*slot);
  }
}

PROC_TEST(Subprocess, CancelCommunicate) {
  // aio's own (documented): cancelling communicate() leaves the child running.
  aio::Process proc =
      co_await aio::create_subprocess_exec(blocked(), {.in = aio::PIPE, .out = aio::PIPE, .err = aio::PIPE});
  aio::Task<std::pair<std::string, std::string>> talk = aio::create_task(proc.communicate("input"));
  co_await spin(5);
  EXPECT_FALSE(talk.done());
  talk.cancel();
  std::exception_ptr e = co_await error_of(talk);
  EXPECT_TRUE(holds<aio::CancelledError>(e)) << what_of(e);
  EXPECT_FALSE(proc.returncode().has_value());
  proc.kill();
  EXPECT_EQ(co_await wait_bounded(proc), -SIGKILL);
}

PROC_TEST(Subprocess, CancelStdoutRead) {
  // aio's own: a cancelled out().read() loses nothing; the next read gets the data.
  aio::Process proc = co_await aio::create_subprocess_exec(python("import sys; sys.stdin.readline(); print('late')"),
                                                           {.in = aio::PIPE, .out = aio::PIPE});
  aio::Task<std::string> reading = aio::create_task(proc.out().readline());
  co_await spin(5);
  EXPECT_FALSE(reading.done());
  reading.cancel();
  std::exception_ptr e = co_await error_of(reading);
  EXPECT_TRUE(holds<aio::CancelledError>(e)) << what_of(e);
  proc.in().write("go\n");
  co_await proc.in().drain();
  EXPECT_EQ(co_await aio::wait_for(proc.out().readline(), kLong), "late\n");
  EXPECT_EQ(co_await wait_bounded(proc), 0);
}

PROC_TEST(Subprocess, CancelStdinDrain) {
  // aio's own: drain() blocked on a child that does not read can be cancelled; the
  // process is still there to be killed.
  aio::Process proc = co_await aio::create_subprocess_exec(blocked(), {.in = aio::PIPE});
  proc.in().write(std::string(4 * 1024 * 1024, 'x'));
  aio::Task<void> draining = aio::create_task(proc.in().drain());
  co_await spin(5);
  EXPECT_FALSE(draining.done());
  draining.cancel();
  std::exception_ptr e = co_await error_of(draining);
  EXPECT_TRUE(holds<aio::CancelledError>(e)) << what_of(e);
  proc.kill();
  EXPECT_EQ(co_await wait_bounded(proc), -SIGKILL);
}

PROC_TEST(Subprocess, AWriteStillWaitingWhenTheLoopClosesLetsGoOfItsPipe) {
  // aio's own: the body returns while the child's stdin has a write waiting (the child
  // reads nothing). Dropping the Process kills the child, as asyncio's transport does,
  // and the write then fails with EPIPE — a completion that io_uring reports only at its
  // next wait, which may never come. Closing the loop completes the write, and the
  // pipe's last owner closes it: PROC_TEST's run_test counts the fds. (The leak showed
  // in about one run in four: run it a few times; each uses a fresh loop.)
  aio::Process proc = co_await aio::create_subprocess_exec(blocked(), {.in = aio::PIPE});
  proc.in().write(std::string(4 * 1024 * 1024, 'x'));  // far more than the pipe holds
  co_await spin(5);
}

TEST(Subprocess, AWriteStillWaitingWhenTheLoopClosesLetsGoOfItsPipeEveryTime) {
  for (int i = 0; i < 8 && !HasFailure(); ++i)
    aio::testing::run_test(proc_test_body_Subprocess_AWriteStillWaitingWhenTheLoopClosesLetsGoOfItsPipe());
  expect_no_children_left();
}

PROC_TEST(Subprocess, WaitForTimeoutOnWait) {
  // aio's own: wait_for(p.wait(), small) times out and the child survives it.
  aio::Process proc = co_await aio::create_subprocess_exec(blocked());
  std::exception_ptr e = co_await error_of(aio::wait_for(proc.wait(), 0.01));
  EXPECT_TRUE(holds<aio::TimeoutError>(e)) << what_of(e);
  EXPECT_FALSE(proc.returncode().has_value());
  proc.terminate();
  EXPECT_EQ(co_await wait_bounded(proc), -SIGTERM);
}
