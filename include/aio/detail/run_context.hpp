// What the running code needs to find cheaply: the loop and task it runs in, and the
// resume trampoline.
#pragma once

#include <coroutine>
#include <exception>

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
  // Where a failed void coroutine leaves its exception for the coroutine that resumes
  // next — its awaiter, or its task — which takes it at once (the trampoline's local):
  // one word less in every void coroutine's frame.
  std::exception_ptr* failure = nullptr;
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
  std::exception_ptr failure;
  std::exception_ptr* outer_failure = ctx.failure;
  ctx.failure = &failure;
  for (;;) {
    ctx.running = h;
    h.resume();
    h = ctx.next;
    if (!h) break;
    ctx.next = nullptr;
  }
  ctx.failure = outer_failure;
}

}  // namespace aio::detail
