// What the running code needs to find cheaply: the loop and task it runs in, and the
// resume trampoline.
#pragma once

#include <coroutine>

namespace aio {
class EventLoop;
}

namespace aio::detail {

class TaskBase;

struct RunContext {
  EventLoop* loop = nullptr;          // the loop running on this thread, if any
  TaskBase* task = nullptr;           // the task whose step is executing, if any
  std::coroutine_handle<> next{};     // the trampoline's next coroutine to resume
  std::coroutine_handle<> running{};  // the coroutine the trampoline resumed last (call graphs)
  EventLoop* constructed = nullptr;   // the newest loop object alive on this thread
};

// Trivially constructible: reads compile to one TLS access, no initialisation guard.
inline constinit thread_local RunContext tls_run{};

/// Resumes `h` and then every coroutine handed over through `tls_run.next`.
///
/// Why a trampoline instead of returning the next handle from await_suspend (symmetric
/// transfer): GCC 12 does not turn symmetric transfer into a tail call at -O0 or under
/// AddressSanitizer, so a long chain of awaits that complete at once grows the stack until
/// it overflows. Here a suspending coroutine stores its successor and returns; this loop
/// resumes it, so the stack depth stays constant with every compiler and option.
inline void resume_chain(std::coroutine_handle<> h) {
  RunContext& ctx = tls_run;
  for (;;) {
    ctx.running = h;
    h.resume();
    h = ctx.next;
    if (!h) return;
    ctx.next = nullptr;
  }
}

}  // namespace aio::detail
