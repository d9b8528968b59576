// aio::http::ClientSession against servers that misbehave (scripted raw TCP servers): bad
// status lines and headers, lying Content-Length, truncated chunked bodies, stalls, bodies
// over the limit, kept-alive connections closed by the server (the reuse race), every
// timeout, and cancellation at every await point. Each ends in a clear error or a retry,
// never a hang, and the pool never keeps a connection it cannot trust.
#include <gtest/gtest.h>

#include <aio/aio.hpp>
#include <aio/http.hpp>
#include <aio/testing.hpp>

#include <memory>
#include <string>
#include <vector>

#include "http/client/connector.hpp"
#include "http/parser.hpp"
#include "http_client_support.hpp"
#include "interop_support.hpp"

namespace {

using aio::http::ClientResponse;
using aio::http::ClientSession;
using aio::http::ClientTimeout;
using aio::http::RequestOptions;
using aio::http::SessionOptions;
using aio_test::ScriptedServer;

namespace parser = aio::http::detail;

parser::ParseResult parse(std::string_view bytes, parser::ResponseHead& head) {
  std::vector<aio::http::HeaderField> fields;
  parser::ParseError error;
  return parser::parse_response_head(bytes, parser::ParseLimits{}, head, fields, error);
}

TEST(ResponseParser, AcceptsWellFormedHeads) {
  parser::ResponseHead head;
  ASSERT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", head), parser::ParseResult::complete);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.reason, "OK");
  EXPECT_EQ(head.framing, parser::BodyFraming::content_length);
  EXPECT_EQ(head.content_length, 5u);
  EXPECT_EQ(head.head_size, 38u);
  ASSERT_EQ(parse("HTTP/1.0 404 Not\tFound\r\n\r\n", head), parser::ParseResult::complete);
  EXPECT_EQ(head.version_minor, 0);
  EXPECT_FALSE(head.keep_alive);
  ASSERT_EQ(parse("HTTP/1.1 204\r\nTransfer-Encoding: chunked\r\n\r\n", head), parser::ParseResult::complete);
  EXPECT_EQ(head.reason, "");
  EXPECT_EQ(head.framing, parser::BodyFraming::chunked);
  ASSERT_EQ(parse("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", head), parser::ParseResult::complete);
  EXPECT_FALSE(head.keep_alive);
}

TEST(ResponseParser, RejectsMalformedHeads) {
  for (const char* bad :
       {"HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/2.0 200 OK\r\n\r\n", "http/1.1 200 OK\r\n\r\n",
        "HTTP/1.1  200 OK\r\n\r\n", "HTTP/1.1 200 OK\n\r\n", "HTTP/1.1 200 O\rK\r\n\r\n", "HTTP/1.1 099 X\r\n\r\n",
        "\r\nHTTP/1.1 200 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nA : b\r\n\r\n", "HTTP/1.1 200 OK\r\n folded\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"}) {
    parser::ResponseHead head;
    EXPECT_EQ(parse(bad, head), parser::ParseResult::error) << bad;
  }
}

TEST(ResponseParser, RejectsNulInAValue) {
  parser::ResponseHead head;
  const std::string with_nul("HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n", 27);
  EXPECT_EQ(parse(with_nul, head), parser::ParseResult::error);
}

TEST(ResponseParser, AnySplitGivesTheSameResult) {
  const std::string whole = "HTTP/1.1 301 Moved Permanently\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n";
  for (std::size_t cut = 0; cut < whole.size(); ++cut) {
    parser::ResponseHead head;
    EXPECT_EQ(parse(std::string_view(whole).substr(0, cut), head), parser::ParseResult::incomplete) << cut;
  }
}

// A server that answers every request on a connection with `response`, then waits for more.
aio::Coro<std::unique_ptr<ScriptedServer>> answering(std::string response) {
  // Named first: GCC 12 destroys a capturing lambda built inside co_await twice.
  ScriptedServer::Script script = [response](aio::StreamReader& r, aio::StreamWriter& w, int) -> aio::Coro<void> {
    for (;;) {
      co_await aio_test::read_request_head(r);
      w.write(response);
      co_await w.drain();
    }
  };
  co_return co_await ScriptedServer::start(std::move(script));
}

template <class Error>
aio::Coro<void> expect_error_and_no_reuse(std::string response, std::string what_contains) {
  auto server = co_await answering(std::move(response));
  ClientSession session;
  for (int i = 0; i < 2; ++i) {
    try {
      ClientResponse resp = co_await session.get(server->url());
      co_await resp.read();
      ADD_FAILURE() << "expected an error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(what_contains), std::string::npos) << e.what();
    }
    EXPECT_EQ(session.pool().acquired, 0u);
    EXPECT_EQ(session.pool().idle, 0u);
  }
  EXPECT_EQ(server->connections(), 2);  // never reused
  co_await session.close();
  co_await server->stop();
}

AIO_TEST(HttpClientFaults, MalformedStatusLine) {
  co_await expect_error_and_no_reuse<aio::http::MalformedResponseError>("HTTP/1.1 2x0 OK\r\n\r\n", "status code");
  co_await expect_error_and_no_reuse<aio::http::MalformedResponseError>("SSH-2.0-OpenSSH\r\n\r\n", "HTTP version");
}

AIO_TEST(HttpClientFaults, MalformedHeaders) {
  co_await expect_error_and_no_reuse<aio::http::MalformedResponseError>(
      "HTTP/1.1 200 OK\r\nBad Header: x\r\nContent-Length: 0\r\n\r\n", "whitespace");
  co_await expect_error_and_no_reuse<aio::http::MalformedResponseError>(
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nab", "duplicate Content-Length");
}

AIO_TEST(HttpClientFaults, HeadOverTheSizeLimit) {
  co_await expect_error_and_no_reuse<aio::http::MalformedResponseError>(
      "HTTP/1.1 200 OK\r\nX: " + std::string(9000, 'a') + "\r\n\r\n", "too long");
}

AIO_TEST(HttpClientFaults, HeadOverTheTotalLimit) {
  std::string many = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i < 90; ++i) many += "X-Filler-" + std::to_string(i) + ": " + std::string(800, 'f') + "\r\n";
  co_await expect_error_and_no_reuse<aio::http::MalformedResponseError>(many + "\r\n", "response head too large");
}

AIO_TEST(HttpClientFaults, SwitchingProtocolsIsNeverPooled) {
  auto server = co_await answering("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n");
  ClientSession session;
  ClientResponse resp = co_await session.get(server->url());
  EXPECT_EQ(resp.status(), 101);
  EXPECT_EQ(co_await resp.read(), "");
  EXPECT_EQ(session.pool().idle, 0u);
  EXPECT_EQ(session.pool().acquired, 0u);
  co_await session.close();
  co_await server->stop();
}

AIO_TEST(HttpClientFaults, TruncatedChunkedBody) {
  auto server = co_await ScriptedServer::start([](aio::StreamReader& r, aio::StreamWriter& w, int) -> aio::Coro<void> {
    co_await aio_test::read_request_head(r);
    w.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n10\r\nonly");
    co_await w.drain();
  });
  ClientSession session;
  ClientResponse resp = co_await session.get(server->url());
  EXPECT_THROW(co_await resp.read(), aio::http::ClientPayloadError);
  EXPECT_EQ(session.pool().acquired, 0u);
  EXPECT_EQ(session.pool().idle, 0u);
  co_await session.close();
  co_await server->stop();
}

AIO_TEST(HttpClientFaults, BadChunkSize) {
  co_await expect_error_and_no_reuse<aio::http::ClientPayloadError>(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunked");
}

AIO_TEST(HttpClientFaults, ContentLengthLongerThanTheBody) {
  auto server = co_await ScriptedServer::start([](aio::StreamReader& r, aio::StreamWriter& w, int) -> aio::Coro<void> {
    co_await aio_test::read_request_head(r);
    w.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this");
    co_await w.drain();
  });
  ClientSession session;
  ClientResponse resp = co_await session.get(server->url());
  try {
    co_await resp.read();
    ADD_FAILURE() << "a short body must fail";
  } catch (const aio::http::ClientPayloadError& e) {
    EXPECT_NE(std::string(e.what()).find("91 bytes before the end"), std::string::npos) << e.what();
  }
  EXPECT_EQ(session.pool().idle, 0u);
  co_await session.close();
  co_await server->stop();
}

// The body is what Content-Length says; the bytes after it show the length lied, so the
// connection is not trusted with another request.
AIO_TEST(HttpClientFaults, ContentLengthShorterThanTheBodyIsNotReused) {
  auto server = co_await answering("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabEXTRA");
  ClientSession session;
  for (int i = 0; i < 2; ++i) {
    ClientResponse resp = co_await session.get(server->url());
    EXPECT_EQ(co_await resp.read(), "ab");
    EXPECT_EQ(session.pool().idle, 0u);
  }
  EXPECT_EQ(server->connections(), 2);
  co_await session.close();
  co_await server->stop();
}

AIO_TEST(HttpClientFaults, BodyOverTheSizeLimit) {
  auto server = co_await answering("HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'x'));
  ClientSession session(SessionOptions{.max_body_size = 4096});
  ClientResponse resp = co_await session.get(server->url());
  EXPECT_THROW(co_await resp.read(), aio::http::ClientPayloadError);
  EXPECT_EQ(session.pool().idle, 0u);
  auto bomb = co_await answering([] {
    std::string gz = aio_test::compress(std::string(1 << 20, '\0'), 31);
    return "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " + std::to_string(gz.size()) + "\r\n\r\n" +
           gz;
  }());
  ClientResponse inflated = co_await session.get(bomb->url());
  EXPECT_THROW(co_await inflated.read(), aio::http::ClientPayloadError);
  co_await session.close();
  co_await bomb->stop();
  co_await server->stop();
}

AIO_TEST(HttpClientFaults, CorruptGzip) {
  co_await expect_error_and_no_reuse<aio::http::ClientPayloadError>(
      "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 10\r\n\r\n0123456789", "gzip");
}

// The server answers, then closes its side while the connection idles in the pool: the
// pool sees the FIN before reuse and opens a new connection.
AIO_TEST(HttpClientFaults, IdleConnectionClosedByTheServerIsNotReused) {
  auto server = co_await ScriptedServer::start([](aio::StreamReader& r, aio::StreamWriter& w, int) -> aio::Coro<void> {
    co_await aio_test::read_request_head(r);
    w.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    co_await w.drain();
  });
  ClientSession session;
  for (int i = 0; i < 3; ++i) {
    ClientResponse resp = co_await session.get(server->url());
    EXPECT_EQ(co_await resp.text(), "ok");
    // The server has closed its end (over loopback the FIN is in our socket when close()
    // returns): the pool must see it before it reuses the connection.
    while (server->finished() != i + 1) co_await aio::sleep(0.001);
  }
  EXPECT_EQ(server->connections(), 3);
  EXPECT_EQ(session.pool().stale, 2u);
  EXPECT_EQ(session.pool().retried, 0u);
  co_await session.close();
  co_await server->stop();
}

// The race the peek cannot see: the server takes the request on the kept-alive connection,
// then closes without answering. An idempotent request is sent again on a new connection;
// a POST is not (it may have had an effect) and fails with ServerDisconnectedError.
AIO_TEST(HttpClientFaults, RequestOnAConnectionClosedMidwayIsRetriedOnce) {
  auto server = co_await ScriptedServer::start([](aio::StreamReader& r, aio::StreamWriter& w, int) -> aio::Coro<void> {
    co_await aio_test::read_request_head(r);
    w.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst");
    co_await w.drain();
    co_await aio_test::read_request_head(r);  // the second request: dropped unanswered
  });
  ClientSession session;
  {
    ClientResponse resp = co_await session.get(server->url());
    EXPECT_EQ(co_await resp.text(), "first");
  }
  {
    ClientResponse resp = co_await session.get(server->url());
    EXPECT_EQ(co_await resp.text(), "first");  // answered by a new connection
  }
  EXPECT_EQ(server->connections(), 2);
  EXPECT_EQ(session.pool().retried, 1u);
  try {
    ClientResponse resp = co_await session.post(server->url(), "data");
    ADD_FAILURE() << "a POST is not retried";
  } catch (const aio::http::ServerDisconnectedError&) {
  }
  EXPECT_EQ(server->connections(), 2);
  EXPECT_EQ(session.pool().acquired, 0u);
  co_await session.close();
  co_await server->stop();
}

AIO_TEST(HttpClientFaults, ServerClosesWithoutAnswerOnANewConnection) {
  auto server = co_await ScriptedServer::start([](aio::StreamReader& r, aio::StreamWriter&, int) -> aio::Coro<void> {
    co_await aio_test::read_request_head(r);
  });
  ClientSession session;
  EXPECT_THROW(co_await session.get(server->url()), aio::http::ServerDisconnectedError);
  EXPECT_EQ(server->connections(), 1);  // a new connection is not retried
  co_await session.close();
  co_await server->stop();
}

// --- timeouts ------------------------------------------------------------------------------

// Sends the head and part of the body, then stalls until the client gives up.
aio::Coro<std::unique_ptr<ScriptedServer>> stalling_mid_body() {
  co_return co_await ScriptedServer::start([](aio::StreamReader& r, aio::StreamWriter& w, int) -> aio::Coro<void> {
    co_await aio_test::read_request_head(r);
    w.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nbeginning");
    co_await w.drain();
    co_await r.read();  // until the client closes
  });
}

AIO_TEST(HttpClientFaults, SockReadTimeoutOnAStallMidBody) {
  auto server = co_await stalling_mid_body();
  ClientSession session(SessionOptions{.timeout = {.sock_read = 0.1}});
  ClientResponse resp = co_await session.get(server->url());
  EXPECT_EQ(co_await resp.content().read(9), "beginning");
  const double start = aio::get_running_loop().time();
  EXPECT_THROW(co_await resp.content().read(), aio::TimeoutError);
  EXPECT_GE(aio::get_running_loop().time() - start, 0.09);
  EXPECT_EQ(session.pool().acquired, 0u);  // closed, not pooled half-read
  EXPECT_EQ(session.pool().idle, 0u);
  co_await session.close();
  co_await server->stop();
}

AIO_TEST(HttpClientFaults, SockReadTimeoutWaitingForTheHead) {
  auto server = co_await ScriptedServer::start([](aio::StreamReader& r, aio::StreamWriter&, int) -> aio::Coro<void> {
    co_await aio_test::read_request_head(r);
    co_await r.read();
  });
  ClientSession session;
  auto opts = RequestOptions{.timeout = ClientTimeout{.sock_read = 0.1}};
  EXPECT_THROW(co_await session.get(server->url(), opts), aio::TimeoutError);
  EXPECT_EQ(session.pool().acquired, 0u);
  EXPECT_EQ(session.pool().idle, 0u);
  co_await session.close();
  co_await server->stop();
}

AIO_TEST(HttpClientFaults, TotalTimeoutCoversTheBody) {
  // Each piece comes within sock_read, but the whole body takes longer than total.
  auto server = co_await ScriptedServer::start([](aio::StreamReader& r, aio::StreamWriter& w, int) -> aio::Coro<void> {
    co_await aio_test::read_request_head(r);
    w.write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
    for (int i = 0; i < 1000; ++i) {
      w.write("x");
      co_await w.drain();
      co_await aio::sleep(0.02);
    }
  });
  ClientSession session(SessionOptions{.timeout = {.total = 0.3, .sock_read = 1.0}});
  ClientResponse resp = co_await session.get(server->url());
  EXPECT_THROW(co_await resp.read(), aio::TimeoutError);
  EXPECT_EQ(session.pool().acquired, 0u);
  co_await session.close();
  co_await server->stop();
}

AIO_TEST(HttpClientFaults, ConnectTimeoutIncludesTheWaitForAPoolSlot) {
  auto server = co_await stalling_mid_body();
  ClientSession session(SessionOptions{.limit = 1, .timeout = {.connect = 0.1}});
  ClientResponse holding = co_await session.get(server->url());  // holds the only slot
  const double start = aio::get_running_loop().time();
  EXPECT_THROW(co_await session.get(server->url()), aio::TimeoutError);
  EXPECT_GE(aio::get_running_loop().time() - start, 0.09);
  EXPECT_EQ(session.pool().waiting, 0u);
  EXPECT_EQ(session.pool().acquired, 1u);
  holding.release();
  EXPECT_EQ(session.pool().acquired, 0u);
  co_await session.close();
  co_await server->stop();
}

AIO_TEST(HttpClientFaults, SockConnectTimeoutCoversTheTlsHandshake) {
  // Accepts TCP, never answers the TLS ClientHello.
  auto server = co_await ScriptedServer::start(
      [](aio::StreamReader& r, aio::StreamWriter&, int) -> aio::Coro<void> { co_await r.read(); });
  ClientSession session(SessionOptions{.timeout = {.sock_connect = 0.1}});
  EXPECT_THROW(co_await session.get("https://127.0.0.1:" + std::to_string(server->port()) + "/"), aio::TimeoutError);
  EXPECT_EQ(session.pool().acquired, 0u);
  EXPECT_EQ(session.pool().opened, 0u);
  co_await session.close();
  co_await server->stop();
}

// --- cancellation at every await -----------------------------------------------------------

// Answers in small pieces, yielding between them, so that the client's request, the
// redirect and the body reads park at many different awaits. GET /redirect answers 302 to /.
aio::Coro<std::unique_ptr<ScriptedServer>> dripping_server() {
  co_return co_await ScriptedServer::start([](aio::StreamReader& r, aio::StreamWriter& w, int) -> aio::Coro<void> {
    for (;;) {
      const std::string request = co_await aio_test::read_request_head(r);
      const std::string response =
          request.starts_with("GET /redirect ")
              ? std::string("HTTP/1.1 302 Found\r\nLocation: /\r\nContent-Length: 4\r\n\r\ngone")
              : std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n");
      for (std::size_t i = 0; i < response.size(); i += 7) {
        w.write(response.substr(i, 7));
        co_await w.drain();
        co_await aio::sleep(0);
      }
    }
  });
}

aio::Coro<std::string> fetch_body(ClientSession& session, std::string url) {
  ClientResponse resp = co_await session.get(url);
  std::string body;
  for (;;) {
    std::string piece = co_await resp.content().read(2);
    if (piece.empty()) break;
    body += piece;
  }
  co_return body;
}

AIO_TEST(HttpClientFaults, CancellingAtEveryAwaitKeepsThePoolConsistent) {
  auto server = co_await dripping_server();
  ClientSession session;
  int cancelled = 0;
  int completed = 0;
  for (int steps = 0; steps < 100; ++steps) {
    // Through a redirect (its body drained on the same connection), then a chunked body.
    aio::Task<std::string> task = aio::create_task(fetch_body(session, server->url("/redirect")));
    for (int i = 0; i < steps; ++i) co_await aio::sleep(0);
    task.cancel();
    try {
      std::string body = co_await task;
      EXPECT_EQ(body, "abcdef");
      ++completed;
    } catch (const aio::CancelledError&) {
      ++cancelled;
    }
    const aio::http::PoolStats stats = session.pool();
    EXPECT_EQ(stats.acquired, 0u) << "after " << steps << " steps";
    EXPECT_LE(stats.idle, 1u) << "after " << steps << " steps";
    EXPECT_EQ(stats.waiting, 0u);
    // Whatever state the cancellation left, the next request works.
    std::string body = co_await fetch_body(session, server->url());
    EXPECT_EQ(body, "abcdef") << "after " << steps << " steps";
  }
  EXPECT_GT(cancelled, 5);
  EXPECT_GT(completed, 0);
  co_await session.close();
  co_await server->stop();
}

AIO_TEST(HttpClientFaults, CancellingAWaitForASlotLeavesNoTrace) {
  auto server = co_await stalling_mid_body();
  ClientSession session(SessionOptions{.limit = 1});
  ClientResponse holding = co_await session.get(server->url());
  aio::Task<ClientResponse> waiter = aio::create_task(session.get(server->url()));
  co_await aio::sleep(0.01);
  EXPECT_EQ(session.pool().waiting, 1u);
  waiter.cancel();
  EXPECT_THROW(co_await waiter, aio::CancelledError);
  EXPECT_EQ(session.pool().waiting, 0u);
  holding.release();
  EXPECT_EQ(session.pool().acquired, 0u);
  co_await session.close();
  co_await server->stop();
}

// The hook an upgraded connection (a WebSocket handshake) uses: a connection taken out of
// the pool for good frees its slot and is never pooled again.
AIO_TEST(HttpClientFaults, DetachedConnectionLeavesThePool) {
  auto server = co_await answering("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  auto connector = std::make_shared<aio::http::detail::Connector>(SessionOptions{.limit = 1});
  const aio::http::detail::Url url = aio::http::detail::parse_url(server->url());
  aio::http::detail::PooledConnection lent = co_await connector->acquire(url, aio::http::kNoTimeout, false);
  EXPECT_EQ(connector->stats().acquired, 1u);
  std::unique_ptr<aio::http::detail::ClientConnection> owned = lent.detach();
  EXPECT_FALSE(lent);
  EXPECT_EQ(connector->stats().acquired, 0u);  // the slot is free for the next request
  owned->writer.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string head = co_await owned->reader.readuntil("\r\n\r\n");
  EXPECT_EQ(head.substr(0, 15), "HTTP/1.1 200 OK");
  aio::http::detail::PooledConnection another = co_await connector->acquire(url, aio::http::kNoTimeout, false);
  EXPECT_EQ(connector->stats().opened, 2u);
  another.close();
  owned.reset();
  connector->close();
  EXPECT_EQ(connector->stats().idle, 0u);
  co_await server->stop();
}

}  // namespace
