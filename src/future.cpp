#include <string>
#include <utility>
#include <vector>

#include "aio/future.hpp"
#include "aio/loop.hpp"
#include "aio/task.hpp"
#include "future_extras.hpp"
#include "loop_registry.hpp"

namespace aio::detail {

FutureCore::~FutureCore() { delete extras_; }

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
      std::rethrow_exception(exception_);
    case State::finished:
      if (exception_) {
        exception_retrieved_ = true;
        std::rethrow_exception(exception_);
      }
      return;
  }
}

std::exception_ptr FutureCore::exception(const char* what) {
  if (state_ == State::pending)
    throw InvalidStateError(std::string(what) + ": not done yet; await it, or check done() first");
  if (state_ == State::cancelled) std::rethrow_exception(exception_);
  exception_retrieved_ = true;
  return exception_;
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

void FutureCore::finish_with_exception(std::exception_ptr e, bool cancelled) noexcept {
  state_ = cancelled ? State::cancelled : State::finished;
  exception_ = std::move(e);
  wake_all();
}

void FutureCore::wake_all() noexcept {
  while (FutureWaiter* w = waiters_.pop_front()) w->on_done();
  if (!extras_ || extras_->callbacks.empty()) return;
  auto callbacks = std::move(extras_->callbacks);
  extras_->callbacks.clear();
  for (auto& [id, fn] : callbacks) {
    try {
      loop_->call_soon([self = Ref<FutureCore>(this), fn = std::move(fn)] { fn(*self); });
    } catch (...) {
      // The loop is closed: nothing can run the callback any more.
    }
  }
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
  Extras& x = extras();
  std::uint64_t id = x.next_callback_id++;
  x.callbacks.emplace_back(id, std::move(fn));
  return id;
}

std::size_t FutureCore::remove_done_callback_core(std::uint64_t id) {
  if (!extras_) return 0;
  auto& v = extras_->callbacks;
  std::size_t before = v.size();
  std::erase_if(v, [id](const auto& e) { return e.first == id; });
  return before - v.size();
}

void FutureCore::report_unretrieved() noexcept {
  if (state_ != State::finished || !exception_ || exception_retrieved_) return;
  ExceptionContext ctx;
  ctx.message = describe() + " exception was never retrieved";
  ctx.exception = exception_;
  if (auto* task = dynamic_cast<TaskBase*>(this)) ctx.task_name = task->name();
  if (loop_is_alive(loop_)) {
    loop_->call_exception_handler(ctx);
  } else {
    log_line(ctx.message + ": " + aio::describe(ctx.exception));
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
