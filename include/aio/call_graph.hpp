// Seeing into a running program: every task's chain of awaiting coroutines, and what the
// innermost one waits on (Python 3.14's asyncio.capture_call_graph / print_call_graph).
#pragma once

#include <string>
#include <vector>

#include "aio/task.hpp"

namespace aio {

/// One coroutine of a task's await chain.
struct FrameInfo {
  std::string function;  // the coroutine function's name ("operator()" for a lambda)
  std::string file;      // where it is defined
  unsigned line = 0;     // its first line with Clang, its closing brace with GCC 12
};

/// A task's call graph: its await chain, innermost coroutine first (as Python's
/// FutureCallGraph.call_stack), what that coroutine waits on, and the tasks awaiting this
/// one.
struct CallGraph {
  std::string task;                     // "Task 'fetch-3'"
  std::string state;                    // "pending", "running", "scheduled", "done", ...
  std::vector<FrameInfo> call_stack;    // innermost first; empty once the task is done
  std::string awaiting;                 // "sleep (due in 2.000 s)", "Lock.acquire", "recv on fd 7", ...
  std::vector<std::string> awaited_by;  // tasks suspended on this one ("Task 'main'")

  /// Python 3.14's format_call_graph() layout:
  ///
  ///     * Task 'fetch-3' (pending)
  ///       awaiting: sleep (due in 2.000 s)
  ///       + call stack:
  ///       |   fetch() at app.cpp:12
  ///       |   crawl() at app.cpp:30
  ///       + awaited by:
  ///          * Task 'main'
  std::string to_string() const;
};

/// The call graph of `task`. From inside a running task, its own graph includes the
/// coroutine running now; another task's shows where it is suspended. Costs nothing until
/// called: the chain is read from the coroutine frames' links, which exist anyway.
CallGraph capture_call_graph(const TaskRef& task);
/// The running task's call graph as text (UsageError outside a task).
std::string format_call_graph();
/// Writes the running task's call graph to aio's log (stderr by default).
void print_call_graph();
/// Every live task of the running loop, one graph after the other (`python -m asyncio
/// pstree`). RunOptions::dump_signal / AIO_DUMP_SIGNAL log it when a signal arrives.
std::string format_all_tasks();

}  // namespace aio
