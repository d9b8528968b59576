// aio::http::WSMessage, WSMsgType and WSCloseCode — what WebSocket receive() returns
// (aiohttp's WSMessage).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace aio::http {

/// The kind of a received message (aiohttp's WSMsgType).
enum class WSMsgType : unsigned char {
  text,    // data: the UTF-8 text (validated)
  binary,  // data: the bytes
  ping,    // only with autoping = false (otherwise answered and not returned)
  pong,    // only with autoping = false
  close,   // the peer closed: data is its reason, close_code its code (1005 when it sent none)
  closed,  // the connection is gone: the handshake completed earlier, or it ended without one (1006)
  error,   // the peer broke the protocol (or stopped answering pings): data says how; the
           // connection was failed with close_code
};

/// One received message.
struct WSMessage {
  WSMsgType type = WSMsgType::closed;
  std::string data;
  int close_code = 0;  // close, closed and error: the connection's close code

  /// The text parsed as JSON; nlohmann::json::parse_error if it is not JSON.
  nlohmann::json json() const { return nlohmann::json::parse(data); }
};

/// Close codes (RFC 6455 section 7.4.1 and the IANA registry; aiohttp's WSCloseCode).
struct WSCloseCode {
  static constexpr int ok = 1000;
  static constexpr int going_away = 1001;
  static constexpr int protocol_error = 1002;
  static constexpr int unsupported_data = 1003;
  static constexpr int no_status = 1005;         // received only: a close frame without a code
  static constexpr int abnormal_closure = 1006;  // received only: no close frame at all
  static constexpr int invalid_text = 1007;
  static constexpr int policy_violation = 1008;
  static constexpr int message_too_big = 1009;
  static constexpr int mandatory_extension = 1010;
  static constexpr int internal_error = 1011;
  static constexpr int service_restart = 1012;
  static constexpr int try_again_later = 1013;
  static constexpr int bad_gateway = 1014;
};

}  // namespace aio::http
