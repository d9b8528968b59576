#include "aio/executor.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>
#include <utility>

#include "aio/coro.hpp"
#include "aio/loop.hpp"
#include "aio/task.hpp"

namespace aio {

// --- ThreadPoolExecutor ----------------------------------------------------------------------

std::size_t ThreadPoolExecutor::default_max_workers() noexcept {
  std::size_t cpus = std::thread::hardware_concurrency();
  if (cpus == 0) cpus = 1;
  return std::min<std::size_t>(32, cpus + 4);
}

ThreadPoolExecutor::ThreadPoolExecutor() : max_workers_(default_max_workers()) {}

ThreadPoolExecutor::ThreadPoolExecutor(std::size_t max_workers) : max_workers_(max_workers) {
  if (max_workers == 0) throw std::invalid_argument("ThreadPoolExecutor: max_workers must be greater than 0");
}

ThreadPoolExecutor::~ThreadPoolExecutor() {
  shutdown(true);
  std::lock_guard lock(mutex_);
  if (!threads_.empty()) {  // only this thread is left: the pool is being destroyed by its own job
    log_line("fatal: a ThreadPoolExecutor was destroyed by one of its own jobs");
    std::abort();
  }
}

std::size_t ThreadPoolExecutor::thread_count() const {
  std::lock_guard lock(mutex_);
  return threads_.size();
}

void ThreadPoolExecutor::submit(Job job) {
  if (!job) throw std::invalid_argument("ThreadPoolExecutor.submit: the job is empty");
  std::unique_lock lock(mutex_);
  if (shutdown_)
    throw UsageError("ThreadPoolExecutor.submit: cannot schedule new jobs after shutdown(); create a new executor");
  jobs_.push_back(std::move(job));
  // Start a thread only when the idle ones cannot take every queued job (concurrent.futures'
  // _adjust_thread_count): a pool that is never busy stays at one thread.
  if (idle_ < jobs_.size() && threads_.size() < max_workers_) {
    try {
      threads_.emplace_back([this] { worker(); });
    } catch (...) {            // std::system_error: no more threads
      if (threads_.empty()) {  // nobody would ever run the job
        Job undo = std::move(jobs_.back());
        jobs_.pop_back();
        lock.unlock();
        throw;
      }
      // The threads already running take it.
    }
  }
  lock.unlock();
  wake_.notify_one();
}

void ThreadPoolExecutor::worker() noexcept {
  std::unique_lock lock(mutex_);
  for (;;) {
    ++idle_;
    wake_.wait(lock, [this] { return !jobs_.empty() || shutdown_; });
    --idle_;
    if (jobs_.empty()) return;  // shut down, and every job has run
    {
      Job job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      try {
        job();
      } catch (...) {
        log_line("exception in a ThreadPoolExecutor job: " + describe(std::current_exception()));
      }
    }  // the job (and what it captured) is destroyed outside the lock
    lock.lock();
  }
}

void ThreadPoolExecutor::shutdown(bool wait) {
  {
    std::lock_guard lock(mutex_);
    shutdown_ = true;
  }
  wake_.notify_all();
  if (!wait) return;
  std::lock_guard joining(join_mutex_);
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    threads.swap(threads_);  // no thread starts after shutdown_
  }
  std::thread self;
  for (std::thread& t : threads) {
    if (t.get_id() == std::this_thread::get_id()) {
      self = std::move(t);  // shutdown() from one of the pool's own jobs: it cannot join itself
    } else {
      t.join();
    }
  }
  if (self.joinable()) {  // left for the destructor (on another thread) to join
    std::lock_guard lock(mutex_);
    threads_.push_back(std::move(self));
  }
}

// --- run_in_executor's plumbing --------------------------------------------------------------

namespace detail {

void post_executor_completion(std::shared_ptr<ExecutorCallBase> call) noexcept {
  ThreadsafeInbox& inbox = call->inbox();
  std::function<void()> deliver = [call = std::move(call)] {
    if (call->linked()) IntrusiveList<ExecutorCallBase>::erase(call.get());
    call->deliver();
    call->self.reset();  // the loop's reference (the lambda still holds one)
  };
  try {
    // False: the loop is closed; close() released the future, the call just goes.
    (void)post_to_loop(inbox, std::move(deliver));
  } catch (...) {
    log_line("run_in_executor: could not hand a result back to the loop: " + describe(std::current_exception()));
  }
}

ExecutorJob::~ExecutorJob() {
  if (!call_) return;  // ran (or moved from)
  call_->abandon();
  post_executor_completion(std::move(call_));
}

void ExecutorJob::operator()() noexcept {
  std::shared_ptr<ExecutorCallBase> call = std::move(call_);
  if (!call) return;
  call->run();
  post_executor_completion(std::move(call));
}

}  // namespace detail

// --- the loop's default executor -------------------------------------------------------------

Executor& EventLoop::default_executor_for(const char* what) {
  check_open(what);
  if (executor_shutdown_called_)
    throw UsageError(std::string(what) +
                     ": the default executor was shut down (shutdown_default_executor() was called); "
                     "pass an executor of your own");
  if (!default_executor_) default_executor_ = std::make_unique<ThreadPoolExecutor>();
  return *default_executor_;
}

void EventLoop::register_executor_call(std::shared_ptr<detail::ExecutorCallBase> call) noexcept {
  detail::ExecutorCallBase* raw = call.get();
  raw->self = std::move(call);
  executor_calls_.push_back(raw);
}

void EventLoop::set_default_executor(std::unique_ptr<Executor> executor) {
  check_open("set_default_executor");
  if (!executor) throw std::invalid_argument("set_default_executor: the executor is null");
  std::unique_ptr<Executor> previous = std::exchange(default_executor_, std::move(executor));
  if (previous) previous->shutdown(true);
}

void EventLoop::shut_down_default_executor_now() noexcept {
  executor_shutdown_called_ = true;
  std::unique_ptr<Executor> executor = std::move(default_executor_);
  if (!executor) return;
  try {
    executor->shutdown(true);
  } catch (...) {
    log_line("error while shutting the default executor down: " + describe(std::current_exception()));
  }
}

Coro<void> EventLoop::shutdown_default_executor() {
  executor_shutdown_called_ = true;
  std::unique_ptr<Executor> executor = std::move(default_executor_);
  if (!executor) co_return;
  // Joining blocks, so a helper thread does it while this loop keeps running: jobs that
  // still need the loop (run_coroutine_threadsafe, call_soon_threadsafe) can finish.
  // If this await is cancelled, the helper's destructor waits for the join.
  ThreadPoolExecutor joiner(1);
  co_await run_in_executor(&joiner, [ex = executor.get()] { ex->shutdown(true); });
}

}  // namespace aio
