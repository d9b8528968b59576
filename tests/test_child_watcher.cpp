// How aio watches its children: the pidfd path (the default on Linux 5.3+) and the
// SIGCHLD fallback (kernels without pidfd_open), forced here through a test hook. Both
// must report the same return codes, reap every child (no zombies), and leave SIGCHLD's
// disposition as they found it.
#include <signal.h>
#include <sys/wait.h>

#include <string>
#include <vector>

#include "process/process_state.hpp"
#include "support.hpp"

#include <aio/subprocess.hpp>

namespace {

// True when this process has a child that exited and was not reaped (a zombie).
bool has_zombie_child() {
  siginfo_t info{};
  info.si_pid = 0;
  // WNOWAIT: look without reaping; WNOHANG: do not wait for running children.
  int r = ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT);
  return r == 0 && info.si_pid != 0;
}

void* sigchld_handler() {
  struct sigaction current {};
  ::sigaction(SIGCHLD, nullptr, &current);
  return reinterpret_cast<void*>(current.sa_handler);
}

class SigchldWatcher : public ::testing::Test {
 protected:
  void SetUp() override { aio::detail::force_sigchld_child_watcher(true); }
  void TearDown() override { aio::detail::force_sigchld_child_watcher(false); }
};

aio::Coro<int> exit_code_of(std::string cmd) {
  aio::Process p = co_await aio::create_subprocess_shell(cmd);
  int rc = co_await p.wait();
  co_return rc;
}

aio::Coro<void> return_codes() {
  EXPECT_EQ(co_await exit_code_of("exit 0"), 0);
  EXPECT_EQ(co_await exit_code_of("exit 3"), 3);
  EXPECT_EQ(co_await exit_code_of("kill -TERM $$"), -SIGTERM);
  aio::Process p = co_await aio::create_subprocess_exec("sleep", "30");
  EXPECT_FALSE(p.returncode().has_value());
  p.kill();
  EXPECT_EQ(co_await p.wait(), -SIGKILL);
  EXPECT_EQ(p.returncode(), -SIGKILL);
}

aio::Coro<void> many_at_once() {
  std::vector<aio::Coro<int>> waits;
  for (int i = 0; i < 20; ++i) waits.push_back(exit_code_of("exit " + std::to_string(i)));
  std::vector<int> codes = co_await aio::gather(std::move(waits));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(codes[static_cast<std::size_t>(i)], i);
}

aio::Coro<void> dropped_child_is_killed_and_reaped() {
  pid_t pid;
  {
    aio::Process p = co_await aio::create_subprocess_exec("sleep", "30");
    pid = p.pid();
  }  // dropped while running: SIGKILL, reaped by the watcher
  for (int i = 0; i < 200 && ::kill(pid, 0) == 0; ++i) co_await aio::sleep(0.01);
  EXPECT_NE(::kill(pid, 0), 0) << "the dropped child is still there (running or a zombie)";
  EXPECT_FALSE(has_zombie_child());
}

}  // namespace

TEST_F(SigchldWatcher, ReturnCodes) {
  void* before = sigchld_handler();
  aio::run(return_codes());
  EXPECT_EQ(sigchld_handler(), before) << "the fallback must put SIGCHLD's disposition back";
  EXPECT_FALSE(has_zombie_child());
}

TEST_F(SigchldWatcher, ManyChildrenAtOnce) {
  aio::run(many_at_once());
  EXPECT_FALSE(has_zombie_child());
}

TEST_F(SigchldWatcher, DroppedChildIsKilledAndReaped) { aio::run(dropped_child_is_killed_and_reaped()); }

AIO_TEST(PidfdWatcher, ReturnCodes) { co_await return_codes(); }
AIO_TEST(PidfdWatcher, ManyChildrenAtOnce) { co_await many_at_once(); }
AIO_TEST(PidfdWatcher, DroppedChildIsKilledAndReaped) { co_await dropped_child_is_killed_and_reaped(); }

// Closing the loop with a child still running kills it and reaps it at once.
TEST(ChildWatcher, LoopCloseReapsRunningChild) {
  pid_t pid = -1;
  {
    aio::EventLoop loop;
    auto start = [&]() -> aio::Coro<aio::Process> {
      aio::Process p = co_await aio::create_subprocess_exec("sleep", "30");
      co_return p;
    };
    aio::Process p = loop.run_until_complete(start());
    pid = p.pid();
    loop.close();
    EXPECT_EQ(p.returncode(), -SIGKILL);
  }
  EXPECT_NE(::kill(pid, 0), 0);
  EXPECT_FALSE(has_zombie_child());
}
