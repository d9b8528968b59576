// Helpers for the WebSocket tests: an aio::http site with an echo endpoint, and a raw
// WebSocket client that sends exact frame bytes and reads frames back one by one.
#pragma once

#include <aio/aio.hpp>
#include <aio/http.hpp>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace aio_test {

/// Echoes text and binary messages; ends with the connection.
inline aio::Coro<aio::http::Response> ws_echo(aio::http::Request& request, aio::http::WebSocketOptions options) {
  aio::http::WebSocketResponse ws(options);
  co_await ws.prepare(request);
  for (;;) {
    aio::http::WSMessage msg = co_await ws.receive();
    if (msg.type == aio::http::WSMsgType::text) {
      co_await ws.send_str(msg.data);
    } else if (msg.type == aio::http::WSMsgType::binary) {
      co_await ws.send_bytes(msg.data);
    } else if (msg.type == aio::http::WSMsgType::ping || msg.type == aio::http::WSMsgType::pong) {
      continue;
    } else {
      break;
    }
  }
  co_return ws;
}

/// One frame as read off the wire.
struct RawFrame {
  std::uint8_t first = 0;  // FIN, RSV and opcode
  bool masked = false;
  std::string payload;
  int opcode() const { return first & 0x0F; }
  bool fin() const { return (first & 0x80) != 0; }
  bool rsv1() const { return (first & 0x40) != 0; }
  int close_code() const {
    return payload.size() >= 2 ? (static_cast<std::uint8_t>(payload[0]) << 8) | static_cast<std::uint8_t>(payload[1])
                               : 1005;
  }
};

/// A frame's bytes: `first` is FIN|RSV|opcode; masked with a fixed key unless told not to.
/// `length_override` writes another length than the payload's (for malformed frames).
inline std::string raw_frame(std::uint8_t first, std::string_view payload, bool masked = true,
                             std::optional<std::uint64_t> length_override = std::nullopt) {
  std::string out;
  out.push_back(static_cast<char>(first));
  const std::uint64_t len = length_override.value_or(payload.size());
  const char m = masked ? static_cast<char>(0x80) : 0;
  if (len < 126) {
    out.push_back(static_cast<char>(m | static_cast<char>(len)));
  } else if (len <= 0xFFFF) {
    out.push_back(static_cast<char>(m | 126));
    out.push_back(static_cast<char>(len >> 8));
    out.push_back(static_cast<char>(len & 0xFF));
  } else {
    out.push_back(static_cast<char>(m | 127));
    for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<char>((len >> s) & 0xFF));
  }
  const char key[4] = {0x37, static_cast<char>(0xFA), 0x21, 0x3D};
  if (masked) out.append(key, 4);
  for (std::size_t i = 0; i < payload.size(); ++i)
    out.push_back(masked ? static_cast<char>(payload[i] ^ key[i & 3]) : payload[i]);
  return out;
}

inline std::string close_payload(int code, std::string_view reason = {}) {
  std::string p;
  p.push_back(static_cast<char>(code >> 8));
  p.push_back(static_cast<char>(code & 0xFF));
  p.append(reason);
  return p;
}

/// A client speaking raw frames to a server (after a real handshake).
struct RawWs {
  aio::StreamReader reader;
  aio::StreamWriter writer;
  std::string response_head;

  /// Sends the upgrade request with `extra_headers` ("Name: value\r\n" lines).
  static aio::Coro<RawWs> connect(int port, std::string path = "/ws", std::string extra_headers = "") {
    auto [r, w] = co_await aio::open_connection("127.0.0.1", port);
    RawWs c;
    c.reader = std::move(r);
    c.writer = std::move(w);
    c.writer.write(std::string("GET ") + path +
                   " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
                   extra_headers + "\r\n");
    co_await c.writer.drain();
    c.response_head = co_await c.reader.readuntil("\r\n\r\n");
    co_return c;
  }

  aio::Coro<void> send(std::string bytes) {
    writer.write(bytes);
    co_await writer.drain();
  }

  /// The next frame; nullopt at EOF.
  aio::Coro<std::optional<RawFrame>> frame() {
    RawFrame f;
    std::string head;
    try {
      head = co_await reader.readexactly(2);
    } catch (const aio::IncompleteReadError&) {
      co_return std::nullopt;
    }
    f.first = static_cast<std::uint8_t>(head[0]);
    f.masked = (static_cast<std::uint8_t>(head[1]) & 0x80) != 0;
    std::uint64_t len = static_cast<std::uint8_t>(head[1]) & 0x7F;
    if (len == 126) {
      const std::string l = co_await reader.readexactly(2);
      len = (static_cast<std::uint64_t>(static_cast<std::uint8_t>(l[0])) << 8) | static_cast<std::uint8_t>(l[1]);
    } else if (len == 127) {
      const std::string l = co_await reader.readexactly(8);
      len = 0;
      for (char c : l) len = (len << 8) | static_cast<std::uint8_t>(c);
    }
    std::string key;
    if (f.masked) key = co_await reader.readexactly(4);
    f.payload = co_await reader.readexactly(static_cast<std::size_t>(len));
    if (f.masked)
      for (std::size_t i = 0; i < f.payload.size(); ++i) f.payload[i] = static_cast<char>(f.payload[i] ^ key[i & 3]);
    co_return f;
  }

  /// Reads frames until a close frame and returns its code (-1 at EOF without one).
  aio::Coro<int> close_code() {
    for (;;) {
      std::optional<RawFrame> f = co_await frame();
      if (!f) co_return -1;
      if (f->opcode() == 8) co_return f->close_code();
    }
  }
};

}  // namespace aio_test
