// aio::EventLoop — asyncio's event loop: ready queue, timers, I/O backend, thread wake-up.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "aio/delay.hpp"
#include "aio/detail/context.hpp"
#include "aio/detail/deferred.hpp"
#include "aio/detail/intrusive.hpp"
#include "aio/detail/run_context.hpp"
#include "aio/detail/timer_heap.hpp"
#include "aio/errors.hpp"
#include "aio/handle.hpp"

namespace aio {

template <class T>
class Coro;
template <class T>
class Task;
template <class T>
class Future;
class Executor;

namespace detail {
class IoBackend;
class TaskBase;
struct LoopAccess;
struct ThreadsafeInbox;
class ExecutorCallBase;
struct SignalHandlers;
/// What run_in_executor's future holds: f()'s result type, without cv-qualifiers or
/// reference (a reference returned on another thread is copied).
template <class F>
using executor_result_t = std::remove_cvref_t<std::invoke_result_t<std::decay_t<F>>>;
/// Something that holds on to the loop's backend beyond any task (a child-process
/// watcher) and must let go before the loop closes: close() calls on_loop_close().
struct CloseHook : ListNode {
  virtual void on_loop_close() noexcept = 0;

 protected:
  ~CloseHook() = default;
};
}  // namespace detail

/// Which I/O backend a loop uses. `automatic` picks the fastest one the kernel supports.
enum class Backend { automatic, epoll, io_uring };

/// io_uring keeps one ring per thread for the thread's next loop: a loop destroyed on the
/// thread that ran it (or that never used its ring) leaves its ring drained — nothing
/// with the kernel, every buffer given back, their memory released — instead of closing
/// it. Setting a ring up and closing it cost ~25x a whole epoll loop's life, and closing
/// one makes the kernel interrupt the thread's next blocking socket call (README,
/// "Backends"). The kept ring holds two close-on-exec file descriptors (the ring and its
/// wake-up eventfd) until the thread exits or calls this, which releases it and returns
/// how many descriptors it closed (0 when the thread keeps none).
int release_idle_ring() noexcept;
/// How many file descriptors the calling thread's kept ring holds (0 or 2); the leak
/// checks of aio::testing (AIO_TEST, count_open_fds) do not count them.
int idle_ring_descriptors() noexcept;

struct LoopOptions {
  Backend backend = Backend::automatic;
  /// Virtual time, for tests (Tokio's paused clock with auto-advance): the loop's clock
  /// starts at 0 and stands still while callbacks run. Where the loop would block, it
  /// jumps straight to the next timer's deadline if nothing is in flight, which is:
  ///   - no I/O operation parked in the backend (a stream read or write waiting, a
  ///     server's accept, a connect, a subprocess pipe, a child's pidfd exit watch);
  ///   - no run_in_executor / to_thread job whose result has not come back;
  ///   - no child process watched through SIGCHLD (kernels without pidfd);
  ///   - no call_soon_threadsafe callback or signal waiting to be taken in.
  /// The loop's own wake-up eventfd and signal handlers waiting for a signal do not count
  /// (a signal may never come), nor do threads the program started itself: a
  /// call_soon_threadsafe from such a thread arrives at whatever time the clock shows.
  /// With something in flight the loop waits in real time, never past a real event, and
  /// the clock moves on by the real time waited, at most up to the next deadline (so a
  /// timeout around a read that never comes still fires, after its real duration).
  /// Timers at the same deadline fire in the order they were set, as in real time.
  bool virtual_time = false;
};

/// What went wrong, as given to the loop's exception handler (asyncio's context dict).
struct ExceptionContext {
  std::string message{};
  std::exception_ptr exception{};  // may be null
  std::string task_name{};         // the task involved, if any
  /// Where the exception passed, innermost coroutine first ("fetch() at app.cpp:12"), for
  /// a task's unretrieved exception: its await chain as the exception unwound it.
  std::vector<std::string> call_stack{};
};

/// The event loop. One per thread; touched from other threads only through
/// call_soon_threadsafe(). Most programs never name it: `aio::run(main())` creates one,
/// runs `main`, and tears it down.
///
///     aio::EventLoop loop;
///     loop.call_later(0.5, [&] { loop.stop(); });
///     loop.run_forever();
class EventLoop {
 public:
  explicit EventLoop(LoopOptions options = {});
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  /// Seconds on the loop's clock: CLOCK_MONOTONIC, or with LoopOptions::virtual_time the
  /// virtual clock (0 when the loop is created). Every timer, sleep and timeout follows it.
  double time() const noexcept;
  /// True when the loop runs on virtual time (LoopOptions::virtual_time).
  bool uses_virtual_time() const noexcept { return virtual_time_; }

  /// Runs fn(args...) on the next loop iteration. Callbacks run in FIFO order.
  template <class F, class... Args>
  Handle call_soon(F&& fn, Args&&... args);
  /// Runs fn(args...) once `delay` has passed.
  template <class F, class... Args>
  TimerHandle call_later(Delay delay, F&& fn, Args&&... args);
  /// Runs fn(args...) at loop time `when` (compare with time()).
  template <class F, class... Args>
  TimerHandle call_at(double when, F&& fn, Args&&... args);
  /// Schedules fn from any thread and wakes the loop. The only member that other
  /// threads may call. Throws UsageError if the loop is closed.
  void call_soon_threadsafe(std::function<void()> fn);

  /// Runs f() on another thread and returns a future for its result (asyncio's
  /// loop.run_in_executor). `executor` null: the loop's default ThreadPoolExecutor,
  /// created on first use with min(32, cores + 4) threads. The result, or the exception
  /// f threw, comes back to this loop's thread and completes the future there.
  /// Cancelling the future (or the task awaiting it) does not stop f: its result is
  /// dropped when it arrives. Defined in <aio/executor.hpp>.
  ///
  ///     int n = co_await loop.run_in_executor(nullptr, [] { return count_lines("big.txt"); });
  ///
  /// UsageError if the loop is closed, if the executor was shut down, or (for the
  /// default executor) after shutdown_default_executor().
  template <class F>
  Future<detail::executor_result_t<F>> run_in_executor(Executor* executor, F&& f);
  /// Replaces the default executor that run_in_executor(nullptr, ...) and to_thread use
  /// (asyncio's loop.set_default_executor). The loop owns it and shuts it down with the
  /// default executor's rules; a previous default executor is shut down (waiting).
  void set_default_executor(std::unique_ptr<Executor> executor);
  /// Shuts the default executor down without blocking the loop: its threads finish the
  /// jobs already submitted and are joined by a helper thread while the loop keeps
  /// running (asyncio's loop.shutdown_default_executor). aio::run awaits this before
  /// closing the loop. Afterwards run_in_executor(nullptr, ...) throws UsageError.
  Coro<void> shutdown_default_executor();

  /// Wraps coro in a task scheduled on this loop (see aio::create_task).
  template <class T>
  Task<T> create_task(Coro<T> coro, std::string name = {});
  /// A new pending future bound to this loop.
  template <class T = void>
  Future<T> create_future();

  /// Runs the loop until `coro` (wrapped in a task) or `task` completes; returns its
  /// result or rethrows its exception. UsageError if the loop is running or closed.
  template <class T>
  T run_until_complete(Coro<T> coro);
  template <class T>
  T run_until_complete(Task<T> task);
  /// Runs until stop() is called.
  void run_forever();
  /// Makes run_forever return after the callbacks that are ready now have run.
  void stop() noexcept;
  bool is_running() const noexcept { return running_; }
  bool is_closed() const noexcept { return closed_; }
  /// Drops pending callbacks and releases the backend. UsageError while running.
  /// Idempotent. Tasks still pending are left pending (aio::run cancels them first).
  /// Shuts the default executor down and waits for its threads (asyncio does not wait;
  /// aio must, since the jobs refer to the loop). Results of executor jobs that arrive
  /// after close() are dropped.
  void close();

  void set_debug(bool enabled) noexcept { debug_ = enabled; }
  bool get_debug() const noexcept { return debug_; }
  /// In debug mode, a callback or task step slower than this (seconds) is logged.
  double slow_callback_duration = 0.1;

  using ExceptionHandler = std::function<void(EventLoop&, const ExceptionContext&)>;
  /// Replaces the handler for errors nobody else can receive (a callback that threw, a
  /// task exception never retrieved). An empty function restores the default.
  void set_exception_handler(ExceptionHandler handler) { exception_handler_ = std::move(handler); }
  void call_exception_handler(const ExceptionContext& context) noexcept;
  /// Writes the context to the aio log (stderr unless set_log_sink replaced it).
  void default_exception_handler(const ExceptionContext& context) noexcept;

  /// "epoll" or "io_uring".
  std::string_view backend_name() const noexcept;

  /// Runs fn() on this loop each time signal `sig` arrives (asyncio's
  /// loop.add_signal_handler). The OS handler only notes the signal and wakes the loop, so
  /// fn may do anything a callback may: schedule tasks, cancel them, stop the loop. Several
  /// deliveries before the loop gets to run fn may be merged into one call (as with any
  /// Unix signal). A second call for the same signal replaces fn. The signal's previous
  /// disposition is saved and put back by remove_signal_handler() or close().
  ///
  ///     loop.add_signal_handler(SIGTERM, [&] { main_task.cancel(); });
  ///
  /// std::invalid_argument for a signal number out of range, or SIGKILL/SIGSTOP (which
  /// cannot be caught); UsageError if another loop already handles `sig`, or this loop
  /// is closed; std::system_error if sigaction fails.
  void add_signal_handler(int sig, std::function<void()> fn);
  /// Removes the handler for `sig` and restores the disposition it replaced. False when
  /// this loop had no handler for it. std::invalid_argument for a bad signal number.
  bool remove_signal_handler(int sig);

 private:
  friend struct detail::LoopAccess;
  friend class detail::TaskBase;
  friend struct detail::ThreadsafeInbox;

  detail::CallbackCore* schedule_callback(detail::CallbackCore* cb);
  detail::CallbackCore* schedule_timer(detail::CallbackCore* cb, std::int64_t when_ns);
  void check_open(const char* what) const;
  void run_once();
  void wait_on_virtual_clock(std::int64_t timeout_ns);
  bool work_in_flight() const noexcept;
  void run_ready_batch();
  void run_callback(detail::CallbackCore* cb) noexcept;
  void fire_due_timers();
  void drain_threadsafe();
  void run_timed(detail::Runnable* r) noexcept;
  std::int64_t now_ns() const noexcept;
  static void run_callback_node(detail::Runnable* r) noexcept;
  static void fire_callback_timer(detail::TimerNode* t) noexcept;
  void destroy_pending_tasks() noexcept;
  void enter_run(const char* what);
  void leave_run() noexcept;
  Executor& default_executor_for(const char* what);
  void register_executor_call(std::shared_ptr<detail::ExecutorCallBase> call) noexcept;
  void shut_down_default_executor_now() noexcept;
  void dispatch_signals();
  void remove_all_signal_handlers() noexcept;

  detail::ReadyQueue ready_;
  detail::RelayPool relays_;  // carriers of deferred reactions (detail/deferred.hpp)
  detail::TimerHeap timers_;
  std::unique_ptr<detail::IoBackend> backend_;
  // Every task not yet done; each knows its index, so removal is a swap with the last.
  std::vector<detail::TaskBase*> tasks_;

  // Callbacks posted by other threads. Shared, so that executor jobs still running when
  // the loop is closed (or destroyed) can find out safely that nobody takes their result.
  std::shared_ptr<detail::ThreadsafeInbox> inbox_;
  std::atomic<bool> threadsafe_pending_{false};
  std::atomic<bool> interrupt_pending_{false};  // set from a signal handler
  std::function<void()> interrupt_hook_;        // what a pending interrupt runs (aio::run)
  // Signals caught for add_signal_handler, one bit per signal number (set by the OS
  // handler, taken by the loop thread).
  std::atomic<std::uint64_t> signals_pending_{0};
  std::unique_ptr<detail::SignalHandlers> signal_handlers_;  // created on first use
  // The child watcher's SIGCHLD channel (kernels without pidfd): separate from the
  // program's own add_signal_handler(SIGCHLD), and open to any number of loops.
  std::atomic<bool> child_signal_pending_{false};
  void (*on_child_signal_)() = nullptr;
  detail::IntrusiveList<detail::CloseHook> close_hooks_;

  // run_in_executor calls whose result has not come back yet (loop thread only). Each
  // holds the loop's reference to its call; close() drops them.
  detail::IntrusiveList<detail::ExecutorCallBase> executor_calls_;
  std::unique_ptr<Executor> default_executor_;
  bool executor_shutdown_called_ = false;

  ExceptionHandler exception_handler_;
  bool running_ = false;
  bool stopping_ = false;
  bool closed_ = false;
  bool debug_ = false;
  // LoopOptions::virtual_time: now_ns() reads virtual_now_ns_, moved only where the loop
  // would block (wait_on_virtual_clock).
  bool virtual_time_ = false;
  std::int64_t virtual_now_ns_ = 0;
};

/// The loop running on this thread. Throws UsageError when called outside a running loop
/// (e.g. before aio::run or from a plain thread).
EventLoop& get_running_loop();

/// Replaces where aio writes its log lines (default: stderr). Empty: back to stderr.
void set_log_sink(std::function<void(std::string_view line)> sink);
/// Writes one line to the aio log.
void log_line(std::string_view line) noexcept;

namespace detail {

/// The runtime's door into EventLoop internals, so that templates in public headers can
/// schedule work without those members becoming part of the public API.
struct LoopAccess {
  static void schedule(EventLoop& loop, Runnable* r) noexcept { loop.ready_.push(r); }
  static RelayPool& relays(EventLoop& loop) noexcept { return loop.relays_; }
  static void add_timer(EventLoop& loop, TimerNode* t, std::int64_t when_ns) {
    t->when = when_ns;
    loop.timers_.push(t);
  }
  static void remove_timer(EventLoop& loop, TimerNode* t) noexcept {
    if (t->queued()) loop.timers_.erase(t);
  }
  static std::int64_t now_ns(const EventLoop& loop) noexcept { return loop.now_ns(); }
  /// call_at with a deadline in nanoseconds (Delay::kNever: never fires).
  template <class F>
  static TimerHandle call_at_ns(EventLoop& loop, std::int64_t when_ns, F&& fn) {
    loop.check_open("call_at");
    return TimerHandle(loop.schedule_timer(make_callback(&loop, std::forward<F>(fn)), when_ns));
  }
  static IoBackend& backend(EventLoop& loop) noexcept { return *loop.backend_; }
  static void track_task(EventLoop& loop, TaskBase* t);
  static void check_open(const EventLoop& loop, const char* what) { loop.check_open(what); }
  static std::size_t task_count(const EventLoop& loop) noexcept { return loop.tasks_.size(); }
  static void untrack_task(EventLoop& loop, TaskBase* t) noexcept;
  /// Destroys the coroutines of every task still pending (the loop is closing).
  static void destroy_pending_tasks(EventLoop& loop) noexcept { loop.destroy_pending_tasks(); }
  /// Async-signal-safe: makes the loop run its interrupt hook soon.
  static void interrupt_from_signal(EventLoop& loop) noexcept;
  /// hook->on_loop_close() runs when the loop closes, unless the hook unlinks first
  /// (IntrusiveList<CloseHook>::erase).
  static void add_close_hook(EventLoop& loop, CloseHook* hook) noexcept { loop.close_hooks_.push_back(hook); }
  /// Async-signal-safe: signal `sig` arrived for the loop's add_signal_handler callback.
  static void note_signal(EventLoop& loop, int sig) noexcept;
  /// The child watcher's SIGCHLD channel: `on_sigchld` runs on the loop (as a callback)
  /// after each SIGCHLD, beside any handler the program added for SIGCHLD itself.
  static void watch_sigchld(EventLoop& loop, void (*on_sigchld)());
  static void unwatch_sigchld(EventLoop& loop) noexcept;
  static void note_child_signal(EventLoop& loop) noexcept;
  static bool has_default_executor(const EventLoop& loop) noexcept { return loop.default_executor_ != nullptr; }
  static void set_interrupt_hook(EventLoop& loop, std::function<void()> hook) {
    loop.interrupt_hook_ = std::move(hook);
  }
  template <class F>
  static void for_each_task(EventLoop& loop, F&& f) {
    for (TaskBase* t : std::vector<TaskBase*>(loop.tasks_)) f(t);  // f may end tasks
  }
};

/// Queues fn on the loop that owns `inbox` and wakes it; callable from any thread. Returns
/// false, leaving fn with the caller, when that loop is closed (or destroyed).
bool post_to_loop(ThreadsafeInbox& inbox, std::function<void()>&& fn);

/// A callback node for fn. Once a ContextVar was set on this thread, the node also keeps
/// the context current now and runs fn in it (asyncio's call_soon copies the context).
template <class F>
CallbackCore* make_callback(EventLoop* loop, F&& fn) {
  if (tls_context_in_use) [[unlikely]] {
    using Bound = InContext<std::decay_t<F>>;
    return new CallbackNode<Bound>(loop, Bound{capture_context(), std::forward<F>(fn)});
  }
  return new CallbackNode<std::decay_t<F>>(loop, std::forward<F>(fn));
}

template <class F, class... Args>
auto bind_callback(F&& fn, Args&&... args) {
  if constexpr (sizeof...(Args) == 0) {
    return std::forward<F>(fn);
  } else {
    return [fn = std::forward<F>(fn), ... args = std::forward<Args>(args)]() mutable { std::invoke(fn, args...); };
  }
}

}  // namespace detail

template <class F, class... Args>
Handle EventLoop::call_soon(F&& fn, Args&&... args) {
  check_open("call_soon");
  auto* cb = detail::make_callback(this, detail::bind_callback(std::forward<F>(fn), std::forward<Args>(args)...));
  return Handle(schedule_callback(cb));
}

template <class F, class... Args>
TimerHandle EventLoop::call_later(Delay delay, F&& fn, Args&&... args) {
  check_open("call_later");
  auto* cb = detail::make_callback(this, detail::bind_callback(std::forward<F>(fn), std::forward<Args>(args)...));
  std::int64_t when = delay.infinite() ? Delay::kNever : now_ns() + delay.nanoseconds();
  return TimerHandle(schedule_timer(cb, when));
}

template <class F, class... Args>
TimerHandle EventLoop::call_at(double when, F&& fn, Args&&... args) {
  check_open("call_at");
  if (when != when) throw std::invalid_argument("call_at: 'when' is NaN");
  auto* cb = detail::make_callback(this, detail::bind_callback(std::forward<F>(fn), std::forward<Args>(args)...));
  std::int64_t when_ns = when >= 9.2e9 ? Delay::kNever : static_cast<std::int64_t>(when * 1e9);
  return TimerHandle(schedule_timer(cb, when_ns));
}

}  // namespace aio
