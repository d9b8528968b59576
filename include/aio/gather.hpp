// aio::gather — asyncio.gather: run awaitables concurrently, collect results in order.
#pragma once

#include <array>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "aio/coro.hpp"
#include "aio/detail/awaitable_traits.hpp"
#include "aio/detail/multi_wait.hpp"
#include "aio/outcome.hpp"
#include "aio/task.hpp"

namespace aio {

/// Tag for gather's `return_exceptions=True` form.
struct ReturnExceptions {
  explicit ReturnExceptions() = default;
};
inline constexpr ReturnExceptions return_exceptions{};

namespace detail {

/// The waiting half of gather, over tasks (every child is a task).
///
/// Movable until it is awaited, so that it can be handed to wait_for() or timeout(): the
/// moved-to object takes over the children's waiter registrations and what it has seen.
class GatherWait : public MultiWait {
 public:
  bool await_ready() const noexcept { return finished_; }
  void await_suspend(std::coroutine_handle<> h) { suspend_on_children(h, "aio::gather"); }
  void await_resume() {
    if (suspended_) check_cancel(task_);
    if (error_) std::rethrow_exception(error_);
    if (cancel_requested_) throw CancelledError(cancel_message_);
  }

  /// Cancelling the awaiting task cancels every child still running; the gather then
  /// ends in CancelledError once they finish (asyncio's _GatheringFuture.cancel).
  bool cancel_wait(const std::string& msg) noexcept override {
    bool any = false;
    for (Child& c : children_)
      if (static_cast<TaskBase*>(c.core)->cancel(msg)) any = true;
    if (any) {
      cancel_requested_ = true;
      cancel_message_ = msg;
    }
    return any;
  }

 protected:
  explicit GatherWait(bool return_exceptions) noexcept : return_exceptions_(return_exceptions) {}
  /// Carries the outcome state over; the derived class then binds its nodes and calls
  /// take_over(). (cancel_requested_ is carried for completeness: it is only set once awaited.)
  GatherWait(GatherWait&& o) noexcept
      : MultiWait(),
        return_exceptions_(o.return_exceptions_),
        cancel_requested_(o.cancel_requested_),
        finished_count_(o.finished_count_),
        error_(std::move(o.error_)),
        cancel_message_(std::move(o.cancel_message_)) {}

  /// Starts observing the children (called by the derived constructor, after bind()).
  /// Like asyncio's done callbacks, this happens when gather() is called, so outcomes are
  /// seen in completion order even before the gather is awaited.
  void observe_all() {
    observe_children();
    if (children_.empty()) finish();
  }

  /// Called by the derived destructor, while the child storage still exists.
  void release_children() noexcept {
    // Children still running after an early exit: their exceptions are the gather's
    // business, never "unretrieved" (asyncio's callback retrieves them too).
    for (Child& c : children_)
      if (!c.core->done()) c.core->mark_retrieved();
    unbind();
  }

  void on_child_done(Child& c) noexcept override { child_finished(c); }

 private:
  void child_finished(Child& c) noexcept {
    ++finished_count_;
    // Retrieve every child's exception, as asyncio's gather callback does.
    std::exception_ptr e = c.core->stored_exception();
    if (finished_) return;
    if (!return_exceptions_ && e) {
      error_ = std::move(e);
      finish();
    } else if (finished_count_ == children_.size()) {
      finish();
    }
  }

  bool return_exceptions_;
  bool cancel_requested_ = false;
  std::size_t finished_count_ = 0;
  std::exception_ptr error_;
  std::string cancel_message_;
};

template <bool kReturnExceptions, class... Ts>
class [[nodiscard]] GatherTuple final : public GatherWait {
  static constexpr std::size_t N = sizeof...(Ts);

 public:
  using Result = std::conditional_t<kReturnExceptions, std::tuple<Outcome<value_t<Ts>>...>, std::tuple<value_t<Ts>...>>;

  explicit GatherTuple(std::tuple<Task<Ts>...> tasks) : GatherWait(kReturnExceptions), tasks_(std::move(tasks)) {
    std::apply(
        [this](auto&... t) {
          std::size_t i = 0;
          ((nodes_[i++].core = t.core()), ...);
        },
        tasks_);
    bind(nodes_);
    observe_all();
  }
  /// Valid only before the gather is awaited (see GatherWait).
  GatherTuple(GatherTuple&& o) noexcept : GatherWait(std::move(o)), tasks_(std::move(o.tasks_)), nodes_(o.nodes_) {
    bind(nodes_);
    take_over(o);
  }
  ~GatherTuple() { release_children(); }

  Result await_resume() {
    GatherWait::await_resume();
    return std::apply(
        [](auto&... t) {
          if constexpr (kReturnExceptions)
            return Result(take_outcome(t)...);
          else
            return Result(take_value(t)...);
        },
        tasks_);
  }

 private:
  std::tuple<Task<Ts>...> tasks_;
  std::array<Child, N> nodes_;
};

template <bool kReturnExceptions, class T>
class [[nodiscard]] GatherVector final : public GatherWait {
 public:
  using Item = std::conditional_t<kReturnExceptions, Outcome<value_t<T>>, value_t<T>>;
  using Result = std::vector<Item>;

  explicit GatherVector(std::vector<Task<T>> tasks)
      : GatherWait(kReturnExceptions), tasks_(std::move(tasks)), nodes_(tasks_.size()) {
    for (std::size_t i = 0; i < tasks_.size(); ++i) nodes_[i].core = tasks_[i].core();
    bind(nodes_);
    observe_all();
  }
  /// Valid only before the gather is awaited (see GatherWait). The nodes' storage moves
  /// with the vector, so their registrations stay as they are.
  GatherVector(GatherVector&& o) noexcept
      : GatherWait(std::move(o)), tasks_(std::move(o.tasks_)), nodes_(std::move(o.nodes_)) {
    bind(nodes_);
    take_over(o);
  }
  ~GatherVector() { release_children(); }

  Result await_resume() {
    GatherWait::await_resume();
    Result out;
    out.reserve(tasks_.size());
    for (auto& t : tasks_) {
      if constexpr (kReturnExceptions)
        out.push_back(take_outcome(t));
      else
        out.push_back(take_value(t));
    }
    return out;
  }

 private:
  std::vector<Task<T>> tasks_;
  std::vector<Child> nodes_;
};

template <class A>
concept Awaitable = requires {
  typename awaitable_traits<std::remove_cvref_t<A>>::type;
};

template <class T>
std::vector<Task<T>> ensure_tasks(std::vector<Coro<T>>&& coros) {
  std::vector<Task<T>> tasks;
  tasks.reserve(coros.size());
  for (auto& c : coros) tasks.push_back(create_task(std::move(c)));
  return tasks;
}

}  // namespace detail

/// Runs the awaitables (Coro, Task, Future, or another gather) concurrently and returns
/// their results in argument order, `aio::None` for void ones. Coros are wrapped in tasks
/// at once, so they start running even before the gather is awaited (as in asyncio).
///
///     auto [a, b] = co_await aio::gather(fetch(1), fetch(2));
///     auto [c, d] = co_await aio::wait_for(aio::gather(fetch(3), fetch(4)), 1.0);
///
/// The first exception (or cancellation) of a child propagates at once; the other
/// children keep running. Cancelling the awaiting task cancels every child. The returned
/// object is awaited once; it can be moved (into wait_for, timeout, shield...) until then.
template <class... Aws>
requires(detail::Awaitable<Aws>&&...) auto gather(Aws&&... aws) {
  // A braced list is evaluated left to right: the tasks start in argument order.
  return detail::GatherTuple<false, detail::result_of_t<Aws>...>(
      std::tuple<Task<detail::result_of_t<Aws>>...>{detail::ensure_task(std::forward<Aws>(aws))...});
}

/// gather(return_exceptions, ...): every child's outcome, exceptions included, as
/// `aio::Outcome<T>` (a cancelled child gives an Outcome holding CancelledError).
template <class... Aws>
requires(detail::Awaitable<Aws>&&...) auto gather(ReturnExceptions, Aws&&... aws) {
  return detail::GatherTuple<true, detail::result_of_t<Aws>...>(
      std::tuple<Task<detail::result_of_t<Aws>>...>{detail::ensure_task(std::forward<Aws>(aws))...});
}

/// The vector forms: results (or outcomes) in the vector's order.
template <class T>
auto gather(std::vector<Coro<T>> coros) {
  return detail::GatherVector<false, T>(detail::ensure_tasks(std::move(coros)));
}
template <class T>
auto gather(std::vector<Task<T>> tasks) {
  return detail::GatherVector<false, T>(std::move(tasks));
}
template <class T>
auto gather(ReturnExceptions, std::vector<Coro<T>> coros) {
  return detail::GatherVector<true, T>(detail::ensure_tasks(std::move(coros)));
}
template <class T>
auto gather(ReturnExceptions, std::vector<Task<T>> tasks) {
  return detail::GatherVector<true, T>(std::move(tasks));
}

}  // namespace aio
