// TLS streams (aio::SslContext, open_connection/start_server with `.ssl`, StreamWriter::
// start_tls). Certificates are made at test time with the `openssl` command (TestPki in
// interop_support.hpp: a CA, a server certificate it signed for localhost / 127.0.0.1 /
// ::1, an expired one, one for another host name, a self-signed one and one from an
// unknown CA).
//
// Ported from CPython's Lib/test/test_asyncio/test_sslproto.py (BaseStartTLS):
// test_start_tls_server_1 (server-side start_tls after plain bytes), test_start_tls_client_*
// (client-side start_tls), test_handshake_timeout (cancelling a handshake reports nothing),
// test_create_connection_ssl_slow_handshake (the handshake timeout),
// test_create_connection_ssl_failed_certificate and test_start_tls_client_corrupted_ssl.
// asyncio's ConnectionAbortedError('SSL handshake is taking longer...') is aio::TimeoutError
// naming the handshake; ssl.SSLCertVerificationError / ssl.SSLError are aio::SslError.
// Not ported from test_sslproto.py: the SSLProtocol unit tests (test_handshake_timeout_zero,
// test_eof_received_waiter, test_fatal_error_no_name_error, test_connection_lost,
// test_close_during_handshake, test_data_received_after_closing, test_write_after_closing,
// test_buf_feed_data...: they drive asyncio's protocol object, which aio does not have) and
// test_start_tls_wrong_args (C++ types rule those calls out).
//
// Interop with peers nobody here wrote: `openssl s_server` with our client, `openssl
// s_client` against our server, and Python's ssl module (/usr/bin/python3) to check the
// close_notify both ways — Python's recv() with suppress_ragged_eofs=False tells a clean
// TLS EOF from a bare TCP one.
#include <sys/socket.h>

#include <chrono>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include <aio/testing.hpp>

#include "interop_support.hpp"
#include "net_support.hpp"
#include "support.hpp"

namespace {

using namespace aio_test;
using namespace aio_test::net;
using aio_test::interop::Child;
using aio_test::interop::TestPki;

const char* const kOpenssl = "/usr/bin/openssl";
const char* const kPython = "/usr/bin/python3";

bool has(const std::string& s, std::string_view needle) { return s.find(needle) != std::string::npos; }

std::string pki(const char* name) { return TestPki::get().path(name); }

// The certificates are made before the first test (outside any loop: it takes a while).
class PkiEnvironment : public ::testing::Environment {
 public:
  void SetUp() override;
};
::testing::Environment* const kPkiEnvironment = ::testing::AddGlobalTestEnvironment(new PkiEnvironment);

// A server context with one of the PKI's certificates (key: server.key or self.key).
aio::SslContext server_ctx(const char* cert = "server.pem", const char* key = "server.key") {
  return aio::SslContext::server(pki(cert), pki(key));
}

// A new client context that trusts the test CA (and the system's CAs). Loading the
// system's CAs takes a while (especially under sanitizers): tests that do not change the
// context share one, client_ctx().
aio::SslContext fresh_client_ctx() {
  aio::SslContext c = aio::SslContext::client();
  c.load_verify_locations(pki("ca.pem"));
  return c;
}

// Copies share the OpenSSL context: never change the SSL_CTX through these (set_verify,
// load_cert_chain...); SslContext's own fields (the handshake timeout) are per copy.
aio::SslContext client_ctx() {
  static const aio::SslContext shared = fresh_client_ctx();
  return shared;
}

aio::SslContext unverified_client_ctx() {
  static const aio::SslContext shared = [] {
    aio::SslContext c = aio::SslContext::client();
    c.set_verify(false);
    return c;
  }();
  return shared;
}

// A client context that presents server.pem as its client certificate (for mutual TLS).
aio::SslContext cert_client_ctx() {
  static const aio::SslContext shared = [] {
    aio::SslContext c = fresh_client_ctx();
    c.load_cert_chain(pki("server.pem"), pki("server.key"));
    return c;
  }();
  return shared;
}

aio::SslContext system_client_ctx() {
  static const aio::SslContext shared = aio::SslContext::client();
  return shared;
}

void PkiEnvironment::SetUp() {
  (void)TestPki::get();
  (void)client_ctx();
  (void)unverified_client_ctx();
  (void)system_client_ctx();
  (void)cert_client_ctx();
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// --- handlers ----------------------------------------------------------------------------------

// Reads one line, answers "echo: <line>", closes.
aio::Coro<void> answer_one_line(aio::StreamReader r, aio::StreamWriter w) {
  std::string line = co_await r.readline();
  w.write("echo: " + line);
  w.close();
  co_await w.wait_closed();
}

// open_connection's error (null if it connected: the connection is then closed).
aio::Coro<std::exception_ptr> connect_error(std::string host, int port, aio::SslContext ctx, std::string hostname) {
  std::exception_ptr error;
  try {
    auto conn = co_await aio::open_connection(host, port, {.ssl = ctx, .server_hostname = hostname});
    conn.second.close();
    co_await conn.second.wait_closed();
  } catch (...) {
    error = std::current_exception();
  }
  co_return error;
}

// One TLS echo round trip.
aio::Coro<std::string> tls_echo_once(int port, aio::SslContext ctx, std::string hostname, std::string msg,
                                     std::string host = "127.0.0.1") {
  auto [r, w] = co_await aio::open_connection(host, port, {.ssl = ctx, .server_hostname = hostname});
  w.write(msg);
  std::string back = co_await aio::wait_for(r.readexactly(msg.size()), 10);
  w.close();
  co_await w.wait_closed();
  co_return back;
}

// A TLS echo server on 127.0.0.1 with this context; its port.
struct TlsServer {
  Stats stats;
  aio::Server server;
  int port = 0;
};

aio::Coro<void> start_tls_echo(TlsServer* s, aio::SslContext ctx) {
  s->server = co_await aio::start_server(echo_into(&s->stats), "127.0.0.1", 0, {.ssl = ctx});
  s->port = s->server.addresses().at(0).port();
}

aio::Coro<void> stop(TlsServer* s) {
  s->server.close();
  co_await aio::wait_for(s->server.wait_closed(), 10);
}

}  // namespace

// ================================================================================================
// aio client <-> aio server
// ================================================================================================

// The certificate is verified against the CA and the name "localhost".
AIO_TEST(Tls, EchoVerifiedByName) {
  TlsServer s;
  co_await start_tls_echo(&s, server_ctx());
  auto [r, w] =
      co_await aio::open_connection("127.0.0.1", s.port, {.ssl = client_ctx(), .server_hostname = "localhost"});
  for (int i = 0; i < 10; ++i) {
    std::string line = "hello TLS " + std::to_string(i) + "\n";
    w.write(line);
    EXPECT_EQ(co_await aio::wait_for(r.readline(), 10), line);
  }
  EXPECT_FALSE(w.can_write_eof()) << "TLS has no half-close";
  w.close();
  co_await w.wait_closed();
  AIO_ASSERT_AWAITS_TRUE(eventually([&] { return s.stats.finished == 1; }));
  EXPECT_EQ(s.stats.errors, 0) << s.stats.error_messages.at(0);
  EXPECT_TRUE(s.stats.clean_eof);
  co_await stop(&s);
}

// With no server_hostname, the host connected to is checked: an IP address against the
// certificate's IP subjectAltName.
AIO_TEST(Tls, EchoVerifiedByIpAddress) {
  TlsServer s;
  co_await start_tls_echo(&s, server_ctx());
  EXPECT_EQ(co_await tls_echo_once(s.port, client_ctx(), "", "by IP"), "by IP");
  co_await stop(&s);
}

static aio::Coro<void> echo_over_ipv6() {
  Stats stats;
  aio::Server srv = co_await aio::start_server(echo_into(&stats), "::1", 0, {.ssl = server_ctx()});
  const int port = srv.addresses().at(0).port();
  // "::1" is checked against the certificate's IP:::1.
  EXPECT_EQ(co_await tls_echo_once(port, client_ctx(), "", "v6", "::1"), "v6");
  srv.close();
  co_await srv.wait_closed();
}

TEST(Tls, EchoOverIPv6) {
  if (!has_ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback";
  aio::testing::run_test(echo_over_ipv6());
}

// A server certificate file holding the chain (leaf, then CA).
AIO_TEST(Tls, ChainFile) {
  TlsServer s;
  co_await start_tls_echo(&s, server_ctx("chain.pem"));
  EXPECT_EQ(co_await tls_echo_once(s.port, client_ctx(), "localhost", "chained"), "chained");
  co_await stop(&s);
}

namespace {
aio::Coro<void> write_all_then_close(aio::StreamWriter* w, std::string data) {
  // In pieces with drain(), as an application streaming a file would.
  for (std::size_t off = 0; off < data.size(); off += 100000) {
    w->write(std::string_view(data).substr(off, 100000));
    co_await w->drain();
  }
}
}  // namespace

// 1 MiB each way at once: the client writes while it reads the echo.
AIO_TEST(Tls, OneMegabyteEachWay) {
  TlsServer s;
  co_await start_tls_echo(&s, server_ctx());
  auto [r, w] =
      co_await aio::open_connection("127.0.0.1", s.port, {.ssl = client_ctx(), .server_hostname = "localhost"});
  const std::string data = pattern(1 << 20, 0, 7);
  aio::Task<void> writer = aio::create_task(write_all_then_close(&w, data));
  std::string back = co_await aio::wait_for(r.readexactly(data.size()), 30);
  co_await writer;
  EXPECT_EQ(back.size(), data.size());
  EXPECT_TRUE(back == data) << "the echoed megabyte differs";
  w.close();
  co_await w.wait_closed();
  co_await stop(&s);
}

// The copy-free reads decrypt into the stream's buffer and take from there: read_into()
// and read_view() over TLS, each with a buffer smaller and larger than a TLS record.
AIO_TEST(Tls, ReadIntoAndReadView) {
  TlsServer s;
  co_await start_tls_echo(&s, server_ctx());
  auto [r, w] =
      co_await aio::open_connection("127.0.0.1", s.port, {.ssl = client_ctx(), .server_hostname = "localhost"});
  const std::string data = pattern(256 * 1024, 0, 11);
  aio::Task<void> writer = aio::create_task(write_all_then_close(&w, data));
  std::string back;
  std::vector<char> small(1000);
  std::vector<char> big(40000);
  for (int i = 0; back.size() < data.size(); ++i) {
    std::size_t n = 0;
    if (i % 3 == 2) {
      aio::ReadView view = co_await aio::wait_for(r.read_view(i % 2 ? 500 : 70000), 10);
      back += view.bytes();
      n = view.size();
    } else {
      std::span<char> buf = i % 3 ? std::span<char>(big) : std::span<char>(small);
      n = co_await aio::wait_for(r.read_into(buf), 10);
      back.append(buf.data(), n);
    }
    if (n == 0) break;
  }
  co_await writer;
  EXPECT_EQ(back.size(), data.size());
  EXPECT_TRUE(back == data) << "the echo read through read_into/read_view differs";
  w.close();
  co_await w.wait_closed();
  co_await stop(&s);
}

// Many small writes (one TLS record each), then one drain: nothing lost or reordered.
AIO_TEST(Tls, ManySmallWrites) {
  TlsServer s;
  co_await start_tls_echo(&s, server_ctx());
  auto [r, w] =
      co_await aio::open_connection("127.0.0.1", s.port, {.ssl = client_ctx(), .server_hostname = "localhost"});
  const int n = 5000;
  std::string expected;
  for (int i = 0; i < n; ++i) {
    std::string msg = "m" + std::to_string(i) + "\n";
    w.write(msg);
    expected += msg;
  }
  co_await w.drain();
  std::string back = co_await aio::wait_for(r.readexactly(expected.size()), 30);
  EXPECT_TRUE(back == expected);
  w.close();
  co_await w.wait_closed();
  co_await stop(&s);
}

// TLS over a Unix-domain socket (a host name to verify must be given).
AIO_TEST(Tls, OverUnixSocket) {
  TempSocketPath path;
  Stats stats;
  aio::Server srv = co_await aio::start_unix_server(echo_into(&stats), path.str(), {.ssl = server_ctx()});
  std::exception_ptr e = co_await error_of(aio::open_unix_connection(path.str(), {.ssl = client_ctx()}));
  EXPECT_TRUE(holds<std::invalid_argument>(e)) << what_of(e);
  auto [r, w] = co_await aio::open_unix_connection(path.str(), {.ssl = client_ctx(), .server_hostname = "localhost"});
  w.write("over unix\n");
  EXPECT_EQ(co_await aio::wait_for(r.readline(), 10), "over unix\n");
  w.close();
  co_await w.wait_closed();
  srv.close();
  co_await aio::wait_for(srv.wait_closed(), 10);
}

// Client certificates: a server that verifies its clients accepts one with a certificate
// from the CA and refuses one without.
AIO_TEST(Tls, MutualAuthentication) {
  aio::SslContext sctx = server_ctx();
  sctx.load_verify_locations(pki("ca.pem"));
  sctx.set_verify(true);
  TlsServer s;
  co_await start_tls_echo(&s, sctx);
  EXPECT_EQ(co_await tls_echo_once(s.port, cert_client_ctx(), "localhost", "mutual"), "mutual");

  // Without a certificate: with TLS 1.3 the client's handshake completes first, and the
  // server's alert comes with the first read; either way it is an SslError.
  std::exception_ptr e = co_await error_of(tls_echo_once(s.port, client_ctx(), "localhost", "anonymous"));
  EXPECT_TRUE(holds<aio::SslError>(e) || holds<std::system_error>(e)) << what_of(e);
  EXPECT_FALSE(e == nullptr) << "a client without a certificate was served";
  co_await stop(&s);
}

// ================================================================================================
// Verification failures
// ================================================================================================

namespace {
// Connects (verifying, as "localhost") to a TLS echo server using `cert`/`key`; the
// SslError's message ("" and a test failure if it connected or failed otherwise).
aio::Coro<std::string> verify_failure(const char* cert, const char* key, aio::SslContext client,
                                      std::string hostname = "localhost") {
  TlsServer s;
  co_await start_tls_echo(&s, server_ctx(cert, key));
  std::exception_ptr e = co_await connect_error("127.0.0.1", s.port, client, hostname);
  std::string message;
  if (auto ssl = exception_as<aio::SslError>(e)) {
    message = ssl->what();
  } else {
    ADD_FAILURE() << "expected aio::SslError, got " << what_of(e);
  }
  // The server goes on serving (the failed handshake is the client's problem).
  EXPECT_EQ(co_await tls_echo_once(s.port, unverified_client_ctx(), "localhost", "after"), "after");
  EXPECT_EQ(s.stats.started, 1) << "the handler ran for a connection whose handshake failed";
  co_await stop(&s);
  co_return message;
}
}  // namespace

// test_create_connection_ssl_failed_certificate, and the reasons named.
AIO_TEST(TlsVerify, ExpiredCertificate) {
  std::string m = co_await verify_failure("expired.pem", "server.key", client_ctx());
  EXPECT_TRUE(has(m, "certificate verify failed")) << m;
  EXPECT_TRUE(has(m, "certificate has expired")) << m;
}

AIO_TEST(TlsVerify, SelfSignedCertificate) {
  std::string m = co_await verify_failure("self.pem", "self.key", client_ctx());
  EXPECT_TRUE(has(m, "certificate verify failed")) << m;
  EXPECT_TRUE(has(m, "self-signed") || has(m, "self signed")) << m;
}

AIO_TEST(TlsVerify, UnknownIssuer) {
  std::string m = co_await verify_failure("other.pem", "server.key", client_ctx());
  EXPECT_TRUE(has(m, "certificate verify failed")) << m;
  EXPECT_TRUE(has(m, "unable to get local issuer certificate")) << m;
}

// The system's trust store alone does not know the test CA.
AIO_TEST(TlsVerify, SystemStoreOnly) {
  std::string m = co_await verify_failure("server.pem", "server.key", system_client_ctx());
  EXPECT_TRUE(has(m, "certificate verify failed")) << m;
  EXPECT_TRUE(has(m, "unable to get local issuer certificate")) << m;
}

AIO_TEST(TlsVerify, HostNameMismatch) {
  // A valid certificate for another name.
  std::string m = co_await verify_failure("wrong_host.pem", "server.key", client_ctx());
  EXPECT_TRUE(has(m, "certificate verify failed")) << m;
  EXPECT_TRUE(has(m, "mismatch")) << m;
  // The right certificate, the wrong name asked for.
  m = co_await verify_failure("server.pem", "server.key", client_ctx(), "example.org");
  EXPECT_TRUE(has(m, "certificate verify failed")) << m;
  EXPECT_TRUE(has(m, "mismatch")) << m;
  // An IP address the certificate does not name.
  m = co_await verify_failure("server.pem", "server.key", client_ctx(), "10.1.2.3");
  EXPECT_TRUE(has(m, "certificate verify failed")) << m;
  EXPECT_TRUE(has(m, "mismatch")) << m;
}

// set_verify(false) connects anyway, whatever the certificate.
AIO_TEST(TlsVerify, VerifyOffConnectsAnyway) {
  for (const char* cert : {"expired.pem", "wrong_host.pem", "other.pem"}) {
    TlsServer s;
    co_await start_tls_echo(&s, server_ctx(cert, "server.key"));
    EXPECT_EQ(co_await tls_echo_once(s.port, unverified_client_ctx(), "localhost", cert), cert);
    co_await stop(&s);
  }
  TlsServer s;
  co_await start_tls_echo(&s, server_ctx("self.pem", "self.key"));
  EXPECT_EQ(co_await tls_echo_once(s.port, unverified_client_ctx(), "", "self-signed"), "self-signed");
  co_await stop(&s);
}

// A verifying client context without any host name to check is refused (it would verify
// nothing); bad files name the file.
AIO_TEST(TlsVerify, ContextErrors) {
  std::exception_ptr e = co_await error_of(aio::open_unix_connection("/tmp/aio-nowhere.sock", {.ssl = client_ctx()}));
  EXPECT_TRUE(holds<std::invalid_argument>(e)) << what_of(e);
  bool threw = false;
  try {
    aio::SslContext::server(pki("nope.pem"), pki("server.key"));
  } catch (const aio::SslError& x) {
    threw = true;
    EXPECT_TRUE(has(x.what(), "nope.pem")) << x.what();
  }
  EXPECT_TRUE(threw);
  threw = false;
  try {
    aio::SslContext::server(pki("server.pem"), pki("self.key"));  // a key that does not match
  } catch (const aio::SslError& x) {
    threw = true;
    EXPECT_TRUE(has(x.what(), "self.key")) << x.what();
    EXPECT_TRUE(has(x.what(), "mismatch") || has(x.what(), "does not match")) << x.what();
  }
  EXPECT_TRUE(threw);
  threw = false;
  try {
    aio::SslContext c = client_ctx();
    c.set_handshake_timeout(0);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  EXPECT_TRUE(threw);
}

// ================================================================================================
// Handshake timeouts and hostile peers
// ================================================================================================

// test_create_connection_ssl_slow_handshake: a plain TCP peer that never speaks TLS; the
// handshake timeout ends the attempt with TimeoutError naming the handshake, and closes the
// connection. Nothing is reported to the loop.
AIO_TEST(TlsHandshake, ClientTimeout) {
  HandlerLog log;
  log.install();
  RawListener listener;
  aio::SslContext ctx = client_ctx();
  ctx.set_handshake_timeout(0.2);
  EXPECT_EQ(ctx.handshake_timeout(), 0.2);
  const auto t0 = std::chrono::steady_clock::now();
  std::exception_ptr e = co_await connect_error("127.0.0.1", listener.port(), ctx, "localhost");
  const double elapsed = seconds_since(t0);
  auto timeout = exception_as<aio::TimeoutError>(e);
  AIO_ASSERT_TRUE(timeout.has_value());
  EXPECT_TRUE(has(timeout->what(), "handshake")) << timeout->what();
  EXPECT_GE(elapsed, 0.15);
  EXPECT_LT(elapsed, 5.0);
  // The peer got the ClientHello, then the connection was closed.
  RawPeer peer = listener.accept();
  std::string got = co_await aio::wait_for(peer.recv_all(), 5);
  EXPECT_FALSE(got.empty());
  EXPECT_EQ(static_cast<unsigned char>(got.at(0)), 0x16) << "a TLS handshake record";
  EXPECT_TRUE(log.contexts.empty()) << log.contexts.at(0).message;
}

// test_handshake_timeout: an outer wait_for cancels the handshake; TimeoutError, the
// connection is closed, and cancelling a handshake reports nothing.
AIO_TEST(TlsHandshake, CancelledByWaitFor) {
  HandlerLog log;
  log.install();
  RawListener listener;
  aio::SslContext ctx = client_ctx();  // (its own handshake timeout: 60 s)
  std::exception_ptr e = co_await error_of(aio::wait_for(
      aio::open_connection("127.0.0.1", listener.port(), {.ssl = ctx, .server_hostname = "localhost"}), 0.2));
  EXPECT_TRUE(holds<aio::TimeoutError>(e)) << what_of(e);
  RawPeer peer = listener.accept();
  std::string got = co_await aio::wait_for(peer.recv_all(), 5);  // ends: the client closed
  EXPECT_FALSE(got.empty());
  EXPECT_TRUE(log.contexts.empty()) << log.contexts.at(0).message;
}

// The server side: a client that connects and never says anything is dropped after the
// server context's handshake timeout; its handler never runs; nothing is reported.
AIO_TEST(TlsHandshake, ServerTimeout) {
  HandlerLog log;
  log.install();
  aio::SslContext sctx = server_ctx();
  sctx.set_handshake_timeout(0.2);
  TlsServer s;
  co_await start_tls_echo(&s, sctx);
  auto [r, w] = co_await aio::open_connection("127.0.0.1", s.port);  // plain TCP
  const auto t0 = std::chrono::steady_clock::now();
  std::exception_ptr e;
  std::string got;
  try {
    got = co_await aio::wait_for(r.read(), 5);  // to EOF: the server drops us
  } catch (const aio::TimeoutError&) {
    throw;
  } catch (...) {
    e = std::current_exception();  // a reset is fine too
  }
  const double elapsed = seconds_since(t0);
  EXPECT_GE(elapsed, 0.15);
  EXPECT_LT(elapsed, 5.0);
  EXPECT_TRUE(got.empty() || static_cast<unsigned char>(got[0]) == 0x15) << "only an alert may come";
  AIO_ASSERT_AWAITS_TRUE(eventually([&] { return s.server.connection_count() == 0; }));
  EXPECT_EQ(s.stats.started, 0);
  EXPECT_TRUE(log.contexts.empty()) << log.contexts.at(0).message;
  w.close();
  co_await stop(&s);
}

// Plain text to a TLS server (an HTTP request): the handshake fails, the connection is
// closed, the handler never runs, nothing is reported, the server goes on.
AIO_TEST(TlsHandshake, PlainTextToATlsServer) {
  HandlerLog log;
  log.install();
  TlsServer s;
  co_await start_tls_echo(&s, server_ctx());
  {
    auto [r, w] = co_await aio::open_connection("127.0.0.1", s.port);
    w.write("GET / HTTP/1.0\r\n\r\n");
    std::string got;
    try {
      got = co_await aio::wait_for(r.read(), 5);
    } catch (const std::system_error&) {  // (a reset is fine)
    }
    EXPECT_TRUE(got.empty() || static_cast<unsigned char>(got[0]) == 0x15) << "only an alert may come";
    w.close();
  }
  EXPECT_EQ(co_await tls_echo_once(s.port, client_ctx(), "localhost", "still TLS"), "still TLS");
  EXPECT_EQ(s.stats.started, 1);
  EXPECT_TRUE(log.contexts.empty()) << log.contexts.at(0).message;
  co_await stop(&s);
}

// A server that is not TLS at all answers the ClientHello with plain text: SslError.
AIO_TEST(TlsHandshake, PlainTextServer) {
  RawListener listener;
  aio::Task<std::exception_ptr> client =
      aio::create_task(connect_error("127.0.0.1", listener.port(), client_ctx(), "localhost"));
  co_await spin(5);  // the client task connects (a loopback connect completes at once)
  RawPeer peer = listener.accept();
  std::string hello = co_await aio::wait_for(peer.recv_some(), 5);
  EXPECT_FALSE(hello.empty());
  peer.send_now("HTTP/1.0 400 Bad Request\r\n\r\n");
  std::exception_ptr e = co_await aio::wait_for(client, 5);
  EXPECT_TRUE(holds<aio::SslError>(e)) << what_of(e);
  EXPECT_TRUE(has(what_of(e), "handshake")) << what_of(e);
}

// The peer closes in the middle of the handshake: SslError saying so.
AIO_TEST(TlsHandshake, PeerClosesDuringTheHandshake) {
  RawListener listener;
  aio::Task<std::exception_ptr> client =
      aio::create_task(connect_error("127.0.0.1", listener.port(), client_ctx(), "localhost"));
  co_await spin(5);  // the client task connects (a loopback connect completes at once)
  RawPeer peer = listener.accept();
  std::string hello = co_await aio::wait_for(peer.recv_some(), 5);
  EXPECT_FALSE(hello.empty());
  peer.close();
  std::exception_ptr e = co_await aio::wait_for(client, 5);
  EXPECT_TRUE(holds<aio::SslError>(e)) << what_of(e);
  EXPECT_TRUE(has(what_of(e), "closed")) << what_of(e);
}

// ================================================================================================
// close_notify
// ================================================================================================

// Our close() sends close_notify: an aio peer's read() ends cleanly ("" — no error).
AIO_TEST(TlsClose, CloseGivesThePeerACleanEof) {
  TlsServer s;
  co_await start_tls_echo(&s, server_ctx());
  auto [r, w] =
      co_await aio::open_connection("127.0.0.1", s.port, {.ssl = client_ctx(), .server_hostname = "localhost"});
  w.write("bye");
  EXPECT_EQ(co_await r.readexactly(3), "bye");
  w.close();
  EXPECT_TRUE(w.is_closing());
  co_await w.wait_closed();
  AIO_ASSERT_AWAITS_TRUE(eventually([&] { return s.stats.finished == 1; }));
  EXPECT_TRUE(s.stats.clean_eof);
  EXPECT_EQ(s.stats.errors, 0) << s.stats.error_messages.at(0);
  co_await stop(&s);
}

// The server closes after its answer: the client reads the answer, then "" (its
// close_notify), then "" again.
AIO_TEST(TlsClose, ServerCloseGivesTheClientACleanEof) {
  aio::Server srv = co_await aio::start_server(answer_one_line, "127.0.0.1", 0, {.ssl = server_ctx()});
  const int port = srv.addresses().at(0).port();
  auto [r, w] = co_await aio::open_connection("127.0.0.1", port, {.ssl = client_ctx(), .server_hostname = "localhost"});
  w.write("question\n");
  EXPECT_EQ(co_await aio::wait_for(r.read(), 10), "echo: question\n");
  EXPECT_TRUE(r.at_eof());
  EXPECT_EQ(co_await r.read(), "");
  w.close();
  co_await w.wait_closed();
  srv.close();
  co_await aio::wait_for(srv.wait_closed(), 10);
}

namespace {
// A blocking TLS server with Python's ssl module: prints its port, serves one connection
// according to argv[3], prints what it saw.
//   clean-eof: reads to EOF with suppress_ragged_eofs=False: "clean <n>" (close_notify) or
//              "ragged <n>" (TCP EOF without close_notify).
//   unwrap:    sends "bye\n", then close_notify (SSLSocket.unwrap), prints "unwrapped".
//   ragged:    sends "bye\n", then closes the TCP connection without close_notify.
//   corrupt:   test_start_tls_client_corrupted_ssl: sends "A\n", reads one byte, then
//              writes plain text into the TLS stream.
const char* const kPyTlsServer = R"PY(
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
mode = sys.argv[3]
lsock = socket.socket()
lsock.bind(("127.0.0.1", 0))
lsock.listen(1)
print(lsock.getsockname()[1], flush=True)
raw, _ = lsock.accept()
raw.settimeout(20)
orig = raw.dup()
conn = ctx.wrap_socket(raw, server_side=True, suppress_ragged_eofs=False)
if mode == "clean-eof":
    n = 0
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                print("clean", n, flush=True)
                break
            n += len(data)
    except ssl.SSLEOFError:
        print("ragged", n, flush=True)
elif mode == "unwrap":
    conn.sendall(b"bye\n")
    conn.unwrap()
    print("unwrapped", flush=True)
elif mode == "ragged":
    conn.sendall(b"bye\n")
    orig.shutdown(socket.SHUT_RDWR)
    print("ragged sent", flush=True)
elif mode == "corrupt":
    conn.sendall(b"A\n")
    conn.recv(1)
    orig.send(b"please corrupt the SSL connection")
    print("corrupted", flush=True)
    try:
        conn.recv(1)
    except (ssl.SSLError, OSError):
        pass
orig.close()
conn.close()
)PY";

aio::Coro<int> start_python_tls_server(Child* py) {
  std::optional<std::string> line = co_await py->read_line(20);
  if (!line || line->empty()) throw std::runtime_error("the Python TLS server did not start: " + py->describe());
  co_return std::stoi(*line);
}
}  // namespace

// Python's ssl sees our close() as a clean TLS EOF: close_notify was sent.
static aio::Coro<void> python_sees_close_notify() {
  Child py = Child::spawn({kPython, "-c", kPyTlsServer, pki("server.pem"), pki("server.key"), "clean-eof"});
  const int port = co_await start_python_tls_server(&py);
  auto [r, w] = co_await aio::open_connection("127.0.0.1", port, {.ssl = client_ctx(), .server_hostname = "localhost"});
  w.write("12345");
  co_await w.drain();
  w.close();
  co_await w.wait_closed();
  std::optional<std::string> verdict = co_await py.read_line(20);
  EXPECT_EQ(verdict, std::optional<std::string>("clean 5\n")) << py.describe();
  EXPECT_EQ(co_await py.wait(20), std::optional<int>(0)) << py.describe();
}

TEST(TlsClose, PythonSeesOurCloseNotify) {
  if (!interop::have_program(kPython)) GTEST_SKIP() << "no " << kPython;
  aio::testing::run_test(python_sees_close_notify());
}

// Python's close_notify (SSLSocket.unwrap) ends our reads cleanly; our close() answers it.
static aio::Coro<void> python_close_notify_is_eof() {
  Child py = Child::spawn({kPython, "-c", kPyTlsServer, pki("server.pem"), pki("server.key"), "unwrap"});
  const int port = co_await start_python_tls_server(&py);
  auto [r, w] = co_await aio::open_connection("127.0.0.1", port, {.ssl = client_ctx(), .server_hostname = "localhost"});
  EXPECT_EQ(co_await aio::wait_for(r.readline(), 10), "bye\n");
  // (close_notify usually comes in the same receive as "bye\n")
  std::exception_ptr e;
  std::string rest;
  try {
    rest = co_await aio::wait_for(r.read(), 5);
  } catch (...) {
    e = std::current_exception();
  }
  EXPECT_FALSE(e) << "read() after the peer's close_notify: " << what_of(e);
  EXPECT_EQ(rest, "");
  EXPECT_TRUE(r.at_eof());
  w.close();
  co_await w.wait_closed();
  std::optional<std::string> verdict = co_await py.read_line(20);
  EXPECT_EQ(verdict, std::optional<std::string>("unwrapped\n")) << py.describe();
  EXPECT_EQ(co_await py.wait(20), std::optional<int>(0)) << py.describe();
}

TEST(TlsClose, PythonCloseNotifyIsOurEof) {
  if (!interop::have_program(kPython)) GTEST_SKIP() << "no " << kPython;
  aio::testing::run_test(python_close_notify_is_eof());
}

// A TCP EOF without close_notify after the handshake ends the stream like an EOF
// (documented: the application protocol must detect truncation if it cares).
static aio::Coro<void> ragged_eof_is_eof() {
  Child py = Child::spawn({kPython, "-c", kPyTlsServer, pki("server.pem"), pki("server.key"), "ragged"});
  const int port = co_await start_python_tls_server(&py);
  auto [r, w] = co_await aio::open_connection("127.0.0.1", port, {.ssl = client_ctx(), .server_hostname = "localhost"});
  EXPECT_EQ(co_await aio::wait_for(r.readline(), 10), "bye\n");
  std::exception_ptr e;
  std::string rest;
  try {
    rest = co_await aio::wait_for(r.read(), 10);
  } catch (...) {
    e = std::current_exception();
  }
  EXPECT_FALSE(e) << what_of(e);
  EXPECT_EQ(rest, "");
  w.close();
  EXPECT_EQ(co_await py.wait(20), std::optional<int>(0)) << py.describe();
}

TEST(TlsClose, RaggedEofIsEof) {
  if (!interop::have_program(kPython)) GTEST_SKIP() << "no " << kPython;
  aio::testing::run_test(ragged_eof_is_eof());
}

// test_start_tls_client_corrupted_ssl: plain bytes inside the TLS stream make the next
// read fail with SslError.
static aio::Coro<void> corrupted_tls() {
  HandlerLog log;
  log.install();
  Child py = Child::spawn({kPython, "-c", kPyTlsServer, pki("server.pem"), pki("server.key"), "corrupt"});
  const int port = co_await start_python_tls_server(&py);
  auto [r, w] = co_await aio::open_connection("127.0.0.1", port, {.ssl = client_ctx(), .server_hostname = "localhost"});
  EXPECT_EQ(co_await aio::wait_for(r.readline(), 10), "A\n");
  w.write("B");
  std::exception_ptr e = co_await error_of(aio::wait_for(r.readline(), 10));
  EXPECT_TRUE(holds<aio::SslError>(e)) << what_of(e);
  w.close();
  EXPECT_EQ(co_await py.wait(20), std::optional<int>(0)) << py.describe();
  EXPECT_TRUE(log.contexts.empty()) << log.contexts.at(0).message;
}

TEST(TlsClose, CorruptedTlsStream) {
  if (!interop::have_program(kPython)) GTEST_SKIP() << "no " << kPython;
  aio::testing::run_test(corrupted_tls());
}

// ================================================================================================
// start_tls on an open plain connection (STARTTLS)
// ================================================================================================

namespace {
struct StartTlsSide {
  aio::Event upgraded;
  std::string after;  // what the server read over TLS
  std::exception_ptr error;
};

// The server side of a STARTTLS exchange: a plain greeting, a plain "STARTTLS" line, the
// upgrade (server side), then a TLS echo of one line.
aio::Coro<void> starttls_server(StartTlsSide* side, aio::StreamReader r, aio::StreamWriter w) {
  try {
    w.write("220 ready\n");
    std::string cmd = co_await r.readline();
    if (cmd != "STARTTLS\n") throw std::runtime_error("unexpected command: " + cmd);
    w.write("220 go ahead\n");
    co_await w.drain();
    co_await w.start_tls(server_ctx());
    side->upgraded.set();
    side->after = co_await r.readline();
    w.write("secure: " + side->after);
    co_await w.drain();
  } catch (...) {
    side->error = std::current_exception();
  }
  w.close();
}

aio::ConnectionHandler starttls_handler(StartTlsSide* side) {
  return [side](aio::StreamReader r, aio::StreamWriter w) { return starttls_server(side, std::move(r), std::move(w)); };
}
}  // namespace

// test_start_tls_server_1 / test_start_tls_client_*: both sides upgrade a plain connection.
AIO_TEST(StartTls, BothSidesUpgradeAPlainConnection) {
  StartTlsSide side;
  aio::Server srv = co_await aio::start_server(starttls_handler(&side), "127.0.0.1", 0);
  const int port = srv.addresses().at(0).port();
  auto [r, w] = co_await aio::open_connection("127.0.0.1", port);
  EXPECT_EQ(co_await aio::wait_for(r.readline(), 10), "220 ready\n");
  w.write("STARTTLS\n");
  EXPECT_EQ(co_await aio::wait_for(r.readline(), 10), "220 go ahead\n");
  co_await aio::wait_for(w.start_tls(client_ctx(), "localhost"), 10);
  EXPECT_FALSE(w.can_write_eof());
  w.write("over TLS\n");
  EXPECT_EQ(co_await aio::wait_for(r.readline(), 10), "secure: over TLS\n");
  EXPECT_EQ(co_await aio::wait_for(r.read(), 10), "");
  EXPECT_TRUE(side.upgraded.is_set());
  EXPECT_EQ(side.after, "over TLS\n");
  EXPECT_FALSE(side.error) << what_of(side.error);
  // A second start_tls on a TLS stream is a usage error.
  std::exception_ptr e = co_await error_of(w.start_tls(client_ctx(), "localhost"));
  EXPECT_TRUE(holds<aio::UsageError>(e)) << what_of(e);
  w.close();
  co_await w.wait_closed();
  srv.close();
  co_await aio::wait_for(srv.wait_closed(), 10);
}

namespace {
struct EarlyHello {
  aio::Event client_started_tls;
  std::string plain;
  std::string after;
  std::exception_ptr error;
};

// The server reads the plain line only once the client has sent its ClientHello too, so
// the ClientHello is (usually) read in the same receive: start_tls must take the bytes
// already buffered.
aio::Coro<void> early_hello_server(EarlyHello* st, aio::StreamReader r, aio::StreamWriter w) {
  try {
    co_await st->client_started_tls.wait();
    st->plain = co_await r.readline();
    co_await w.start_tls(server_ctx());
    st->after = co_await r.readline();
    w.write("ok " + st->after);
    co_await w.drain();
  } catch (...) {
    st->error = std::current_exception();
  }
  w.close();
}

aio::Coro<void> client_start_tls(aio::StreamWriter* w, EarlyHello* st) {
  aio::Coro<void> upgrade = w->start_tls(client_ctx(), "localhost");
  aio::Task<void> t = aio::create_task(std::move(upgrade));
  co_await run_briefly();  // the ClientHello is sent
  st->client_started_tls.set();
  co_await t;
}
}  // namespace

AIO_TEST(StartTls, ClientHelloRightAfterThePlainLine) {
  EarlyHello st;
  aio::Server srv = co_await aio::start_server(
      [&st](aio::StreamReader r, aio::StreamWriter w) { return early_hello_server(&st, std::move(r), std::move(w)); },
      "127.0.0.1", 0);
  const int port = srv.addresses().at(0).port();
  auto [r, w] = co_await aio::open_connection("127.0.0.1", port);
  w.write("STARTTLS\n");
  co_await aio::wait_for(client_start_tls(&w, &st), 10);
  w.write("hi\n");
  EXPECT_EQ(co_await aio::wait_for(r.readline(), 10), "ok hi\n");
  EXPECT_EQ(st.plain, "STARTTLS\n");
  EXPECT_EQ(st.after, "hi\n");
  EXPECT_FALSE(st.error) << what_of(st.error);
  w.close();
  co_await w.wait_closed();
  srv.close();
  co_await aio::wait_for(srv.wait_closed(), 10);
}

// A client start_tls whose verification fails: SslError, and the stream is closed.
AIO_TEST(StartTls, VerificationFailureClosesTheStream) {
  StartTlsSide side;
  aio::Server srv = co_await aio::start_server(starttls_handler(&side), "127.0.0.1", 0);
  const int port = srv.addresses().at(0).port();
  auto [r, w] = co_await aio::open_connection("127.0.0.1", port);
  EXPECT_EQ(co_await aio::wait_for(r.readline(), 10), "220 ready\n");
  w.write("STARTTLS\n");
  EXPECT_EQ(co_await aio::wait_for(r.readline(), 10), "220 go ahead\n");
  std::exception_ptr e = co_await error_of(aio::wait_for(w.start_tls(client_ctx(), "example.org"), 10));
  EXPECT_TRUE(holds<aio::SslError>(e)) << what_of(e);
  EXPECT_TRUE(has(what_of(e), "certificate verify failed")) << what_of(e);
  EXPECT_TRUE(w.is_closing());
  AIO_ASSERT_AWAITS_TRUE(eventually([&] { return srv.connection_count() == 0; }));
  EXPECT_TRUE(side.error != nullptr) << "the server's handshake should have failed too";
  w.close();
  srv.close();
  co_await aio::wait_for(srv.wait_closed(), 10);
}

// start_tls on a closed stream, or while another task reads: UsageError.
AIO_TEST(StartTls, UsageErrors) {
  auto sp = co_await connect_to_raw_peer();
  aio::Task<std::string> reading = aio::create_task(sp.reader.read(10));
  co_await run_briefly();
  std::exception_ptr e = co_await error_of(sp.writer.start_tls(client_ctx(), "localhost"));
  EXPECT_TRUE(holds<aio::UsageError>(e)) << what_of(e);
  sp.peer.send_now("x");
  EXPECT_EQ(co_await aio::wait_for(reading, 5), "x");
  sp.writer.close();
  e = co_await error_of(sp.writer.start_tls(client_ctx(), "localhost"));
  EXPECT_TRUE(holds<aio::UsageError>(e)) << what_of(e);
}

// Cancelling a client start_tls mid-handshake (the peer never answers) closes the stream:
// the peer gets the ClientHello, then EOF.
AIO_TEST(StartTls, CancelledHandshakeClosesTheStream) {
  auto sp = co_await connect_to_raw_peer();
  aio::Task<void> upgrade = aio::create_task(sp.writer.start_tls(client_ctx(), "localhost"));
  std::string hello = co_await aio::wait_for(sp.peer.recv_some(), 5);
  EXPECT_FALSE(hello.empty());
  EXPECT_FALSE(upgrade.done());
  upgrade.cancel();
  std::exception_ptr e = co_await error_of(upgrade);
  EXPECT_TRUE(holds<aio::CancelledError>(e)) << what_of(e);
  EXPECT_TRUE(sp.writer.is_closing());
  EXPECT_EQ(co_await aio::wait_for(sp.peer.recv_all(), 5), "");
}

// ================================================================================================
// Cancellation and load
// ================================================================================================

namespace {
aio::Coro<std::string> read_some(aio::StreamReader* r) {
  std::string s = co_await r->read(100);
  co_return s;
}
}  // namespace

// A cancelled TLS read loses nothing: what arrives later (or was decrypted meanwhile) is
// there for the next read.
AIO_TEST(TlsCancel, ReadLosesNothing) {
  TlsServer s;
  co_await start_tls_echo(&s, server_ctx());
  auto [r, w] =
      co_await aio::open_connection("127.0.0.1", s.port, {.ssl = client_ctx(), .server_hostname = "localhost"});
  for (int round = 0; round < 3; ++round) {
    aio::Task<std::string> reading = aio::create_task(read_some(&r));
    co_await spin(3);
    EXPECT_FALSE(reading.done());
    reading.cancel();
    std::exception_ptr e = co_await error_of(reading);
    EXPECT_TRUE(holds<aio::CancelledError>(e)) << what_of(e);
    const std::string msg = "round " + std::to_string(round);
    w.write(msg);
    EXPECT_EQ(co_await aio::wait_for(r.readexactly(msg.size()), 10), msg);
  }
  w.close();
  co_await w.wait_closed();
  co_await stop(&s);
}

namespace {
aio::Coro<bool> tls_client_exchange(int port, int i, aio::SslContext ctx) {
  auto [r, w] = co_await aio::open_connection("127.0.0.1", port, {.ssl = ctx, .server_hostname = "localhost"});
  const std::string msg = pattern(20000 + static_cast<std::size_t>(i) * 10, 0, static_cast<unsigned>(i));
  w.write(msg);
  std::string back = co_await r.readexactly(msg.size());
  w.close();
  co_await w.wait_closed();
  co_return back == msg;
}

aio::Coro<std::vector<bool>> gather_all(std::vector<aio::Task<bool>> tasks) {
  std::vector<bool> out = co_await aio::gather(std::move(tasks));
  co_return out;
}
}  // namespace

// 50 TLS clients at once (50 handshakes in flight), each echoing 20 KB.
AIO_TEST(TlsLoad, FiftyConcurrentClients) {
  TlsServer s;
  co_await start_tls_echo(&s, server_ctx());
  const aio::SslContext ctx = client_ctx();  // one context shared by every connection
  std::vector<aio::Task<bool>> clients;
  for (int i = 0; i < 50; ++i) clients.push_back(aio::create_task(tls_client_exchange(s.port, i, ctx)));
  std::vector<bool> ok = co_await aio::wait_for(gather_all(std::move(clients)), 60);
  EXPECT_EQ(std::count(ok.begin(), ok.end(), true), 50);
  AIO_ASSERT_AWAITS_TRUE(eventually([&] { return s.stats.finished == 50; }, 10));
  EXPECT_EQ(s.stats.errors, 0) << s.stats.error_messages.at(0);
  co_await stop(&s);
}

// ================================================================================================
// Interop with `openssl s_server` and `openssl s_client`
// ================================================================================================

namespace {
// Starts `openssl s_server` (-rev: answers each line reversed; "CLOSE" ends the connection;
// -naccept 1: exits after one connection) on a free port; waits until it accepts.
aio::Coro<int> start_s_server(Child* child, int port) {
  std::optional<std::string> seen = co_await child->read_until_line_containing("ACCEPT", 20);
  if (!seen) throw std::runtime_error("openssl s_server did not start: " + child->describe());
  co_return port;
}

aio::Coro<void> our_client_against_s_server(const char* protocol_flag) {
  const int port = unused_port();
  std::vector<std::string> argv = {kOpenssl,   "s_server",
                                   "-accept",  "127.0.0.1:" + std::to_string(port),
                                   "-cert",    pki("server.pem"),
                                   "-key",     pki("server.key"),
                                   "-naccept", "1",
                                   "-rev"};
  if (*protocol_flag) argv.push_back(protocol_flag);
  Child server = Child::spawn(argv);
  co_await start_s_server(&server, port);
  auto [r, w] = co_await aio::open_connection("127.0.0.1", port, {.ssl = client_ctx(), .server_hostname = "localhost"});
  w.write("hello world\n");
  EXPECT_EQ(co_await aio::wait_for(r.readline(), 10), "dlrow olleh\n") << server.describe();
  const std::string long_line = std::string(3000, 'a') + "b\n";
  w.write(long_line);
  EXPECT_EQ(co_await aio::wait_for(r.readline(), 10), "b" + std::string(3000, 'a') + "\n") << server.describe();
  w.write("CLOSE\n");
  std::string rest = co_await aio::wait_for(r.read(), 10);  // s_server closes: EOF
  EXPECT_TRUE(r.at_eof());
  (void)rest;
  w.close();
  co_await w.wait_closed();
  EXPECT_EQ(co_await server.wait(20), std::optional<int>(0)) << server.describe();
}
}  // namespace

TEST(OpensslInterop, OurClientAgainstSServer) {
  if (!interop::have_program(kOpenssl)) GTEST_SKIP() << "no " << kOpenssl;
  aio::testing::run_test(our_client_against_s_server(""));
}

TEST(OpensslInterop, OurClientAgainstSServerTls12) {
  if (!interop::have_program(kOpenssl)) GTEST_SKIP() << "no " << kOpenssl;
  aio::testing::run_test(our_client_against_s_server("-tls1_2"));
}

TEST(OpensslInterop, OurClientAgainstSServerTls13) {
  if (!interop::have_program(kOpenssl)) GTEST_SKIP() << "no " << kOpenssl;
  aio::testing::run_test(our_client_against_s_server("-tls1_3"));
}

namespace {
aio::Coro<void> s_client_against_our_server(const char* protocol_flag) {
  HandlerLog log;
  log.install();
  aio::Server srv = co_await aio::start_server(answer_one_line, "127.0.0.1", 0, {.ssl = server_ctx()});
  const int port = srv.addresses().at(0).port();
  std::vector<std::string> argv = {kOpenssl,
                                   "s_client",
                                   "-connect",
                                   "127.0.0.1:" + std::to_string(port),
                                   "-CAfile",
                                   pki("ca.pem"),
                                   "-verify_return_error",
                                   "-verify_hostname",
                                   "localhost",
                                   "-servername",
                                   "localhost",
                                   "-quiet"};
  if (*protocol_flag) argv.push_back(protocol_flag);
  Child client = Child::spawn(argv);
  co_await client.write("hello from s_client\n");
  std::string out = co_await client.read_all(20);  // until s_client exits (our server closed)
  EXPECT_EQ(out, "echo: hello from s_client\n") << client.describe();
  EXPECT_EQ(co_await client.wait(20), std::optional<int>(0)) << client.describe();
  EXPECT_TRUE(has(client.stderr_text(), "verify return:1")) << client.describe();
  AIO_ASSERT_AWAITS_TRUE(eventually([&] { return srv.connection_count() == 0; }));
  EXPECT_TRUE(log.contexts.empty()) << log.contexts.at(0).message;
  srv.close();
  co_await aio::wait_for(srv.wait_closed(), 10);
}

// s_client trusting another CA refuses our server (and our server reports nothing).
aio::Coro<void> s_client_refuses_our_server() {
  HandlerLog log;
  log.install();
  aio::Server srv = co_await aio::start_server(answer_one_line, "127.0.0.1", 0, {.ssl = server_ctx()});
  const int port = srv.addresses().at(0).port();
  Child client = Child::spawn({kOpenssl, "s_client", "-connect", "127.0.0.1:" + std::to_string(port), "-CAfile",
                               pki("other_ca.pem"), "-verify_return_error", "-servername", "localhost", "-quiet"});
  std::string out = co_await client.read_all(20);
  std::optional<int> code = co_await client.wait(20);
  EXPECT_TRUE(code.has_value() && *code != 0) << client.describe();
  EXPECT_EQ(out, "");
  EXPECT_TRUE(has(client.stderr_text(), "unable to get local issuer certificate")) << client.describe();
  AIO_ASSERT_AWAITS_TRUE(eventually([&] { return srv.connection_count() == 0; }));
  EXPECT_TRUE(log.contexts.empty()) << log.contexts.at(0).message;
  srv.close();
  co_await aio::wait_for(srv.wait_closed(), 10);
}
}  // namespace

TEST(OpensslInterop, SClientAgainstOurServer) {
  if (!interop::have_program(kOpenssl)) GTEST_SKIP() << "no " << kOpenssl;
  aio::testing::run_test(s_client_against_our_server(""));
}

TEST(OpensslInterop, SClientAgainstOurServerTls12) {
  if (!interop::have_program(kOpenssl)) GTEST_SKIP() << "no " << kOpenssl;
  aio::testing::run_test(s_client_against_our_server("-tls1_2"));
}

TEST(OpensslInterop, SClientWithAnotherCaRefusesOurServer) {
  if (!interop::have_program(kOpenssl)) GTEST_SKIP() << "no " << kOpenssl;
  aio::testing::run_test(s_client_refuses_our_server());
}
