// Debug-mode diagnostics and misuse errors of coroutines.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "aio/coro.hpp"
#include "aio/loop.hpp"

namespace aio::detail {

namespace {

bool env_debug() {
  static const bool on = [] {
    const char* v = std::getenv("AIO_DEBUG");
    return v && *v && std::string(v) != "0";
  }();
  return on;
}

}  // namespace

bool debug_enabled_here() noexcept {
  if (EventLoop* l = tls_run.loop) return l->get_debug();
  return env_debug();
}

void report_never_awaited(const char* name) noexcept {
  try {
    log_line(std::string("coroutine '") + (name && *name ? name : "<unknown>") + "' was never awaited");
  } catch (...) {
  }
}

void throw_bad_coro_await(bool empty) {
  if (empty)
    throw UsageError("co_await on an empty Coro: it was moved from or handed to a task; await the task instead");
  throw UsageError(
      "co_await on a Coro that was already awaited: a Coro runs once; to await a result from "
      "several places, wrap it in aio::create_task() and await the task");
}

}  // namespace aio::detail
