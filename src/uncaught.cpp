// What happens when an exception leaves main in a program that uses aio::run: Python's
// way. KeyboardInterrupt ends the process by SIGINT after one line on stderr (the shell
// then sees status 130, and a script running the program stops too); any other
// exception is named — type and message — before the usual abort().
//
// The hook is std::terminate's handler: an exception that no handler catches calls it
// before any unwinding, with the exception still current. It is installed by aio::run,
// not at start-up, so that a program that never runs a loop keeps the C++ runtime's
// behaviour; and only over the handler the process started with, so that a program's
// own handler wins whether it was set before or after the first aio::run.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "aio/errors.hpp"
#include "aio/runner.hpp"

namespace aio::detail {

namespace {

// The C++ runtime's handler ("terminate called after throwing an instance of ..."),
// captured before main. It still serves std::terminate() calls without an exception.
const std::terminate_handler startup_terminate_handler = std::get_terminate();

void write_to_stderr(const std::string& text) noexcept {
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) return;  // nowhere to say it; the exit status still tells
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

// Python's exit after an uncaught KeyboardInterrupt (Modules/main.c, exit_sigint): flush,
// then kill ourselves with SIGINT at its default disposition, unblocked.
[[noreturn]] void die_by_sigint() noexcept {
  std::fflush(nullptr);
  ::signal(SIGINT, SIG_DFL);
  sigset_t sigint_only;
  sigemptyset(&sigint_only);
  sigaddset(&sigint_only, SIGINT);
  ::pthread_sigmask(SIG_UNBLOCK, &sigint_only, nullptr);
  ::raise(SIGINT);
  std::_Exit(128 + SIGINT);  // only if SIGINT could not kill us: the shell's number for it
}

bool is_keyboard_interrupt(const std::exception_ptr& e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const KeyboardInterrupt&) {
    return true;
  } catch (...) {
  }
  return false;
}

[[noreturn]] void report_uncaught_exception() noexcept {
  std::exception_ptr e = std::current_exception();
  if (!e) {
    // std::terminate() called for another reason (a joinable std::thread destroyed, ...).
    if (startup_terminate_handler) startup_terminate_handler();
    std::abort();
  }
  if (is_keyboard_interrupt(e)) {
    write_to_stderr("KeyboardInterrupt\n");
    die_by_sigint();
  }
  try {
    write_to_stderr("aio: uncaught exception " + describe(e) + "\n");
  } catch (...) {
    write_to_stderr("aio: uncaught exception (it could not be described)\n");
  }
  std::abort();
}

}  // namespace

void install_uncaught_exception_report() noexcept {
  static const bool installed = [] {
    if (std::get_terminate() != startup_terminate_handler) return false;  // the program's own
    std::set_terminate(&report_uncaught_exception);
    return true;
  }();
  (void)installed;
}

}  // namespace aio::detail
