// The exception types of aio, mirroring asyncio's exceptions.py.
#pragma once

#include <cstddef>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace aio {

/// Raised inside a task at the await where it was cancelled (asyncio.CancelledError).
///
/// Deliberately *not* derived from std::exception, for the reason asyncio made
/// CancelledError a BaseException: `catch (const std::exception&)` in user code must not
/// swallow cancellation. Catch it explicitly (`catch (const aio::CancelledError&)`) when
/// a task really wants to clean up and go on.
class CancelledError {
 public:
  CancelledError() = default;
  explicit CancelledError(std::string message) : message_(std::move(message)) {}

  /// The message given to `cancel(msg)`, empty if none.
  const std::string& message() const noexcept { return message_; }
  const char* what() const noexcept { return message_.empty() ? "CancelledError" : message_.c_str(); }

 private:
  std::string message_;
};

/// Thrown by aio::run when SIGINT (Ctrl-C) cancelled the main coroutine, like Python's
/// KeyboardInterrupt. Not a std::exception, for the same reason as CancelledError.
/// Left uncaught, it ends the process as Python's does: "KeyboardInterrupt" on stderr,
/// then killed by SIGINT (shell status 130). Catch it to end otherwise:
///
///     try { aio::run(amain()); } catch (const aio::KeyboardInterrupt&) { return 130; }
class KeyboardInterrupt {
 public:
  const char* what() const noexcept { return "KeyboardInterrupt"; }
};

/// Base of aio's runtime errors (asyncio's errors that derive from Exception).
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// An operation did not finish in time (asyncio.TimeoutError, which is TimeoutError).
class TimeoutError : public Error {
 public:
  TimeoutError() : Error("operation timed out") {}
  using Error::Error;
};

/// A future or task was asked for something its state does not allow, e.g. `result()`
/// before it is done or `set_result()` twice (asyncio.InvalidStateError).
class InvalidStateError : public Error {
 public:
  using Error::Error;
};

class QueueEmpty : public Error {
 public:
  QueueEmpty() : Error("queue is empty") {}
  using Error::Error;
};

class QueueFull : public Error {
 public:
  QueueFull() : Error("queue is full") {}
  using Error::Error;
};

class QueueShutDown : public Error {
 public:
  QueueShutDown() : Error("queue is shut down") {}
  using Error::Error;
};

class BrokenBarrierError : public Error {
 public:
  BrokenBarrierError() : Error("barrier is broken") {}
  using Error::Error;
};

/// EOF came before the expected number of bytes; `partial()` holds what was read.
class IncompleteReadError : public Error {
 public:
  IncompleteReadError(std::string partial, std::size_t expected);
  const std::string& partial() const noexcept { return partial_; }
  std::size_t expected() const noexcept { return expected_; }

 private:
  std::string partial_;
  std::size_t expected_;
};

/// The separator was not found within the stream's limit; the data stays in the buffer.
class LimitOverrunError : public Error {
 public:
  LimitOverrunError(const std::string& message, std::size_t consumed) : Error(message), consumed_(consumed) {}
  std::size_t consumed() const noexcept { return consumed_; }

 private:
  std::size_t consumed_;
};

/// Several exceptions at once, as raised by a TaskGroup (Python's ExceptionGroup).
///
/// `what()` is Python's `str(eg)` — "unhandled errors in a TaskGroup (2 sub-exceptions)" —
/// followed by one numbered item per exception, its type and message, nested groups
/// indented:
///
///     unhandled errors in a TaskGroup (2 sub-exceptions)
///       1. aio::TimeoutError: operation timed out
///       2. aio::ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)
///            1. std::system_error: connect to 10.0.0.1:443: Connection refused
///
/// `split`, `subgroup` and `contains` are Python's `except*` made usable in C++:
///
///     } catch (const aio::ExceptionGroup& eg) {
///       auto [timeouts, rest] = eg.split<aio::TimeoutError>();
///       if (timeouts) retry_later();
///       if (rest) throw *rest;  // what we do not handle goes on
///     }
///
/// They follow Python's semantics: every exception of the tree is tested, the nested
/// groups too (a group that matches goes in whole), a nested group that is not matched is
/// split in turn, the nesting and messages are kept, and groups left empty vanish; an
/// empty result is std::nullopt. As in Python (where `eg.split(Exception)` takes all),
/// the group itself is tested first: ExceptionGroup is an aio::Error and a std::exception,
/// so `split<aio::Error>()` and `split<std::exception>()` match the whole group. A type is
/// matched as a `catch (const E&)` would match it.
class ExceptionGroup : public Error {
 public:
  /// Throws std::invalid_argument if `exceptions` is empty or holds a null exception_ptr
  /// (Python's ValueError and TypeError).
  ExceptionGroup(std::string message, std::vector<std::exception_ptr> exceptions);

  /// The message given to the constructor (Python's `eg.message`), without the count.
  const std::string& message() const noexcept { return message_; }
  const std::vector<std::exception_ptr>& exceptions() const noexcept { return exceptions_; }

  /// The matching part and the rest (Python's `eg.split(E)`); either is std::nullopt when
  /// it would be empty. The overload with a predicate matches the exceptions that are E
  /// and for which `pred(const E&)` is true (Python's `eg.split(callable)`).
  template <class E>
  std::pair<std::optional<ExceptionGroup>, std::optional<ExceptionGroup>> split() const;
  template <class E, class Pred>
  std::pair<std::optional<ExceptionGroup>, std::optional<ExceptionGroup>> split(Pred pred) const;

  /// Only the matching part, std::nullopt if nothing matches (Python's `eg.subgroup(E)`).
  template <class E>
  std::optional<ExceptionGroup> subgroup() const;
  template <class E, class Pred>
  std::optional<ExceptionGroup> subgroup(Pred pred) const;

  /// Whether anything matches: `subgroup<E>().has_value()`, without building it.
  template <class E>
  bool contains() const;
  template <class E, class Pred>
  bool contains(Pred pred) const;

 private:
  /// Tests one exception of the tree (a leaf or a nested group) against the condition.
  struct Condition {
    bool (*test)(const std::exception_ptr& e, const void* context);
    const void* context;
  };
  /// The non-template walk behind split, subgroup (want_rest false) and contains.
  std::pair<std::optional<ExceptionGroup>, std::optional<ExceptionGroup>> split_by(bool whole_group_matches,
                                                                                   Condition condition,
                                                                                   bool want_rest) const;
  bool contains_by(bool whole_group_matches, Condition condition) const;

  template <class E, class Pred>
  bool matches_whole_group(const Pred& pred) const;
  template <class E, class Pred>
  static Condition condition_for(const Pred& pred);

  std::string message_;
  std::vector<std::exception_ptr> exceptions_;
};

/// A TLS failure (asyncio's ssl.SSLError): the handshake failed, the peer's certificate
/// did not verify, or a record was corrupt. The message names OpenSSL's reason, and for a
/// verification failure the certificate problem ("certificate has expired", ...).
class SslError : public Error {
 public:
  using Error::Error;
};

/// The API was used in a way its state does not allow: awaiting a Coro twice, calling
/// `aio::run` inside a running loop, releasing an unlocked Lock, ... The message says
/// what to do instead.
class UsageError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// A description of an exception_ptr — its type (demangled) and message, e.g.
/// "std::runtime_error: boom" — for logs. One line, except for an ExceptionGroup, whose
/// what() lists its exceptions one per line.
std::string describe(const std::exception_ptr& e);

// ---- ExceptionGroup's templates -----------------------------------------------------------

namespace detail {
struct AnyException {
  template <class E>
  bool operator()(const E&) const noexcept {
    return true;
  }
};
}  // namespace detail

template <class E, class Pred>
bool ExceptionGroup::matches_whole_group(const Pred& pred) const {
  if constexpr (std::is_class_v<E>) {
    // A cross-cast too: E may be a second base of a program's own group type.
    if (const E* self = dynamic_cast<const E*>(this)) return pred(*self);
  }
  return false;
}

template <class E, class Pred>
ExceptionGroup::Condition ExceptionGroup::condition_for(const Pred& pred) {
  static_assert(!std::is_reference_v<E> && !std::is_const_v<E>,
                "name the exception type itself: split<aio::TimeoutError>()");
  auto test = [](const std::exception_ptr& e, const void* context) -> bool {
    try {
      std::rethrow_exception(e);
    } catch (const E& x) {
      return (*static_cast<const Pred*>(context))(x);
    } catch (...) {
    }
    return false;
  };
  return Condition{test, &pred};
}

template <class E>
std::pair<std::optional<ExceptionGroup>, std::optional<ExceptionGroup>> ExceptionGroup::split() const {
  return split<E>(detail::AnyException{});
}

template <class E, class Pred>
std::pair<std::optional<ExceptionGroup>, std::optional<ExceptionGroup>> ExceptionGroup::split(Pred pred) const {
  return split_by(matches_whole_group<E>(pred), condition_for<E>(pred), true);
}

template <class E>
std::optional<ExceptionGroup> ExceptionGroup::subgroup() const {
  return subgroup<E>(detail::AnyException{});
}

template <class E, class Pred>
std::optional<ExceptionGroup> ExceptionGroup::subgroup(Pred pred) const {
  return split_by(matches_whole_group<E>(pred), condition_for<E>(pred), false).first;
}

template <class E>
bool ExceptionGroup::contains() const {
  return contains<E>(detail::AnyException{});
}

template <class E, class Pred>
bool ExceptionGroup::contains(Pred pred) const {
  return contains_by(matches_whole_group<E>(pred), condition_for<E>(pred));
}

}  // namespace aio
