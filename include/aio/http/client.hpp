// aio::http::ClientSession — aiohttp's ClientSession: HTTP/1.1 requests over a pool of
// kept-alive connections.
#pragma once

#include <cstddef>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "aio/async_generator.hpp"
#include "aio/coro.hpp"
#include "aio/delay.hpp"
#include "aio/http/client_errors.hpp"
#include "aio/http/client_response.hpp"
#include "aio/http/client_websocket.hpp"
#include "aio/http/cookie_jar.hpp"
#include "aio/ssl.hpp"

namespace aio::http {

namespace detail {
class SessionState;
}

/// Header or parameter pairs, in the order they are sent; names may repeat.
using Fields = std::vector<std::pair<std::string, std::string>>;

/// What "no timeout" is written as: `.sock_read = aio::http::kNoTimeout`.
inline constexpr double kNoTimeout = std::numeric_limits<double>::infinity();

/// aiohttp's ClientTimeout. Every limit throws aio::TimeoutError when it passes, and the
/// connection in use is closed (never pooled half-read).
/// - `total`: the whole request — waiting for a pool slot, connecting, sending, every
///   redirect, and reading the body through read()/text()/json()/content(), measured from
///   the call to request(). Default 300 s, aiohttp's.
/// - `connect`: getting a connection — the wait for a free pool slot (`limit`,
///   `limit_per_host`) plus opening a new connection; a reused connection costs nothing.
/// - `sock_connect`: opening one new connection: DNS resolution, TCP connect and the TLS
///   handshake.
/// - `sock_read`: the longest wait for bytes from the server — for the response head and
///   for each read of the body (a stall mid-body), not the time to read it all.
struct ClientTimeout {
  Delay total = 300.0;
  Delay connect = kNoTimeout;
  Delay sock_connect = kNoTimeout;
  Delay sock_read = kNoTimeout;
};

/// The ClientSession's settings (aiohttp's ClientSession and TCPConnector arguments).
struct SessionOptions {
  /// Connections in use (or being opened) at once, over all hosts; 0: no limit.
  std::size_t limit = 100;
  /// Connections in use at once to one scheme/host/port; 0: no limit.
  std::size_t limit_per_host = 0;
  ClientTimeout timeout{};
  /// Every response with status >= 400 throws ClientResponseError.
  bool raise_for_status = false;
  /// Redirects followed per request before TooManyRedirects.
  int max_redirects = 10;
  /// Headers sent with every request (a request's own headers replace same-named ones).
  Fields headers{};
  /// TLS for https URLs; empty: SslContext::client() (verifies the certificate and host
  /// name against the system's CAs).
  SslContextRef ssl{};
  /// An idle kept-alive connection is closed after this long (aiohttp's keepalive_timeout).
  Delay keepalive_timeout = 15.0;
  /// A body larger than this (after decompression) throws ClientPayloadError; also the
  /// guard against a decompression bomb. 0: no limit.
  std::size_t max_body_size = std::size_t{1} << 30;
  /// Send Accept-Encoding: gzip, deflate and decode such bodies.
  bool auto_decompress = true;
};

/// A request body. Built implicitly from bytes (`std::string`, `std::string_view`, a
/// literal: application/octet-stream) and from JSON (application/json); the factories give
/// text, a form, another content type, or a streamed body.
class Payload {
 public:
  Payload() = default;                                                                                // no body
  Payload(std::string bytes) : body_(std::move(bytes)), content_type_("application/octet-stream") {}  // NOLINT
  Payload(std::string_view bytes) : Payload(std::string(bytes)) {}                                    // NOLINT
  Payload(const char* bytes) : Payload(std::string(bytes)) {}                                         // NOLINT
  Payload(const nlohmann::json& value) : body_(value.dump()), content_type_("application/json") {}    // NOLINT

  static Payload text(std::string text, std::string content_type = "text/plain; charset=utf-8");
  static Payload bytes(std::string bytes, std::string content_type = "application/octet-stream");
  /// application/x-www-form-urlencoded (aiohttp's `data=dict`).
  static Payload form(const Fields& fields);
  /// A body produced while it is sent, in chunked transfer coding. It cannot be sent
  /// twice, so a request with it is never retried and not redirected.
  static Payload stream(AsyncGenerator<std::string> chunks, std::string content_type = "application/octet-stream");

  bool has_body() const noexcept { return !content_type_.empty(); }
  bool is_stream() const noexcept { return chunks_ != nullptr; }
  const std::string& content_type() const noexcept { return content_type_; }
  const std::string& bytes() const noexcept { return body_; }
  AsyncGenerator<std::string>* chunks() const noexcept { return chunks_.get(); }

 private:
  std::string body_;
  std::string content_type_;  // empty: no body
  std::shared_ptr<AsyncGenerator<std::string>> chunks_;
};

/// Per-request settings. With GCC 12, build them in a statement of their own and pass the
/// name: inside a co_await expression GCC 12 rejects a braced header list ("array used as
/// initializer") and destroys a braced temporary of this type twice (it holds strings).
/// Clang 14 accepts the inline spelling `co_await session.get(url, RequestOptions{...})`.
///
///     aio::http::RequestOptions opts{.headers = {{"Accept", "application/json"}},
///                                    .params = {{"q", "aio"}}};
///     auto resp = co_await session.get(url, opts);
struct RequestOptions {
  /// Sent after the session's headers; a name given here replaces the session's.
  Fields headers{};
  /// Query parameters, form-encoded and appended to the URL's query.
  Fields params{};
  /// Replaces the session's timeouts for this request.
  std::optional<ClientTimeout> timeout{};
  /// Follow redirects (GET and HEAD, and 303 turning any method into GET).
  bool allow_redirects = true;
};

/// What the pool holds, for monitoring and tests.
struct PoolStats {
  std::size_t acquired = 0;  // connections lent to requests and responses, or being opened
  std::size_t idle = 0;      // kept-alive connections waiting for a request
  std::size_t waiting = 0;   // requests waiting for a slot
  std::size_t opened = 0;    // connections opened since the session began
  std::size_t stale = 0;     // idle connections found closed by the server, dropped unused
  std::size_t retried = 0;   // requests sent again after a reused connection failed unanswered
};

/// aiohttp.ClientSession: one connection pool, default headers, a cookie jar.
///
///     aio::http::ClientSession session;
///     aio::http::ClientResponse resp = co_await session.get("http://127.0.0.1:8080/");
///     std::cout << resp.status() << " " << co_await resp.text() << "\n";
///     co_await session.close();
///
/// Redirects are followed for GET and HEAD (and a 303 turns any method into GET), up to
/// max_redirects; Authorization and Cookie headers of the request are dropped when a
/// redirect leaves the origin. An idempotent request (GET, HEAD, OPTIONS, PUT, DELETE,
/// TRACE) that fails on a reused connection before any byte of a response arrived — the
/// server closed it while idle — is sent once more on a new connection.
///
/// Errors: InvalidURL, ClientConnectionError (refused, reset, DNS, TLS),
/// ServerDisconnectedError, MalformedResponseError, ClientPayloadError, TooManyRedirects,
/// ClientResponseError (raise_for_status), aio::TimeoutError (ClientTimeout). Cancelling a
/// request at any await closes the connection it used; the pool stays consistent.
/// The session must be used from one loop and must outlive the requests it runs (as a pool
/// must); destroying it closes the idle connections. A ClientResponse may outlive it.
class ClientSession {
 public:
  explicit ClientSession(SessionOptions options = {});
  ~ClientSession();
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  Coro<ClientResponse> request(std::string method, std::string url, RequestOptions options = {});
  Coro<ClientResponse> request(std::string method, std::string url, Payload body, RequestOptions options = {});
  Coro<ClientResponse> get(std::string url, RequestOptions options = {});
  Coro<ClientResponse> head(std::string url, RequestOptions options = {});
  Coro<ClientResponse> options(std::string url, RequestOptions options = {});
  Coro<ClientResponse> delete_(std::string url, RequestOptions options = {});
  Coro<ClientResponse> post(std::string url, Payload body, RequestOptions options = {});
  Coro<ClientResponse> post(std::string url, RequestOptions options = {});
  Coro<ClientResponse> put(std::string url, Payload body, RequestOptions options = {});
  Coro<ClientResponse> put(std::string url, RequestOptions options = {});
  Coro<ClientResponse> patch(std::string url, Payload body, RequestOptions options = {});
  Coro<ClientResponse> patch(std::string url, RequestOptions options = {});

  /// Opens a WebSocket to `url` (ws://, wss://; http:// and https:// are taken as ws:// and
  /// wss://) with the session's default headers, its cookies for that URL and its TLS
  /// context (unless `options` names one), on a connection of its own (aiohttp's
  /// ws_connect; the pool's limits do not count it). Errors are the session's: InvalidURL,
  /// ClientConnectionError, WSServerHandshakeError (a ClientResponseError) when the server
  /// refuses the upgrade, TimeoutError past options.handshake_timeout.
  ///
  ///     aio::http::ClientWebSocket ws = co_await session.ws_connect("ws://127.0.0.1:8080/chat");
  Coro<ClientWebSocket> ws_connect(std::string url, WebSocketClientOptions options = {});

  /// Closes the idle connections; afterwards requests throw ClientError. Responses still
  /// being read keep their connections until released.
  Coro<void> close();
  bool closed() const noexcept;
  /// The pool's counts now.
  PoolStats pool() const noexcept;
  /// Cookies received (Set-Cookie) and sent back to matching URLs.
  CookieJar& cookie_jar() noexcept;

 private:
  std::shared_ptr<detail::SessionState> state_;
};

}  // namespace aio::http
