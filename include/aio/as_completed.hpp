// aio::as_completed — asyncio.as_completed: results in the order the tasks finish.
#pragma once

#include <coroutine>
#include <cstddef>
#include <deque>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "aio/detail/future_core.hpp"
#include "aio/detail/task_base.hpp"
#include "aio/errors.hpp"
#include "aio/detail/deferred.hpp"
#include "aio/task.hpp"

namespace aio {

/// The range returned by as_completed(). Iterate it once; each element is awaited once.
template <class T>
class [[nodiscard]] AsCompleted {
  // Learns of its task's end one iteration later (asyncio's _on_completion callback).
  struct Node final : detail::DeferredWaiter {
    AsCompleted* owner = nullptr;
    std::size_t index = 0;
    void run_deferred() noexcept override { owner->task_finished(index); }
  };

 public:
  /// One step of the iteration: `co_await next` gives the result of the next task to
  /// finish (or rethrows its exception). Cancel-safe: cancelling the awaiting task loses
  /// no completion; the next await gets it.
  class Next final : public detail::Suspension {
   public:
    explicit Next(AsCompleted* owner) noexcept : owner_(owner) {}
    bool await_ready() const {
      if (owner_->taken_ >= owner_->tasks_.size())
        throw UsageError("aio::as_completed: more steps awaited than tasks given");
      return !owner_->finished_.empty();
    }
    void await_suspend(std::coroutine_handle<> h) {
      task_ = &detail::require_task("aio::as_completed");
      if (owner_->consumer_) throw UsageError("aio::as_completed: two tasks are awaiting the same iteration step");
      owner_->consumer_ = this;
      task_->suspend(h, this);
    }
    T await_resume() {
      if (detail::TaskBase* t = std::exchange(task_, nullptr)) {
        if (owner_->consumer_ == this) owner_->consumer_ = nullptr;
        detail::check_cancel(t);
      }
      std::size_t i = owner_->finished_.front();
      owner_->finished_.pop_front();
      ++owner_->taken_;
      const Task<T>& t = owner_->tasks_[i];
      t.state()->rethrow_if_not_ok("aio::as_completed");
      if constexpr (!std::is_void_v<T>) return detail::copy_or_move(t.state()->value);
    }
    std::string describe_wait() const override {
      return "aio::as_completed (" + std::to_string(owner_->taken_) + " of " + std::to_string(owner_->tasks_.size()) +
             " taken)";
    }
    bool cancel_wait(const std::string&) noexcept override {
      owner_->consumer_ = nullptr;
      task_->wake();
      return false;
    }

   private:
    friend class AsCompleted;
    AsCompleted* owner_;
    detail::TaskBase* task_ = nullptr;
  };

  explicit AsCompleted(std::vector<Task<T>> tasks) : tasks_(std::move(tasks)), nodes_(tasks_.size()) {
    steps_.reserve(tasks_.size());
    for (std::size_t i = 0; i < tasks_.size(); ++i) {
      steps_.emplace_back(this);
      nodes_[i].owner = this;
      nodes_[i].index = i;
      nodes_[i].observe(tasks_[i].core());
    }
  }
  AsCompleted(const AsCompleted&) = delete;
  AsCompleted& operator=(const AsCompleted&) = delete;
  ~AsCompleted() {
    for (Node& n : nodes_) n.stop_observing();
  }

  auto begin() noexcept { return steps_.begin(); }
  auto end() noexcept { return steps_.end(); }
  std::size_t size() const noexcept { return steps_.size(); }

 private:
  void task_finished(std::size_t index) noexcept {
    finished_.push_back(index);
    if (Next* c = consumer_) {
      consumer_ = nullptr;
      c->task_->wake();
    }
  }

  std::vector<Task<T>> tasks_;
  std::vector<Node> nodes_;
  std::vector<Next> steps_;
  std::deque<std::size_t> finished_;  // indexes of finished tasks, in completion order
  std::size_t taken_ = 0;             // results handed out so far
  Next* consumer_ = nullptr;
};

/// Iterates over the tasks' results in completion order (asyncio.as_completed).
///
///     for (auto& next : aio::as_completed(tasks)) {
///       int r = co_await next;   // the earliest result not yet taken
///     }
template <class T>
AsCompleted<T> as_completed(std::vector<Task<T>> tasks) {
  return AsCompleted<T>(std::move(tasks));
}

}  // namespace aio
