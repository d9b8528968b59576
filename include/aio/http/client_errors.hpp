// aio::http client errors — aiohttp's ClientError family.
#pragma once

#include <string>

#include "aio/errors.hpp"

namespace aio::http {

/// The base of every error the HTTP client raises (aiohttp.ClientError). A timeout is not
/// one: it throws aio::TimeoutError, as aiohttp raises asyncio.TimeoutError.
class ClientError : public Error {
 public:
  using Error::Error;
};

/// The connection could not be made or broke (refused, reset, DNS failure, TLS handshake
/// or certificate failure). Never a bare std::system_error.
class ClientConnectionError : public ClientError {
 public:
  using ClientError::ClientError;
};

/// The server closed the connection before it sent a whole response head.
class ServerDisconnectedError : public ClientConnectionError {
 public:
  explicit ServerDisconnectedError(const std::string& what = "Server disconnected") : ClientConnectionError(what) {}
};

/// A response that breaks HTTP/1.1: a malformed status line or header, conflicting framing,
/// a head over the size limit. The connection is closed, never reused.
class MalformedResponseError : public ClientError {
 public:
  using ClientError::ClientError;
};

/// The body could not be read whole: the connection closed early (a Content-Length that
/// lied, a truncated chunked body), a bad chunk, bad gzip/deflate data, or a body over
/// SessionOptions::max_body_size (aiohttp.ClientPayloadError).
class ClientPayloadError : public ClientError {
 public:
  using ClientError::ClientError;
};

/// A response with status >= 400, from raise_for_status() (or every request when
/// SessionOptions::raise_for_status is on).
class ClientResponseError : public ClientError {
 public:
  ClientResponseError(int status, const std::string& what) : ClientError(what), status_(status) {}
  int status() const noexcept { return status_; }

 private:
  int status_;
};

/// More redirects than max_redirects (a redirect loop ends here). status() is the last
/// redirect's.
class TooManyRedirects : public ClientResponseError {
 public:
  using ClientResponseError::ClientResponseError;
};

/// A URL the client cannot use: not http or https, no host, a bad port, spaces or control
/// characters.
class InvalidURL : public ClientError {
 public:
  using ClientError::ClientError;
};

}  // namespace aio::http
