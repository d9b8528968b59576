// The exception types of aio, mirroring asyncio's exceptions.py.
#pragma once

#include <cstddef>
#include <exception>
#include <stdexcept>
#include <string>
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

/// Several exceptions at once, as raised by a TaskGroup (asyncio's ExceptionGroup).
class ExceptionGroup : public Error {
 public:
  ExceptionGroup(std::string message, std::vector<std::exception_ptr> exceptions);
  const std::vector<std::exception_ptr>& exceptions() const noexcept { return exceptions_; }

 private:
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

/// A one-line description of an exception_ptr ("std::runtime_error: boom"), for logs.
std::string describe(const std::exception_ptr& e);

}  // namespace aio
