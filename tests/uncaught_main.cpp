// A program whose main lets an exception escape, for tests/test_errors.cpp: how the
// process ends (signal, exit code) and what it prints, with argv[1] naming the scenario.
#include <signal.h>
#include <unistd.h>

#include <aio/aio.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>

namespace {

// Unbuffered, so that the line is out even when the process aborts.
void say(const char* line) {
  if (::write(STDOUT_FILENO, line, std::strlen(line)) < 0) std::_Exit(99);
}

// Buffered (stdout is a pipe): the line is out only if the process flushes stdio.
void say_buffered(const char* line) { std::fputs(line, stdout); }

// Waits until cancelled (nothing completes the future).
aio::Coro<void> wait_forever() {
  aio::Future<void> never = aio::get_running_loop().create_future<void>();
  co_await never;
}

// A task the shutdown must cancel: what it says on the way out shows that the tasks got
// their cleanup before the process ended.
aio::Coro<void> background(void (*report)(const char*)) {
  try {
    co_await wait_forever();
  } catch (const aio::CancelledError&) {
    report("background task cancelled\n");
    throw;
  }
}

aio::Coro<void> interrupted_main() {
  say_buffered("main started\n");  // Python flushes its streams on the way out; so must we
  aio::Task<void> bg = aio::create_task(background(&say_buffered));
  co_await aio::sleep(0);  // bg starts waiting
  ::raise(SIGINT);         // as if Ctrl-C: run cancels this coroutine
  co_await wait_forever();
}

aio::Coro<void> main_waiting_for_ctrl_c() {
  std::printf("ready\n");
  std::fflush(stdout);
  co_await aio::sleep(3600);
}

aio::Coro<void> main_throwing_keyboard_interrupt() {
  co_await aio::sleep(0);
  throw aio::KeyboardInterrupt();
}

aio::Coro<void> main_timing_out() {
  aio::Task<void> bg = aio::create_task(background(&say));
  co_await aio::sleep(0);
  throw aio::TimeoutError("no reply from the database within 5 s");
}

aio::Coro<void> main_refused() {
  co_await aio::sleep(0);
  throw std::system_error(ECONNREFUSED, std::generic_category(), "connect to 10.0.0.1:443");
}

aio::Coro<void> main_cancelled() {
  co_await aio::sleep(0);
  throw aio::CancelledError("shutting down");
}

aio::Coro<void> failing_child() {
  co_await aio::sleep(0);
  throw std::runtime_error("child failed");
}

aio::Coro<void> main_with_failing_task_group() {
  auto body = [](aio::TaskGroup& tg) -> aio::Coro<void> {
    tg.create_task(failing_child());
    tg.create_task(wait_forever());  // cancelled by the failure: not in the group
    co_return;
  };
  co_await aio::task_group(body);
}

aio::Coro<void> main_throwing_int() {
  co_await aio::sleep(0);
  throw 42;
}

aio::Coro<void> main_ok() { co_return; }

[[noreturn]] void programs_own_terminate_handler() {
  say("the program's own terminate handler\n");
  std::_Exit(3);
}

int run_scenario(const std::string& scenario) {
  if (scenario == "keyboard-interrupt") {
    aio::run(interrupted_main());
  } else if (scenario == "wait-for-ctrl-c") {
    aio::run(main_waiting_for_ctrl_c());
  } else if (scenario == "keyboard-interrupt-caught") {
    // The README's way to end quietly on Ctrl-C.
    try {
      aio::run(interrupted_main());
    } catch (const aio::KeyboardInterrupt&) {
      say_buffered("interrupted, bye\n");
      return 1;
    }
  } else if (scenario == "keyboard-interrupt-with-sigint-ignored-and-blocked") {
    ::signal(SIGINT, SIG_IGN);
    sigset_t sigint_only;
    sigemptyset(&sigint_only);
    sigaddset(&sigint_only, SIGINT);
    ::sigprocmask(SIG_BLOCK, &sigint_only, nullptr);
    aio::run(main_throwing_keyboard_interrupt());
  } else if (scenario == "timeout-error") {
    aio::run(main_timing_out());
  } else if (scenario == "system-error") {
    aio::run(main_refused());
  } else if (scenario == "cancelled") {
    aio::run(main_cancelled());
  } else if (scenario == "task-group") {
    aio::run(main_with_failing_task_group());
  } else if (scenario == "unknown-type") {
    aio::run(main_throwing_int());
  } else if (scenario == "own-handler-set-before-run") {
    std::set_terminate(&programs_own_terminate_handler);
    aio::run(main_refused());
  } else if (scenario == "own-handler-set-after-run") {
    aio::run(main_ok());
    std::set_terminate(&programs_own_terminate_handler);
    aio::run(main_refused());
  } else if (scenario == "terminate-without-exception") {
    aio::run(main_ok());
    std::terminate();
  } else if (scenario == "no-run") {
    throw aio::TimeoutError("thrown without aio::run");
  } else {
    std::fprintf(stderr, "uncaught_main: unknown scenario '%s'\n", scenario.c_str());
    return 2;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: uncaught_main SCENARIO\n");
    return 2;
  }
  // Start as a program started from an interactive shell would: SIGINT at its default
  // (a test runner may have started us with it ignored).
  ::signal(SIGINT, SIG_DFL);
  return run_scenario(argv[1]);
}
