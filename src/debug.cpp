// Debug-mode diagnostics and misuse errors of coroutines.
#include <cxxabi.h>
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "aio/coro.hpp"
#include "aio/loop.hpp"

namespace aio::detail {

namespace {

// Both GCC and Clang put the resume function's address first in a coroutine frame; its
// symbol names the coroutine ("fetch(int) [clone .actor]" / "fetch(int) (.resume)").
std::string coroutine_name(std::coroutine_handle<> h) {
  void* resume_fn = *static_cast<void**>(h.address());
  Dl_info info{};
  if (dladdr(resume_fn, &info) && info.dli_sname) {
    int status = 0;
    char* d = abi::__cxa_demangle(info.dli_sname, nullptr, nullptr, &status);
    std::string name = status == 0 && d ? d : info.dli_sname;
    std::free(d);
    for (const char* suffix : {" [clone .actor]", " (.resume)", ".actor", ".resume"}) {
      auto pos = name.rfind(suffix);
      if (pos != std::string::npos) name.erase(pos);
    }
    return name;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "<coroutine at %p>", h.address());
  return buf;
}

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

void report_never_awaited(std::coroutine_handle<> h) noexcept {
  try {
    log_line("coroutine '" + coroutine_name(h) + "' was never awaited");
  } catch (...) {
  }
}

void throw_bad_coro_await(bool empty) {
  if (empty)
    throw UsageError("co_await on an empty Coro: it was moved from or handed to a task; await the task instead");
  throw UsageError("co_await on a Coro that was already awaited: a Coro runs once; to await a result from "
                   "several places, wrap it in aio::create_task() and await the task");
}

}  // namespace aio::detail
