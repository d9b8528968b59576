// aio::run and manual EventLoop driving — a port of CPython's
// Lib/test/test_asyncio/test_runners.py (3.13), where it applies.
//
// Ported: test_asyncio_run_return, _raises, _debug, _from_running_loop,
// _cancels_hanging_tasks, _reports_hanging_tasks_errors, the hanging-task part of
// _closes_gens_after_hanging_tasks_errors, RunnerTests.test_run / test_double_close /
// test_recursive_run (on a manual EventLoop), test_interrupt_wait (SIGINT cancels main,
// in a death test so an unhandled SIGINT cannot kill the test binary).
// Added: AIO_DEBUG / AIO_BACKEND environment overrides, consecutive runs, aio::run on
// another thread, get_running_loop() outside a loop, the backends where a seccomp filter
// refuses io_uring.
//
// Skipped (Python-only): run_only_coro / run_non_coro / run_future (the type system
// rejects non-coroutines), loop policies and set_event_loop, custom loop/task factories
// (test_custom_factory, run_without_uncancel), async generators (shutdown_asyncgens),
// contextvars (test_run_keeps_context), the asyncio.Runner class itself (aio has none),
// test_signal_install_not_supported_ok (signal.signal patching).
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <aio/aio.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdlib>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace aio_test;

namespace {

struct FancyExit : std::runtime_error {
  FancyExit() : std::runtime_error("fancy exit") {}
};

// --- return value and exception ---------------------------------------------------------

aio::Coro<int> main_returning_42() {
  co_await aio::sleep(0);
  co_return 42;
}

TEST(Run, ReturnsMainsValue) { EXPECT_EQ(aio::run(main_returning_42()), 42); }

aio::Coro<void> main_raising_spam() {
  co_await aio::sleep(0);
  throw std::invalid_argument("spam");
}

TEST(Run, RethrowsMainsException) {
  try {
    aio::run(main_raising_spam());
    ADD_FAILURE() << "aio::run did not throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "spam");
  }
}

aio::Coro<void> main_cancelling_itself(double& cancelled_after) {
  aio::EventLoop& loop = aio::get_running_loop();
  double t0 = loop.time();
  aio::current_task()->cancel("bye");
  try {
    co_await aio::sleep(2);  // the pending cancel interrupts it at once
  } catch (const aio::CancelledError&) {
    cancelled_after = loop.time() - t0;
    throw;
  }
}

TEST(Run, RethrowsCancelledErrorOfACancelledMain) {
  double cancelled_after = -1;
  try {
    aio::run(main_cancelling_itself(cancelled_after));
    ADD_FAILURE() << "aio::run did not throw";
  } catch (const aio::CancelledError& e) {
    EXPECT_EQ(e.message(), "bye");
  }
  EXPECT_GE(cancelled_after, 0.0);
  EXPECT_LT(cancelled_after, 1.0);
}

aio::Coro<std::string> main_returning_move_only() {
  co_await aio::sleep(0);
  co_return std::string(1000, 'x');
}

TEST(Run, ReturnsNonTrivialValues) { EXPECT_EQ(aio::run(main_returning_move_only()), std::string(1000, 'x')); }

// --- misuse -------------------------------------------------------------------------------

aio::Coro<int> inner_main() { co_return 1; }

aio::Coro<void> main_calling_run(bool& usage_error) {
  try {
    aio::run(inner_main());
  } catch (const aio::UsageError&) {
    usage_error = true;
  }
  co_return;
}

TEST(Run, InsideARunningLoopThrowsUsageError) {
  bool usage_error = false;
  aio::run(main_calling_run(usage_error));
  EXPECT_TRUE(usage_error);
}

TEST(Run, GetRunningLoopOutsideALoopThrowsUsageError) {
  EXPECT_THROW(aio::get_running_loop(), aio::UsageError);
  EXPECT_FALSE(aio::current_task().has_value());
  EXPECT_THROW(aio::all_tasks(), aio::UsageError);
  EXPECT_THROW(aio::create_task(inner_main()), aio::UsageError);
}

// --- leftover tasks -----------------------------------------------------------------------

struct Leftovers {
  bool caught_cancel = false;
  bool guard_destroyed = false;
  bool slow_cleanup_finished = false;
  aio::Task<void> sleeper, guarded, slow;
};

struct Guard {
  bool* flag;
  ~Guard() { *flag = true; }
};

aio::Coro<void> leftover_catching(bool& caught) {
  try {
    co_await aio::sleep(10);
  } catch (const aio::CancelledError&) {
    caught = true;
    throw;
  }
}

aio::Coro<void> leftover_guarded(bool& destroyed) {
  Guard g{&destroyed};
  co_await aio::sleep(10);
}

aio::Coro<void> leftover_slow_cleanup(bool& finished) {
  std::exception_ptr cancel;
  try {
    co_await aio::sleep(10);
  } catch (const aio::CancelledError&) {
    cancel = std::current_exception();
  }
  co_await aio::sleep(0.01);  // cleanup that needs the loop
  finished = true;
  if (cancel) std::rethrow_exception(cancel);
}

aio::Coro<int> main_leaving_tasks(Leftovers& s) {
  s.sleeper = aio::create_task(leftover_catching(s.caught_cancel));
  s.guarded = aio::create_task(leftover_guarded(s.guard_destroyed));
  s.slow = aio::create_task(leftover_slow_cleanup(s.slow_cleanup_finished));
  co_await aio::sleep(0);  // let them start
  co_return 123;
}

TEST(Run, CancelsAndFinishesTasksStillAliveWhenMainReturns) {
  Leftovers s;
  EXPECT_EQ(aio::run(main_leaving_tasks(s)), 123);
  EXPECT_TRUE(s.caught_cancel);
  EXPECT_TRUE(s.guard_destroyed);
  EXPECT_TRUE(s.slow_cleanup_finished);
  ASSERT_TRUE(s.sleeper && s.guarded && s.slow);
  EXPECT_TRUE(s.sleeper.done());
  EXPECT_TRUE(s.sleeper.cancelled());
  EXPECT_TRUE(s.guarded.cancelled());
  EXPECT_TRUE(s.slow.cancelled());
}

aio::Coro<void> leftover_failing_on_cancel() {
  try {
    co_await aio::sleep(10);
  } catch (const aio::CancelledError&) {
    throw ZeroDivisionError();
  }
}

struct Reported {
  std::vector<aio::ExceptionContext> contexts;
  aio::Task<void> leftover;
};

aio::Coro<int> main_with_failing_leftover(Reported& r, bool raise_fancy_exit) {
  aio::get_running_loop().set_exception_handler(
      [&r](aio::EventLoop&, const aio::ExceptionContext& c) { r.contexts.push_back(c); });
  r.leftover = aio::create_task(leftover_failing_on_cancel(), "lazyboy");
  co_await aio::sleep(0);
  if (raise_fancy_exit) throw FancyExit();
  co_return 123;
}

void expect_reported_once(const Reported& r) {
  ASSERT_EQ(r.contexts.size(), 1u);
  const aio::ExceptionContext& c = r.contexts[0];
  EXPECT_NE(c.message.find("aio::run"), std::string::npos) << c.message;
  EXPECT_NE(c.message.find("shutdown"), std::string::npos) << c.message;
  EXPECT_EQ(c.message, "unhandled exception during aio::run() shutdown");
  EXPECT_EQ(c.task_name, "lazyboy");
  ASSERT_TRUE(c.exception);
  EXPECT_THROW(std::rethrow_exception(c.exception), ZeroDivisionError);
}

TEST(Run, ReportsErrorsOfLeftoverTasksThroughTheExceptionHandler) {
  Reported r;
  EXPECT_EQ(aio::run(main_with_failing_leftover(r, false)), 123);
  ASSERT_TRUE(r.leftover);
  EXPECT_TRUE(r.leftover.done());
  expect_reported_once(r);
}

TEST(Run, MainsExceptionWinsAndLeftoversAreStillFinished) {
  Reported r;
  EXPECT_THROW(aio::run(main_with_failing_leftover(r, true)), FancyExit);
  ASSERT_TRUE(r.leftover);
  EXPECT_TRUE(r.leftover.done());
  expect_reported_once(r);
}

// --- debug mode and the environment ---------------------------------------------------------

aio::Coro<bool> main_reporting_debug() {
  co_await aio::sleep(0);
  co_return aio::get_running_loop().get_debug();
}

TEST(Run, DebugOption) {
  ScopedEnv no_env("AIO_DEBUG", nullptr);
  EXPECT_FALSE(aio::run(main_reporting_debug()));
  EXPECT_TRUE(aio::run(main_reporting_debug(), aio::RunOptions{.debug = true}));
  EXPECT_FALSE(aio::run(main_reporting_debug(), aio::RunOptions{.debug = false}));
}

TEST(Run, AioDebugEnvironmentVariableTurnsDebugOn) {
  {
    ScopedEnv env("AIO_DEBUG", "1");
    EXPECT_TRUE(aio::run(main_reporting_debug()));
  }
  {
    ScopedEnv env("AIO_DEBUG", nullptr);
    EXPECT_FALSE(aio::run(main_reporting_debug()));
  }
}

aio::Coro<std::string> main_reporting_backend() {
  co_await aio::sleep(0);
  co_return std::string(aio::get_running_loop().backend_name());
}

TEST(Run, BackendOptionAndEnvironment) {
  {
    ScopedEnv unset("AIO_BACKEND", nullptr);  // (the suite may run with one forced)
    EXPECT_EQ(aio::run(main_reporting_backend(), aio::RunOptions{.backend = aio::Backend::epoll}), "epoll");
  }
  ScopedEnv env("AIO_BACKEND", "epoll");
  EXPECT_EQ(aio::run(main_reporting_backend()), "epoll");
  EXPECT_EQ(aio::run(main_reporting_backend(), aio::RunOptions{.backend = aio::Backend::io_uring}), "epoll");
}

// --- several runs, several threads -------------------------------------------------------

aio::Coro<int> main_adding(int a, int b) {
  co_await aio::sleep(0.001);
  co_return a + b;
}

TEST(Run, TwoConsecutiveRuns) {
  EXPECT_EQ(aio::run(main_adding(1, 2)), 3);
  EXPECT_THROW(aio::get_running_loop(), aio::UsageError);
  EXPECT_EQ(aio::run(main_adding(3, 4)), 7);
  EXPECT_THROW(aio::get_running_loop(), aio::UsageError);
}

struct ThreadRun {
  std::atomic<bool> done{false};
  int result = 0;
  aio::EventLoop* thread_loop = nullptr;
  bool thread_saw_no_loop_before = false;
  std::string error;
};

aio::Coro<int> thread_main(ThreadRun& t) {
  t.thread_loop = &aio::get_running_loop();
  co_await aio::sleep(0.005);
  co_return 7;
}

aio::Coro<int> main_with_a_thread(ThreadRun& t, aio::EventLoop*& main_loop) {
  main_loop = &aio::get_running_loop();
  std::thread th([&t] {
    try {
      aio::get_running_loop();  // this thread has no loop, even though the main thread has
    } catch (const aio::UsageError&) {
      t.thread_saw_no_loop_before = true;
    }
    try {
      t.result = aio::run(thread_main(t));
    } catch (const std::exception& e) {
      t.error = e.what();
    }
    t.done = true;
  });
  while (!t.done) co_await aio::sleep(0.001);  // this loop keeps running meanwhile
  th.join();
  co_return 35;
}

TEST(Run, RunsOnAnotherThreadWhileThisThreadRunsOneToo) {
  ThreadRun t;
  aio::EventLoop* main_loop = nullptr;
  EXPECT_EQ(aio::run(main_with_a_thread(t, main_loop)), 35);
  EXPECT_EQ(t.error, "");
  EXPECT_EQ(t.result, 7);
  EXPECT_TRUE(t.thread_saw_no_loop_before);
  EXPECT_NE(t.thread_loop, nullptr);
  EXPECT_NE(t.thread_loop, main_loop);
}

TEST(Run, RunsOnAPlainThread) {
  int result = 0;
  std::string error;
  std::thread th([&] {
    try {
      result = aio::run(main_adding(20, 22));
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  th.join();
  EXPECT_EQ(error, "");
  EXPECT_EQ(result, 42);
}

// --- a manual EventLoop -------------------------------------------------------------------

aio::Coro<int> check_running_on(aio::EventLoop& expected, bool& ok) {
  ok = &aio::get_running_loop() == &expected && expected.is_running();
  co_await aio::sleep(0.001);
  co_return 5;
}

aio::Coro<void> nested_run_until_complete(aio::EventLoop& loop, bool& same_loop_error, bool& other_loop_error) {
  try {
    loop.run_until_complete(inner_main());
  } catch (const aio::UsageError&) {
    same_loop_error = true;
  }
  aio::EventLoop other;
  try {
    other.run_until_complete(inner_main());
  } catch (const aio::UsageError&) {
    other_loop_error = true;
  }
  co_return;
}

// Whether a loop may run on io_uring in this process (not, say, in a container whose
// seccomp profile refuses it): asked the way a user would, by forcing it.
bool io_uring_allowed_here() {
  try {
    aio::EventLoop probe(aio::LoopOptions{.backend = aio::Backend::io_uring});
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

TEST(ManualLoop, WhereASeccompFilterRefusesIoUring) {
  // A child process whose seccomp filter refuses io_uring_setup (EPERM), as container
  // runtimes' default profiles do: forcing io_uring throws an error that says so, and
  // Backend::automatic runs on epoll, saying why in debug mode. The child reports through
  // its exit status and a pipe.
  ScopedEnv unset("AIO_BACKEND", nullptr);
  ScopedEnv debug("AIO_DEBUG", "1");
  int out[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(out[0]);
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog program{static_cast<unsigned short>(std::size(filter)), filter};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0)
      ::_exit(3);
    std::string error;
    int status = 4;  // forcing io_uring did not throw
    try {
      aio::EventLoop forced(aio::LoopOptions{.backend = aio::Backend::io_uring});
    } catch (const std::exception& e) {
      error = e.what();
      status = 0;
    }
    std::string logged;
    aio::set_log_sink([&logged](std::string_view line) { logged.append(line).append("\n"); });
    try {
      aio::EventLoop loop;
      if (status == 0 && loop.backend_name() != "epoll") status = 1;
    } catch (...) {
      status = 2;
    }
    aio::set_log_sink({});
    error.append("\n").append(logged);
    [[maybe_unused]] ssize_t n = ::write(out[1], error.data(), error.size());
    ::_exit(status);
  }
  ::close(out[1]);
  std::string error_text;
  char buf[512];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) error_text.append(buf, static_cast<std::size_t>(n));
  ::close(out[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_NE(WEXITSTATUS(status), 3) << "the child could not install its seccomp filter";
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "4: forcing io_uring did not throw; 1: Backend::automatic did not run on epoll; 2: it threw";
  // (The reason comes from the probe, or from the ring's setup when the probe ran before fork.)
  EXPECT_NE(error_text.find("not permitted"), std::string::npos) << error_text;
  EXPECT_NE(error_text.find("Backend::automatic: io_uring unavailable ("), std::string::npos) << error_text;
  EXPECT_NE(error_text.find("); using epoll"), std::string::npos) << error_text;
}

TEST(ManualLoop, RunUntilCompleteAndLifecycle) {
  ScopedEnv unset("AIO_BACKEND", nullptr);  // (the suite may run with one forced)
  aio::EventLoop loop;
  EXPECT_FALSE(loop.is_running());
  EXPECT_FALSE(loop.is_closed());
  // Backend::automatic's choice (see README): io_uring where the kernel allows it.
  EXPECT_EQ(loop.backend_name(), io_uring_allowed_here() ? "io_uring" : "epoll");

  bool ok = false;
  EXPECT_EQ(loop.run_until_complete(check_running_on(loop, ok)), 5);
  EXPECT_TRUE(ok);
  EXPECT_FALSE(loop.is_running());
  EXPECT_THROW(aio::get_running_loop(), aio::UsageError);

  // The loop can be run again.
  ok = false;
  aio::Task<int> t = loop.create_task(check_running_on(loop, ok), "again");
  EXPECT_EQ(t.get_name(), "again");
  EXPECT_EQ(loop.run_until_complete(t), 5);
  EXPECT_TRUE(ok);
  EXPECT_TRUE(t.done());

  // Running it from inside itself, or another loop inside it: UsageError (test_recursive_run).
  bool same_loop_error = false, other_loop_error = false;
  loop.run_until_complete(nested_run_until_complete(loop, same_loop_error, other_loop_error));
  EXPECT_TRUE(same_loop_error);
  EXPECT_TRUE(other_loop_error);
  EXPECT_FALSE(loop.is_running());

  loop.close();
  EXPECT_TRUE(loop.is_closed());
  EXPECT_FALSE(loop.is_running());
  loop.close();  // a second close is a no-op (test_double_close)
  EXPECT_TRUE(loop.is_closed());
  EXPECT_THROW(loop.run_until_complete(inner_main()), aio::UsageError);
  EXPECT_THROW(loop.run_forever(), aio::UsageError);
}

TEST(ManualLoop, ExplicitEpollBackend) {
  aio::EventLoop loop(aio::LoopOptions{.backend = aio::Backend::epoll});
  EXPECT_EQ(loop.backend_name(), "epoll");
  bool ok = false;
  EXPECT_EQ(loop.run_until_complete(check_running_on(loop, ok)), 5);
  EXPECT_TRUE(ok);
}

aio::Coro<int> failing_main() {
  co_await aio::sleep(0);
  throw ZeroDivisionError();
}

TEST(ManualLoop, RunUntilCompleteRethrows) {
  aio::EventLoop loop;
  EXPECT_THROW(loop.run_until_complete(failing_main()), ZeroDivisionError);
  EXPECT_FALSE(loop.is_running());
  EXPECT_EQ(loop.run_until_complete(main_adding(2, 2)), 4);  // still usable
}

// --- SIGINT (test_interrupt_wait) ------------------------------------------------------------

aio::Coro<void> main_waiting_for_sigint(bool& main_cancelled, bool& future_cancelled) {
  aio::EventLoop& loop = aio::get_running_loop();
  aio::Future<void> fut = loop.create_future<void>();
  loop.call_later(0.01, [] { std::raise(SIGINT); });
  loop.call_later(3.0, [fut]() mutable {  // safety net: never hang if SIGINT is ignored
    if (!fut.done()) fut.set_result();
  });
  try {
    co_await fut;
  } catch (const aio::CancelledError&) {
    main_cancelled = true;
    future_cancelled = fut.cancelled();
    throw;
  }
}

// Runs in the death test's child: exit code 0 when SIGINT cancelled main (and the future
// it awaited) and aio::run threw; 3/4/5 say which part did not happen.
[[noreturn]] void run_main_and_exit_with_verdict() {
  bool main_cancelled = false;
  bool future_cancelled = false;
  bool run_threw = false;
  try {
    aio::run(main_waiting_for_sigint(main_cancelled, future_cancelled));
  } catch (...) {
    run_threw = true;
  }
  std::_Exit(!main_cancelled ? 3 : !future_cancelled ? 4 : !run_threw ? 5 : 0);
}

TEST(RunDeathTest, SigintCancelsMain) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(run_main_and_exit_with_verdict(), ::testing::ExitedWithCode(0), "");
}

}  // namespace
