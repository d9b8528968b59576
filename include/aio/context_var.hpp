// aio::ContextVar<T> — per-task values, as Python's contextvars are for asyncio.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "aio/detail/context.hpp"
#include "aio/errors.hpp"

namespace aio {

namespace detail {
/// A new id for each ContextVar. Never reused, so a context can never hand one variable's
/// value to another variable (of another type) that happens to live at the same address.
std::uint64_t new_context_var_id() noexcept;
/// The variable's value in the current context, or null. Valid until the next set().
ContextValue* context_get(std::uint64_t var_id) noexcept;
/// Stores `value` (null: removes the variable) in the current context; returns what was
/// there before (null: nothing).
Ref<ContextValue> context_set(std::uint64_t var_id, Ref<ContextValue> value);
/// Which context is current (for Token's check), as an opaque address.
const void* current_context_identity();
}  // namespace detail

/// A variable with one value per task (asyncio's contextvars.ContextVar).
///
/// Every task starts with a copy of the values current where it was created (in the
/// creating task, or outside any task); set() in a task changes only that task's copy, so
/// its parent and its siblings never see it. Children created afterwards (create_task,
/// gather, task_group, ...) start from the new value. An awaited Coro (or AsyncGenerator)
/// runs in its task's context: what it sets, the awaiting code sees. Callbacks
/// (call_soon, call_later, call_at, add_done_callback) run with the values current when
/// they were scheduled, and aio::to_thread runs its function with the caller's values, as
/// in asyncio.
///
///     aio::ContextVar<std::string> request_id("-");    // "-" where nothing was set
///
///     aio::Coro<void> handle(aio::StreamReader r, aio::StreamWriter w) {
///       request_id.set(next_id());          // this connection's task only
///       co_await serve(r, w);               // request_id.get() in here, and in the
///     }                                     // tasks serve() creates: this request's id
///
/// Declare variables once (globals or statics), like Python's module-level ContextVars.
/// Values are shared between contexts, never copied when a task is created: get()
/// returns a copy, so for a large T store a std::shared_ptr<const T>. Outside the loop's
/// thread (to_thread jobs) a value may be read, and released, on another thread.
/// Cost: one thread-local load per task or callback created, until a ContextVar is first
/// set on the thread; then a task created with a non-empty context holds one reference to
/// it (in its rarely used state), and the first set() in a task copies the context's
/// (variable, value) pairs — not the values. Task steps pay nothing.
template <class T>
class ContextVar {
  static_assert(std::is_object_v<T> && !std::is_const_v<T> && std::is_copy_constructible_v<T>,
                "ContextVar<T>: T must be a copyable, non-const object type (get() returns a copy)");

 public:
  /// What set() returns: reset(token) restores the value the variable had before that
  /// set(). Move-only; usable once, in the context (task, callback) where set() ran.
  class Token {
   public:
    Token(Token&& o) noexcept
        : var_id_(std::exchange(o.var_id_, 0)),
          previous_(std::move(o.previous_)),
          context_(o.context_),
          used_(o.used_) {}
    Token& operator=(Token&& o) noexcept {
      var_id_ = std::exchange(o.var_id_, 0);
      previous_ = std::move(o.previous_);
      context_ = o.context_;
      used_ = o.used_;
      return *this;
    }
    Token(const Token&) = delete;
    Token& operator=(const Token&) = delete;

    /// The value before set(); empty if the variable had none there (Python's Token.MISSING).
    std::optional<T> old_value() const {
      if (!previous_) return std::nullopt;
      return static_cast<const detail::ContextValueOf<T>*>(previous_.get())->value;
    }
    /// True once reset() took it.
    bool used() const noexcept { return used_; }

   private:
    friend class ContextVar;
    Token(std::uint64_t var_id, detail::Ref<detail::ContextValue> previous, const void* context) noexcept
        : var_id_(var_id), previous_(std::move(previous)), context_(context) {}

    std::uint64_t var_id_;  // 0: moved from
    detail::Ref<detail::ContextValue> previous_;
    const void* context_;
    bool used_ = false;
  };

  /// A variable without a default: get() throws where it was never set.
  ContextVar() : id_(detail::new_context_var_id()) {}
  /// A variable whose get() returns `default_value` where it was never set.
  explicit ContextVar(T default_value) : id_(detail::new_context_var_id()), default_(std::move(default_value)) {}
  // A variable is an identity (contexts are keyed by it): not copyable.
  ContextVar(const ContextVar&) = delete;
  ContextVar& operator=(const ContextVar&) = delete;

  /// The value in the current context; else the default. std::out_of_range (Python's
  /// LookupError) when there is neither: set() it first, give the variable a default,
  /// or call get(fallback).
  T get() const {
    if (const T* v = find()) return *v;
    if (default_) return *default_;
    throw std::out_of_range(
        "ContextVar::get: the variable has no value in this context and no default; set() it "
        "first, construct it with a default, or call get(fallback)");
  }
  /// The value in the current context, else `fallback` (which wins over the default).
  T get(T fallback) const {
    if (const T* v = find()) return *v;
    return fallback;
  }

  /// Gives the variable `value` in the current context (the running task, the running
  /// callback, or outside any task the thread's own). Returns a Token for reset(); it
  /// may be dropped.
  Token set(T value) {
    detail::Ref<detail::ContextValue> stored(new detail::ContextValueOf<T>(std::move(value)), /*adopt=*/true);
    detail::Ref<detail::ContextValue> previous = detail::context_set(id_, std::move(stored));
    return Token(id_, std::move(previous), detail::current_context_identity());
  }

  /// Restores the value from before the set() that returned `token` (none: the variable
  /// is unset again). UsageError if the token was already used, belongs to another
  /// variable, or was made in another context (another task or callback).
  void reset(Token& token) {
    if (token.var_id_ != id_)
      throw UsageError(token.var_id_ == 0 ? "ContextVar::reset: the Token is empty (moved from)"
                                          : "ContextVar::reset: the Token was created by a different ContextVar");
    if (token.used_) throw UsageError("ContextVar::reset: the Token has already been used once");
    if (token.context_ != detail::current_context_identity())
      throw UsageError(
          "ContextVar::reset: the Token was created in a different context (another task or "
          "callback); reset it where set() returned it");
    detail::context_set(id_, token.previous_);
    token.used_ = true;
  }

 private:
  const T* find() const noexcept {
    if (!detail::tls_context_in_use) return nullptr;  // nothing was ever set on this thread
    detail::ContextValue* v = detail::context_get(id_);
    return v ? &static_cast<const detail::ContextValueOf<T>*>(v)->value : nullptr;
  }

  std::uint64_t id_;
  std::optional<T> default_;
};

}  // namespace aio
