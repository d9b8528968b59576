// The WebSocket protocol engine behind both ends: reads frames in place from the
// connection's receive buffer, reassembles messages (UTF-8 checked as they arrive,
// inflated under permessage-deflate), answers pings and close frames, sends messages in
// frames, runs the heartbeat, and fails the connection with the right code on bad input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "aio/coro.hpp"
#include "aio/event.hpp"
#include "aio/handle.hpp"
#include "aio/http/websocket.hpp"
#include "aio/http/ws_message.hpp"
#include "http/websocket/deflate.hpp"
#include "http/websocket/frame.hpp"
#include "http/websocket/utf8.hpp"

namespace aio::detail {
class StreamCore;
}

namespace aio::http::detail {
class Connection;
}

namespace aio::http::detail::ws {

struct Settings {
  std::size_t max_msg_size = 4 * 1024 * 1024;
  double heartbeat = 0;
  double close_timeout = 10;
  std::size_t max_frame_size = 0;
  bool autoping = true;
};

/// The engine's part of the public options.
Settings settings_from(const WebSocketOptions& options);

class Protocol {
 public:
  /// Takes a reference on `core`; `deflate`: the negotiated permessage-deflate, if any.
  Protocol(Role role, aio::detail::StreamCore* core, const Settings& settings, std::optional<DeflateParams> deflate,
           std::string protocol);
  /// Sends a close frame (1001) if the WebSocket is still open, then lets go of the connection.
  ~Protocol();
  Protocol(const Protocol&) = delete;
  Protocol& operator=(const Protocol&) = delete;

  Coro<WSMessage> receive();
  Coro<void> send_message(Opcode opcode, std::string_view payload);
  Coro<void> send_control(Opcode opcode, std::string_view payload);
  Coro<bool> close(int code, std::string_view reason);

  /// A server shutting down: sends a close frame (1001) if the WebSocket is open; the
  /// peer's answer ends the handler's receive loop.
  void going_away() noexcept;
  /// Ties the engine to the server connection it runs on (see going_away()).
  void attach_connection(Connection* connection) noexcept { connection_ = connection; }
  void detach_connection() noexcept { connection_ = nullptr; }

  bool closed() const noexcept { return close_sent_ || close_received_ || state_ == State::closed; }
  std::optional<int> close_code() const noexcept { return close_code_; }
  const std::string& protocol() const noexcept { return protocol_; }
  bool compressed() const noexcept { return codec_ != nullptr; }

 private:
  enum class State : unsigned char { open, closed };

  /// One step of reading: a complete message, or nothing yet (more bytes needed).
  std::optional<WSMessage> parse_available();
  /// Handles a complete control frame (its payload unmasked).
  std::optional<WSMessage> on_control(Opcode opcode, std::string_view payload);
  std::optional<WSMessage> on_close_frame(std::string_view payload);
  /// Ends a data message: inflates, checks UTF-8.
  std::optional<WSMessage> finish_message();
  /// Fails the connection: a close frame with `code`, then the socket is closed.
  WSMessage fail(int code, std::string reason);
  /// The connection ended (EOF or an error) without a close handshake.
  WSMessage connection_lost(std::string why);
  void write_close_frame(int code, std::string_view reason);
  /// After the closing handshake: the server closes the TCP connection first (RFC 6455 7.1.1).
  void finish_closing();
  void write_frame(Opcode opcode, bool fin, bool rsv1, std::string_view payload);
  Coro<void> drain();
  /// close()'s wait: for the peer's close frame, then (client) for the server to close.
  Coro<void> close_handshake();

  void schedule_heartbeat();
  void on_heartbeat() noexcept;
  void on_pong_deadline() noexcept;

  Role role_;
  aio::detail::StreamCore* core_;
  Connection* connection_ = nullptr;  // the server's connection, until either ends
  Settings settings_;
  std::unique_ptr<DeflateCodec> codec_;
  std::string protocol_;

  State state_ = State::open;
  bool receiving_ = false;
  bool close_sent_ = false;
  bool close_received_ = false;
  bool closed_reported_ = false;  // a close/error message was returned once already
  std::optional<int> close_code_;
  Event peer_closed_;  // close() waits on it while another task receives

  // The frame being read: its header, and how much of its payload is still to come.
  bool in_frame_ = false;
  FrameHeader frame_{};
  std::uint64_t frame_remaining_ = 0;
  std::size_t mask_offset_ = 0;
  // The message being assembled.
  Opcode message_opcode_ = Opcode::continuation;  // continuation: none in progress
  bool message_compressed_ = false;
  std::string message_;
  std::string inflated_;
  Utf8Validator utf8_;

  std::string inflated_out_;  // scratch for compressed outgoing messages
  std::string out_;           // scratch for outgoing frames (reused: no allocation per message)

  // Heartbeat.
  double last_frame_at_ = 0;
  double ping_sent_at_ = 0;
  std::optional<TimerHandle> heartbeat_timer_;
  std::optional<TimerHandle> pong_timer_;
  bool heartbeat_failed_ = false;
};

}  // namespace aio::http::detail::ws
