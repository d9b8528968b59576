// aio::Outcome<T> — a value or an exception: what gather(return_exceptions, ...) gives back.
#pragma once

#include <exception>
#include <type_traits>
#include <utility>
#include <variant>

#include "aio/delay.hpp"
#include "aio/errors.hpp"

namespace aio {

/// Holds either a value of type T, an exception, or (before it is set) nothing.
/// `Outcome<None>` stands for a void result.
template <class T>
class Outcome {
  static_assert(!std::is_void_v<T>, "use Outcome<aio::None> for a void result");

 public:
  Outcome() = default;

  /// True when it holds a value.
  bool ok() const noexcept { return state_.index() == 1; }
  /// True when it holds neither a value nor an exception yet.
  bool empty() const noexcept { return state_.index() == 0; }
  bool has_exception() const noexcept { return state_.index() == 2; }
  /// True when the exception it holds is a CancelledError (a cancelled task's outcome).
  bool cancelled() const noexcept {
    if (!has_exception()) return false;
    try {
      std::rethrow_exception(std::get<2>(state_));
    } catch (const CancelledError&) {
      return true;
    } catch (...) {
      return false;
    }
  }

  /// The value; rethrows the exception if it holds one.
  T& value() & {
    check();
    return std::get<1>(state_);
  }
  const T& value() const& {
    check();
    return std::get<1>(state_);
  }
  T&& value() && {
    check();
    return std::get<1>(std::move(state_));
  }

  /// The exception, or a null exception_ptr when it holds a value.
  std::exception_ptr exception() const noexcept { return has_exception() ? std::get<2>(state_) : std::exception_ptr{}; }

  template <class... Args>
  void set_value(Args&&... args) {
    state_.template emplace<1>(std::forward<Args>(args)...);
  }
  void set_exception(std::exception_ptr e) noexcept { state_.template emplace<2>(std::move(e)); }

 private:
  void check() const {
    if (has_exception()) std::rethrow_exception(std::get<2>(state_));
    if (empty()) throw InvalidStateError("aio::Outcome: no value or exception has been set yet");
  }

  std::variant<std::monostate, T, std::exception_ptr> state_;
};

namespace detail {
/// T, or None for void: the type a void result takes inside tuples, vectors and Outcomes.
template <class T>
using value_t = std::conditional_t<std::is_void_v<T>, None, T>;
}  // namespace detail

}  // namespace aio
