// aio::http::Response and StreamResponse — aiohttp's web.Response, FileResponse and
// web.StreamResponse.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "aio/coro.hpp"

namespace aio::http {

class Request;
class Response;
namespace detail {
class Connection;
/// A FileResponse for a file the router already opened (static routes: no gap between
/// checking the path and opening it). Takes the fd; `name` gives the content type.
Response file_response_from_fd(int fd, std::string name);
}  // namespace detail

/// The attributes of a Set-Cookie (RFC 6265). Views: set_cookie() copies what it needs.
struct CookieOptions {
  std::optional<std::int64_t> max_age{};  // seconds; 0 deletes the cookie
  std::optional<std::time_t> expires{};
  std::string_view path = "/";
  std::string_view domain{};
  bool secure = false;
  bool http_only = false;
  std::string_view same_site{};  // "Strict", "Lax" or "None"
};

/// A complete response: status, headers and a body held in memory, or a file to send.
/// Handlers return one: `co_return aio::http::Response::text("Hello");`.
///
/// The server adds Content-Length, Date, Server and Connection itself. A HEAD request gets
/// the headers of the GET response without its body.
class Response {
 public:
  explicit Response(int status = 200);
  Response(Response&&) noexcept = default;
  Response& operator=(Response&&) noexcept = default;
  Response(const Response&) = delete;
  Response& operator=(const Response&) = delete;
  virtual ~Response() = default;

  /// A text body; "; charset=utf-8" is added to a text/* content type without a charset.
  static Response text(std::string body, int status = 200, std::string content_type = "text/plain");
  /// `value.dump()` as application/json.
  static Response json(const nlohmann::json& value, int status = 200);
  static Response bytes(std::string body, std::string content_type = "application/octet-stream", int status = 200);
  /// A file from disk (aiohttp's FileResponse): the content type from the extension,
  /// Last-Modified and ETag, 304 for If-Modified-Since / If-None-Match, single byte
  /// ranges (206, 416), sent with sendfile() on plain TCP. 404 when the file is missing
  /// or not a regular file, 403 when it cannot be read.
  static Response file(std::string path);
  /// A redirect to `location` (302 Found unless said otherwise: 301, 303, 307, 308).
  static Response redirect(std::string location, int status = 302);

  int status() const noexcept { return status_; }
  void set_status(int status);
  /// The reason phrase sent ("OK", or what set_reason() chose).
  std::string_view reason() const noexcept;
  /// std::invalid_argument for CR, LF or NUL (they would split the response).
  void set_reason(std::string reason);
  const std::string& body() const noexcept { return body_; }
  void set_body(std::string body) { body_ = std::move(body); }
  void set_text(std::string text);

  /// Sets a header, replacing any of that name (any case). Content-Length and
  /// Transfer-Encoding are the server's: setting them throws std::invalid_argument, except
  /// on a StreamResponse before prepare(). CR, LF or NUL in a name or value throws too.
  void set_header(std::string_view name, std::string_view value);
  /// Adds a header line, keeping others of that name.
  void add_header(std::string_view name, std::string_view value);
  void remove_header(std::string_view name) noexcept;
  std::optional<std::string_view> header(std::string_view name) const noexcept;
  const std::vector<std::pair<std::string, std::string>>& headers() const noexcept { return headers_; }
  /// "text/plain; charset=utf-8" and the like ("" when none is set).
  std::string_view content_type() const noexcept {
    return static_content_type_ ? std::string_view(static_content_type_) : std::string_view(content_type_);
  }
  void set_content_type(std::string content_type);

  /// Adds a Set-Cookie header. std::invalid_argument for a name that is not a token or a
  /// value with characters a cookie cannot carry (say which; percent-encode such values).
  void set_cookie(std::string_view name, std::string_view value, const CookieOptions& options = {});
  /// Tells the client to delete a cookie (an expired Set-Cookie).
  void del_cookie(std::string_view name, std::string_view path = "/");

  /// Whether the head has been sent (a StreamResponse after prepare()).
  bool prepared() const noexcept { return prepared_; }

 protected:
  friend class detail::Connection;
  friend Response detail::file_response_from_fd(int fd, std::string name);

  int status_ = 200;
  std::string reason_;
  std::string body_;
  // The content type: a string literal for the usual ones (no allocation per response),
  // else owned.
  const char* static_content_type_ = nullptr;
  std::string content_type_;
  void assign_content_type(std::string content_type);
  std::vector<std::pair<std::string, std::string>> headers_;
  // A FileResponse: the path to serve.
  std::optional<std::string> file_path_;
  std::shared_ptr<int> file_fd_;  // opened already (static routes); closed with the last copy
  // StreamResponse state, kept here because a handler returns its StreamResponse as a
  // Response (the server then sees that it was already sent).
  detail::Connection* conn_ = nullptr;
  std::optional<std::uint64_t> declared_length_;
  std::uint64_t body_sent_ = 0;
  bool prepared_ = false;
  bool chunked_ = false;
  bool finished_ = false;
  bool head_only_ = false;  // answering HEAD: no body bytes go out
};

/// A response whose body is written while the handler runs (aiohttp's StreamResponse):
///
///     aio::http::StreamResponse resp(200);
///     resp.set_content_type("text/plain");
///     co_await resp.prepare(request);      // sends the head
///     co_await resp.write("part 1\n");     // each write waits while the client is slow
///     co_await resp.write_eof();
///     co_return resp;
///
/// The body is chunked unless set_content_length() was called before prepare() (then
/// exactly that many bytes must be written; writing more throws, fewer closes the
/// connection at write_eof so the client cannot take a short body for a whole one).
/// HTTP/1.0 clients get the body unchunked, ended by closing the connection.
class StreamResponse : public Response {
 public:
  explicit StreamResponse(int status = 200);

  void set_content_length(std::uint64_t length);
  /// Sends the status line and headers. Idempotent.
  Coro<void> prepare(Request& request);
  /// Sends a part of the body; waits while the client is slower than the handler.
  /// std::system_error when the client has gone away.
  Coro<void> write(std::string_view data);
  /// Ends the body (the last chunk). Idempotent.
  Coro<void> write_eof(std::string_view data = {});
};

}  // namespace aio::http
