// Debug-mode diagnostics and misuse errors of coroutines.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

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

std::string short_function_name(const char* signature) {
  std::string_view s = signature ? signature : "";
  // A signature ends with its parameter list (then maybe " const", " &&", ...): find the
  // '(' that opens it, then the name starts after the last space outside <> before it.
  std::size_t close = s.rfind(')');
  if (close == std::string_view::npos || s.find("<lambda") != std::string_view::npos) return std::string(s);
  int depth = 0;
  std::size_t open = std::string_view::npos;
  for (std::size_t i = close + 1; i-- > 0;) {
    if (s[i] == ')') ++depth;
    if (s[i] == '(' && --depth == 0) {
      open = i;
      break;
    }
  }
  if (open == std::string_view::npos || open == 0) return std::string(s);
  int angle = 0;
  std::size_t start = 0;
  for (std::size_t i = open; i-- > 0;) {
    if (s[i] == '>') ++angle;
    if (s[i] == '<') --angle;
    if (s[i] == ' ' && angle == 0) {
      start = i + 1;
      break;
    }
  }
  // Qualified as written (`app::Server::handle`), less the anonymous namespace.
  std::string name(s.substr(start, open - start));
  for (std::size_t at; (at = name.find("{anonymous}::")) != std::string::npos;) name.erase(at, 13);
  return name;
}

void report_never_awaited(const char* name) noexcept {
  try {
    std::string shown = name && *name ? short_function_name(name) : "<unknown>";
    log_line("coroutine '" + shown + "' was never awaited");
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
