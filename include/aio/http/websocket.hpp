// WebSockets (RFC 6455, with permessage-deflate, RFC 7692) in aio::http: the server's
// WebSocketResponse (aiohttp's web.WebSocketResponse) and what both ends share. The client
// end is in client_websocket.hpp.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "aio/coro.hpp"
#include "aio/delay.hpp"
#include "aio/http/response.hpp"
#include "aio/http/ws_message.hpp"

namespace aio::http {

namespace detail::ws {
class Protocol;
}

/// Settings of a WebSocket, either end. Views only (trivially destructible, so a braced
/// temporary is safe inside `co_await` with GCC 12): what they refer to is copied when the
/// WebSocket is created.
struct WebSocketOptions {
  /// The largest message accepted, after decompression (aiohttp's max_msg_size): a bigger
  /// one fails the connection with 1009. 0: no limit.
  std::size_t max_msg_size = 4 * 1024 * 1024;
  /// Send a ping after this long without a frame from the peer, and fail the connection
  /// (1006; receive() returns an error message) when nothing comes back within half of
  /// it. 0: off. Seen while a task waits in receive(), as the loop `for (;;) receive()` does.
  Delay heartbeat = 0.0;
  /// Answer pings with pongs and keep pings and pongs out of receive()'s results.
  bool autoping = true;
  /// Use permessage-deflate when the peer offers (server) or accepts (client) it.
  bool compress = true;
  /// Ask for a fresh compression context per message from the server / the client
  /// (less memory kept between messages, worse compression).
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  /// How long close() waits for the peer's close frame (and a client for the server to
  /// close the TCP connection) before closing the connection itself.
  Delay close_timeout = 10.0;
  /// Send messages in frames of at most this many payload bytes. 0: one frame per message.
  std::size_t max_frame_size = 0;
  /// Subprotocols: a server picks the first of these that the client offers; a client
  /// offers these (Sec-WebSocket-Protocol).
  std::span<const std::string_view> protocols{};
};
static_assert(std::is_trivially_destructible_v<WebSocketOptions>, "see ConnectOptions: GCC 12 and temporaries");

/// The messaging API both ends share: receive, send, ping, close. One task may receive
/// at a time; any number may send meanwhile (each message goes out whole, its frames never
/// interleaved with another message's).
class WebSocket {
 public:
  WebSocket(WebSocket&&) noexcept;
  WebSocket& operator=(WebSocket&&) noexcept;
  /// A WebSocket dropped while open sends a close frame (1001, going away) on its way out.
  ~WebSocket();

  /// The next message. Pings are answered (autoping) and a peer's close frame is answered
  /// and returned as a `close` message; after that, or once the connection is gone, every
  /// call returns `closed`. A protocol violation by the peer fails the connection with the
  /// right close code and returns an `error` message. Cancel-safe: a cancelled receive
  /// loses nothing (a partly received message is kept for the next call). UsageError when
  /// another task is already receiving or the handshake has not happened.
  [[nodiscard]] Coro<WSMessage> receive();
  /// Sends a text message (UTF-8 expected, not checked) / binary message / `value.dump()`.
  /// Waits while the peer reads slower than we send (backpressure). std::system_error
  /// (ECONNRESET) once the WebSocket is closing or closed.
  [[nodiscard]] Coro<void> send_str(std::string_view text);
  [[nodiscard]] Coro<void> send_bytes(std::string_view bytes);
  [[nodiscard]] Coro<void> send_json(const nlohmann::json& value);
  /// A ping / an unsolicited pong with up to 125 bytes of payload (std::invalid_argument past that).
  [[nodiscard]] Coro<void> ping(std::string_view payload = {});
  [[nodiscard]] Coro<void> pong(std::string_view payload = {});
  /// Starts (or finishes) the closing handshake: sends a close frame with `code` (1000,
  /// 1001, ... or 3000-4999; std::invalid_argument otherwise) and `reason` (at most 123
  /// bytes), waits up to close_timeout for the peer's close frame (discarding messages that
  /// come first; if another task is in receive(), it gets the close message), then closes
  /// the connection. Returns false if the WebSocket was closed already.
  [[nodiscard]] Coro<bool> close(int code = 1000, std::string_view reason = {});

  /// True once a close frame was sent or received, or the connection is gone.
  bool closed() const noexcept;
  /// The close code: what the peer sent (or 1006 when the connection ended without
  /// one); nullopt while open.
  std::optional<int> close_code() const noexcept;
  /// The subprotocol agreed in the handshake ("" for none).
  const std::string& protocol() const noexcept;
  /// Whether permessage-deflate is in use.
  bool compressed() const noexcept;

 protected:
  WebSocket();
  detail::ws::Protocol& protocol_engine(const char* what) const;
  std::unique_ptr<detail::ws::Protocol> engine_;
};

/// The server end (aiohttp's web.WebSocketResponse). A handler upgrades its request and
/// returns the WebSocket when done:
///
///     aio::Coro<aio::http::Response> echo(aio::http::Request& request) {
///       aio::http::WebSocketResponse ws;
///       co_await ws.prepare(request);                 // 101 Switching Protocols
///       for (;;) {
///         auto msg = co_await ws.receive();
///         if (msg.type == aio::http::WSMsgType::text) co_await ws.send_str(msg.data);
///         else if (msg.type != aio::http::WSMsgType::binary) break;  // close, error, closed
///       }
///       co_return ws;
///     }
///
/// The connection is closed when the handler returns (it is not reused for HTTP).
class WebSocketResponse : public StreamResponse, public WebSocket {
 public:
  explicit WebSocketResponse(WebSocketOptions options = {});
  WebSocketResponse(WebSocketResponse&&) noexcept = default;
  WebSocketResponse& operator=(WebSocketResponse&&) noexcept = default;

  /// Checks the upgrade request and answers 101 Switching Protocols, negotiating the
  /// subprotocol and permessage-deflate. HttpError(400) for a request that is not a valid
  /// WebSocket upgrade (saying what is missing), 405 for a method other than GET.
  Coro<void> prepare(Request& request);
  /// Whether `request` is a WebSocket upgrade that prepare() would accept.
  static bool can_prepare(const Request& request) noexcept;

 private:
  // A WebSocket's body is frames: StreamResponse's body calls do not apply.
  using StreamResponse::write;
  using StreamResponse::write_eof;

  WebSocketOptions options_;  // its protocols are empty: copied to protocols_
  std::vector<std::string> protocols_;
};

}  // namespace aio::http

#include "aio/http/client_websocket.hpp"
