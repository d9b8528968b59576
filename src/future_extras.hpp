// FutureCore's rarely used state (see future_core.hpp).
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "aio/detail/context.hpp"
#include "aio/detail/future_core.hpp"

namespace aio::detail {

struct FutureCore::Extras {
  std::exception_ptr exception;  // set with has_exception_: a failure or a cancellation
  std::uint64_t next_callback_id = 1;
  int cancel_requests = 0;     // a task's cancel() requests not yet uncancel()ed
  std::string name;            // a task's name; empty: "Task-<id>"
  std::string cancel_message;  // a task's pending cancel() message
  ContextSlot context;         // a task's ContextVar values (copied from its creator's)
  // The coroutines the task's last exception left, innermost first (never-retrieved report).
  struct TracedFrame {
    const char* function;
    const char* file;
    unsigned line;
  };
  std::vector<TracedFrame> error_trace;
  std::exception_ptr traced_error;
};

}  // namespace aio::detail
