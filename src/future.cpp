#include <string>
#include <utility>
#include <vector>

#include "aio/future.hpp"
#include "aio/loop.hpp"
#include "aio/task.hpp"
#include "future_extras.hpp"
#include "loop_registry.hpp"

namespace aio::detail {

namespace {

/// A done callback, kept in the future's list of waiters so that it is scheduled in
/// registration order among the awaiting tasks.
struct CallbackWaiter final : FutureWaiter {
  CallbackWaiter(FutureCore* core, std::uint64_t callback, FutureCore::DoneCallback f) noexcept
      : owner(core), id(callback), fn(std::move(f)) {}
  FutureCore* owner;
  std::uint64_t id;
  FutureCore::DoneCallback fn;

  std::uint64_t callback_id() const noexcept override { return id; }
  void on_done() noexcept override {
    try {
      owner->loop()->call_soon([self = Ref<FutureCore>(owner), fn = std::move(fn)] { fn(*self); });
    } catch (...) {
      // The loop is closed: nothing can run the callback any more.
    }
    delete this;
  }
};

}  // namespace

FutureCore::~FutureCore() {
  // Pending to the end: the callbacks never run. (Awaiters hold references, so none is left.)
  while (FutureWaiter* w = waiters_.pop_first())
    if (w->callback_id() != 0) delete static_cast<CallbackWaiter*>(w);
  delete extras_;
}

FutureCore::Extras& FutureCore::extras() {
  if (!extras_) extras_ = new Extras();
  return *extras_;
}

std::string FutureCore::describe() const { return "Future"; }

void FutureCore::throw_if_done(const char* what) const {
  if (done())
    throw InvalidStateError(std::string(what) +
                            ": the future is already done (its result, exception or "
                            "cancellation was set before; check done() first)");
}

void FutureCore::rethrow_if_not_ok(const char* what) {
  switch (state_) {
    case State::pending:
      throw InvalidStateError(std::string(what) + ": the result is not ready yet; await it, or check done() first");
    case State::cancelled:
      std::rethrow_exception(extras_->exception);
    case State::finished:
      if (has_exception_) {
        exception_retrieved_ = true;
        std::rethrow_exception(extras_->exception);
      }
      return;
  }
}

std::exception_ptr FutureCore::exception(const char* what) {
  if (state_ == State::pending)
    throw InvalidStateError(std::string(what) + ": not done yet; await it, or check done() first");
  if (state_ == State::cancelled) std::rethrow_exception(extras_->exception);
  exception_retrieved_ = true;
  return has_exception_ ? extras_->exception : nullptr;
}

std::exception_ptr FutureCore::stored_exception() noexcept {
  exception_retrieved_ = true;
  return has_exception_ ? extras_->exception : nullptr;
}

bool FutureCore::cancel_future(std::string msg) {
  // asyncio: cancel() declares the exception handled even when it is too late to cancel.
  exception_retrieved_ = true;
  if (done()) return false;
  finish_with_exception(std::make_exception_ptr(CancelledError(std::move(msg))), /*cancelled=*/true);
  return true;
}

bool is_cancelled_error(const std::exception_ptr& e) noexcept {
  if (!e) return false;
  try {
    std::rethrow_exception(e);
  } catch (const CancelledError&) {
    return true;
  } catch (...) {
    return false;
  }
}

void FutureCore::set_exception_core(std::exception_ptr e, const char* what) {
  throw_if_done(what);
  if (!e) throw std::invalid_argument(std::string(what) + ": the exception_ptr is null");
  bool cancelled = is_cancelled_error(e);
  finish_with_exception(std::move(e), cancelled);
}

void FutureCore::finish_with_value() noexcept {
  state_ = State::finished;
  wake_all();
}

// noexcept: the Extras are small and pooled; running out of memory here ends the process
// (as it would creating the exception just before).
void FutureCore::finish_with_exception(std::exception_ptr e, bool cancelled) noexcept {
  state_ = cancelled ? State::cancelled : State::finished;
  extras().exception = std::move(e);
  has_exception_ = true;
  wake_all();
}

void FutureCore::wake_all() noexcept {
  // Oldest first. A waiter may unlink another while this runs: `order` is a ring like the
  // one they were in.
  IntrusiveRing<FutureWaiter> order;
  waiters_.reverse_into(order);
  while (FutureWaiter* w = order.pop_first()) w->on_done();
}

std::uint64_t FutureCore::add_done_callback_core(DoneCallback fn) {
  if (tls_context_in_use) [[unlikely]] {
    // asyncio runs a done callback in the context current when it was added.
    fn = [context = capture_context(), fn = std::move(fn)](FutureCore& core) {
      ContextScope scope(context);
      fn(core);
    };
  }
  if (done()) {
    loop_->call_soon([self = Ref<FutureCore>(this), fn = std::move(fn)] { fn(*self); });
    return 0;
  }
  std::uint64_t id = extras().next_callback_id++;
  waiters_.push(new CallbackWaiter(this, id, std::move(fn)));
  return id;
}

std::size_t FutureCore::remove_done_callback_core(std::uint64_t id) {
  if (id == 0) return 0;
  FutureWaiter* w = waiters_.find_if([id](const FutureWaiter* x) { return x->callback_id() == id; });
  if (!w) return 0;
  IntrusiveRing<FutureWaiter>::erase(w);
  delete static_cast<CallbackWaiter*>(w);
  return 1;
}

void FutureCore::report_unretrieved() noexcept {
  if (state_ != State::finished || !has_exception_ || exception_retrieved_) return;
  const std::exception_ptr& exception = extras_->exception;
  ExceptionContext ctx;
  ctx.message = describe() + " exception was never retrieved";
  ctx.exception = exception;
  if (auto* task = dynamic_cast<TaskBase*>(this)) {
    ctx.task_name = task->name();
    try {
      ctx.call_stack = task->error_trace(exception);
    } catch (...) {
    }
  }
  if (loop_is_alive(loop_)) {
    loop_->call_exception_handler(ctx);
  } else {
    std::string text = ctx.message + ": " + aio::describe(ctx.exception);
    for (const std::string& frame : ctx.call_stack) text += "\n  in " + frame;
    log_line(text);
  }
}

EventLoop& loop_for_new_future() {
  if (!tls_run.loop)
    throw UsageError(
        "aio::Future: a default-constructed Future needs a running loop; "
        "use loop.create_future<T>() or Future<T>(loop) outside one");
  return *tls_run.loop;
}

}  // namespace aio::detail
