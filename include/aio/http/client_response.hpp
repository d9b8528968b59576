// aio::http::ClientResponse — what ClientSession's requests return (aiohttp's ClientResponse).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "aio/coro.hpp"
#include "aio/http/header_field.hpp"

namespace aio::http {

namespace detail {
class ResponseState;
}

/// The response body as a stream (aiohttp's StreamReader, `resp.content`): decoded
/// (gzip/deflate undone) and read piece by piece, never buffered whole. Each read waits at
/// most ClientTimeout::sock_read for the server. Errors: ClientPayloadError (the body ended
/// early or is malformed), aio::TimeoutError.
class ResponseContent {
 public:
  /// Up to n bytes (n < 0: the rest of the body). "" at the end of the body.
  Coro<std::string> read(long n = -1);
  /// Whatever is available, at least one byte unless at the end ("").
  Coro<std::string> readany();
  /// A line ending in "\n" (the last may lack it); "" at the end. ClientPayloadError for a
  /// line longer than 64 KiB.
  Coro<std::string> readline();
  /// Exactly n bytes; aio::IncompleteReadError if the body ends first.
  Coro<std::string> readexactly(std::size_t n);
  /// True when the whole body has been read.
  bool at_eof() const noexcept;

 private:
  friend class ClientResponse;
  detail::ResponseState* state_ = nullptr;
};

/// One response: status and headers at once, the body on demand. The connection goes
/// back to the pool when the body has been read to its end; release() (or destroying the
/// response) before that closes it instead.
class ClientResponse {
 public:
  explicit ClientResponse(std::unique_ptr<detail::ResponseState> state) noexcept;
  ClientResponse(ClientResponse&& o) noexcept;
  ClientResponse& operator=(ClientResponse&& o) noexcept;
  ClientResponse(const ClientResponse&) = delete;
  ClientResponse& operator=(const ClientResponse&) = delete;
  ~ClientResponse();

  int status() const noexcept;
  std::string_view reason() const noexcept;
  /// 0 for HTTP/1.0, 1 for HTTP/1.1.
  int version_minor() const noexcept;
  /// The first header of that name (any case).
  std::optional<std::string> header(std::string_view name) const;
  /// Every header as received, in order.
  const std::vector<HeaderField>& headers() const noexcept;
  /// The URL this response came from: the last one after redirects.
  std::string url() const;

  /// The whole body (decoded). ClientPayloadError, aio::TimeoutError.
  Coro<std::string> read();
  /// read(), as text (UTF-8 is assumed; bytes are returned as they are).
  Coro<std::string> text();
  /// read(), parsed as JSON. ClientPayloadError if it is not valid JSON.
  Coro<nlohmann::json> json();
  /// The body as a stream.
  ResponseContent& content() noexcept { return content_; }
  /// Throws ClientResponseError for a status >= 400 (releasing the connection first).
  void raise_for_status();
  /// Done with this response: the connection goes back to the pool if the body was read
  /// to its end, else it is closed. Idempotent; the destructor calls it.
  void release() noexcept;

 private:
  std::unique_ptr<detail::ResponseState> state_;
  ResponseContent content_;
};

}  // namespace aio::http
