// aio::http::ClientWebSocket and websocket_connect — the client end of a WebSocket
// (aiohttp's ClientWebSocketResponse and session.ws_connect).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "aio/coro.hpp"
#include "aio/delay.hpp"
#include "aio/errors.hpp"
#include "aio/http/client_errors.hpp"
#include "aio/http/websocket.hpp"
#include "aio/ssl.hpp"
#include "aio/streams.hpp"

namespace aio::http {

/// The server refused the WebSocket handshake or answered it wrongly (aiohttp's
/// WSServerHandshakeError, a ClientResponseError): status() is the HTTP status received (0
/// when the answer was not HTTP at all).
class WSServerHandshakeError : public ClientResponseError {
 public:
  WSServerHandshakeError(int status, const std::string& what) : ClientResponseError(status, what) {}
};

/// How websocket_connect() connects. Views only, like ConnectOptions: what they refer to
/// must live until websocket_connect() returns.
struct WebSocketClientOptions {
  /// The WebSocket's settings (subprotocols to offer, max_msg_size, heartbeat, compress...).
  WebSocketOptions websocket{};
  /// wss://: the TLS context (default: SslContext::client(), which verifies the server's
  /// certificate and host name).
  SslContextRef ssl{};
  /// The name to verify and send (SNI) over TLS; default: the URL's host.
  std::string_view server_hostname{};
  /// Extra request headers (Authorization, Cookie, ...).
  std::span<const std::pair<std::string_view, std::string_view>> headers{};
  /// The Origin header, when not empty.
  std::string_view origin{};
  /// The time for connecting and the whole handshake; TimeoutError past it.
  Delay handshake_timeout = 30.0;
};
static_assert(std::is_trivially_destructible_v<WebSocketClientOptions>, "see ConnectOptions");

/// The client end of a WebSocket: receive(), send_str(), ... as WebSocket documents.
/// Dropping it while open sends a close frame (1001) and closes the connection.
class ClientWebSocket : public WebSocket {
 public:
  ClientWebSocket(ClientWebSocket&&) noexcept = default;
  ClientWebSocket& operator=(ClientWebSocket&&) noexcept = default;
  ~ClientWebSocket();

 private:
  friend Coro<ClientWebSocket> websocket_connect(std::string url, WebSocketClientOptions options);
  ClientWebSocket(StreamReader reader, StreamWriter writer);
  StreamReader reader_;  // they keep the connection: the engine works on it underneath
  StreamWriter writer_;
};

/// Opens a WebSocket to `url` ("ws://host:port/path?query" or "wss://...";
/// http:// and https:// are taken as ws:// and wss://):
///
///     auto ws = co_await aio::http::websocket_connect("ws://127.0.0.1:8080/echo");
///     co_await ws.send_str("hello");
///     auto msg = co_await ws.receive();          // msg.data == "hello"
///     co_await ws.close();
///
/// Checks the answer as RFC 6455 4.1 requires (101, Upgrade, Connection,
/// Sec-WebSocket-Accept, a subprotocol that was offered, permessage-deflate parameters
/// that may be accepted). Throws std::invalid_argument for a malformed URL,
/// std::system_error when the connection fails, WSServerHandshakeError when the server
/// refuses or answers wrongly, TimeoutError past handshake_timeout. Cancel-safe: a
/// cancelled connect closes what it opened.
Coro<ClientWebSocket> websocket_connect(std::string url, WebSocketClientOptions options = {});

}  // namespace aio::http
