// aio::mysql's exceptions: PEP 249's classes, mapped from server error numbers as PyMySQL does.
#pragma once

#include <string>

#include "aio/errors.hpp"

namespace aio::mysql {

/// Every aio::mysql failure. `code()` is the server's error number (1045, 1062, ...) or a
/// client error number (2003 can't connect, 2013 lost connection, 0 for misuse);
/// `sqlstate()` is the five-character SQLSTATE ("23000", "42S02", "HY000").
class Error : public aio::Error {
 public:
  Error(int code, std::string sqlstate, const std::string& message);
  int code() const noexcept { return code_; }
  const std::string& sqlstate() const noexcept { return sqlstate_; }

 private:
  int code_;
  std::string sqlstate_;
};

/// The connection was used wrongly or is no longer usable (closed, or left out of sync by
/// an operation that was cancelled half-way): reconnect or take another from the pool.
class InterfaceError : public Error {
 public:
  using Error::Error;
};

/// An error the server reported about the database (the base of the classes below).
class DatabaseError : public Error {
 public:
  using Error::Error;
};

/// A value did not fit: NULL read as a non-optional type, a number out of range, bad data.
class DataError : public DatabaseError {
 public:
  using DatabaseError::DatabaseError;
};

/// The server or the connection failed: can't connect (2002/2003), access denied (1045),
/// unknown database (1049), connection lost (2013), and server errors not named elsewhere.
class OperationalError : public DatabaseError {
 public:
  using DatabaseError::DatabaseError;
};

/// A constraint was violated: duplicate key (1062), foreign key, NOT NULL.
class IntegrityError : public DatabaseError {
 public:
  using DatabaseError::DatabaseError;
};

/// The server's internal errors (error numbers below 1000).
class InternalError : public DatabaseError {
 public:
  using DatabaseError::DatabaseError;
};

/// The SQL is wrong: syntax (1064), unknown table (1146), wrong names, wrong parameter count.
class ProgrammingError : public DatabaseError {
 public:
  using DatabaseError::DatabaseError;
};

/// The server does not support what was asked.
class NotSupportedError : public DatabaseError {
 public:
  using DatabaseError::DatabaseError;
};

/// Throws the class PyMySQL would raise for this server error (err.py's error map).
[[noreturn]] void throw_server_error(int code, std::string sqlstate, const std::string& message);

}  // namespace aio::mysql
