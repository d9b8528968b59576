// aio::http::Request — aiohttp's web.Request: one HTTP request as a handler sees it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "aio/coro.hpp"
#include "aio/http/form_data.hpp"
#include "aio/http/header_field.hpp"

namespace aio::http {

class Application;
class StreamResponse;
class WebSocketResponse;
namespace detail {
class Connection;
}

/// The HTTP version of a request (aiohttp's HttpVersion): {1, 1} or {1, 0}.
struct HttpVersion {
  int major = 1;
  int minor = 1;
  friend bool operator==(const HttpVersion&, const HttpVersion&) = default;
};

/// The request body as a stream (aiohttp's request.content, a StreamReader): reads what
/// the client sends as the handler asks for it, so a large upload is never held whole.
/// Chunked bodies arrive decoded. Reading more than AppOptions::client_max_size in all
/// throws HttpError(413). The first read answers `Expect: 100-continue`.
class BodyReader {
 public:
  /// Up to n bytes (n < 0: the rest of the body). "" at the end of the body.
  Coro<std::string> read(long n = -1);
  /// Whatever is available now, waiting only if nothing is ("" at the end).
  Coro<std::string> readany();
  /// A line ending in "\n" (the last one may lack it; "" at the end).
  Coro<std::string> readline();
  /// Exactly n bytes; IncompleteReadError if the body ends first.
  Coro<std::string> readexactly(std::size_t n);
  /// True when the whole body has been read.
  bool at_eof() const noexcept;

 private:
  friend class detail::Connection;
  detail::Connection* conn_ = nullptr;
};

/// The request a handler receives (`aio::Coro<Response> handler(aio::http::Request& req)`).
/// It lives until the handler's response is sent; copy what you keep longer.
class Request {
 public:
  Request() = default;
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;

  /// "GET", "POST", ... as sent (methods are case-sensitive).
  std::string_view method() const noexcept { return method_; }
  /// The path, percent-decoded ("/a b" for "/a%20b"); no query string.
  const std::string& path() const noexcept { return path_; }
  /// The request target as sent: path and query, still encoded ("/a%20b?x=1").
  std::string_view raw_path() const noexcept { return target_; }
  /// What follows '?' in the target, still encoded ("" when there is none).
  std::string_view query_string() const noexcept { return query_string_; }
  /// The first value of a query parameter, decoded ("+" is a space); nullopt if absent.
  std::optional<std::string> query(std::string_view key) const;
  /// Every query parameter, decoded, in order.
  const FormData& query_params() const;
  /// A header's value (the first, when repeated), looked up in any case.
  std::optional<std::string_view> header(std::string_view name) const noexcept;
  /// Every header line as received, in order.
  std::span<const HeaderField> headers() const noexcept { return headers_; }
  /// A path parameter of the matched route ("/{name}" → match_info("name")); "" if absent.
  std::string match_info(std::string_view name) const;
  /// A cookie sent by the client; nullopt if absent.
  std::optional<std::string> cookie(std::string_view name) const;
  HttpVersion version() const noexcept { return {1, version_minor_}; }
  /// Whether the connection stays open after this request (HTTP/1.1 unless
  /// "Connection: close"; HTTP/1.0 only with "Connection: keep-alive").
  bool keep_alive() const noexcept { return keep_alive_; }
  /// The client's address as text ("127.0.0.1", "::1").
  std::string remote() const;
  /// The Host header ("" when an HTTP/1.0 client sent none).
  std::string_view host() const noexcept { return host_; }
  /// The media type of the body, without parameters ("application/json"); "" if none.
  std::string_view content_type() const noexcept;
  /// The declared body size (nullopt for chunked bodies and bodiless requests).
  std::optional<std::uint64_t> content_length() const noexcept { return content_length_; }
  /// Whether the request has a body (a Content-Length above 0, or chunked).
  bool has_body() const noexcept { return has_body_; }
  /// "https" over TLS, else "http".
  std::string_view scheme() const noexcept { return secure_ ? "https" : "http"; }
  bool secure() const noexcept { return secure_; }
  Application& app() const noexcept { return *app_; }
  /// The router fills this (name → decoded value).
  std::vector<std::pair<std::string_view, std::string>>& match_info_storage() noexcept { return match_info_; }

  /// The whole body (read once; later calls return the same bytes).
  Coro<std::string> read();
  /// The body as text (aio does not transcode: the bytes, expected to be UTF-8).
  Coro<std::string> text();
  /// The body parsed as JSON. HttpError(400) when it is not valid JSON.
  Coro<nlohmann::json> json();
  /// A form post: application/x-www-form-urlencoded or multipart/form-data (files
  /// included). HttpError(400) for a malformed body; an empty FormData for other types.
  Coro<FormData> post();
  /// The body as a stream.
  BodyReader& content() noexcept { return content_; }

 private:
  friend class detail::Connection;
  friend class StreamResponse;
  friend class WebSocketResponse;
  void reset() noexcept;

  detail::Connection* conn_ = nullptr;
  Application* app_ = nullptr;
  std::string_view method_;
  std::string_view target_;
  std::string path_;
  std::string_view query_string_;
  std::vector<HeaderField> headers_;
  std::vector<std::pair<std::string_view, std::string>> match_info_;
  std::string_view host_;
  std::optional<std::uint64_t> content_length_;
  int version_minor_ = 1;
  bool keep_alive_ = true;
  bool has_body_ = false;
  bool secure_ = false;
  mutable std::optional<FormData> query_cache_;
  std::optional<std::string> body_cache_;
  BodyReader content_;
};

}  // namespace aio::http
