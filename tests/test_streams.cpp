// Streams (StreamReader / StreamWriter, open_connection, start_server) and datagrams:
// ports of CPython's Lib/test/test_asyncio/test_streams.py (StreamTests), over real sockets.
// Each test names the CPython case it comes from; tests without one are aio's own (the
// cases the issue asks for: backpressure, half-close, resets, SIGPIPE, cancellation at
// every await, big and binary transfers, UDP).
//
// Mapping. asyncio's tests feed a bare StreamReader with feed_data()/feed_eof()/
// set_exception(); aio's reader is pull-based and always sits on a socket, so here the
// bytes come from a raw peer socket at the other end of a real loopback connection
// (net_support.hpp: send_now() = feed_data, shutdown_write() = feed_eof, reset() — an RST
// through SO_LINGER {1, 0} — = set_exception(ConnectionResetError)). `stream._buffer`
// checks become reader.buffered() and later reads. Where asyncio's result depends on
// feed_data() having put everything in the buffer before the read, the test first waits
// until the peer's bytes are in our kernel (RawPeer::flushed()). ValueError from
// readline() past the limit -> aio::LimitOverrunError (documented); ValueError for an
// empty separator / a bad limit -> std::invalid_argument; IncompleteReadError.expected
// None -> 0; ConnectionResetError / BrokenPipeError -> std::system_error (ECONNRESET /
// EPIPE); RuntimeError for a second concurrent reader -> aio::UsageError.
//
// Not ported: test_feed_empty_data / test_feed_nonempty_data (no feed_data in aio),
// test_invalid_limit's negative case (the limit is a size_t), test_exception (no
// StreamReader.exception()/set_exception()), test_readexactly_zero_or_less's negative
// case (size_t), the ssl tests (test_open_connection_no_loop_ssl,
// test_open_unix_connection_no_loop_ssl, test_start_tls: TLS has its own test file),
// test_read_all_from_pipe_reader (pipes belong to the subprocess tests), the constructor /
// loop-binding tests (test_streamreader_constructor_*, test_streamreaderprotocol_*),
// test_multiple_drain (pokes FlowControlMixin; DrainBackpressure covers several
// drainers through the public API instead), the repr tests, the pickle tests
// (test_IncompleteReadError_pickleable, test_LimitOverrunError_pickleable) and
// test_unclosed_resource_warnings (no GC / ResourceWarning in C++).
#include <csignal>
#include <cerrno>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <aio/testing.hpp>

#include "net_support.hpp"
#include "support.hpp"

namespace {

using namespace aio_test;
using namespace aio_test::net;

const std::string kData = "line1\nline2\nline3\n";

bool ends_with(const std::string& s, std::string_view tail) {
  return s.size() >= tail.size() && std::string_view(s).substr(s.size() - tail.size()) == tail;
}

// Sends `piece` from the peer and lets the loop run until the task reading from `reader`
// has taken it in (its buffer changed, or it finished). False if that never happened.
aio::Coro<bool> feed(RawPeer& peer, aio::StreamReader& reader, std::string piece, aio::TaskRef reading) {
  const std::size_t before = reader.buffered();
  peer.send_now(piece);
  bool ok = co_await eventually([&] { return reading.done() || reader.buffered() != before; });
  co_return ok;
}

// One datagram's payload, or "<nothing>" if none comes within `timeout`.
aio::Coro<std::string> recv_within(aio::DatagramSocket& s, double timeout) {
  std::string out = "<nothing>";
  try {
    auto got = co_await aio::wait_for(s.recv_from(), timeout);
    out = got.first;
  } catch (const aio::TimeoutError&) {
  }
  co_return out;
}

// Writes 16 KiB chunks of pattern() until the kernel's buffers are full and the stream has
// to keep bytes itself (its send is then parked in the backend), then `extra` more bytes
// (a margin, so that a little room the kernel finds later cannot empty the stream's
// buffer). Returns the bytes written: pattern(total).
std::size_t fill_kernel(aio::StreamWriter& w, std::size_t extra = 0) {
  constexpr std::size_t kChunk = 16 * 1024;
  std::size_t total = 0;
  while (w.buffered() == 0 && total < (std::size_t{256} << 20)) {
    w.write(pattern(kChunk, total));
    total += kChunk;
  }
  w.write(pattern(extra, total));
  return total + extra;
}

constexpr std::size_t kMargin = 64 * 1024;

// Connects to 127.0.0.1:port and runs the echo-a-line exchange of test_start_server.
aio::Coro<std::string> echo_line_client_tcp(int port) {
  auto conn = co_await aio::open_connection("127.0.0.1", port);
  conn.second.write("hello world!\n");
  std::string back = co_await conn.first.readline();
  conn.second.close();
  co_await conn.second.wait_closed();
  co_return back;
}

aio::Coro<std::string> echo_line_client_unix(std::string path) {
  auto conn = co_await aio::open_unix_connection(path);
  conn.second.write("hello world!\n");
  std::string back = co_await conn.first.readline();
  conn.second.close();
  co_await conn.second.wait_closed();
  co_return back;
}

// test_start_server's MyServer.handle_client.
aio::Coro<void> echo_line_handler(aio::StreamReader r, aio::StreamWriter w) {
  std::string line = co_await r.readline();
  w.write(line);
  co_await w.drain();
  w.close();
  co_await w.wait_closed();
}

// test_utils.run_test_server's handler: answers "GET / HTTP/1.0" with a small response
// and closes.
aio::Coro<void> http_like_handler(aio::StreamReader r, aio::StreamWriter w) {
  std::string request = co_await r.readuntil("\r\n\r\n");
  if (request.rfind("GET / HTTP/1.0", 0) == 0)
    w.write("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nTest message");
  w.close();
  co_await w.wait_closed();
}

// _basetest_open_connection + test_wait_closed_on_close + test_async_writer_api.
aio::Coro<void> http_like_exchange(aio::StreamReader& r, aio::StreamWriter& w) {
  w.write("GET / HTTP/1.0\r\n\r\n");
  std::string line = co_await r.readline();
  EXPECT_EQ(line, "HTTP/1.0 200 OK\r\n");
  std::string rest = co_await r.read();
  EXPECT_TRUE(ends_with(rest, "\r\n\r\nTest message")) << rest;
  EXPECT_TRUE(r.at_eof());
  EXPECT_FALSE(w.is_closing());
  w.close();
  EXPECT_TRUE(w.is_closing());
  co_await w.wait_closed();
}

// A handler that reads until EOF, then closes.
aio::Coro<void> read_to_eof_handler(aio::StreamReader r, aio::StreamWriter w) {
  co_await r.read();
  w.close();
  co_await w.wait_closed();
}

}  // namespace

// ============================================================================================
// Connecting, serving, closing
// ============================================================================================

AIO_TEST(Streams, OpenConnection) {
  // test_open_connection, test_wait_closed_on_close, test_async_writer_api.
  HandlerLog log;
  log.install();
  aio::Server server = co_await aio::start_server(http_like_handler, "127.0.0.1", 0);
  auto conn = co_await aio::open_connection("127.0.0.1", server.addresses().at(0).port());
  co_await http_like_exchange(conn.first, conn.second);
  server.close();
  co_await server.wait_closed();
  EXPECT_TRUE(log.contexts.empty());
}

AIO_TEST(Streams, OpenUnixConnection) {
  // test_open_unix_connection.
  HandlerLog log;
  log.install();
  TempSocketPath path;
  aio::Server server = co_await aio::start_unix_server(http_like_handler, path.str());
  auto conn = co_await aio::open_unix_connection(path.str());
  EXPECT_TRUE(conn.second.peername().is_unix());
  co_await http_like_exchange(conn.first, conn.second);
  server.close();
  co_await server.wait_closed();
  EXPECT_TRUE(log.contexts.empty());
}

AIO_TEST(Streams, WaitClosedWithUnreadData) {
  // test_wait_closed_on_close_with_unread_data: close() with the response still unread.
  aio::Server server = co_await aio::start_server(http_like_handler, "127.0.0.1", 0);
  auto conn = co_await aio::open_connection("127.0.0.1", server.addresses().at(0).port());
  conn.second.write("GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(co_await conn.first.readline(), "HTTP/1.0 200 OK\r\n");
  conn.second.close();
  co_await conn.second.wait_closed();
  server.close();
  co_await server.wait_closed();
}

AIO_TEST(Streams, WriteAfterCloseIsAUsageErrorAndDrainReportsTheClosedConnection) {
  // test_async_writer_api_exception_after_close: asyncio's write() after close() is
  // dropped and drain() raises ConnectionResetError; aio's write() says UsageError (as
  // documented) and drain() raises std::system_error(ECONNRESET).
  aio::Server server = co_await aio::start_server(http_like_handler, "127.0.0.1", 0);
  auto conn = co_await aio::open_connection("127.0.0.1", server.addresses().at(0).port());
  conn.second.write("GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(co_await conn.first.readline(), "HTTP/1.0 200 OK\r\n");
  EXPECT_TRUE(ends_with(co_await conn.first.read(), "Test message"));
  conn.second.close();
  EXPECT_THROW(conn.second.write("data"), aio::UsageError);
  co_await conn.second.wait_closed();
  std::exception_ptr e = co_await error_of(conn.second.drain());
  EXPECT_EQ(errno_of(e), ECONNRESET) << what_of(e);
  server.close();
  co_await server.wait_closed();
}

AIO_TEST(Streams, AtEofAfterClosingTheWriter) {
  // test_eof_feed_when_closing_writer (bpo-35065): once the writer is closed, the reader
  // is at EOF and read() gives "".
  RawListener listener;
  auto conn = co_await aio::open_connection("127.0.0.1", listener.port());
  RawPeer peer = listener.accept();
  conn.second.close();
  co_await conn.second.wait_closed();
  EXPECT_TRUE(conn.first.at_eof());
  EXPECT_EQ(co_await conn.first.read(), "");
  EXPECT_TRUE(conn.first.at_eof());
  EXPECT_EQ(co_await peer.recv_all(), "");  // the peer sees EOF too
}

AIO_TEST(Streams, ResetConnectionFailsReads) {
  // test_open_connection_error: the connection is lost with an error; the read raises it.
  // (asyncio injects connection_lost(ZeroDivisionError()); here the peer resets.)
  HandlerLog log;
  log.install();
  auto c = co_await connect_to_raw_peer();
  c.peer.reset();
  std::exception_ptr e = co_await error_of(c.reader.read());
  EXPECT_EQ(errno_of(e), ECONNRESET) << what_of(e);
  c.writer.close();
  co_await run_briefly();
  EXPECT_TRUE(log.contexts.empty());
}

AIO_TEST(Streams, ConnectionRefused) {
  const int port = unused_port();
  std::exception_ptr e = co_await error_of(aio::open_connection("127.0.0.1", port));
  EXPECT_EQ(errno_of(e), ECONNREFUSED) << what_of(e);
  TempSocketPath path;  // nothing there: ENOENT
  e = co_await error_of(aio::open_unix_connection(path.str()));
  EXPECT_EQ(errno_of(e), ENOENT) << what_of(e);
}

AIO_TEST(Streams, OpenConnectionToAName) {
  // open_connection resolves "localhost" (off the loop) and connects.
  RawListener listener;
  auto conn = co_await aio::open_connection("localhost", listener.port());
  RawPeer peer = listener.accept();
  EXPECT_EQ(conn.second.peername(), listener.address());
  conn.second.write("ping");
  EXPECT_EQ(co_await peer.recv_exactly(4), "ping");
  conn.second.close();
  co_await conn.second.wait_closed();
}

AIO_TEST(Streams, OpenConnectionWithHappyEyeballs) {
  // happy_eyeballs_delay: a server on every address of "localhost" is reached; so is a
  // listener on 127.0.0.1 only (any other address "localhost" has is refused, and the
  // staggered attempts fall through to the one that works).
  aio::Server server = co_await aio::start_server(echo_line_handler, "localhost", 0);
  const int port = server.addresses().at(0).port();
  {
    auto conn = co_await aio::open_connection("localhost", port, {.happy_eyeballs_delay = 0.05});
    conn.second.write("hello\n");
    EXPECT_EQ(co_await conn.first.readline(), "hello\n");
    conn.second.close();
    co_await conn.second.wait_closed();
  }
  server.close();
  co_await server.wait_closed();

  std::vector<aio::SocketAddress> addrs = co_await aio::getaddrinfo("localhost", 0);
  EXPECT_FALSE(addrs.empty());
  RawListener listener;
  auto conn = co_await aio::open_connection("localhost", listener.port(), {.happy_eyeballs_delay = 0.05});
  RawPeer peer = listener.accept();
  EXPECT_EQ(conn.second.peername(), listener.address());
  conn.second.write("x");
  EXPECT_EQ(co_await peer.recv_exactly(1), "x");
  conn.second.close();
  co_await conn.second.wait_closed();
}

AIO_TEST(Streams, OpenConnectionFromALocalAddress) {
  RawListener listener;
  auto conn =
      co_await aio::open_connection("127.0.0.1", listener.port(), {.local_addr = aio::SocketAddress("127.0.0.1", 0)});
  RawPeer peer = listener.accept();
  EXPECT_EQ(conn.second.sockname().host(), "127.0.0.1");
  EXPECT_NE(conn.second.sockname().port(), 0);
  EXPECT_EQ(conn.second.sockname(), peer_name(peer.fd()));
  conn.second.close();
  co_await conn.second.wait_closed();
}

namespace {
aio::Coro<void> check_peername_sockname(const char* host) {
  auto c = co_await connect_to_raw_peer(aio::kDefaultStreamLimit, host);
  aio::SocketAddress peer_local = local_name(c.peer.fd());
  aio::SocketAddress peer_remote = peer_name(c.peer.fd());
  EXPECT_EQ(c.writer.peername(), peer_local);
  EXPECT_EQ(c.writer.sockname(), peer_remote);
  EXPECT_EQ(c.writer.peername().host(), host);
  EXPECT_EQ(c.writer.sockname().host(), host);
  EXPECT_EQ(c.writer.peername().port(), peer_local.port());
  EXPECT_EQ(c.writer.peername().family(), peer_local.family());
  if (std::string_view(host) == "::1") {
    EXPECT_TRUE(c.writer.peername().is_ipv6());
    EXPECT_EQ(c.writer.peername().to_string(), "[::1]:" + std::to_string(peer_local.port()));
  } else {
    EXPECT_TRUE(c.writer.peername().is_ipv4());
    EXPECT_EQ(c.writer.peername().to_string(), "127.0.0.1:" + std::to_string(peer_local.port()));
  }
  c.writer.write("over " + std::string(host));
  EXPECT_EQ(co_await c.peer.recv_exactly(5 + std::string_view(host).size()), "over " + std::string(host));
  c.writer.close();
  co_await c.writer.wait_closed();
}

aio::Coro<void> ipv6_server_roundtrip() {
  aio::Server server = co_await aio::start_server(echo_line_handler, "::1", 0);
  EXPECT_TRUE(server.addresses().at(0).is_ipv6());
  auto conn = co_await aio::open_connection("::1", server.addresses().at(0).port());
  conn.second.write("six\n");
  EXPECT_EQ(co_await conn.first.readline(), "six\n");
  conn.second.close();
  co_await conn.second.wait_closed();
  server.close();
  co_await server.wait_closed();
}
}  // namespace

AIO_TEST(Streams, PeernameSocknameIPv4) { co_await check_peername_sockname("127.0.0.1"); }

TEST(Streams, PeernameSocknameIPv6) {
  if (!has_ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback (::1) on this machine";
  aio::testing::run_test(check_peername_sockname("::1"));
}

TEST(Streams, ServerOnIPv6) {
  if (!has_ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback (::1) on this machine";
  aio::testing::run_test(ipv6_server_roundtrip());
}

namespace {
// (Awaited inside a coroutine, so that error_of() sees the error whether the call throws
// at once or when awaited.)
aio::Coro<void> connect_with_limit(int port, std::size_t limit) {
  auto conn = co_await aio::open_connection("127.0.0.1", port, {.limit = limit});
}
aio::Coro<void> serve_with_limit(std::size_t limit) {
  aio::Server server = co_await aio::start_server(echo_line_handler, "127.0.0.1", 0, {.limit = limit});
}
}  // namespace

AIO_TEST(Streams, InvalidLimit) {
  // test_invalid_limit: a limit of 0 is a ValueError in asyncio (std::invalid_argument).
  RawListener listener;
  std::exception_ptr e = co_await error_of(connect_with_limit(listener.port(), 0));
  EXPECT_TRUE(holds<std::invalid_argument>(e)) << what_of(e);
  e = co_await error_of(serve_with_limit(0));
  EXPECT_TRUE(holds<std::invalid_argument>(e)) << what_of(e);
  co_await spin();  // (if a server was started anyway, its accept loop ends)
}

AIO_TEST(Streams, StartServer) {
  // test_start_server: a coroutine handler echoing one line, on a port chosen by the
  // kernel and then on a port given explicitly (the "callback" variant's host/port form).
  HandlerLog log;
  log.install();
  {
    aio::Server server = co_await aio::start_server(echo_line_handler, "127.0.0.1", 0);
    EXPECT_TRUE(server.is_serving());
    const int port = server.addresses().at(0).port();
    EXPECT_NE(port, 0);
    EXPECT_EQ(co_await echo_line_client_tcp(port), "hello world!\n");
    server.close();
    EXPECT_FALSE(server.is_serving());
    co_await server.wait_closed();
    // Closed: nobody accepts any more.
    std::exception_ptr e = co_await error_of(aio::open_connection("127.0.0.1", port));
    EXPECT_EQ(errno_of(e), ECONNREFUSED) << what_of(e);
  }
  {
    const int port = unused_port();
    aio::Server server = co_await aio::start_server(echo_line_handler, "127.0.0.1", port);
    EXPECT_EQ(server.addresses().at(0).port(), port);
    EXPECT_EQ(co_await echo_line_client_tcp(port), "hello world!\n");
    server.close();
    co_await server.wait_closed();
  }
  EXPECT_TRUE(log.contexts.empty());
}

AIO_TEST(Streams, StartUnixServer) {
  // test_start_unix_server, twice (as CPython's two variants), each on a fresh path; the
  // socket file is removed when the server closes.
  HandlerLog log;
  log.install();
  for (int round = 0; round < 2; ++round) {
    TempSocketPath path;
    aio::Server server = co_await aio::start_unix_server(echo_line_handler, path.str());
    EXPECT_TRUE(path.exists());
    EXPECT_EQ(server.addresses().at(0).host(), path.str());
    EXPECT_EQ(co_await echo_line_client_unix(path.str()), "hello world!\n");
    server.close();
    co_await server.wait_closed();
    EXPECT_FALSE(path.exists());
  }
  EXPECT_TRUE(log.contexts.empty());
}

AIO_TEST(Streams, StartUnixServerReplacesAStaleSocketFile) {
  TempSocketPath path;
  {
    RawListener stale = RawListener::unix_at(path.str());  // closed at the end of the scope,
  }                                                        // leaving its socket file behind
  EXPECT_TRUE(path.exists());
  aio::Server server = co_await aio::start_unix_server(echo_line_handler, path.str());
  EXPECT_EQ(co_await echo_line_client_unix(path.str()), "hello world!\n");
  server.close();
  co_await server.wait_closed();
}

AIO_TEST(Streams, ServerLimitOption) {
  Accepted accepted;
  aio::Server server = co_await aio::start_server(stash_into(&accepted), "127.0.0.1", 0, {.limit = 10});
  auto conn = co_await aio::open_connection("127.0.0.1", server.addresses().at(0).port(), {.limit = 20});
  co_await accepted.ready.wait();
  EXPECT_EQ(accepted.reader->limit(), 10u);
  EXPECT_EQ(conn.first.limit(), 20u);
  conn.second.write("0123456789ABCDEF\n");
  std::exception_ptr e = co_await error_of(accepted.reader->readline());
  EXPECT_TRUE(holds<aio::LimitOverrunError>(e)) << what_of(e);
  conn.second.close();
  accepted.writer->close();
  co_await conn.second.wait_closed();
  co_await accepted.writer->wait_closed();
  server.close();
  co_await server.wait_closed();
}

// ============================================================================================
// read()
// ============================================================================================

AIO_TEST(StreamRead, Zero) {
  // test_read_zero: read(0) is "" at once and takes nothing.
  auto c = co_await connect_to_raw_peer();
  c.peer.send_now(kData);
  AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
  EXPECT_EQ(co_await c.reader.read(0), "");
  EXPECT_EQ(co_await c.reader.readexactly(kData.size()), kData);
  EXPECT_EQ(co_await c.reader.read(0), "");
}

AIO_TEST(StreamRead, WaitsForData) {
  // test_read.
  auto c = co_await connect_to_raw_peer();
  auto t = aio::create_task(c.reader.read(30));
  co_await run_briefly();
  EXPECT_FALSE(t.done());
  c.peer.send_now(kData);
  EXPECT_EQ(co_await t, kData);
  EXPECT_EQ(c.reader.buffered(), 0u);
}

AIO_TEST(StreamRead, ReturnsAtMostN) {
  // test_read_line_breaks.
  auto c = co_await connect_to_raw_peer();
  c.peer.send_now("line1");
  c.peer.send_now("line2");
  AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
  EXPECT_EQ(co_await c.reader.read(5), "line1");
  EXPECT_EQ(c.reader.buffered(), 5u);
  EXPECT_EQ(co_await c.reader.read(5), "line2");
}

AIO_TEST(StreamRead, EofGivesEmpty) {
  // test_read_eof.
  auto c = co_await connect_to_raw_peer();
  auto t = aio::create_task(c.reader.read(1024));
  co_await run_briefly();
  EXPECT_FALSE(c.reader.at_eof());
  c.peer.shutdown_write();
  EXPECT_EQ(co_await t, "");
  EXPECT_TRUE(c.reader.at_eof());
  EXPECT_EQ(co_await c.reader.read(1024), "");  // and again
  EXPECT_EQ(co_await c.reader.readline(), "");
}

AIO_TEST(StreamRead, UntilEof) {
  // test_read_until_eof.
  auto c = co_await connect_to_raw_peer();
  auto t = aio::create_task(c.reader.read(-1));
  co_await run_briefly();
  c.peer.send_now("chunk1\n");
  c.peer.send_now("chunk2");
  c.peer.shutdown_write();
  EXPECT_EQ(co_await t, "chunk1\nchunk2");
  EXPECT_EQ(c.reader.buffered(), 0u);
  EXPECT_TRUE(c.reader.at_eof());
}

AIO_TEST(StreamRead, ErrorAfterTheBufferedBytes) {
  // test_read_exception: after the connection is reset, reading fails with ECONNRESET.
  // (aio is pull-based: bytes received before the reset are still delivered, as the kernel
  // delivers them; the error comes when a read needs more.)
  auto c = co_await connect_to_raw_peer();
  c.peer.send_now("line\n");
  EXPECT_EQ(co_await c.reader.read(2), "li");
  c.peer.reset();
  std::exception_ptr e = co_await error_of(c.reader.read(-1));
  EXPECT_EQ(errno_of(e), ECONNRESET) << what_of(e);
  e = co_await error_of(c.reader.read(2));  // the error stays
  EXPECT_TRUE(errno_of(e) == ECONNRESET || c.reader.buffered() > 0) << what_of(e);
}

AIO_TEST(StreamRead, LimitDoesNotApply) {
  // test_read_limit, test_readexactly_limit: read(n) and readexactly(n) ignore the limit.
  auto c = co_await connect_to_raw_peer(3);
  EXPECT_EQ(c.reader.limit(), 3u);
  c.peer.send_now("chunk");
  AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
  EXPECT_EQ(co_await c.reader.read(5), "chunk");
  EXPECT_EQ(c.reader.buffered(), 0u);
  c.peer.send_now("chunk");
  EXPECT_EQ(co_await c.reader.readexactly(5), "chunk");
  EXPECT_EQ(c.reader.buffered(), 0u);
}

AIO_TEST(StreamRead, TwoReadersAtOnceIsAUsageError) {
  // asyncio: "RuntimeError: readuntil() called while another coroutine is already waiting
  // for incoming data".
  auto c = co_await connect_to_raw_peer();
  auto t = aio::create_task(c.reader.read());
  co_await run_briefly();
  EXPECT_FALSE(t.done());
  std::exception_ptr e = co_await error_of(c.reader.read(5));
  EXPECT_TRUE(holds<aio::UsageError>(e)) << what_of(e);
  e = co_await error_of(c.reader.readline());
  EXPECT_TRUE(holds<aio::UsageError>(e)) << what_of(e);
  e = co_await error_of(c.reader.readexactly(3));
  EXPECT_TRUE(holds<aio::UsageError>(e)) << what_of(e);
  e = co_await error_of(c.reader.readuntil("x"));
  EXPECT_TRUE(holds<aio::UsageError>(e)) << what_of(e);
  // The first reader is unharmed.
  c.peer.send_now("all of it");
  c.peer.shutdown_write();
  EXPECT_EQ(co_await t, "all of it");
}

// ============================================================================================
// readline()
// ============================================================================================

AIO_TEST(StreamReadline, WaitsForTheNewline) {
  // test_readline.
  auto c = co_await connect_to_raw_peer();
  c.peer.send_now("chunk1 ");
  auto t = aio::create_task(c.reader.readline());
  AIO_ASSERT_AWAITS_TRUE(eventually([&] { return c.reader.buffered() == 7; }));
  EXPECT_FALSE(t.done());
  c.peer.send_now("chunk2 ");
  c.peer.send_now("chunk3 ");
  c.peer.send_now("\n chunk4");
  EXPECT_EQ(co_await t, "chunk1 chunk2 chunk3 \n");
  c.peer.shutdown_write();
  EXPECT_EQ(co_await c.reader.read(), " chunk4");
}

AIO_TEST(StreamReadline, LimitWithExistingData) {
  // test_readline_limit_with_existing_data.
  {
    auto c = co_await connect_to_raw_peer(3);
    c.peer.send_now("li");
    c.peer.send_now("ne1\nline2\n");
    AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
    std::exception_ptr e = co_await error_of(c.reader.readline());
    EXPECT_TRUE(holds<aio::LimitOverrunError>(e)) << what_of(e);
    // The over-long line went, through its newline; the rest stays.
    EXPECT_EQ(c.reader.buffered(), 6u);
    EXPECT_EQ(co_await c.reader.read(6), "line2\n");
  }
  {
    auto c = co_await connect_to_raw_peer(3);
    c.peer.send_now("li");
    c.peer.send_now("ne1");
    c.peer.send_now("li");
    AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
    std::exception_ptr e = co_await error_of(c.reader.readline());
    EXPECT_TRUE(holds<aio::LimitOverrunError>(e)) << what_of(e);
    // No newline: the whole buffer is discarded.
    EXPECT_EQ(c.reader.buffered(), 0u);
    c.peer.send_now("ok\n");
    EXPECT_EQ(co_await c.reader.readline(), "ok\n");
  }
}

AIO_TEST(StreamReadline, Limit) {
  // test_readline_limit.
  {
    auto c = co_await connect_to_raw_peer(7);
    auto t = aio::create_task(c.reader.readline());
    co_await run_briefly();
    c.peer.send_now("chunk1");
    c.peer.send_now("chunk2");
    c.peer.send_now("chunk3\n");
    c.peer.shutdown_write();
    AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
    std::exception_ptr e = co_await error_of(t);
    EXPECT_TRUE(holds<aio::LimitOverrunError>(e)) << what_of(e);
    EXPECT_EQ(c.reader.buffered(), 0u);
    EXPECT_EQ(co_await c.reader.read(), "");
    EXPECT_TRUE(c.reader.at_eof());
  }
  {
    auto c = co_await connect_to_raw_peer(7);
    auto t = aio::create_task(c.reader.readline());
    co_await run_briefly();
    c.peer.send_now("chunk1");
    c.peer.send_now("chunk2\n");
    c.peer.send_now("chunk3\n");
    c.peer.shutdown_write();
    AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
    std::exception_ptr e = co_await error_of(t);
    EXPECT_TRUE(holds<aio::LimitOverrunError>(e)) << what_of(e);
    EXPECT_EQ(c.reader.buffered(), 7u);
    EXPECT_EQ(co_await c.reader.read(), "chunk3\n");
  }
  {
    // The strictness of the limit.
    auto c = co_await connect_to_raw_peer(7);
    c.peer.send_now("1234567\n");
    EXPECT_EQ(co_await c.reader.readline(), "1234567\n");
    EXPECT_EQ(c.reader.buffered(), 0u);

    c.peer.send_now("12345678\n");
    AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
    std::exception_ptr e = co_await error_of(c.reader.readline());
    EXPECT_TRUE(holds<aio::LimitOverrunError>(e)) << what_of(e);
    EXPECT_EQ(c.reader.buffered(), 0u);

    c.peer.send_now("12345678");
    AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
    e = co_await error_of(c.reader.readline());
    EXPECT_TRUE(holds<aio::LimitOverrunError>(e)) << what_of(e);
    EXPECT_EQ(c.reader.buffered(), 0u);
  }
}

AIO_TEST(StreamReadline, NoWaitWhenTheLineIsBuffered) {
  // test_readline_nolimit_nowait.
  auto c = co_await connect_to_raw_peer();
  c.peer.send_now(kData.substr(0, 6));
  c.peer.send_now(kData.substr(6));
  AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
  EXPECT_EQ(co_await c.reader.readline(), "line1\n");
  EXPECT_EQ(c.reader.buffered(), 12u);
  EXPECT_EQ(co_await c.reader.readline(), "line2\n");
  EXPECT_EQ(co_await c.reader.readline(), "line3\n");
}

AIO_TEST(StreamReadline, LastLineWithoutNewline) {
  // test_readline_eof.
  auto c = co_await connect_to_raw_peer();
  c.peer.send_now("some data");
  c.peer.shutdown_write();
  EXPECT_EQ(co_await c.reader.readline(), "some data");
  EXPECT_EQ(co_await c.reader.readline(), "");
  EXPECT_TRUE(c.reader.at_eof());
}

AIO_TEST(StreamReadline, EmptyAtEof) {
  // test_readline_empty_eof.
  auto c = co_await connect_to_raw_peer();
  c.peer.shutdown_write();
  EXPECT_EQ(co_await c.reader.readline(), "");
  EXPECT_TRUE(c.reader.at_eof());
}

AIO_TEST(StreamReadline, ThenReadAByteCount) {
  // test_readline_read_byte_count.
  auto c = co_await connect_to_raw_peer();
  c.peer.send_now(kData);
  AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
  EXPECT_EQ(co_await c.reader.readline(), "line1\n");
  EXPECT_EQ(co_await c.reader.read(7), "line2\nl");
  EXPECT_EQ(c.reader.buffered(), 5u);
  EXPECT_EQ(co_await c.reader.read(5), "ine3\n");
}

AIO_TEST(StreamReadline, Error) {
  // test_readline_exception.
  auto c = co_await connect_to_raw_peer();
  c.peer.send_now("line\n");
  EXPECT_EQ(co_await c.reader.readline(), "line\n");
  c.peer.reset();
  std::exception_ptr e = co_await error_of(c.reader.readline());
  EXPECT_EQ(errno_of(e), ECONNRESET) << what_of(e);
  EXPECT_EQ(c.reader.buffered(), 0u);
}

AIO_TEST(StreamReadline, AtEof) {
  // test_at_eof. (Pull-based: EOF is known once a read has met it, so the check after the
  // last line is that the next read gives "" and at_eof() holds.)
  auto c = co_await connect_to_raw_peer();
  EXPECT_FALSE(c.reader.at_eof());
  c.peer.send_now("some data\n");
  EXPECT_FALSE(c.reader.at_eof());
  EXPECT_EQ(co_await c.reader.readline(), "some data\n");
  EXPECT_FALSE(c.reader.at_eof());
  c.peer.send_now("some data\n");
  c.peer.shutdown_write();
  EXPECT_EQ(co_await c.reader.readline(), "some data\n");
  EXPECT_EQ(co_await c.reader.read(), "");
  EXPECT_TRUE(c.reader.at_eof());
}

// ============================================================================================
// readuntil()
// ============================================================================================

AIO_TEST(StreamReaduntil, EmptySeparator) {
  // test_readuntil_separator.
  auto c = co_await connect_to_raw_peer();
  std::exception_ptr e = co_await error_of(c.reader.readuntil(""));
  EXPECT_TRUE(holds<std::invalid_argument>(e)) << what_of(e);
}

AIO_TEST(StreamReaduntil, MultiChunks) {
  // test_readuntil_multi_chunks.
  auto c = co_await connect_to_raw_peer();
  c.peer.send_now("lineAAA");
  EXPECT_EQ(co_await c.reader.readuntil("AAA"), "lineAAA");
  EXPECT_EQ(c.reader.buffered(), 0u);
  c.peer.send_now("lineAAA");
  EXPECT_EQ(co_await c.reader.readuntil("AAA"), "lineAAA");
  EXPECT_EQ(c.reader.buffered(), 0u);
  c.peer.send_now("lineAAAxxx");
  AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
  EXPECT_EQ(co_await c.reader.readuntil("AAA"), "lineAAA");
  EXPECT_EQ(c.reader.buffered(), 3u);
  EXPECT_EQ(co_await c.reader.read(3), "xxx");
}

namespace {
// Reads up to "aaa" while the peer sends `pieces` one packet at a time, each received
// separately; the separator straddles packets.
aio::Coro<void> readuntil_in_pieces(RawPeer& peer, aio::StreamReader& reader, std::vector<std::string> pieces,
                                    std::string expected) {
  auto t = aio::create_task(reader.readuntil("aaa"));
  co_await run_briefly();
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    EXPECT_FALSE(t.done()) << "before piece " << i << " (" << pieces[i] << ")";
    bool ok = co_await feed(peer, reader, pieces[i], t);
    EXPECT_TRUE(ok) << "piece " << i << " never arrived";
  }
  EXPECT_EQ(co_await t, expected);
  EXPECT_EQ(reader.buffered(), 0u);
}
}  // namespace

AIO_TEST(StreamReaduntil, SeparatorSplitAcrossPackets) {
  // test_readuntil_multi_chunks_1, each feed_data() a packet of its own.
  auto c = co_await connect_to_raw_peer();
  // (Named vectors: GCC 12 rejects braced lists of string literals inside co_await.)
  const std::vector<std::string> p1{"QWEaa", "XYaa", "a"}, p2{"QWEaa", "XYa", "aa"}, p3{"aaa"}, p4{"Xaaa"},
      p5{"XXX", "a", "a", "a"}, p6{"a", "a", "a"};
  co_await readuntil_in_pieces(c.peer, c.reader, p1, "QWEaaXYaaa");
  co_await readuntil_in_pieces(c.peer, c.reader, p2, "QWEaaXYaaa");
  co_await readuntil_in_pieces(c.peer, c.reader, p3, "aaa");
  co_await readuntil_in_pieces(c.peer, c.reader, p4, "Xaaa");
  co_await readuntil_in_pieces(c.peer, c.reader, p5, "XXXaaa");
  co_await readuntil_in_pieces(c.peer, c.reader, p6, "aaa");
}

AIO_TEST(StreamReaduntil, EofWithoutTheSeparator) {
  // test_readuntil_eof.
  auto c = co_await connect_to_raw_peer();
  c.peer.send_now("some dataAA");
  c.peer.shutdown_write();
  std::exception_ptr e = co_await error_of(c.reader.readuntil("AAA"));
  auto ire = exception_as<aio::IncompleteReadError>(e);
  AIO_ASSERT_TRUE(ire.has_value());
  EXPECT_EQ(ire->partial(), "some dataAA");
  EXPECT_EQ(ire->expected(), 0u);  // asyncio: None
  EXPECT_EQ(c.reader.buffered(), 0u);
  EXPECT_TRUE(c.reader.at_eof());
}

AIO_TEST(StreamReaduntil, EofMessageSaysUndefinedExpectedBytes) {
  // test_readuntil_eof: str(exc) matches 'undefined expected bytes' when expected is None.
  auto c = co_await connect_to_raw_peer();
  c.peer.send_now("some dataAA");
  c.peer.shutdown_write();
  std::exception_ptr e = co_await error_of(c.reader.readuntil("AAA"));
  auto ire = exception_as<aio::IncompleteReadError>(e);
  AIO_ASSERT_TRUE(ire.has_value());
  EXPECT_NE(std::string(ire->what()).find("undefined expected bytes"), std::string::npos) << ire->what();
}

AIO_TEST(StreamReaduntil, LimitOverrunKeepsTheData) {
  // test_readuntil_limit_found_sep, plus: consumed(), and a later read gets the bytes.
  auto c = co_await connect_to_raw_peer(3);
  c.peer.send_now("some dataAA");
  AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
  std::exception_ptr e = co_await error_of(c.reader.readuntil("AAA"));
  auto lo = exception_as<aio::LimitOverrunError>(e);
  AIO_ASSERT_TRUE(lo.has_value());
  EXPECT_NE(std::string(lo->what()).find("not found"), std::string::npos) << lo->what();
  EXPECT_EQ(lo->consumed(), 9u);  // asyncio: len(buffer) + 1 - len(sep)
  EXPECT_EQ(c.reader.buffered(), 11u);
  // A later read gets the bytes.
  EXPECT_EQ(co_await c.reader.read(4), "some");
  EXPECT_EQ(co_await c.reader.readexactly(7), " dataAA");
  c.peer.send_now("BB");
  c.peer.shutdown_write();
  EXPECT_EQ(co_await c.reader.read(), "BB");
}

AIO_TEST(StreamReaduntil, LimitOverrunThenTheSeparatorArrives) {
  // test_readuntil_limit_found_sep, second half: after a LimitOverrunError ("not found"),
  // more bytes complete the separator; the next readuntil() sees them and reports "is
  // found" (the separator starts past the limit), the data still buffered.
  auto c = co_await connect_to_raw_peer(3);
  c.peer.send_now("some dataAA");
  AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
  std::exception_ptr e = co_await error_of(c.reader.readuntil("AAA"));
  auto lo = exception_as<aio::LimitOverrunError>(e);
  AIO_ASSERT_TRUE(lo.has_value());
  EXPECT_NE(std::string(lo->what()).find("not found"), std::string::npos) << lo->what();

  c.peer.send_now("A");
  AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
  e = co_await error_of(c.reader.readuntil("AAA"));
  lo = exception_as<aio::LimitOverrunError>(e);
  AIO_ASSERT_TRUE(lo.has_value());
  EXPECT_NE(std::string(lo->what()).find("is found"), std::string::npos) << lo->what();
  EXPECT_EQ(lo->consumed(), 9u);  // where the separator starts
  EXPECT_EQ(c.reader.buffered(), 12u);

  c.peer.shutdown_write();
  EXPECT_EQ(co_await c.reader.read(), "some dataAAA");
}

AIO_TEST(StreamReaduntil, BinarySeparator) {
  auto c = co_await connect_to_raw_peer();
  const std::string sep("\0\xff\0", 3);
  const std::string payload = all_byte_values();
  c.peer.send_now(payload + sep + "rest");
  EXPECT_EQ(co_await c.reader.readuntil(sep), payload + sep);
  c.peer.shutdown_write();
  EXPECT_EQ(co_await c.reader.read(), "rest");
}

// ============================================================================================
// readexactly()
// ============================================================================================

AIO_TEST(StreamReadexactly, Zero) {
  // test_readexactly_zero_or_less (the non-negative half).
  auto c = co_await connect_to_raw_peer();
  c.peer.send_now(kData);
  EXPECT_EQ(co_await c.reader.readexactly(0), "");
  EXPECT_EQ(co_await c.reader.readexactly(kData.size()), kData);
}

AIO_TEST(StreamReadexactly, WaitsForEveryByte) {
  // test_readexactly.
  auto c = co_await connect_to_raw_peer();
  const std::size_t n = 2 * kData.size();
  auto t = aio::create_task(c.reader.readexactly(n));
  co_await run_briefly();
  c.peer.send_now(kData);
  c.peer.send_now(kData);
  c.peer.send_now(kData);
  EXPECT_EQ(co_await t, kData + kData);
  EXPECT_EQ(co_await c.reader.readexactly(kData.size()), kData);
}

AIO_TEST(StreamReadexactly, Eof) {
  // test_readexactly_eof.
  auto c = co_await connect_to_raw_peer();
  const std::size_t n = 2 * kData.size();
  auto t = aio::create_task(c.reader.readexactly(n));
  co_await run_briefly();
  c.peer.send_now(kData);
  c.peer.shutdown_write();
  std::exception_ptr e = co_await error_of(t);
  auto ire = exception_as<aio::IncompleteReadError>(e);
  AIO_ASSERT_TRUE(ire.has_value());
  EXPECT_EQ(ire->partial(), kData);
  EXPECT_EQ(ire->expected(), n);
  EXPECT_STREQ(ire->what(), "18 bytes read on a total of 36 expected bytes");
  EXPECT_EQ(c.reader.buffered(), 0u);
}

AIO_TEST(StreamReadexactly, Error) {
  // test_readexactly_exception: a reset is an error, not an early EOF.
  auto c = co_await connect_to_raw_peer();
  c.peer.send_now("line\n");
  AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
  EXPECT_EQ(co_await c.reader.readexactly(2), "li");
  c.peer.reset();
  std::exception_ptr e = co_await error_of(c.reader.readexactly(10));
  EXPECT_FALSE(holds<aio::IncompleteReadError>(e)) << what_of(e);
  EXPECT_EQ(errno_of(e), ECONNRESET) << what_of(e);
}

// ============================================================================================
// Errors reaching readers
// ============================================================================================

AIO_TEST(StreamErrors, ResetWakesAParkedReader) {
  // test_exception_waiter.
  auto c = co_await connect_to_raw_peer();
  auto t = aio::create_task(c.reader.readline());
  co_await run_briefly();
  EXPECT_FALSE(t.done());
  c.peer.reset();
  std::exception_ptr e = co_await error_of(t);
  EXPECT_EQ(errno_of(e), ECONNRESET) << what_of(e);
  // The connection is gone for the writer too (asyncio: wait_closed() raises it).
  e = co_await error_of(c.writer.wait_closed());
  EXPECT_EQ(errno_of(e), ECONNRESET) << what_of(e);
  e = co_await error_of(c.writer.drain());
  EXPECT_EQ(errno_of(e), ECONNRESET) << what_of(e);
  EXPECT_TRUE(c.writer.is_closing());
}

AIO_TEST(StreamErrors, ResetAfterACancelledRead) {
  // test_exception_cancel: a reader cancelled while parked, then the connection fails.
  auto c = co_await connect_to_raw_peer();
  auto t = aio::create_task(c.reader.readline());
  co_await run_briefly();
  t.cancel();
  co_await until_done(t);  // (a completion-based backend reports the cancel a little later)
  EXPECT_TRUE(t.cancelled());
  c.peer.reset();
  co_await run_briefly();
  std::exception_ptr e = co_await error_of(c.reader.readline());
  EXPECT_EQ(errno_of(e), ECONNRESET) << what_of(e);
}

// ============================================================================================
// Writing
// ============================================================================================

AIO_TEST(StreamWrite, WriteWritelinesDrain) {
  auto c = co_await connect_to_raw_peer();
  c.writer.write("hello ");
  std::vector<std::string> lines{"line1\n", "line2\n"};
  c.writer.writelines(lines);
  std::vector<std::string_view> views{"a", "b", "c"};
  c.writer.writelines(views);
  c.writer.write("");  // nothing
  co_await c.writer.drain();
  const std::string expected = "hello line1\nline2\nabc";
  EXPECT_EQ(co_await c.peer.recv_exactly(expected.size()), expected);
  EXPECT_EQ(c.writer.buffered(), 0u);
  c.writer.close();
  co_await c.writer.wait_closed();
  EXPECT_EQ(co_await c.peer.recv_all(), "");
}

AIO_TEST(StreamWrite, DrainBackpressure) {
  // drain() returns at once while at most 64 KiB is buffered, waits while more is (the
  // peer does not read), and returns once the buffer is down to 16 KiB. Several drainers
  // wait together (test_multiple_drain).
  auto c = co_await connect_to_raw_peer(aio::kDefaultStreamLimit, "127.0.0.1", 16 * 1024);
  std::size_t total = fill_kernel(c.writer);
  AIO_ASSERT_GT(c.writer.buffered(), 0u);
  AIO_ASSERT_LT(c.writer.buffered(), 64u * 1024);
  const std::size_t room = 64 * 1024 - c.writer.buffered();
  c.writer.write(pattern(room, total));
  total += room;
  EXPECT_EQ(c.writer.buffered(), 64u * 1024);
  auto quick = aio::create_task(c.writer.drain());
  co_await run_briefly();
  EXPECT_TRUE(quick.done());  // at the high-water mark, not above it
  co_await quick;

  c.writer.write(pattern(kMargin, total));
  total += kMargin;
  std::vector<aio::Task<void>> drainers;
  for (int i = 0; i < 3; ++i) drainers.push_back(aio::create_task(c.writer.drain()));
  co_await spin(5);
  for (auto& d : drainers) EXPECT_FALSE(d.done());

  auto reading = aio::create_task(c.peer.recv_exactly(total));
  co_await drainers[0];
  EXPECT_LE(c.writer.buffered(), 16u * 1024);
  for (auto& d : drainers) co_await d;
  std::string got = co_await reading;
  EXPECT_EQ(got.size(), total);
  EXPECT_TRUE(got == pattern(total)) << "the bytes differ";
  EXPECT_EQ(c.writer.buffered(), 0u);
  c.writer.close();
  co_await c.writer.wait_closed();
}

AIO_TEST(StreamWrite, SetWriteBufferLimits) {
  auto c = co_await connect_to_raw_peer(aio::kDefaultStreamLimit, "127.0.0.1", 16 * 1024);
  EXPECT_THROW(c.writer.set_write_buffer_limits(100, 200), std::invalid_argument);
  c.writer.set_write_buffer_limits(1024);  // low defaults to high / 4
  std::size_t total = fill_kernel(c.writer, 20000);
  AIO_ASSERT_GT(c.writer.buffered(), 1024u);
  auto drainer = aio::create_task(c.writer.drain());
  co_await spin(3);
  EXPECT_FALSE(drainer.done());
  auto reading = aio::create_task(c.peer.recv_exactly(total));
  co_await drainer;
  EXPECT_LE(c.writer.buffered(), 256u);
  std::string got = co_await reading;
  EXPECT_TRUE(got == pattern(total));

  // high = 0: drain() waits until everything is with the kernel.
  c.writer.set_write_buffer_limits(0);
  std::size_t more = fill_kernel(c.writer, kMargin);
  drainer = aio::create_task(c.writer.drain());
  co_await spin(3);
  EXPECT_FALSE(drainer.done());
  reading = aio::create_task(c.peer.recv_exactly(more));
  co_await drainer;
  EXPECT_EQ(c.writer.buffered(), 0u);
  got = co_await reading;
  EXPECT_TRUE(got == pattern(more));
  c.writer.close();
  co_await c.writer.wait_closed();
}

AIO_TEST(StreamWrite, DrainRaisesWhenThePeerCloses) {
  // test_drain_raises (bpo-25441): writing to a peer that closed must not loop forever;
  // drain() raises ConnectionResetError / BrokenPipeError.
  HandlerLog log;
  log.install();
  auto c = co_await connect_to_raw_peer();
  c.peer.close();
  std::exception_ptr e;
  for (int i = 0; i < 100000 && !e; ++i) {
    c.writer.write("foo\n");
    e = co_await error_of(c.writer.drain());
  }
  AIO_ASSERT_TRUE(e != nullptr);
  const int err = errno_of(e);
  EXPECT_TRUE(err == ECONNRESET || err == EPIPE || err == ECONNABORTED) << what_of(e);
  EXPECT_TRUE(log.contexts.empty());
}

AIO_TEST(StreamWrite, WriteEofHalfCloses) {
  // write_eof(): the peer reads EOF, and can still send back; we keep reading.
  auto c = co_await connect_to_raw_peer();
  EXPECT_TRUE(c.writer.can_write_eof());
  c.writer.write("request");
  c.writer.write_eof();
  EXPECT_THROW(c.writer.write("more"), aio::UsageError);
  EXPECT_EQ(co_await c.peer.recv_all(), "request");
  c.peer.send_now("response");
  c.peer.shutdown_write();
  EXPECT_EQ(co_await c.reader.read(), "response");
  EXPECT_TRUE(c.reader.at_eof());
  c.writer.close();
  co_await c.writer.wait_closed();
}

AIO_TEST(StreamWrite, WriteEofAfterBufferedBytes) {
  // write_eof() with bytes still buffered: the EOF goes out after them.
  auto c = co_await connect_to_raw_peer(aio::kDefaultStreamLimit, "127.0.0.1", 16 * 1024);
  std::size_t total = fill_kernel(c.writer);
  c.writer.write("tail");
  c.writer.write_eof();
  std::string got = co_await c.peer.recv_all();
  EXPECT_EQ(got.size(), total + 4);
  EXPECT_TRUE(got == pattern(total) + "tail");
  c.peer.send_now("ok");
  EXPECT_EQ(co_await c.reader.readexactly(2), "ok");
  c.writer.close();
  co_await c.writer.wait_closed();
}

AIO_TEST(StreamWrite, CloseSendsTheBufferedBytes) {
  auto c = co_await connect_to_raw_peer(aio::kDefaultStreamLimit, "127.0.0.1", 16 * 1024);
  std::size_t total = fill_kernel(c.writer, kMargin);
  c.writer.write("THE END");
  EXPECT_FALSE(c.writer.is_closing());
  c.writer.close();
  EXPECT_TRUE(c.writer.is_closing());
  c.writer.close();  // twice is fine
  auto closed = aio::create_task(c.writer.wait_closed());
  co_await spin(3);
  EXPECT_FALSE(closed.done());  // still sending
  std::string got = co_await c.peer.recv_all();
  EXPECT_TRUE(got == pattern(total) + "THE END") << got.size() << " bytes";
  co_await closed;
}

AIO_TEST(StreamWrite, DroppingBothHalvesClosesAfterSending) {
  auto c = co_await connect_to_raw_peer();
  {
    aio::StreamReader r = std::move(c.reader);
    aio::StreamWriter w = std::move(c.writer);
    w.write("bye");
  }
  EXPECT_EQ(co_await c.peer.recv_all(), "bye");
}

namespace {
struct ScopedSignal {
  int sig;
  struct sigaction old {};
  ScopedSignal(int s, void (*handler)(int)) : sig(s) {
    struct sigaction sa {};
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    ::sigaction(sig, &sa, &old);
  }
  ~ScopedSignal() { ::sigaction(sig, &old, nullptr); }
  ScopedSignal(const ScopedSignal&) = delete;
  ScopedSignal& operator=(const ScopedSignal&) = delete;
};
}  // namespace

AIO_TEST(StreamWrite, NoSigpipeWhenThePeerResets) {
  // With SIGPIPE at its default action (terminate), a write to a reset connection must
  // fail with EPIPE / ECONNRESET instead of killing the process.
  ScopedSignal dfl(SIGPIPE, SIG_DFL);
  auto c = co_await connect_to_raw_peer();
  c.peer.reset();
  std::exception_ptr e;
  for (int i = 0; i < 1000 && !e; ++i) {
    c.writer.write(std::string(1000, 'x'));
    e = co_await error_of(c.writer.drain());
  }
  const int err = errno_of(e);
  EXPECT_TRUE(err == EPIPE || err == ECONNRESET) << what_of(e);
  // After the failure: dropped (documented: "After the connection failed, the bytes are
  // dropped and drain() reports the error"), no signal, no UsageError.
  EXPECT_NO_THROW(c.writer.write("dropped"));
  e = co_await error_of(c.writer.drain());
  EXPECT_NE(errno_of(e), 0) << what_of(e);
}

AIO_TEST(StreamWrite, PeerResetsWhileASendIsParked) {
  // A send parked in the backend (the kernel is full) fails when the peer resets: the
  // completion fails the connection and closes its socket from inside the backend's
  // completion (the epoll backend defers freeing the registration); a parked drain() and
  // a parked read() both get the error. SIGPIPE stays away.
  ScopedSignal dfl(SIGPIPE, SIG_DFL);
  auto c = co_await connect_to_raw_peer(aio::kDefaultStreamLimit, "127.0.0.1", 16 * 1024);
  fill_kernel(c.writer, 100 * 1024);  // above the high-water mark
  auto drainer = aio::create_task(c.writer.drain());
  auto reader = aio::create_task(c.reader.read());
  co_await spin(3);
  EXPECT_FALSE(drainer.done());
  EXPECT_FALSE(reader.done());
  c.peer.reset();
  std::exception_ptr e = co_await error_of(drainer);
  int err = errno_of(e);
  EXPECT_TRUE(err == ECONNRESET || err == EPIPE) << what_of(e);
  e = co_await error_of(reader);
  err = errno_of(e);
  EXPECT_TRUE(err == ECONNRESET || err == EPIPE) << what_of(e);
  EXPECT_TRUE(c.writer.is_closing());
  e = co_await error_of(c.writer.wait_closed());
  EXPECT_NE(errno_of(e), 0) << what_of(e);
}

AIO_TEST(StreamWrite, CompletionClosingItsOwnConnection) {
  // Both halves dropped while a send is parked: the send's reference keeps the connection
  // alive; when the peer resets, the failing completion closes the socket and frees the
  // connection from inside the backend's completion. The fd must be closed, and nothing
  // touched after it was freed (ASan).
  const int fds_before = aio::testing::count_open_fds();
  auto c = co_await connect_to_raw_peer(aio::kDefaultStreamLimit, "127.0.0.1", 16 * 1024);
  EXPECT_EQ(aio::testing::count_open_fds(), fds_before + 2);
  fill_kernel(c.writer, kMargin);
  {
    aio::StreamReader r = std::move(c.reader);
    aio::StreamWriter w = std::move(c.writer);
  }
  co_await spin(3);
  EXPECT_EQ(aio::testing::count_open_fds(), fds_before + 2);  // still sending
  c.peer.reset();
  bool closed = co_await eventually([&] { return aio::testing::count_open_fds() == fds_before; });
  EXPECT_TRUE(closed) << aio::testing::count_open_fds() - fds_before << " fd(s) still open";
  co_await spin(3);
}

AIO_TEST(StreamWrite, PeerResetsWhileASendIsParkedAndTheWriterIsClosing) {
  // Same, through close(): wait_closed() ends with the error instead of waiting forever.
  auto c = co_await connect_to_raw_peer(aio::kDefaultStreamLimit, "127.0.0.1", 16 * 1024);
  fill_kernel(c.writer, kMargin);
  c.writer.close();
  auto closed = aio::create_task(c.writer.wait_closed());
  co_await spin(3);
  EXPECT_FALSE(closed.done());
  c.peer.reset();
  std::exception_ptr e = co_await error_of(closed);
  const int err = errno_of(e);
  EXPECT_TRUE(err == ECONNRESET || err == EPIPE) << what_of(e);
}

// ============================================================================================
// Data: binary, big, slow
// ============================================================================================

AIO_TEST(StreamData, AllByteValuesRoundTrip) {
  Accepted accepted;
  aio::Server server = co_await aio::start_server(stash_into(&accepted), "127.0.0.1", 0);
  auto conn = co_await aio::open_connection("127.0.0.1", server.addresses().at(0).port());
  co_await accepted.ready.wait();
  const std::string garbage = all_byte_values(64) + std::string("\r\n\0\n", 4);
  conn.second.write(garbage);
  co_await conn.second.drain();
  std::string got = co_await accepted.reader->readexactly(garbage.size());
  EXPECT_TRUE(got == garbage);
  accepted.writer->write(got);
  accepted.writer->write_eof();
  std::string back = co_await conn.first.read();
  EXPECT_TRUE(back == garbage) << back.size() << " bytes back";
  conn.second.close();
  accepted.writer->close();
  co_await conn.second.wait_closed();
  co_await accepted.writer->wait_closed();
  server.close();
  co_await server.wait_closed();
}

namespace {
constexpr std::size_t kBig = 10 * 1024 * 1024;

aio::Coro<void> pump(aio::StreamWriter& w, std::size_t total, unsigned seed) {
  constexpr std::size_t kChunk = 256 * 1024;
  for (std::size_t off = 0; off < total; off += kChunk) {
    w.write(pattern(std::min(kChunk, total - off), off, seed));
    co_await w.drain();
  }
}

aio::Coro<std::size_t> check_incoming(aio::StreamReader& r, std::size_t total, unsigned seed) {
  std::size_t off = 0;
  while (off < total) {
    std::string chunk = co_await r.read(128 * 1024);
    if (chunk.empty()) break;
    if (chunk != pattern(chunk.size(), off, seed)) {
      ADD_FAILURE() << "the bytes differ in the chunk at offset " << off;
      break;
    }
    off += chunk.size();
  }
  co_return off;
}
}  // namespace

AIO_TEST(StreamData, TenMegabytesBothWaysAtOnce) {
  Accepted accepted;
  aio::Server server = co_await aio::start_server(stash_into(&accepted), "127.0.0.1", 0);
  auto conn = co_await aio::open_connection("127.0.0.1", server.addresses().at(0).port());
  co_await accepted.ready.wait();
  auto up = aio::create_task(pump(conn.second, kBig, 1));
  auto down = aio::create_task(pump(*accepted.writer, kBig, 2));
  auto got_up = aio::create_task(check_incoming(*accepted.reader, kBig, 1));
  auto got_down = aio::create_task(check_incoming(conn.first, kBig, 2));
  co_await up;
  co_await down;
  EXPECT_EQ(co_await got_up, kBig);
  EXPECT_EQ(co_await got_down, kBig);
  conn.second.close();
  accepted.writer->close();
  co_await conn.second.wait_closed();
  co_await accepted.writer->wait_closed();
  EXPECT_EQ(co_await conn.first.read(), "");
  server.close();
  co_await server.wait_closed();
}

AIO_TEST(StreamData, SlowPeerDribblingOneByteAtATime) {
  auto c = co_await connect_to_raw_peer();
  // readline / readexactly / readuntil fed one byte per packet.
  {
    const std::string line = "hello, slow world\n";
    auto t = aio::create_task(c.reader.readline());
    co_await run_briefly();
    for (char ch : line) {
      EXPECT_FALSE(t.done());
      bool ok = co_await feed(c.peer, c.reader, std::string(1, ch), t);
      EXPECT_TRUE(ok);
    }
    EXPECT_EQ(co_await t, line);
  }
  {
    auto t = aio::create_task(c.reader.readexactly(6));
    co_await run_briefly();
    for (char ch : std::string("abcdef")) {
      bool ok = co_await feed(c.peer, c.reader, std::string(1, ch), t);
      EXPECT_TRUE(ok);
    }
    EXPECT_EQ(co_await t, "abcdef");
  }
  {
    auto t = aio::create_task(c.reader.readuntil("--END--"));
    co_await run_briefly();
    for (char ch : std::string("payload--EN--END--")) {
      bool ok = co_await feed(c.peer, c.reader, std::string(1, ch), t);
      EXPECT_TRUE(ok);
    }
    EXPECT_EQ(co_await t, "payload--EN--END--");
  }
  // And a peer reading one byte at a time gets everything we wrote.
  const std::string message = "one byte at a time";
  c.writer.write(message);
  std::string got;
  for (std::size_t i = 0; i < message.size(); ++i) got += co_await c.peer.recv_some(1);
  EXPECT_EQ(got, message);
}

// ============================================================================================
// Cancellation at every await
// ============================================================================================

AIO_TEST(StreamCancel, ReadLosesNothing) {
  auto c = co_await connect_to_raw_peer();
  auto t = aio::create_task(c.reader.read(100));
  co_await run_briefly();
  EXPECT_FALSE(t.done());
  t.cancel();
  std::exception_ptr e = co_await error_of(t);
  EXPECT_TRUE(holds<aio::CancelledError>(e)) << what_of(e);
  c.peer.send_now("abc");
  EXPECT_EQ(co_await c.reader.read(100), "abc");
  // read(-1) cancelled after some bytes came: they stay buffered.
  t = aio::create_task(c.reader.read(-1));
  bool ok = co_await feed(c.peer, c.reader, "partial", t);
  EXPECT_TRUE(ok);
  EXPECT_FALSE(t.done());
  t.cancel();
  e = co_await error_of(t);
  EXPECT_TRUE(holds<aio::CancelledError>(e)) << what_of(e);
  EXPECT_EQ(c.reader.buffered(), 7u);
  c.peer.send_now(" and the rest");
  c.peer.shutdown_write();
  EXPECT_EQ(co_await c.reader.read(-1), "partial and the rest");
}

AIO_TEST(StreamCancel, ReadlineLosesNothing) {
  auto c = co_await connect_to_raw_peer();
  auto t = aio::create_task(c.reader.readline());
  bool ok = co_await feed(c.peer, c.reader, "par", t);
  EXPECT_TRUE(ok);
  EXPECT_FALSE(t.done());
  t.cancel();
  std::exception_ptr e = co_await error_of(t);
  EXPECT_TRUE(holds<aio::CancelledError>(e)) << what_of(e);
  EXPECT_EQ(c.reader.buffered(), 3u);
  c.peer.send_now("tial\nnext\n");
  EXPECT_EQ(co_await c.reader.readline(), "partial\n");
  EXPECT_EQ(co_await c.reader.readline(), "next\n");
}

AIO_TEST(StreamCancel, ReadexactlyLosesNothing) {
  auto c = co_await connect_to_raw_peer();
  auto t = aio::create_task(c.reader.readexactly(10));
  bool ok = co_await feed(c.peer, c.reader, "12345", t);
  EXPECT_TRUE(ok);
  t.cancel();
  std::exception_ptr e = co_await error_of(t);
  EXPECT_TRUE(holds<aio::CancelledError>(e)) << what_of(e);
  EXPECT_EQ(c.reader.buffered(), 5u);
  c.peer.send_now("67890");
  EXPECT_EQ(co_await c.reader.readexactly(10), "1234567890");
}

AIO_TEST(StreamCancel, ReaduntilLosesNothing) {
  // The separator is half-received when the read is cancelled; a new readuntil() finds it.
  auto c = co_await connect_to_raw_peer();
  auto t = aio::create_task(c.reader.readuntil("abcd"));
  bool ok = co_await feed(c.peer, c.reader, "xxab", t);
  EXPECT_TRUE(ok);
  t.cancel();
  std::exception_ptr e = co_await error_of(t);
  EXPECT_TRUE(holds<aio::CancelledError>(e)) << what_of(e);
  EXPECT_EQ(c.reader.buffered(), 4u);
  c.peer.send_now("cdyy");
  EXPECT_EQ(co_await c.reader.readuntil("abcd"), "xxabcd");
  EXPECT_EQ(co_await c.reader.readexactly(2), "yy");
}

AIO_TEST(StreamCancel, RaceWithArrivingBytes) {
  // The cancel lands at different points relative to the bytes' arrival (in the kernel,
  // received, task woken...): the bytes end up either in the cancelled read's result or in
  // the buffer — never lost, never twice.
  auto c = co_await connect_to_raw_peer();
  for (int k = 0; k < 6; ++k) {
    const std::string msg = "message-" + std::to_string(k);
    auto t = aio::create_task(c.reader.read(100));
    co_await run_briefly();
    c.peer.send_now(msg);
    if (k > 0) {
      AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
      for (int i = 1; i < k; ++i) co_await aio::sleep(0);
    }
    t.cancel();
    std::string got;
    try {
      got = co_await t;
    } catch (const aio::CancelledError&) {
    }
    if (got.size() < msg.size()) got += co_await read_exactly_within(c.reader, msg.size() - got.size(), 1.0);
    EXPECT_EQ(got, msg) << "k = " << k << ": bytes lost";
    EXPECT_EQ(c.reader.buffered(), 0u);
  }
}

AIO_TEST(StreamCancel, DrainLeavesTheStreamUsable) {
  auto c = co_await connect_to_raw_peer(aio::kDefaultStreamLimit, "127.0.0.1", 16 * 1024);
  std::size_t total = fill_kernel(c.writer, 100 * 1024);
  auto drainer = aio::create_task(c.writer.drain());
  co_await spin(3);
  EXPECT_FALSE(drainer.done());
  drainer.cancel();
  std::exception_ptr e = co_await error_of(drainer);
  EXPECT_TRUE(holds<aio::CancelledError>(e)) << what_of(e);
  EXPECT_FALSE(c.writer.is_closing());
  c.writer.write(pattern(10, total));
  total += 10;
  auto reading = aio::create_task(c.peer.recv_exactly(total));
  co_await c.writer.drain();
  std::string got = co_await reading;
  EXPECT_TRUE(got == pattern(total)) << got.size() << " of " << total << " bytes";
  c.writer.close();
  co_await c.writer.wait_closed();
}

AIO_TEST(StreamCancel, WaitClosed) {
  auto c = co_await connect_to_raw_peer(aio::kDefaultStreamLimit, "127.0.0.1", 16 * 1024);
  std::size_t total = fill_kernel(c.writer, kMargin);
  c.writer.close();
  auto closed = aio::create_task(c.writer.wait_closed());
  co_await spin(3);
  EXPECT_FALSE(closed.done());
  closed.cancel();
  std::exception_ptr e = co_await error_of(closed);
  EXPECT_TRUE(holds<aio::CancelledError>(e)) << what_of(e);
  // The close goes on: the bytes are still sent, then the socket is closed.
  std::string got = co_await c.peer.recv_all();
  EXPECT_TRUE(got == pattern(total)) << got.size() << " of " << total << " bytes";
  co_await c.writer.wait_closed();
}

AIO_TEST(StreamCancel, OpenConnectionAtEachStep) {
  // Cancelled while resolving, connecting or setting up: CancelledError and nothing
  // leaks (AIO_TEST counts fds); or it connected first, and the connection works.
  aio::Server server = co_await aio::start_server(read_to_eof_handler, "127.0.0.1", 0);
  const int port = server.addresses().at(0).port();
  int cancelled = 0, connected = 0;
  for (int k = 0; k < 12; ++k) {
    const char* host = (k % 2 == 0) ? "127.0.0.1" : "localhost";
    auto t = aio::create_task(aio::open_connection(host, port));
    for (int i = 0; i < k / 2; ++i) co_await aio::sleep(0);
    t.cancel();
    try {
      auto conn = co_await t;
      ++connected;
      conn.second.write("hi");
      conn.second.close();
      co_await conn.second.wait_closed();
    } catch (const aio::CancelledError&) {
      ++cancelled;
    }
  }
  EXPECT_GT(cancelled, 0);
  EXPECT_EQ(cancelled + connected, 12);
  co_await spin(5);
  server.close();
  co_await server.wait_closed();
}

// ============================================================================================
// Datagrams
// ============================================================================================

namespace {
// (send()/send_to() check their preconditions when called; these await them inside a
// coroutine so that error_of() sees what they throw.)
aio::Coro<void> send_on(aio::DatagramSocket& s, std::string data) { co_await s.send(data); }
aio::Coro<void> send_to_on(aio::DatagramSocket& s, std::string data, aio::SocketAddress to) {
  co_await s.send_to(data, to);
}

aio::Coro<void> datagram_exchange(const char* host) {
  aio::DatagramSocket a = co_await aio::open_datagram({.local_addr = aio::SocketAddress(host, 0)});
  aio::DatagramSocket b = co_await aio::open_datagram({.local_addr = aio::SocketAddress(host, 0)});
  EXPECT_EQ(a.sockname().host(), host);
  EXPECT_NE(a.sockname().port(), 0);
  EXPECT_TRUE(a.peername().empty());
  co_await a.send_to("ping", b.sockname());
  auto got = co_await b.recv_from();
  EXPECT_EQ(got.first, "ping");
  EXPECT_EQ(got.second, a.sockname());
  co_await b.send_to("pong", got.second);
  auto back = co_await a.recv_from();
  EXPECT_EQ(back.first, "pong");
  EXPECT_EQ(back.second, b.sockname());
  std::exception_ptr e = co_await error_of(send_on(a, "x"));  // not connected
  EXPECT_TRUE(holds<aio::UsageError>(e)) << what_of(e);

  // Connected: send() goes to the peer; only the peer's datagrams arrive.
  aio::DatagramSocket c =
      co_await aio::open_datagram({.local_addr = aio::SocketAddress(host, 0), .remote_addr = a.sockname()});
  EXPECT_EQ(c.peername(), a.sockname());
  co_await c.send("from c");
  got = co_await a.recv_from();
  EXPECT_EQ(got.first, "from c");
  EXPECT_EQ(got.second, c.sockname());
  co_await b.send_to("stranger", c.sockname());  // filtered out by the connected socket
  co_await a.send_to("to c", c.sockname());
  got = co_await c.recv_from();
  EXPECT_EQ(got.first, "to c");
  EXPECT_EQ(got.second, a.sockname());
  e = co_await error_of(send_to_on(c, "x", b.sockname()));  // connected: use send()
  EXPECT_TRUE(holds<aio::UsageError>(e)) << what_of(e);
}
}  // namespace

AIO_TEST(Datagram, SendToRecvFromAndConnected) { co_await datagram_exchange("127.0.0.1"); }

TEST(Datagram, IPv6) {
  if (!has_ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback (::1) on this machine";
  aio::testing::run_test(datagram_exchange("::1"));
}

AIO_TEST(Datagram, RemoteOnly) {
  // Only remote_addr: bound to any address of its family.
  aio::DatagramSocket server = co_await aio::open_datagram({.local_addr = aio::SocketAddress("127.0.0.1", 0)});
  aio::DatagramSocket client = co_await aio::open_datagram({.remote_addr = server.sockname()});
  co_await client.send("hello");
  auto got = co_await server.recv_from();
  EXPECT_EQ(got.first, "hello");
  co_await server.send_to("back", got.second);
  EXPECT_EQ((co_await client.recv_from()).first, "back");
}

AIO_TEST(Datagram, EmptyAndLargeDatagramsKeepTheirBoundaries) {
  aio::DatagramSocket a = co_await aio::open_datagram({.local_addr = aio::SocketAddress("127.0.0.1", 0)});
  aio::DatagramSocket b = co_await aio::open_datagram({.local_addr = aio::SocketAddress("127.0.0.1", 0)});
  const std::string big = pattern(60000);
  co_await a.send_to("", b.sockname());
  co_await a.send_to(big, b.sockname());
  co_await a.send_to(all_byte_values(), b.sockname());
  EXPECT_EQ((co_await b.recv_from()).first, "");
  EXPECT_TRUE((co_await b.recv_from()).first == big);
  EXPECT_TRUE((co_await b.recv_from()).first == all_byte_values());
}

AIO_TEST(Datagram, CancelledRecvFromLosesNoDatagram) {
  aio::DatagramSocket a = co_await aio::open_datagram({.local_addr = aio::SocketAddress("127.0.0.1", 0)});
  aio::DatagramSocket b = co_await aio::open_datagram({.local_addr = aio::SocketAddress("127.0.0.1", 0)});
  // Cancelled while parked.
  auto t = aio::create_task(b.recv_from());
  co_await run_briefly();
  EXPECT_FALSE(t.done());
  t.cancel();
  std::exception_ptr e = co_await error_of(t);
  EXPECT_TRUE(holds<aio::CancelledError>(e)) << what_of(e);
  co_await a.send_to("d1", b.sockname());
  EXPECT_EQ((co_await b.recv_from()).first, "d1");
  // Cancelled with the datagram already waiting in the kernel (and at later points): it
  // is either the cancelled receive's result or the next one's.
  for (int k = 0; k < 4; ++k) {
    const std::string msg = "d-" + std::to_string(k);
    t = aio::create_task(b.recv_from());
    co_await run_briefly();
    co_await a.send_to(msg, b.sockname());
    for (int i = 0; i < k; ++i) co_await aio::sleep(0);
    t.cancel();
    std::string got;
    bool was_cancelled = false;
    try {
      got = (co_await t).first;
    } catch (const aio::CancelledError&) {
      was_cancelled = true;
    }
    if (was_cancelled) got = co_await recv_within(b, 1.0);
    EXPECT_EQ(got, msg) << "k = " << k << ": datagram lost";
  }
  // Nothing left over: the next datagram is the next one sent.
  co_await a.send_to("last", b.sockname());
  EXPECT_EQ((co_await b.recv_from()).first, "last");
}

// Two tasks receiving at once: each gets one datagram, in the order they arrived.
AIO_TEST(Datagram, TwoReceiversEachGetOneInOrder) {
  aio::DatagramSocket a = co_await aio::open_datagram({.local_addr = aio::SocketAddress("127.0.0.1", 0)});
  aio::DatagramSocket b = co_await aio::open_datagram({.local_addr = aio::SocketAddress("127.0.0.1", 0)});
  auto first = aio::create_task(b.recv_from());
  auto second = aio::create_task(b.recv_from());
  co_await run_briefly();
  co_await a.send_to("x0", b.sockname());
  co_await a.send_to("y0", b.sockname());
  auto r1 = co_await first;
  auto r2 = co_await second;
  EXPECT_EQ(r1.first, "x0");
  EXPECT_EQ(r2.first, "y0");
}

AIO_TEST(Datagram, ConnectionRefusedOnAConnectedSocket) {
  // A connected UDP socket whose peer is gone: the ICMP port-unreachable surfaces as
  // ECONNREFUSED from the next receive.
  const int port = unused_port("127.0.0.1", SOCK_DGRAM);
  aio::DatagramSocket s = co_await aio::open_datagram({.remote_addr = aio::SocketAddress("127.0.0.1", port)});
  co_await s.send("anyone?");
  std::exception_ptr e = co_await error_of(aio::wait_for(s.recv_from(), 5.0));
  EXPECT_EQ(errno_of(e), ECONNREFUSED) << what_of(e);
}

AIO_TEST(Datagram, CloseWakesAReceive) {
  aio::DatagramSocket s = co_await aio::open_datagram({.local_addr = aio::SocketAddress("127.0.0.1", 0)});
  auto t = aio::create_task(s.recv_from());
  co_await run_briefly();
  EXPECT_FALSE(s.is_closed());
  s.close();
  EXPECT_TRUE(s.is_closed());
  std::exception_ptr e = co_await error_of(t);
  EXPECT_EQ(errno_of(e), EBADF) << what_of(e);
  e = co_await error_of(s.recv_from());
  EXPECT_TRUE(holds<aio::UsageError>(e)) << what_of(e);
}

AIO_TEST(Datagram, InvalidOptions) {
  std::exception_ptr e = co_await error_of(aio::open_datagram({}));
  EXPECT_TRUE(holds<std::invalid_argument>(e)) << what_of(e);
  e = co_await error_of(aio::open_datagram(
      {.local_addr = aio::SocketAddress("127.0.0.1", 0), .remote_addr = aio::SocketAddress("::1", 9)}));
  EXPECT_TRUE(holds<std::invalid_argument>(e)) << what_of(e);
}
