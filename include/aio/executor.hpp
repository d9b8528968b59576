// aio::Executor, aio::ThreadPoolExecutor and loop.run_in_executor (concurrent.futures'
// ThreadPoolExecutor and asyncio's loop.run_in_executor).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "aio/errors.hpp"
#include "aio/future.hpp"
#include "aio/loop.hpp"
#include "aio/outcome.hpp"

namespace aio {

/// Runs jobs on threads other than the loop's (concurrent.futures.Executor). Implement it
/// to give run_in_executor a pool of your own; aio ships ThreadPoolExecutor.
class Executor {
 public:
  /// A move-only `void()` callable: one unit of work.
  class Job {
   public:
    Job() noexcept = default;
    template <class F>
    requires(!std::is_same_v<std::decay_t<F>, Job> && std::is_invocable_v<std::decay_t<F>&>)
        Job(F&& f)  // NOLINT: implicit, like std::function
        : impl_(std::make_unique<Impl<std::decay_t<F>>>(std::forward<F>(f))) {}
    /// Runs the job. Call it once.
    void operator()() { impl_->run(); }
    explicit operator bool() const noexcept { return impl_ != nullptr; }

   private:
    struct Base {
      virtual ~Base() = default;
      virtual void run() = 0;
    };
    template <class F>
    struct Impl final : Base {
      template <class G>
      explicit Impl(G&& g) : f(std::forward<G>(g)) {}
      void run() override { f(); }
      F f;
    };
    std::unique_ptr<Base> impl_;
  };

  Executor() = default;
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;
  virtual ~Executor() = default;

  /// Arranges for job() to run on some thread. Throws UsageError once shut down. An
  /// executor should run every job it accepted; one it destroys without running makes
  /// the run_in_executor future cancelled.
  virtual void submit(Job job) = 0;
  /// Stops accepting jobs; the jobs already submitted still run. With `wait`, returns
  /// once they have all finished and the threads are gone. Idempotent.
  virtual void shutdown(bool wait = true) = 0;
};

/// A pool of up to `max_workers` threads running jobs in FIFO order
/// (concurrent.futures.ThreadPoolExecutor). Threads start lazily, one per job submitted
/// while none is idle, up to `max_workers`.
///
///     aio::ThreadPoolExecutor pool(4);
///     auto digest = co_await loop.run_in_executor(&pool, [&] { return sha256(data); });
///
/// The destructor shuts the pool down and joins its threads; destroying a pool from one of
/// its own jobs is a fatal error (shutdown() from a job is fine). A job submitted directly
/// that throws has its exception logged; the pool goes on.
class ThreadPoolExecutor final : public Executor {
 public:
  /// asyncio's default size: min(32, hardware threads + 4).
  ThreadPoolExecutor();
  /// std::invalid_argument when max_workers is 0.
  explicit ThreadPoolExecutor(std::size_t max_workers);
  ~ThreadPoolExecutor() override;

  void submit(Job job) override;
  void shutdown(bool wait = true) override;

  std::size_t max_workers() const noexcept { return max_workers_; }
  /// Threads started so far (they stay until shutdown).
  std::size_t thread_count() const;
  /// min(32, hardware threads + 4), as concurrent.futures does.
  static std::size_t default_max_workers() noexcept;

 private:
  void worker() noexcept;

  const std::size_t max_workers_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;              // guarded by mutex_
  std::vector<std::thread> threads_;  // guarded by mutex_
  std::size_t idle_ = 0;              // guarded by mutex_: workers waiting for a job
  bool shutdown_ = false;             // guarded by mutex_
  std::mutex join_mutex_;             // one shutdown(wait=true) joins at a time
};

namespace detail {

/// One run_in_executor call in flight, shared (atomically counted) by the loop and the
/// job. The loop's side — the future — is only touched on the loop's thread: completing
/// it (deliver) or dropping it when the loop closes (forget). The job's side is the
/// function and its outcome.
class ExecutorCallBase : public ListNode {
 public:
  explicit ExecutorCallBase(std::shared_ptr<ThreadsafeInbox> inbox) noexcept : inbox_(std::move(inbox)) {}
  ExecutorCallBase(const ExecutorCallBase&) = delete;
  ExecutorCallBase& operator=(const ExecutorCallBase&) = delete;
  virtual ~ExecutorCallBase() = default;

  /// Job's thread: runs the function and keeps its result or exception.
  virtual void run() noexcept = 0;
  /// Any thread: the executor dropped the job without running it.
  virtual void abandon() noexcept = 0;
  /// Loop thread: completes the future (unless cancelled meanwhile) and drops it.
  virtual void deliver() noexcept = 0;
  /// Loop thread: drops the future without completing it (the loop is closing).
  virtual void forget() noexcept = 0;

  ThreadsafeInbox& inbox() const noexcept { return *inbox_; }

  /// The loop's reference while the call is in EventLoop::executor_calls_.
  std::shared_ptr<ExecutorCallBase> self;

 private:
  const std::shared_ptr<ThreadsafeInbox> inbox_;
};

/// Job's thread: hands the finished call back to its loop, where it is delivered; dropped
/// if the loop is closed.
void post_executor_completion(std::shared_ptr<ExecutorCallBase> call) noexcept;

/// What run_in_executor submits: runs the call and posts it back. Destroyed without
/// running, it posts the call back abandoned, so the awaiting task does not hang.
class ExecutorJob {
 public:
  explicit ExecutorJob(std::shared_ptr<ExecutorCallBase> call) noexcept : call_(std::move(call)) {}
  ExecutorJob(ExecutorJob&&) noexcept = default;
  ExecutorJob& operator=(ExecutorJob&&) = delete;
  ~ExecutorJob();
  void operator()() noexcept;

 private:
  std::shared_ptr<ExecutorCallBase> call_;
};

template <class R, class F>
class ExecutorCall final : public ExecutorCallBase {
 public:
  template <class G>
  ExecutorCall(std::shared_ptr<ThreadsafeInbox> inbox, Future<R> future, G&& fn)
      : ExecutorCallBase(std::move(inbox)), fn_(std::in_place, std::forward<G>(fn)), future_(std::move(future)) {}

  void run() noexcept override {
    try {
      if constexpr (std::is_void_v<R>) {
        std::invoke(std::move(*fn_));
        outcome_.set_value();
      } else {
        outcome_.set_value(std::invoke(std::move(*fn_)));
      }
    } catch (...) {
      outcome_.set_exception(std::current_exception());
    }
    destroy_fn();
  }

  void abandon() noexcept override {
    outcome_.set_exception(std::make_exception_ptr(CancelledError("the executor was shut down before it ran the job")));
    destroy_fn();
  }

  void deliver() noexcept override {
    if (!future_) return;
    Future<R>& future = *future_;
    // Done already: the awaiting task was cancelled (which cancelled the future). The
    // result is dropped; the future reports nothing, since cancelling it retrieved it.
    if (!future.done()) {
      try {
        if (outcome_.has_exception()) {
          future.set_exception(outcome_.exception());
        } else if constexpr (std::is_void_v<R>) {
          future.set_result();
        } else {
          future.set_result(std::move(outcome_).value());
        }
      } catch (...) {  // the result's move constructor threw
        if (!future.done()) future.set_exception(std::current_exception());
      }
    }
    future_.reset();
  }

  void forget() noexcept override { future_.reset(); }

 private:
  void destroy_fn() noexcept {
    try {
      fn_.reset();  // on the job's thread: what f captured goes where f ran
    } catch (...) {
    }
  }

  std::optional<F> fn_;
  Outcome<value_t<R>> outcome_;
  std::optional<Future<R>> future_;  // loop thread only
};

}  // namespace detail

template <class F>
Future<detail::executor_result_t<F>> EventLoop::run_in_executor(Executor* executor, F&& f) {
  using R = detail::executor_result_t<F>;
  static_assert(std::is_void_v<R> || std::is_move_constructible_v<R>,
                "run_in_executor: the function's result must be movable (it crosses threads)");
  check_open("run_in_executor");
  Executor& ex = executor ? *executor : default_executor_for("run_in_executor");
  Future<R> future(*this);
  auto call = std::make_shared<detail::ExecutorCall<R, std::decay_t<F>>>(inbox_, future, std::forward<F>(f));
  try {
    ex.submit(Executor::Job(detail::ExecutorJob(call)));
  } catch (...) {
    call->forget();  // the job may still exist somewhere: it must not hold our future
    throw;
  }
  register_executor_call(std::move(call));
  return future;
}

}  // namespace aio
