// aio::http WebSockets, both ends in aio: the server's handshake checks, messages of every
// kind and size, fragmentation, ping/pong and heartbeat, the closing handshake from either
// side, limits, permessage-deflate, backpressure, cancellation, and the client's checks of
// the server's answer.
#include <gtest/gtest.h>

#include <aio/aio.hpp>
#include <aio/http.hpp>
#include <aio/testing.hpp>

#include <string>
#include <vector>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "interop_support.hpp"
#include "net_support.hpp"
#include "ws_support.hpp"

namespace {

using aio::http::Application;
using aio::http::ClientWebSocket;
using aio::http::Request;
using aio::http::Response;
using aio::http::WebSocketClientOptions;
using aio::http::WebSocketOptions;
using aio::http::WSMessage;
using aio::http::WSMsgType;
using aio_test::raw_frame;
using aio_test::RawWs;

// A site whose /ws echoes with `options`; stopped by stop().
struct EchoSite {
  Application app;
  std::optional<aio::http::Site> site;
  explicit EchoSite(WebSocketOptions options) {
    app.router().add_get("/ws", [options](Request& r) { return aio_test::ws_echo(r, options); });
  }
  aio::Coro<int> start() {
    site.emplace(co_await aio::http::start_server(app, "127.0.0.1", 0));
    co_return site->port();
  }
  aio::Coro<void> stop() {
    site->close();
    co_await site->wait_closed();
  }
};

std::string url(int port, std::string path = "/ws") { return "ws://127.0.0.1:" + std::to_string(port) + path; }

AIO_TEST(WebSocketServer, HandshakeAnswers101WithAccept) {
  EchoSite s({});
  const int port = co_await s.start();
  RawWs c = co_await RawWs::connect(port);
  EXPECT_EQ(c.response_head.substr(0, 12), "HTTP/1.1 101");
  // RFC 6455 section 1.3's example key and accept value.
  EXPECT_NE(c.response_head.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), std::string::npos);
  EXPECT_NE(c.response_head.find("Upgrade: websocket"), std::string::npos);
  co_await c.send(raw_frame(0x81, "hi"));
  auto f = co_await c.frame();
  EXPECT_TRUE(f && f->opcode() == 1 && f->payload == "hi" && !f->masked);
  co_await c.send(raw_frame(0x88, aio_test::close_payload(1000)));
  EXPECT_EQ(co_await c.close_code(), 1000);
  EXPECT_FALSE(co_await c.frame());  // the server closes the TCP connection
  co_await s.stop();
}

AIO_TEST(WebSocketServer, BadUpgradeRequestsGet400) {
  EchoSite s({});
  const int port = co_await s.start();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"no Upgrade",
       "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
       "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"},
      {"no Connection",
       "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nSec-WebSocket-Key: "
       "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"},
      {"version 8",
       "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
       "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"},
      {"bad key",
       "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
       "short\r\nSec-WebSocket-Version: 13\r\n\r\n"},
      {"no key",
       "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n"},
  };
  for (const auto& [name, request] : cases) {
    auto [r, w] = co_await aio::open_connection("127.0.0.1", port);
    w.write(request);
    co_await w.drain();
    const std::string head = co_await r.readuntil("\r\n\r\n");
    EXPECT_EQ(head.substr(0, 12), "HTTP/1.1 400") << name << ": " << head;
    w.close();
  }
  co_await s.stop();
}

AIO_TEST(WebSocket, ClientEchoTextBinaryJsonAndSizes) {
  EchoSite s({});
  const int port = co_await s.start();
  ClientWebSocket ws = co_await aio::http::websocket_connect(url(port));
  EXPECT_TRUE(ws.compressed());  // both ends offer/accept permessage-deflate by default
  for (std::size_t size : {0, 1, 125, 126, 127, 65535, 65536, 1000000}) {
    std::string text(size, 'x');
    for (std::size_t i = 0; i < size; ++i) text[i] = static_cast<char>('a' + i % 26);
    co_await ws.send_str(text);
    WSMessage m = co_await ws.receive();
    EXPECT_EQ(m.type, WSMsgType::text);
    EXPECT_EQ(m.data, text) << size;
  }
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  co_await ws.send_bytes(bytes);
  WSMessage b = co_await ws.receive();
  EXPECT_EQ(b.type, WSMsgType::binary);
  EXPECT_EQ(b.data, bytes);
  const nlohmann::json value = {{"a", 1}, {"b", {1, 2, 3}}};
  co_await ws.send_json(value);
  WSMessage j = co_await ws.receive();
  EXPECT_EQ(j.json(), value);
  EXPECT_TRUE(co_await ws.close());
  EXPECT_TRUE(ws.closed());
  EXPECT_EQ(ws.close_code(), 1000);
  EXPECT_FALSE(co_await ws.close());  // once
  WSMessage after = co_await ws.receive();
  EXPECT_EQ(after.type, WSMsgType::closed);
  co_await s.stop();
}

AIO_TEST(WebSocket, UncompressedAndFragmentedBothWays) {
  WebSocketOptions server_options{.compress = false, .max_frame_size = 1000};
  EchoSite s(server_options);
  const int port = co_await s.start();
  WebSocketClientOptions options{.websocket = {.max_frame_size = 7}};
  ClientWebSocket ws = co_await aio::http::websocket_connect(url(port), options);
  EXPECT_FALSE(ws.compressed());
  const std::string text = "fragmented message with ünïcödé split across frames: €𝄞";
  co_await ws.send_str(text);
  WSMessage m = co_await ws.receive();
  EXPECT_EQ(m.data, text);
  const std::string big(100000, 'q');
  co_await ws.send_bytes(big);
  WSMessage m2 = co_await ws.receive();
  EXPECT_EQ(m2.data, big);
  EXPECT_TRUE(co_await ws.close());
  co_await s.stop();
}

AIO_TEST(WebSocket, ConcurrentSendersNeverInterleaveFragments) {
  // Four tasks send fragmented messages (3-byte frames) at once while a fifth receives:
  // every echo must come back whole, so no message's frames were mixed with another's.
  EchoSite s({});
  const int port = co_await s.start();
  WebSocketClientOptions options{.websocket = {.compress = false, .max_frame_size = 3}};
  ClientWebSocket ws = co_await aio::http::websocket_connect(url(port), options);
  constexpr int kSenders = 4, kEach = 50;
  auto sender = [](ClientWebSocket& socket, int id) -> aio::Coro<void> {
    for (int i = 0; i < kEach; ++i)
      co_await socket.send_str("sender " + std::to_string(id) + " message " + std::to_string(i));
  };
  std::vector<aio::Task<void>> senders;
  for (int id = 0; id < kSenders; ++id) senders.push_back(aio::create_task(sender(ws, id)));
  std::vector<int> next(kSenders, 0);
  for (int n = 0; n < kSenders * kEach; ++n) {
    WSMessage m = co_await ws.receive();
    const int id = m.data.size() > 7 ? m.data[7] - '0' : -1;
    EXPECT_TRUE(id >= 0 && id < kSenders) << m.data;
    if (id < 0 || id >= kSenders) break;
    EXPECT_EQ(m.data, "sender " + std::to_string(id) + " message " + std::to_string(next[id]));
    ++next[id];
  }
  for (auto& t : senders) co_await t;
  EXPECT_TRUE(co_await ws.close());
  co_await s.stop();
}

AIO_TEST(WebSocket, ServerClosesWithCodeAndReason) {
  Application app;
  app.router().add_get("/ws", [](Request& request) -> aio::Coro<Response> {
    aio::http::WebSocketResponse ws;
    co_await ws.prepare(request);
    co_await ws.send_str("bye soon");
    EXPECT_TRUE(co_await ws.close(4001, "done here"));
    EXPECT_EQ(ws.close_code(), 4001);
    co_return ws;
  });
  auto site = co_await aio::http::start_server(app, "127.0.0.1", 0);
  ClientWebSocket ws = co_await aio::http::websocket_connect(url(site.port()));
  WSMessage m = co_await ws.receive();
  EXPECT_EQ(m.data, "bye soon");
  WSMessage c = co_await ws.receive();
  EXPECT_EQ(c.type, WSMsgType::close);
  EXPECT_EQ(c.close_code, 4001);
  EXPECT_EQ(c.data, "done here");
  EXPECT_TRUE(ws.closed());
  WSMessage again = co_await ws.receive();
  EXPECT_EQ(again.type, WSMsgType::closed);
  EXPECT_THROW(co_await ws.send_str("late"), std::system_error);
  site.close();
  co_await site.wait_closed();
}

AIO_TEST(WebSocket, PingPongAutopingAndManual) {
  EchoSite s({});
  const int port = co_await s.start();
  WebSocketClientOptions options{.websocket = {.autoping = false}};
  ClientWebSocket ws = co_await aio::http::websocket_connect(url(port), options);
  co_await ws.ping("are you there");
  WSMessage p = co_await ws.receive();
  EXPECT_EQ(p.type, WSMsgType::pong);
  EXPECT_EQ(p.data, "are you there");
  EXPECT_THROW(co_await ws.ping(std::string(126, 'x')), std::invalid_argument);
  EXPECT_TRUE(co_await ws.close());
  co_await s.stop();
}

AIO_TEST(WebSocket, HeartbeatFailsASilentPeer) {
  // A raw "client" that never answers pings: the server's heartbeat gives up on it.
  aio::Event result_ready;
  WSMessage seen;
  Application app;
  app.router().add_get("/ws", [&](Request& request) -> aio::Coro<Response> {
    aio::http::WebSocketResponse ws({.heartbeat = 0.1});
    co_await ws.prepare(request);
    seen = co_await ws.receive();
    result_ready.set();
    co_return ws;
  });
  auto site = co_await aio::http::start_server(app, "127.0.0.1", 0);
  RawWs c = co_await RawWs::connect(site.port());
  auto ping = co_await c.frame();  // the heartbeat's ping, unanswered
  EXPECT_TRUE(ping && ping->opcode() == 9);
  co_await result_ready.wait();
  EXPECT_EQ(seen.type, WSMsgType::error);
  EXPECT_EQ(seen.close_code, 1006);
  site.close();
  co_await site.wait_closed();
}

AIO_TEST(WebSocket, HeartbeatKeepsAnAnsweringPeer) {
  WebSocketOptions server_options{.heartbeat = 0.4};  // pong deadline 0.2 s: wide for a loaded CI
  EchoSite s(server_options);
  const int port = co_await s.start();
  ClientWebSocket ws = co_await aio::http::websocket_connect(url(port));
  // The client answers pings while it waits in receive(): the connection survives
  // several heartbeat periods.
  auto waiting = aio::create_task(ws.receive());
  co_await aio::sleep(1.0);  // two heartbeat periods, pings answered
  EXPECT_FALSE(waiting.done());
  co_await ws.send_str("still here");
  WSMessage m = co_await waiting;
  EXPECT_EQ(m.data, "still here");
  EXPECT_TRUE(co_await ws.close());
  co_await s.stop();
}

AIO_TEST(WebSocket, CloseWhileAnotherTaskReceives) {
  EchoSite s({});
  const int port = co_await s.start();
  ClientWebSocket ws = co_await aio::http::websocket_connect(url(port));
  auto reader = aio::create_task(ws.receive());
  co_await aio::sleep(0);
  EXPECT_TRUE(co_await ws.close(1001));
  WSMessage m = co_await reader;
  EXPECT_EQ(m.type, WSMsgType::close);
  EXPECT_EQ(m.close_code, 1001);
  co_await s.stop();
}

AIO_TEST(WebSocket, ReceiveIsCancelSafe) {
  EchoSite s({});
  const int port = co_await s.start();
  ClientWebSocket ws = co_await aio::http::websocket_connect(url(port));
  EXPECT_THROW(co_await aio::wait_for(ws.receive(), 0.02), aio::TimeoutError);
  co_await ws.send_str("after the cancelled receive");
  WSMessage m = co_await ws.receive();
  EXPECT_EQ(m.data, "after the cancelled receive");
  EXPECT_THROW(co_await ws.close(999), std::invalid_argument);
  EXPECT_TRUE(co_await ws.close());
  co_await s.stop();
}

AIO_TEST(WebSocket, MaxMsgSizeAppliesToInflatedSize) {
  WebSocketOptions server_options{.max_msg_size = 64 * 1024};
  EchoSite s(server_options);
  const int port = co_await s.start();
  ClientWebSocket ws = co_await aio::http::websocket_connect(url(port));
  EXPECT_TRUE(ws.compressed());
  // 1 MB of zeros compresses to about 1 KB: still refused, by what it inflates to.
  co_await ws.send_bytes(std::string(1 << 20, '\0'));
  WSMessage m = co_await ws.receive();
  EXPECT_EQ(m.type, WSMsgType::close);
  EXPECT_EQ(m.close_code, 1009);
  co_await s.stop();
}

AIO_TEST(WebSocket, SubprotocolNegotiation) {
  static constexpr std::string_view kServer[] = {"v2.chat", "v1.chat"};
  static constexpr std::string_view kClient[] = {"v1.chat", "v2.chat"};
  WebSocketOptions server_options{.protocols = kServer};
  EchoSite s(server_options);
  const int port = co_await s.start();
  WebSocketClientOptions options{.websocket = {.protocols = kClient}};
  ClientWebSocket ws = co_await aio::http::websocket_connect(url(port), options);
  EXPECT_EQ(ws.protocol(), "v2.chat");  // the server's preference
  EXPECT_TRUE(co_await ws.close());
  co_await s.stop();
}

// A WebSocket handler's body: answers the upgrade, sends `text` and closes.
aio::Coro<Response> say_and_close(Request& request, std::string text) {
  aio::http::WebSocketResponse ws;
  co_await ws.prepare(request);
  co_await ws.send_str(text);
  (void)co_await ws.close();
  co_return ws;
}

AIO_TEST(WebSocket, ClientSendsExtraHeadersAndOrigin) {
  Application app;
  app.router().add_get("/ws", [](Request& request) {
    std::string seen = std::string(request.header("Authorization").value_or("-")) + " " +
                       std::string(request.header("Origin").value_or("-")) + " " + request.query("q").value_or("-");
    return say_and_close(request, std::move(seen));
  });
  auto site = co_await aio::http::start_server(app, "127.0.0.1", 0);
  static constexpr std::pair<std::string_view, std::string_view> kHeaders[] = {{"Authorization", "Bearer t0ken"}};
  WebSocketClientOptions options{.headers = kHeaders, .origin = "http://example.org"};
  ClientWebSocket ws = co_await aio::http::websocket_connect(url(site.port(), "/ws?q=1#fragment"), options);
  WSMessage m = co_await ws.receive();
  EXPECT_EQ(m.data, "Bearer t0ken http://example.org 1");
  WSMessage c = co_await ws.receive();
  EXPECT_EQ(c.type, WSMsgType::close);
  site.close();
  co_await site.wait_closed();
}

AIO_TEST(WebSocket, ClientRefusesNonWebSocketAnswers) {
  Application app;
  app.router().add_get("/plain", [](Request&) -> aio::Coro<Response> { co_return Response::text("no"); });
  auto site = co_await aio::http::start_server(app, "127.0.0.1", 0);
  try {
    (void)co_await aio::http::websocket_connect(url(site.port(), "/plain"));
    ADD_FAILURE() << "no exception";
  } catch (const aio::http::WSServerHandshakeError& e) {
    EXPECT_EQ(e.status(), 200);
  }
  try {
    (void)co_await aio::http::websocket_connect(url(site.port(), "/missing"));
    ADD_FAILURE() << "no exception";
  } catch (const aio::http::WSServerHandshakeError& e) {
    EXPECT_EQ(e.status(), 404);
  }
  EXPECT_THROW((void)co_await aio::http::websocket_connect("ftp://x/"), std::invalid_argument);
  site.close();
  co_await site.wait_closed();
}

// session.ws_connect: the session's headers and cookies go with the handshake, and its
// errors are the client's (aiohttp's ClientSession.ws_connect).
AIO_TEST(WebSocket, SessionWsConnectCarriesHeadersAndCookiesAndClientErrors) {
  Application app;
  app.router().add_get("/login", [](Request&) -> aio::Coro<Response> {
    Response r = Response::text("in");
    r.set_cookie("sid", "42");
    co_return r;
  });
  app.router().add_get("/ws", [](Request& request) {
    std::string seen = std::string(request.header("X-Session").value_or("-")) + " " +
                       std::string(request.header("Cookie").value_or("-")) + " " +
                       std::string(request.header("Authorization").value_or("-"));
    return say_and_close(request, std::move(seen));
  });
  auto site = co_await aio::http::start_server(app, "127.0.0.1", 0);
  aio::http::SessionOptions session_options;
  session_options.headers = {{"X-Session", "yes"}};
  aio::http::ClientSession session(session_options);
  aio::http::ClientResponse login = co_await session.get("http://127.0.0.1:" + std::to_string(site.port()) + "/login");
  EXPECT_EQ(co_await login.text(), "in");
  static constexpr std::pair<std::string_view, std::string_view> kHeaders[] = {{"Authorization", "Bearer x"}};
  WebSocketClientOptions options{.headers = kHeaders};
  ClientWebSocket ws = co_await session.ws_connect(url(site.port(), "/ws"), options);
  WSMessage m = co_await ws.receive();
  EXPECT_EQ(m.data, "yes sid=42 Bearer x");
  WSMessage c = co_await ws.receive();
  EXPECT_EQ(c.type, WSMsgType::close);
  // A refused upgrade is a ClientResponseError with the status; a bad URL an InvalidURL; a
  // refused connection a ClientConnectionError.
  try {
    (void)co_await session.ws_connect(url(site.port(), "/missing"));
    ADD_FAILURE() << "no exception";
  } catch (const aio::http::ClientResponseError& e) {
    EXPECT_EQ(e.status(), 404);
  }
  EXPECT_THROW((void)co_await session.ws_connect("ftp://x/"), aio::http::InvalidURL);
  const int free_port = aio_test::net::unused_port();
  EXPECT_THROW((void)co_await session.ws_connect(url(free_port, "/ws")), aio::http::ClientConnectionError);
  co_await session.close();
  EXPECT_THROW((void)co_await session.ws_connect(url(site.port(), "/ws")), aio::http::ClientError);
  site.close();
  co_await site.wait_closed();
}

AIO_TEST(WebSocket, ClientChecksAcceptKey) {
  // A fake server that answers 101 with a wrong Sec-WebSocket-Accept.
  auto server = co_await aio::start_server(
      [](aio::StreamReader r, aio::StreamWriter w) -> aio::Coro<void> {
        (void)co_await r.readuntil("\r\n\r\n");
        w.write(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
        co_await w.drain();
        (void)co_await r.read();
      },
      "127.0.0.1", 0);
  const int port = server.addresses()[0].port();
  EXPECT_THROW((void)co_await aio::http::websocket_connect(url(port)), aio::http::WSServerHandshakeError);
  server.close();
  co_await server.wait_closed();
}

AIO_TEST(WebSocket, BackpressureSendWaitsForAReader) {
  // The server sends until the client (which does not read) stops taking bytes: send
  // then waits in drain instead of buffering without bound.
  aio::Event stalled;
  Application app;
  app.router().add_get("/ws", [&](Request& request) -> aio::Coro<Response> {
    aio::http::WebSocketResponse ws({.compress = false});
    co_await ws.prepare(request);
    const std::string chunk(64 * 1024, 'z');
    try {
      for (int i = 0; i < 10000; ++i) {
        auto sent = aio::wait_for(ws.send_bytes(chunk), 0.5);
        co_await std::move(sent);
      }
    } catch (const aio::TimeoutError&) {
      stalled.set();  // the send waits: the peer does not read
    }
    co_return ws;
  });
  auto site = co_await aio::http::start_server(app, "127.0.0.1", 0);
  RawWs c = co_await RawWs::connect(site.port());
  co_await stalled.wait();
  EXPECT_TRUE(stalled.is_set());
  c.writer.close();  // a reset for the server's stalled output
  site.close();
  co_await site.wait_closed();
}

AIO_TEST(WebSocket, SecureWebSocketVerifiesTheServer) {
  const auto& pki = aio_test::interop::TestPki::get();
  aio::SslContext server_ctx = aio::SslContext::server(pki.path("server.pem"), pki.path("server.key"));
  EchoSite s({});
  aio::http::RunOptions run{.ssl = server_ctx};
  s.site.emplace(co_await aio::http::start_server(s.app, "127.0.0.1", 0, run));
  const std::string wss = "wss://localhost:" + std::to_string(s.site->port()) + "/ws";
  // The default context verifies against the system's CAs: the test CA is not one of them.
  EXPECT_THROW((void)co_await aio::http::websocket_connect(wss), std::exception);
  aio::SslContext client_ctx = aio::SslContext::client();
  client_ctx.load_verify_locations(pki.path("ca.pem"));
  WebSocketClientOptions options{.ssl = client_ctx};
  ClientWebSocket ws = co_await aio::http::websocket_connect(wss, options);
  co_await ws.send_str("over TLS");
  WSMessage m = co_await ws.receive();
  EXPECT_EQ(m.data, "over TLS");
  EXPECT_TRUE(co_await ws.close());
  co_await s.stop();
}

AIO_TEST(WebSocket, ServerShutdownSaysGoingAway) {
  EchoSite s({});
  const int port = co_await s.start();
  ClientWebSocket ws = co_await aio::http::websocket_connect(url(port));
  auto reader = aio::create_task(ws.receive());
  co_await aio::sleep(0);
  s.site->close();  // graceful: open WebSockets are closed with 1001
  WSMessage m = co_await reader;
  EXPECT_EQ(m.type, WSMsgType::close);
  EXPECT_EQ(m.close_code, 1001);
  co_await s.site->wait_closed();
}

AIO_TEST(WebSocket, HandlerReturningWithoutCloseSaysGoingAway) {
  Application app;
  app.router().add_get("/ws", [](Request& request) -> aio::Coro<Response> {
    aio::http::WebSocketResponse ws;
    co_await ws.prepare(request);
    co_return ws;  // no close(): the WebSocket is dropped while open
  });
  auto site = co_await aio::http::start_server(app, "127.0.0.1", 0);
  ClientWebSocket ws = co_await aio::http::websocket_connect(url(site.port()));
  WSMessage m = co_await ws.receive();
  EXPECT_EQ(m.type, WSMsgType::close);
  EXPECT_EQ(m.close_code, 1001);
  site.close();
  co_await site.wait_closed();
}

AIO_TEST(WebSocket, PeerVanishingMidFrameEndsReceiveWith1006) {
  aio::Event done;
  WSMessage seen;
  Application app;
  app.router().add_get("/ws", [&](Request& request) -> aio::Coro<Response> {
    aio::http::WebSocketResponse ws;
    co_await ws.prepare(request);
    seen = co_await ws.receive();
    done.set();
    co_return ws;
  });
  auto site = co_await aio::http::start_server(app, "127.0.0.1", 0);
  {
    RawWs c = co_await RawWs::connect(site.port());
    const std::string frame = raw_frame(0x81, "half of this frame never arrives");
    co_await c.send(frame.substr(0, 10));
  }  // the client goes away mid-frame
  co_await done.wait();
  EXPECT_EQ(seen.type, WSMsgType::closed);
  EXPECT_EQ(seen.close_code, 1006);
  site.close();
  co_await site.wait_closed();
}

// A server that answers every upgrade with `answer` ({ACCEPT}: the right accept value).
aio::Coro<aio::Server> fake_server(std::string answer) {
  // Named first: GCC 12 miscompiles a capturing lambda inside a co_await expression.
  auto handler = [answer](aio::StreamReader r, aio::StreamWriter w) -> aio::Coro<void> {
    const std::string head = co_await r.readuntil("\r\n\r\n");
    const std::size_t at = head.find("Sec-WebSocket-Key: ") + 19;
    const std::string key = head.substr(at, head.find("\r\n", at) - at) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
    unsigned char accept[64];
    const int n = EVP_EncodeBlock(accept, digest, SHA_DIGEST_LENGTH);
    std::string reply = answer;
    if (const std::size_t p = reply.find("{ACCEPT}"); p != std::string::npos)
      reply.replace(p, 8, std::string(reinterpret_cast<char*>(accept), static_cast<std::size_t>(n)));
    w.write(reply);
    co_await w.drain();
    (void)co_await r.read();
  };
  co_return co_await aio::start_server(handler, "127.0.0.1", 0);
}

AIO_TEST(WebSocket, ClientRefusesBadHandshakeAnswers) {
  const std::string ok =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: {ACCEPT}\r\n";
  struct Answer {
    std::string what, reply;
    bool accepted;
  };
  const std::vector<Answer> table = {
      {"a correct answer", ok + "\r\n", true},
      {"deflate accepted", ok + "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n", true},
      {"no Upgrade", "HTTP/1.1 101 OK\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {ACCEPT}\r\n\r\n", false},
      {"no Connection", "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: {ACCEPT}\r\n\r\n", false},
      {"no accept", "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", false},
      {"an extension not offered", ok + "Sec-WebSocket-Extensions: x-foo\r\n\r\n", false},
      {"a window the client cannot keep to",
       ok + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=8\r\n\r\n", false},
      {"bad deflate parameters", ok + "Sec-WebSocket-Extensions: permessage-deflate; bogus\r\n\r\n", false},
      {"a subprotocol not offered", ok + "Sec-WebSocket-Protocol: chat\r\n\r\n", false},
      {"not HTTP", "SSH-2.0-OpenSSH\r\n\r\n", false},
      {"a redirect", "HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n", false},
  };
  for (const Answer& a : table) {
    aio::Server server = co_await fake_server(a.reply);
    const int port = server.addresses()[0].port();
    try {
      ClientWebSocket ws = co_await aio::http::websocket_connect(url(port));
      EXPECT_TRUE(a.accepted) << a.what;
    } catch (const aio::http::WSServerHandshakeError& e) {
      EXPECT_FALSE(a.accepted) << a.what << ": " << e.what();
    }
    server.close();
    co_await server.wait_closed();
  }
}

AIO_TEST(WebSocket, ClientFailsAMisbehavingServer) {
  // The client end applies the same rules: frames from a server must not be masked, and
  // text must be UTF-8. Each server answers the handshake, then sends one frame.
  const std::string head =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: {ACCEPT}\r\n\r\n";
  struct Bad {
    std::string what, frame;
    int code;
  };
  const std::vector<Bad> table = {
      {"a masked frame", raw_frame(0x81, "masked", true), 1002},
      {"bad UTF-8", raw_frame(0x81, "\xc0\x80", false), 1007},
      {"RSV1 without deflate", raw_frame(0xC1, "x", false), 1002},
      {"a reserved opcode", raw_frame(0x83, "", false), 1002},
  };
  for (const Bad& b : table) {
    aio::Server server = co_await fake_server(head + b.frame);
    WebSocketClientOptions options{.websocket = {.compress = false}};
    ClientWebSocket ws = co_await aio::http::websocket_connect(url(server.addresses()[0].port()), options);
    WSMessage m = co_await ws.receive();
    EXPECT_EQ(m.type, WSMsgType::error) << b.what;
    EXPECT_EQ(m.close_code, b.code) << b.what << ": " << m.data;
    server.close();
    co_await server.wait_closed();
  }
}

AIO_TEST(WebSocket, ConnectTimesOutAndCancelsCleanly) {
  // A server that accepts and never answers: handshake_timeout ends the wait, and a
  // cancelled connect leaves no socket behind (AIO_TEST checks for leaked fds).
  aio::Server server = co_await aio::start_server(
      [](aio::StreamReader r, aio::StreamWriter) -> aio::Coro<void> { (void)co_await r.read(); }, "127.0.0.1", 0);
  const int port = server.addresses()[0].port();
  WebSocketClientOptions options{.handshake_timeout = 0.05};
  EXPECT_THROW((void)co_await aio::http::websocket_connect(url(port), options), aio::TimeoutError);
  auto connecting = aio::create_task(aio::http::websocket_connect(url(port)));
  co_await aio::sleep(0.02);
  connecting.cancel();
  EXPECT_THROW((void)co_await connecting, aio::CancelledError);
  server.close();
  co_await server.wait_closed();
}

}  // namespace
