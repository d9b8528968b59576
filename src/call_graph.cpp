#include "aio/call_graph.hpp"

#include <coroutine>
#include <cstdint>
#include <string>

#include "aio/coro.hpp"
#include "aio/loop.hpp"

namespace aio {

namespace {

// Every coroutine aio runs (Coro, AsyncGenerator) has a promise that starts with
// PromiseBase, at the same place in the frame: the chain can be walked without knowing
// the coroutines' types.
const detail::PromiseBase& promise_of(std::coroutine_handle<> h) {
  return std::coroutine_handle<detail::PromiseBase>::from_address(h.address()).promise();
}

// From `innermost` up through each coroutine's awaiting parent to the task's root.
std::vector<FrameInfo> walk_chain(std::coroutine_handle<> innermost) {
  std::vector<FrameInfo> frames;
  std::coroutine_handle<> h = innermost;
  while (h) {
    const detail::PromiseBase& p = promise_of(h);
    frames.push_back(FrameInfo{detail::short_function_name(p.site.function()), p.site.file(), p.site.line()});
    std::uintptr_t parent = p.parent;
    if (parent == 0 || (parent & 1u)) break;  // not started, or the task's root
    h = std::coroutine_handle<>::from_address(reinterpret_cast<void*>(parent));
  }
  return frames;
}

}  // namespace

CallGraph capture_call_graph(const TaskRef& ref) {
  detail::TaskBase* task = ref.base();
  if (!task) throw std::invalid_argument("aio::capture_call_graph: an empty TaskRef");
  CallGraph g;
  g.task = task->describe();
  if (task->done()) {
    g.state = task->cancelled() ? "cancelled" : task->failed() ? "failed" : "done";
    return g;
  }
  const bool running = detail::tls_run.task == task;
  if (running) {
    g.state = "running";
    g.call_stack = walk_chain(detail::tls_run.running);
  } else {
    g.state = !task->started() ? "not started" : task->waiting_on() ? "pending" : "scheduled";
    g.call_stack = walk_chain(task->resume_point());
  }
  if (const detail::Suspension* s = task->waiting_on(); s && !running) g.awaiting = s->describe_wait();
  if (EventLoop* loop = task->loop(); loop && detail::tls_run.loop == loop) {
    detail::LoopAccess::for_each_task(*loop, [&](detail::TaskBase* other) {
      const detail::Suspension* s = other->waiting_on();
      if (s && s->awaited_future() == task) g.awaited_by.push_back(other->describe());
    });
  }
  return g;
}

std::string CallGraph::to_string() const {
  std::string out = "* " + task + " (" + state + ")\n";
  if (!awaiting.empty()) out += "  awaiting: " + awaiting + "\n";
  if (!call_stack.empty()) {
    out += "  + call stack:\n";
    for (const FrameInfo& f : call_stack) {
      out += "  |   " + (f.function.empty() ? std::string("<coroutine>") : f.function) + "()";
      if (!f.file.empty()) out += " at " + f.file + ":" + std::to_string(f.line);
      out += "\n";
    }
  }
  if (!awaited_by.empty()) {
    out += "  + awaited by:\n";
    for (const std::string& t : awaited_by) out += "     * " + t + "\n";
  }
  return out;
}

std::string format_call_graph() {
  std::optional<TaskRef> me = current_task();
  if (!me)
    throw UsageError("aio::format_call_graph: not inside a task (start the coroutine with aio::run or create_task)");
  return capture_call_graph(*me).to_string();
}

void print_call_graph() {
  std::string text = format_call_graph();
  if (!text.empty() && text.back() == '\n') text.pop_back();
  log_line(text);
}

std::string format_all_tasks() {
  std::string out;
  for (const TaskRef& t : all_tasks()) out += capture_call_graph(t).to_string();
  return out;
}

}  // namespace aio
