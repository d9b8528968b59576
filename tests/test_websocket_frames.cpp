// A frame-level catalogue of WebSocket cases, grouped as the Autobahn test suite groups
// them (1 framing, 2 pings/pongs, 3 reserved bits, 4 opcodes, 5 fragmentation, 6 UTF-8,
// 7 close handling, 9 limits, 12/13 compression): each case sends exact bytes over a
// socket to aio's echo server and checks every frame of the answer and the close code.
#include <gtest/gtest.h>

#include <aio/aio.hpp>
#include <aio/http.hpp>
#include <aio/testing.hpp>

#include <zlib.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ws_support.hpp"

namespace {

using aio_test::close_payload;
using aio_test::raw_frame;
using aio_test::RawWs;

constexpr std::uint8_t FIN = 0x80, RSV1 = 0x40, RSV2 = 0x20, RSV3 = 0x10;
constexpr std::uint8_t TEXT = 1, BINARY = 2, CONT = 0, CLOSE = 8, PING = 9, PONG = 10;
constexpr std::size_t kMaxMsg = 64 * 1024;  // the server's max_msg_size in this catalogue

// Raw deflate with a sync flush, the 00 00 FF FF tail removed (RFC 7692 7.2.1); one
// stream per object, so that messages can share a context.
class Deflater {
 public:
  Deflater() { deflateInit2(&z_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY); }
  ~Deflater() { deflateEnd(&z_); }
  std::string operator()(const std::string& in) {
    std::string out(deflateBound(&z_, static_cast<uLong>(in.size())) + 64, '\0');
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    z_.next_out = reinterpret_cast<Bytef*>(out.data());
    z_.avail_out = static_cast<uInt>(out.size());
    deflate(&z_, Z_SYNC_FLUSH);
    const std::size_t produced = out.size() - z_.avail_out;
    return out.substr(0, produced >= 4 ? produced - 4 : 0);
  }

 private:
  z_stream z_{};
};

class Inflater {
 public:
  Inflater() { inflateInit2(&z_, -15); }
  ~Inflater() { inflateEnd(&z_); }
  std::string operator()(std::string in) {
    in.append("\x00\x00\xff\xff", 4);
    std::string out;
    z_.next_in = reinterpret_cast<Bytef*>(in.data());
    z_.avail_in = static_cast<uInt>(in.size());
    char buf[16384];
    do {
      z_.next_out = reinterpret_cast<Bytef*>(buf);
      z_.avail_out = sizeof buf;
      const int rc = inflate(&z_, Z_SYNC_FLUSH);
      if (rc < 0 && rc != Z_BUF_ERROR) return "<corrupt>";
      out.append(buf, sizeof buf - z_.avail_out);
    } while (z_.avail_out == 0);
    return out;
  }

 private:
  z_stream z_{};
};

std::string deflated(const std::string& in) { return Deflater()(in); }

struct Reply {
  std::uint8_t opcode;
  std::string payload;  // as inflated, when the server compressed it
};

struct Case {
  std::string id;
  std::string what;
  std::vector<std::string> send;  // written one piece at a time
  std::vector<Reply> replies;     // frames expected before the close
  int close;                      // the server's close code; 0: still open (we close, expect 1000)
  std::string extensions{};       // Sec-WebSocket-Extensions offered
};

std::string repeat(std::size_t n, char c = '*') { return std::string(n, c); }
std::string f(std::uint8_t first, const std::string& payload) { return raw_frame(first, payload); }

std::vector<Case> catalogue() {
  const std::string pmd = "permessage-deflate";
  std::vector<Case> c = {
      // 1: framing
      {"1.1.1", "empty text", {f(FIN | TEXT, "")}, {{TEXT, ""}}, 0},
      {"1.1.2", "text 125", {f(FIN | TEXT, repeat(125))}, {{TEXT, repeat(125)}}, 0},
      {"1.1.3", "text 126 (16-bit length)", {f(FIN | TEXT, repeat(126))}, {{TEXT, repeat(126)}}, 0},
      {"1.1.4", "text 127", {f(FIN | TEXT, repeat(127))}, {{TEXT, repeat(127)}}, 0},
      {"1.1.6", "text 65535", {f(FIN | TEXT, repeat(65535))}, {{TEXT, repeat(65535)}}, 0},
      {"1.1.7", "text 65536 (64-bit length)", {f(FIN | TEXT, repeat(65536))}, {{TEXT, repeat(65536)}}, 0},
      {"1.2.1", "empty binary", {f(FIN | BINARY, "")}, {{BINARY, ""}}, 0},
      {"1.2.3", "binary 126 with every byte value", {f(FIN | BINARY, repeat(126, '\xfe'))}, {{BINARY, repeat(126, '\xfe')}}, 0},
      // 2: pings and pongs
      {"2.1", "empty ping", {f(FIN | PING, "")}, {{PONG, ""}}, 0},
      {"2.2", "ping with text", {f(FIN | PING, "Hello, world!")}, {{PONG, "Hello, world!"}}, 0},
      {"2.3", "ping with binary", {f(FIN | PING, std::string("\x00\xff\xfe\xfd", 4))}, {{PONG, std::string("\x00\xff\xfe\xfd", 4)}}, 0},
      {"2.4", "ping 125", {f(FIN | PING, repeat(125))}, {{PONG, repeat(125)}}, 0},
      {"2.5", "ping 126 (too long for a control frame)", {f(FIN | PING, repeat(126))}, {}, 1002},
      {"2.7", "unsolicited pong", {f(FIN | PONG, "")}, {}, 0},
      {"2.8", "unsolicited pong with payload", {f(FIN | PONG, "unsolicited")}, {}, 0},
      {"2.9", "unsolicited pong, then ping", {f(FIN | PONG, "x") + f(FIN | PING, "y")}, {{PONG, "y"}}, 0},
      // 3: reserved bits
      {"3.1", "RSV1 on text (no extension)", {f(FIN | RSV1 | TEXT, "x")}, {}, 1002},
      {"3.2", "RSV2 on text after a valid text", {f(FIN | TEXT, "ok") + f(FIN | RSV2 | TEXT, "x")}, {{TEXT, "ok"}}, 1002},
      {"3.3", "RSV3 on text", {f(FIN | RSV3 | TEXT, "x")}, {}, 1002},
      {"3.4", "RSV1|RSV2 on binary", {f(FIN | RSV1 | RSV2 | BINARY, "x")}, {}, 1002},
      {"3.5", "RSV1|RSV3 on ping", {f(FIN | RSV1 | RSV3 | PING, "x")}, {}, 1002},
      {"3.7", "all RSV bits on close", {f(FIN | RSV1 | RSV2 | RSV3 | CLOSE, close_payload(1000))}, {}, 1002},
      // 5: fragmentation
      {"5.1", "fragmented ping", {f(PING, "a") + f(FIN | CONT, "b")}, {}, 1002},
      {"5.2", "fragmented pong", {f(PONG, "a") + f(FIN | CONT, "b")}, {}, 1002},
      {"5.3", "text in two fragments", {f(TEXT, "frag1") + f(FIN | CONT, "frag2")}, {{TEXT, "frag1frag2"}}, 0},
      {"5.4", "text in two fragments sent apart", {f(TEXT, "frag1"), f(FIN | CONT, "frag2")}, {{TEXT, "frag1frag2"}}, 0},
      {"5.6", "ping between fragments", {f(TEXT, "a") + f(FIN | PING, "p") + f(FIN | CONT, "b")}, {{PONG, "p"}, {TEXT, "ab"}}, 0},
      {"5.8", "ping between fragments sent apart", {f(TEXT, "a"), f(FIN | PING, "p"), f(FIN | CONT, "b")}, {{PONG, "p"}, {TEXT, "ab"}}, 0},
      {"5.9", "continuation without a message", {f(FIN | CONT, "x")}, {}, 1002},
      {"5.10", "non-final continuation without a message", {f(CONT, "x") + f(FIN | TEXT, "y")}, {}, 1002},
      {"5.15", "new text before the fragmented one ended", {f(TEXT, "a") + f(FIN | TEXT, "b")}, {}, 1002},
      {"5.17", "continuation after a complete message", {f(FIN | TEXT, "a") + f(FIN | CONT, "b")}, {{TEXT, "a"}}, 1002},
      {"5.19", "five fragments, two pings between",
       {f(TEXT, "1") + f(CONT, "2") + f(FIN | PING, "p1") + f(CONT, "3") + f(FIN | PING, "p2") + f(CONT, "4") + f(FIN | CONT, "5")},
       {{PONG, "p1"}, {PONG, "p2"}, {TEXT, "12345"}}, 0},
      {"5.20", "empty fragments", {f(TEXT, "") + f(CONT, "") + f(FIN | CONT, "")}, {{TEXT, ""}}, 0},
      // 6: UTF-8
      {"6.2.1", "valid UTF-8", {f(FIN | TEXT, "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc-UTF-8!!")},
       {{TEXT, "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc-UTF-8!!"}}, 0},
      {"6.2.3", "a code point split across fragments", {f(TEXT, "\xf0\x9d"), f(FIN | CONT, "\x84\x9e")}, {{TEXT, "\xf0\x9d\x84\x9e"}}, 0},
      {"6.2.4", "split byte by byte", {f(TEXT, "\xe2") + f(CONT, "\x82") + f(FIN | CONT, "\xac")}, {{TEXT, "\xe2\x82\xac"}}, 0},
      {"6.3.1", "invalid byte in text", {f(FIN | TEXT, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80" "edited")}, {}, 1007},
      {"6.4.1", "invalid in the first fragment fails at once", {f(TEXT, "ok\xff")}, {}, 1007},
      {"6.8.1", "overlong NUL C0 80", {f(FIN | TEXT, "\xc0\x80")}, {}, 1007},
      {"6.8.2", "overlong E0 80 AF", {f(FIN | TEXT, "\xe0\x80\xaf")}, {}, 1007},
      {"6.9.1", "UTF-16 surrogate ED A0 80", {f(FIN | TEXT, "\xed\xa0\x80")}, {}, 1007},
      {"6.10.1", "over U+10FFFF", {f(FIN | TEXT, "\xf4\x90\x80\x80")}, {}, 1007},
      {"6.11.1", "F5 lead byte", {f(FIN | TEXT, "\xf5\x80\x80\x80")}, {}, 1007},
      {"6.12.1", "lone continuation byte", {f(FIN | TEXT, "\x80")}, {}, 1007},
      {"6.13.1", "truncated sequence at the end", {f(FIN | TEXT, "abc\xe2\x82")}, {}, 1007},
      {"6.13.2", "truncated sequence at the end of fragments", {f(TEXT, "a") + f(FIN | CONT, "\xe2")}, {}, 1007},
      {"6.14.1", "U+10FFFF", {f(FIN | TEXT, "\xf4\x8f\xbf\xbf")}, {{TEXT, "\xf4\x8f\xbf\xbf"}}, 0},
      {"6.15.1", "U+FFFF and U+FEFF", {f(FIN | TEXT, "\xef\xbf\xbf\xef\xbb\xbf")}, {{TEXT, "\xef\xbf\xbf\xef\xbb\xbf"}}, 0},
      {"6.16.1", "binary is not checked", {f(FIN | BINARY, "\xff\xc0\x80")}, {{BINARY, "\xff\xc0\x80"}}, 0},
      // 7: close handling
      {"7.1.1", "text then close", {f(FIN | TEXT, "hi") + f(FIN | CLOSE, close_payload(1000))}, {{TEXT, "hi"}}, 1000},
      {"7.1.3", "data after close is ignored", {f(FIN | CLOSE, close_payload(1000)) + f(FIN | TEXT, "late")}, {}, 1000},
      {"7.3.1", "close without payload", {f(FIN | CLOSE, "")}, {}, 1000},
      {"7.3.2", "close with a one-byte payload", {f(FIN | CLOSE, "\x03")}, {}, 1002},
      {"7.3.4", "close 1000 with reason", {f(FIN | CLOSE, close_payload(1000, "bye"))}, {}, 1000},
      {"7.3.5", "close with a 123-byte reason", {f(FIN | CLOSE, close_payload(1000, repeat(123)))}, {}, 1000},
      {"7.3.6", "close with a 124-byte reason (126-byte payload)", {f(FIN | CLOSE, close_payload(1000, repeat(124)))}, {}, 1002},
      {"7.5.1", "close reason not UTF-8", {f(FIN | CLOSE, close_payload(1000, "\xce\xba\xff"))}, {}, 1007},
      // 9: limits and masking
      {"9.1.1", "text over max_msg_size", {f(FIN | TEXT, repeat(kMaxMsg + 1))}, {}, 1009},
      {"9.1.2", "fragments over max_msg_size", {f(BINARY, repeat(kMaxMsg / 2)) + f(FIN | CONT, repeat(kMaxMsg / 2 + 1))}, {}, 1009},
      {"9.2.1", "an unmasked client frame", {raw_frame(FIN | TEXT, "x", false)}, {}, 1002},
      {"9.2.2", "a 64-bit length with its top bit set", {raw_frame(FIN | BINARY, "", true, 0x8000000000000000ULL)}, {}, 1002},
      {"9.2.3", "a length declared far over the limit is refused from the header",
       {raw_frame(FIN | BINARY, "", true, 1ULL << 40)}, {}, 1009},
      // 12/13: permessage-deflate
      {"12.1.1", "compressed text", {f(FIN | RSV1 | TEXT, deflated("Hello, deflate"))}, {{TEXT, "Hello, deflate"}}, 0, pmd},
      {"12.1.2", "compressed 64 KiB", {f(FIN | RSV1 | BINARY, deflated(repeat(kMaxMsg, 'z')))}, {{BINARY, repeat(kMaxMsg, 'z')}}, 0, pmd},
      {"12.1.4", "compressed empty messages (a single 0x00, then nothing at all)",
       {f(FIN | RSV1 | TEXT, std::string(1, '\0')) + f(FIN | RSV1 | BINARY, "")}, {{TEXT, ""}, {BINARY, ""}}, 0, pmd},
      {"12.1.5", "empty messages echoed compressed after others share the context",
       {[] {
          Deflater d;
          return f(FIN | RSV1 | TEXT, d("abc")) + f(FIN | RSV1 | TEXT, d("")) + f(FIN | RSV1 | TEXT, d(""));
        }()},
       {{TEXT, "abc"}, {TEXT, ""}, {TEXT, ""}}, 0, pmd},
      {"12.1.3", "uncompressed message with the extension on", {f(FIN | TEXT, "plain")}, {{TEXT, "plain"}}, 0, pmd},
      {"12.2.1", "compressed message in fragments (RSV1 on the first only)",
       {[] {
          const std::string d = deflated("fragmented and compressed");
          return f(RSV1 | TEXT, d.substr(0, 5)) + f(CONT, d.substr(5, 5)) + f(FIN | CONT, d.substr(10));
        }()},
       {{TEXT, "fragmented and compressed"}}, 0, pmd},
      {"12.3.1", "RSV1 on a continuation frame", {f(RSV1 | TEXT, deflated("a")) + f(FIN | RSV1 | CONT, "")}, {}, 1002, pmd},
      {"12.3.2", "RSV1 on a ping", {f(FIN | RSV1 | PING, "")}, {}, 1002, pmd},
      {"12.4.1", "a deflate bomb (10 MB of zeros in ~10 KB)", {f(FIN | RSV1 | BINARY, deflated(std::string(10 << 20, '\0')))}, {}, 1009, pmd},
      {"12.4.2", "corrupt deflate data", {f(FIN | RSV1 | BINARY, "\xff\xff\xff\xff\xff")}, {}, 1007, pmd},
      {"12.4.3", "compressed text that is not UTF-8", {f(FIN | RSV1 | TEXT, deflated("\xc0\x80"))}, {}, 1007, pmd},
      {"13.1.1", "messages sharing a compression context",
       {[] {
          Deflater d;
          const std::string a = d("context shared across messages");
          const std::string b = d("context shared across messages");
          return f(FIN | RSV1 | TEXT, a) + f(FIN | RSV1 | TEXT, b);
        }()},
       {{TEXT, "context shared across messages"}, {TEXT, "context shared across messages"}}, 0, pmd},
      {"13.2.1", "client_no_context_takeover and window bits offered",
       {f(FIN | RSV1 | TEXT, deflated("x"))}, {{TEXT, "x"}}, 0,
       "permessage-deflate; client_no_context_takeover; client_max_window_bits"},
  };
  // 4: reserved opcodes, data (3-7) and control (B-F).
  for (std::uint8_t op : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15})
    c.push_back({std::string("4.x.") + std::to_string(op),
                 "reserved opcode",
                 {f(FIN | TEXT, "ok") + f(FIN | op, "")},
                 {{TEXT, "ok"}},
                 1002});
  // 7.7 / 7.9: close codes a peer may send (echoed) and those it may not (1002).
  for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999})
    c.push_back({std::string("7.7.") + std::to_string(code),
                 "valid close code",
                 {f(FIN | CLOSE, close_payload(code))},
                 {},
                 code});
  for (int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535})
    c.push_back({std::string("7.9.") + std::to_string(code),
                 "invalid close code",
                 {f(FIN | CLOSE, close_payload(code))},
                 {},
                 1002});
  return c;
}

aio::Coro<void> run_case(const Case& k, int port) {
  std::string headers;
  if (!k.extensions.empty()) headers = std::string("Sec-WebSocket-Extensions: ") + k.extensions + "\r\n";
  RawWs ws = co_await RawWs::connect(port, "/ws", headers);
  const bool compressed = ws.response_head.find("permessage-deflate") != std::string::npos;
  EXPECT_EQ(compressed, !k.extensions.empty()) << k.id << ": " << ws.response_head;
  for (const std::string& piece : k.send) co_await ws.send(piece);
  Inflater inflate;
  for (const Reply& expected : k.replies) {
    std::optional<aio_test::RawFrame> got = co_await ws.frame();
    if (!got) {
      ADD_FAILURE() << k.id << " (" << k.what << "): connection ended before a reply";
      co_return;
    }
    EXPECT_FALSE(got->masked) << k.id;
    EXPECT_EQ(got->opcode(), expected.opcode) << k.id << " (" << k.what << ")";
    const std::string payload = got->rsv1() ? inflate(got->payload) : got->payload;
    EXPECT_TRUE(payload == expected.payload) << k.id << " (" << k.what << "): got " << payload.size()
                                             << " bytes, starting '" << payload.substr(0, 40) << "'";
  }
  if (k.close == 0) co_await ws.send(raw_frame(FIN | CLOSE, close_payload(1000)));
  std::optional<aio_test::RawFrame> close = co_await ws.frame();
  if (!close) {
    ADD_FAILURE() << k.id << " (" << k.what << "): no close frame";
    co_return;
  }
  EXPECT_EQ(close->opcode(), CLOSE) << k.id << " (" << k.what << ")";
  EXPECT_EQ(close->close_code(), k.close == 0 ? 1000 : k.close) << k.id << " (" << k.what << ")";
  EXPECT_FALSE(co_await ws.frame()) << k.id << ": the server must close the connection after the close frame";
}

AIO_TEST(WebSocketFrames, AutobahnStyleCatalogue) {
  aio::http::Application app;
  app.router().add_get("/ws", [](aio::http::Request& r) {
    return aio_test::ws_echo(r, aio::http::WebSocketOptions{.max_msg_size = kMaxMsg});
  });
  auto site = co_await aio::http::start_server(app, "127.0.0.1", 0);
  const std::vector<Case> cases = catalogue();
  for (const Case& k : cases) co_await run_case(k, site.port());
  site.close();
  co_await site.wait_closed();
}

AIO_TEST(WebSocketFrames, DeflateNegotiationAnswers) {
  aio::http::Application app;
  app.router().add_get("/ws", [](aio::http::Request& r) {
    return aio_test::ws_echo(r, aio::http::WebSocketOptions{.server_no_context_takeover = true});
  });
  auto site = co_await aio::http::start_server(app, "127.0.0.1", 0);
  struct Negotiation {
    std::string offer;
    std::string answer;  // "" : no extension accepted
  };
  const std::vector<Negotiation> table = {
      {"permessage-deflate", "permessage-deflate; server_no_context_takeover"},
      {"permessage-deflate; client_max_window_bits", "permessage-deflate; server_no_context_takeover"},
      {"permessage-deflate; server_max_window_bits=10",
       "permessage-deflate; server_no_context_takeover; server_max_window_bits=10"},
      {"permessage-deflate; server_max_window_bits=8", ""},  // zlib cannot: declined
      {"permessage-deflate; server_max_window_bits=8, permessage-deflate",
       "permessage-deflate; server_no_context_takeover"},
      {"permessage-deflate; unknown_param", ""},
      {"permessage-deflate; server_max_window_bits=16", ""},
      {"permessage-deflate; client_no_context_takeover; client_no_context_takeover", ""},
      {"x-webkit-deflate-frame", ""},
  };
  for (const Negotiation& n : table) {
    RawWs ws =
        co_await RawWs::connect(site.port(), "/ws", std::string("Sec-WebSocket-Extensions: ") + n.offer + "\r\n");
    const std::size_t at = ws.response_head.find("Sec-WebSocket-Extensions: ");
    std::string answer;
    if (at != std::string::npos) {
      const std::size_t start = at + 26;
      answer = ws.response_head.substr(start, ws.response_head.find("\r\n", start) - start);
    }
    EXPECT_EQ(answer, n.answer) << n.offer;
    co_await ws.send(raw_frame(FIN | CLOSE, close_payload(1000)));
    EXPECT_EQ(co_await ws.close_code(), 1000);
  }
  site.close();
  co_await site.wait_closed();
}

}  // namespace
