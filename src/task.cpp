#include <atomic>
#include <string>

#include "aio/coro.hpp"
#include "aio/loop.hpp"
#include "aio/task.hpp"
#include "future_extras.hpp"

namespace aio::detail {

namespace {
std::atomic<std::uint32_t> next_task_id_block{1};

// Task ids ("Task-N") are unique per process. Each thread takes them in blocks, so that
// creating a task costs no atomic read-modify-write.
std::uint32_t new_task_id() noexcept {
  constexpr std::uint32_t kBlock = 1024;
  thread_local std::uint32_t next = 0, end = 0;
  if (next == end) {
    next = next_task_id_block.fetch_add(kBlock, std::memory_order_relaxed);
    end = next + kBlock;
  }
  return next++;
}
}  // namespace

TaskBase::TaskBase(EventLoop* loop, std::string name) : FutureCore(loop), id_(new_task_id()) {
  run_fn = &TaskBase::run_step;
  if (!name.empty()) extras().name = std::move(name);
  // asyncio: a task starts with a copy of its creator's context (shared: it is immutable).
  if (tls_context_in_use) [[unlikely]] {
    if (ContextMap* creator = current_context()) extras().context = ContextSlot(creator);
  }
}

TaskBase::~TaskBase() = default;

std::string TaskBase::name() const {
  if (extras_ && !extras_->name.empty()) return extras_->name;
  return "Task-" + std::to_string(id_);
}

void TaskBase::set_name(std::string name) { extras().name = std::move(name); }

ContextMap* TaskBase::context() const noexcept { return extras_ ? extras_->context.get() : nullptr; }

ContextSlot& TaskBase::context_slot() { return extras().context; }

std::string TaskBase::take_cancel_message() noexcept {
  return extras_ ? std::exchange(extras_->cancel_message, std::string()) : std::string();
}

std::string TaskBase::describe() const { return "Task '" + name() + "'"; }

bool TaskBase::cancel(std::string msg) {
  if (done()) {
    mark_retrieved();  // asyncio: a late cancel() declares the exception handled
    return false;
  }
  ++extras().cancel_requests;
  if (Suspension* waiting = wait()) {
    if (waiting->cancel_wait(msg)) return true;
  }
  must_cancel_ = true;
  if (!msg.empty())
    extras().cancel_message = std::move(msg);
  else if (extras_)
    extras_->cancel_message.clear();
  return true;
}

int TaskBase::cancelling() const noexcept { return extras_ ? extras_->cancel_requests : 0; }

int TaskBase::uncancel() noexcept {
  if (!extras_ || extras_->cancel_requests == 0) return 0;
  // Python 3.13: with no request left, a not-yet-delivered cancellation is withdrawn.
  if (--extras_->cancel_requests == 0) must_cancel_ = false;
  return extras_->cancel_requests;
}

void TaskBase::wake() noexcept {
  queued_ = true;
  LoopAccess::schedule(*loop(), this);  // from now on the word holds the queue's link
}

void TaskBase::wake_via(Runnable* stand_in) noexcept {
  set_wait(nullptr);  // a cancel() from now on only flags the task; the stand-in sees it
  LoopAccess::schedule(*loop(), stand_in);
}

void TaskBase::throw_cancelled() {
  must_cancel_ = false;
  throw CancelledError(take_cancel_message());
}

void TaskBase::run_step(Runnable* r) noexcept { static_cast<TaskBase*>(r)->step(); }

void TaskBase::step() noexcept {
  RunContext& ctx = tls_run;
  TaskBase* outer = ctx.task;
  ctx.task = this;
  add_ref();      // completion drops the loop's reference; stay alive until we are done here
  if (queued_) {  // taken off the queue: the word is the task's again
    queued_ = false;
    idle_word = nullptr;
  }
  if (!started_) {
    started_ = true;
    if (must_cancel_) {
      // Cancelled before its first step: the body never runs (asyncio throws into the
      // coroutine before it starts, which ends it at once).
      must_cancel_ = false;
      std::string msg = take_cancel_message();
      destroy_root();
      finish_root(std::make_exception_ptr(CancelledError(std::move(msg))));
    }
  }
  if (!done()) {
    resume_chain(resume_point_);
    // cancel() was called while the task ran (e.g. by itself, or by a TaskGroup): now
    // that it waits on something, cancel that wait at once (asyncio's __step does this).
    if (must_cancel_ && !done() && wait()) {
      std::string msg = extras_ ? extras_->cancel_message : std::string();
      if (wait()->cancel_wait(msg)) must_cancel_ = false;
    }
  }
  ctx.task = outer;
  if (done() && registry_index_ != kUnregistered) {
    LoopAccess::untrack_task(*loop(), this);
    release();  // the loop's reference
  }
  release();
}

void TaskBase::finish_root(std::exception_ptr e) noexcept {
  set_wait(nullptr);
  if (!e) {
    if (must_cancel_) {
      // cancel() arrived while the last step ran and the coroutine returned without
      // awaiting again: the task still ends cancelled (asyncio does the same).
      must_cancel_ = false;
      std::string msg = take_cancel_message();
      finish_with_exception(std::make_exception_ptr(CancelledError(std::move(msg))), true);
      return;
    }
    finish_with_value();
    return;
  }
  bool cancelled = is_cancelled_error(e);
  finish_with_exception(std::move(e), cancelled);
}

void TaskBase::note_exception_frame(const char* function, const char* file, unsigned line) noexcept {
  try {
    std::exception_ptr e = std::current_exception();
    Extras& x = extras();
    if (x.traced_error != e) {  // a new exception: start its trace afresh
      x.error_trace.clear();
      x.traced_error = std::move(e);
    }
    x.error_trace.push_back({function, file, line});
  } catch (...) {
    // Out of memory: the report will just lack the trace.
  }
}

std::vector<std::string> TaskBase::error_trace(const std::exception_ptr& error) const {
  std::vector<std::string> out;
  if (!extras_ || !error || extras_->traced_error != error) return out;
  for (const auto& f : extras_->error_trace) {
    std::string line = (f.function && *f.function ? short_function_name(f.function) : "<coroutine>") + "()";
    if (f.file && *f.file) line += std::string(" at ") + f.file + ":" + std::to_string(f.line);
    out.push_back(std::move(line));
  }
  return out;
}

void note_exception_leaving(const PromiseBase& p) noexcept {
  if (TaskBase* t = tls_run.task) t->note_exception_frame(p.site.function(), p.site.file(), p.site.line());
}

TaskBase& require_task(const char* what) {
  if (TaskBase* t = tls_run.task) return *t;
  throw UsageError(std::string(what) +
                   " must run inside a task: start the coroutine with aio::run(), "
                   "create_task() or loop.run_until_complete()");
}

void LoopAccess::track_task(EventLoop& loop, TaskBase* t) {
  t->registry_index_ = static_cast<std::uint32_t>(loop.tasks_.size());
  loop.tasks_.push_back(t);
  t->wake();  // its first step
}

void LoopAccess::untrack_task(EventLoop& loop, TaskBase* t) noexcept {
  std::uint32_t i = t->registry_index_;
  TaskBase* last = loop.tasks_.back();
  loop.tasks_[i] = last;
  last->registry_index_ = i;
  loop.tasks_.pop_back();
  t->registry_index_ = TaskBase::kUnregistered;
}

}  // namespace aio::detail

namespace aio {

std::optional<TaskRef> current_task() {
  if (detail::TaskBase* t = detail::tls_run.task) return TaskRef(t);
  return std::nullopt;
}

std::vector<TaskRef> all_tasks() {
  EventLoop& loop = get_running_loop();
  std::vector<TaskRef> out;
  out.reserve(detail::LoopAccess::task_count(loop));
  detail::LoopAccess::for_each_task(loop, [&](detail::TaskBase* t) {
    if (!t->done()) out.emplace_back(t);
  });
  return out;
}

}  // namespace aio
