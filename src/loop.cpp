#include "aio/loop.hpp"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "aio/executor.hpp"
#include "aio/task.hpp"
#include "backend/backend.hpp"
#include "loop_registry.hpp"
#include "signal_handlers.hpp"

namespace aio {

namespace detail {

namespace {
// Cold path only. A pointer, not a vector: a thread_local without a destructor stays valid
// until the thread is gone, and a loop that a thread_local holds is destroyed among the
// thread's thread_locals, perhaps after this one. Freed when the thread's last loop goes.
thread_local std::vector<EventLoop*>* live_loops = nullptr;
}  // namespace

void register_loop(EventLoop* loop) {
  if (!live_loops) live_loops = new std::vector<EventLoop*>;
  try {
    live_loops->push_back(loop);
  } catch (...) {
    unregister_loop(nullptr);  // (frees an empty list)
    throw;
  }
}
void unregister_loop(EventLoop* loop) noexcept {
  if (!live_loops) return;
  std::erase(*live_loops, loop);
  if (live_loops->empty()) {
    delete live_loops;
    live_loops = nullptr;
  }
}
bool loop_is_alive(EventLoop* loop) noexcept {
  return live_loops && std::find(live_loops->begin(), live_loops->end(), loop) != live_loops->end();
}

/// The loop's mailbox for other threads. Shared between the loop and whoever may post
/// after the loop is gone (executor jobs), so that posting to a closed loop fails cleanly
/// instead of touching a destroyed one.
struct ThreadsafeInbox {
  std::mutex mutex;
  std::vector<std::function<void()>> queue;  // guarded by mutex
  EventLoop* loop = nullptr;                 // guarded by mutex; null once the loop is closed

  bool post(std::function<void()>&& fn) {
    std::lock_guard lock(mutex);
    if (!loop) return false;
    queue.push_back(std::move(fn));
    // Woken under the lock, so that close() cannot release the backend meanwhile. Only the
    // post that finds the queue idle writes the eventfd.
    if (!loop->threadsafe_pending_.exchange(true, std::memory_order_acq_rel)) loop->backend_->wake();
    return true;
  }
};

bool post_to_loop(ThreadsafeInbox& inbox, std::function<void()>&& fn) { return inbox.post(std::move(fn)); }

void CallbackCore::cancel() noexcept {
  if (cancelled_) return;
  cancelled_ = true;
  // A cancelled timer leaves the heap at once, so cancelled timers never pile up.
  if (queued()) {
    LoopAccess::remove_timer(*loop_, this);
    release();  // the heap's reference
  }
}

// GCC 12 flags the stopper's address stored in the future's waiter list; it is unlinked
// on every path out of this function.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
void LoopAccess::interrupt_from_signal(EventLoop& loop) noexcept {
  loop.interrupt_pending_.store(true, std::memory_order_release);
  loop.threadsafe_pending_.store(true, std::memory_order_release);
  loop.backend_->wake();  // an eventfd write: async-signal-safe
}

void run_loop_until(EventLoop& loop, FutureCore* core) {
  struct Stopper final : FutureWaiter {
    explicit Stopper(EventLoop* l) noexcept : loop(l) {}
    EventLoop* loop;
    void on_done() noexcept override { loop->stop(); }
  } stopper(&loop);
  if (!core->done()) core->add_waiter(&stopper);
  try {
    if (!core->done()) loop.run_forever();
  } catch (...) {
    FutureCore::remove_waiter(&stopper);
    throw;
  }
  FutureCore::remove_waiter(&stopper);
  if (!core->done()) throw Error("run_until_complete: the event loop was stopped before the task completed");
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace detail

namespace {

// The real clock, whatever clock the loop's timers follow.
std::int64_t monotonic_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::string(v) != "0";
}

std::mutex log_mutex;
std::function<void(std::string_view)>& log_sink() {
  static std::function<void(std::string_view)> sink;
  return sink;
}

}  // namespace

void set_log_sink(std::function<void(std::string_view)> sink) {
  std::lock_guard lock(log_mutex);
  log_sink() = std::move(sink);
}

void log_line(std::string_view line) noexcept {
  std::lock_guard lock(log_mutex);
  try {
    if (log_sink()) {
      log_sink()(line);
      return;
    }
  } catch (...) {
  }
  std::fprintf(stderr, "aio: %.*s\n", static_cast<int>(line.size()), line.data());
}

EventLoop::EventLoop(LoopOptions options)
    : backend_(detail::make_backend(options.backend)),
      inbox_(std::make_shared<detail::ThreadsafeInbox>()),
      virtual_time_(options.virtual_time) {
  inbox_->loop = this;
  debug_ = env_flag("AIO_DEBUG");
  detail::register_loop(this);
}

EventLoop::~EventLoop() {
  if (running_) {
    log_line("fatal: an EventLoop was destroyed while running");
    std::abort();
  }
  close();
  destroy_pending_tasks();
  detail::unregister_loop(this);
}

void EventLoop::destroy_pending_tasks() noexcept {
  // Tasks still pending can never run again. Destroy their coroutines first (their
  // awaiters unlink themselves from timers, futures and the backend), then drop them.
  std::vector<detail::TaskBase*> pending;
  pending.swap(tasks_);
  for (detail::TaskBase* t : pending) t->registry_index_ = detail::TaskBase::kUnregistered;
  for (detail::TaskBase* t : pending) {
    if (debug_) log_line("Task was destroyed but it is pending: " + t->describe());
    t->destroy_root();
    t->set_wait(nullptr);
  }
  for (detail::TaskBase* t : pending) t->release();
}

double EventLoop::time() const noexcept { return static_cast<double>(now_ns()) / 1e9; }

std::int64_t EventLoop::now_ns() const noexcept { return virtual_time_ ? virtual_now_ns_ : monotonic_ns(); }

std::string_view EventLoop::backend_name() const noexcept { return backend_->name(); }

void EventLoop::check_open(const char* what) const {
  if (closed_)
    throw UsageError(std::string(what) + ": the event loop is closed; create a new EventLoop (or use aio::run)");
}

detail::CallbackCore* EventLoop::schedule_callback(detail::CallbackCore* cb) {
  // Callbacks posted by other threads before this call go first (one global FIFO order).
  if (threadsafe_pending_.load(std::memory_order_acquire)) drain_threadsafe();
  cb->run_fn = &EventLoop::run_callback_node;
  ready_.push(cb);  // the creation reference is the ready queue's; the Handle adds its own
  return cb;
}

detail::CallbackCore* EventLoop::schedule_timer(detail::CallbackCore* cb, std::int64_t when_ns) {
  cb->run_fn = &EventLoop::run_callback_node;
  cb->fire = &EventLoop::fire_callback_timer;
  cb->when = when_ns;  // the creation reference is the heap's (then the ready queue's)
  try {
    timers_.push(cb);
  } catch (...) {
    cb->release();
    throw;
  }
  return cb;
}

void EventLoop::fire_callback_timer(detail::TimerNode* t) noexcept {
  auto* cb = static_cast<detail::CallbackCore*>(t);
  cb->loop()->ready_.push(cb);  // the heap's reference moves to the ready queue
}

void EventLoop::run_callback_node(detail::Runnable* r) noexcept {
  auto* cb = static_cast<detail::CallbackCore*>(r);
  if (!cb->cancelled()) cb->loop()->run_callback(cb);
  cb->release();
}

void EventLoop::run_callback(detail::CallbackCore* cb) noexcept {
  try {
    cb->invoke();
  } catch (...) {
    call_exception_handler({"Exception in callback", std::current_exception(), {}});
  }
}

void EventLoop::call_soon_threadsafe(std::function<void()> fn) {
  if (detail::tls_run.loop == this) {  // from the loop's own thread: no queue, no wake-up
    call_soon(std::move(fn));
    return;
  }
  // asyncio: the callback runs in the calling thread's context (the loop would give it its own).
  if (detail::tls_context_in_use)
    fn = detail::InContext<std::function<void()>>{detail::capture_context(), std::move(fn)};
  if (!inbox_->post(std::move(fn))) throw UsageError("call_soon_threadsafe: the event loop is closed");
}

void EventLoop::drain_threadsafe() {
  if (interrupt_pending_.exchange(false, std::memory_order_acq_rel) && interrupt_hook_) {
    try {
      interrupt_hook_();
    } catch (...) {
      call_exception_handler({"Exception in the interrupt handler", std::current_exception(), {}});
    }
  }
  if (signals_pending_.load(std::memory_order_acquire) != 0) dispatch_signals();
  if (child_signal_pending_.exchange(false, std::memory_order_acq_rel) && on_child_signal_)
    call_soon([this] {
      if (on_child_signal_) on_child_signal_();
    });
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(inbox_->mutex);
    threadsafe_pending_.store(false, std::memory_order_relaxed);
    batch.swap(inbox_->queue);
  }
  for (auto& fn : batch) {
    auto* cb = detail::make_callback(this, std::move(fn));
    cb->run_fn = &EventLoop::run_callback_node;
    ready_.push(cb);
  }
}

void EventLoop::fire_due_timers() {
  std::int64_t now = now_ns();
  while (!timers_.empty() && timers_.top()->when <= now) {
    detail::TimerNode* t = timers_.pop();
    t->fire(t);
  }
}

void EventLoop::run_once() {
  std::int64_t timeout = -1;
  if (!ready_.empty() || stopping_ || threadsafe_pending_.load(std::memory_order_acquire)) {
    timeout = 0;
  } else if (!timers_.empty()) {
    std::int64_t when = timers_.top()->when;
    timeout = when == Delay::kNever ? -1 : std::max<std::int64_t>(0, when - now_ns());
  }
  if (timeout != 0 && virtual_time_) {
    wait_on_virtual_clock(timeout);
  } else if (timeout != 0 || backend_->in_flight() > 0) {
    // With nothing in flight, a zero-timeout poll could find nothing: skip the syscall.
    backend_->poll(timeout);
  }
  if (threadsafe_pending_.load(std::memory_order_acquire)) drain_threadsafe();
  if (!timers_.empty()) fire_due_timers();
  run_ready_batch();
}

// Where a real-time loop would block for `timeout_ns` (-1: until something happens).
void EventLoop::wait_on_virtual_clock(std::int64_t timeout_ns) {
  if (timeout_ns > 0 && !work_in_flight()) {
    virtual_now_ns_ += timeout_ns;  // nothing can happen before the next timer: jump to it
    return;
  }
  // Something real may happen first (or, without timers, only something real can): wait
  // for it in real time. The clock runs on meanwhile, so that a timeout guarding I/O that
  // never completes still fires, but stops at the deadline so that the timer fires on it.
  const std::int64_t started = monotonic_ns();
  backend_->poll(timeout_ns);
  const std::int64_t waited = monotonic_ns() - started;
  virtual_now_ns_ += timeout_ns < 0 ? waited : std::min(waited, timeout_ns);
}

// What keeps the virtual clock from jumping (see LoopOptions::virtual_time).
bool EventLoop::work_in_flight() const noexcept {
  return backend_->in_flight() > 0 || !executor_calls_.empty() || on_child_signal_ != nullptr;
}

void EventLoop::run_ready_batch() {
  detail::Runnable* r = ready_.take_all();
  while (r) {
    detail::Runnable* next = r->next_ready;  // running r may queue it again
    if (debug_) {
      run_timed(r);
    } else {
      r->run_fn(r);
    }
    r = next;
  }
}

void EventLoop::run_timed(detail::Runnable* r) noexcept {
  // Running r may free it (a finished callback, a task whose last handle is gone): keep
  // the task alive and remember what r was before running it.
  detail::Ref<detail::TaskBase> task;
  if (r->run_fn == &detail::TaskBase::run_step) task = detail::Ref<detail::TaskBase>(static_cast<detail::TaskBase*>(r));
  std::int64_t started = monotonic_ns();  // real time, also when the loop's clock is virtual
  r->run_fn(r);
  double took = static_cast<double>(monotonic_ns() - started) / 1e9;
  if (took < slow_callback_duration) return;
  std::string what = "a callback";
  if (task) {
    try {
      what = task->describe();
    } catch (...) {
    }
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", took);
  log_line("Executing " + what + " took " + buf + " seconds");
}

void EventLoop::enter_run(const char* what) {
  check_open(what);
  if (running_) throw UsageError(std::string(what) + ": this event loop is already running");
  if (detail::tls_run.loop)
    throw UsageError(std::string(what) +
                     ": another event loop is running on this thread; await the coroutine instead, "
                     "or run the second loop on its own thread");
  running_ = true;
  detail::tls_run.loop = this;
}

void EventLoop::leave_run() noexcept {
  running_ = false;
  stopping_ = false;
  detail::tls_run.loop = nullptr;
}

void EventLoop::run_forever() {
  enter_run("run_forever");
  try {
    for (;;) {
      run_once();
      if (stopping_) break;
    }
  } catch (...) {
    leave_run();
    throw;
  }
  leave_run();
}

void EventLoop::stop() noexcept { stopping_ = true; }

void EventLoop::close() {
  if (running_) throw UsageError("close: the event loop is running; call stop() and let run_forever return first");
  if (closed_) return;
  remove_all_signal_handlers();  // (asyncio's close() does the same)
  while (detail::CloseHook* hook = close_hooks_.pop_front()) hook->on_loop_close();
  // I/O still in flight ends now (asyncio leaves transports open; aio closes what only an
  // operation kept alive: a pipe whose write was still waiting would leak its fd).
  backend_->complete_all();
  closed_ = true;
  std::vector<std::function<void()>> dropped;
  {
    std::lock_guard lock(inbox_->mutex);
    inbox_->loop = nullptr;  // from now on, posting fails (the backend may go away)
    dropped.swap(inbox_->queue);
  }
  dropped.clear();  // outside the lock: these may hold executor calls
  // Executor jobs still running can no longer deliver. Join the default executor's threads
  // (its jobs refer to this loop), then let go of every call still in flight: its future
  // is released here, on the loop's thread, and the job only keeps the rest.
  shut_down_default_executor_now();
  while (detail::ExecutorCallBase* call = executor_calls_.pop_front()) {
    call->forget();
    std::shared_ptr<detail::ExecutorCallBase> loops_reference = std::move(call->self);
  }
  // Pending callbacks are dropped; tasks stay pending (aio::run cancels them first).
  detail::Runnable* r = ready_.take_all();
  while (r) {
    detail::Runnable* next = r->next_ready;
    if (r->run_fn == &EventLoop::run_callback_node)
      static_cast<detail::CallbackCore*>(r)->release();
    else if (r->run_fn == &detail::Deferred::run_relay)
      detail::Deferred::drop_relay(static_cast<detail::Relay*>(r));
    r = next;
  }
  while (!timers_.empty()) {
    detail::TimerNode* t = timers_.pop();
    if (t->fire == &EventLoop::fire_callback_timer) static_cast<detail::CallbackCore*>(t)->release();
  }
}

void EventLoop::call_exception_handler(const ExceptionContext& context) noexcept {
  if (exception_handler_) {
    try {
      exception_handler_(*this, context);
      return;
    } catch (...) {
      log_line("the loop's exception handler threw: " + describe(std::current_exception()));
    }
  }
  default_exception_handler(context);
}

void EventLoop::default_exception_handler(const ExceptionContext& context) noexcept {
  try {
    std::string line = context.message;
    if (!context.task_name.empty()) line += " [task '" + context.task_name + "']";
    if (context.exception) line += ": " + describe(context.exception);
    for (const std::string& frame : context.call_stack) line += "\n  in " + frame;
    log_line(line);
  } catch (...) {
  }
}

EventLoop& get_running_loop() {
  if (EventLoop* l = detail::tls_run.loop) return *l;
  throw UsageError("get_running_loop: no event loop is running in this thread; start one with aio::run(main())");
}

}  // namespace aio
