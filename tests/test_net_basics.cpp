// End-to-end sanity checks of the network layer, one per capability: a TCP echo round
// trip (small and 1 MiB, with half-close), a name with several addresses (v4 and v6) and
// Happy Eyeballs, a refused connection, TLS with a verified self-signed certificate (and the
// two ways verification fails), and UDP both ways. The detailed ports of CPython's
// test_streams.py / test_server.py are in test_streams.cpp and test_server.cpp.
#include <aio/aio.hpp>
#include <aio/server.hpp>
#include <aio/streams.hpp>
#include <aio/testing.hpp>

namespace {
aio::Coro<void> echo(aio::StreamReader r, aio::StreamWriter w) {
  for (;;) {
    std::string data = co_await r.read(65536);
    if (data.empty()) break;
    w.write(data);
    co_await w.drain();
  }
  w.close();
  co_await w.wait_closed();
}
}  // namespace

AIO_TEST(NetBasics, Echo) {
  auto server = co_await aio::start_server(echo, "127.0.0.1", 0);
  int port = server.addresses().at(0).port();
  auto [r, w] = co_await aio::open_connection("127.0.0.1", port);
  w.write("Hello World!\n");
  co_await w.drain();
  std::string line = co_await r.readline();
  EXPECT_EQ(line, "Hello World!\n");
  std::string big(1 << 20, 'x');
  w.write(big);
  w.write_eof();
  std::string back = co_await r.read();
  EXPECT_EQ(back.size(), big.size());
  w.close();
  co_await w.wait_closed();
  server.close();
  co_await server.wait_closed();
}

AIO_TEST(NetBasics, Localhost) {
  auto server = co_await aio::start_server(echo, "localhost", 0);
  EXPECT_GE(server.addresses().size(), 1u);
  for (auto& a : server.addresses()) {
    auto [r, w] = co_await aio::open_connection(a.host(), a.port());
    w.write("x");
    EXPECT_EQ(co_await r.readexactly(1), "x");
    w.close();
  }
  auto [r, w] =
      co_await aio::open_connection("localhost", server.addresses()[0].port(), {.happy_eyeballs_delay = 0.25});
  w.write("hey\n");
  EXPECT_EQ(co_await r.readuntil("\n"), "hey\n");
  w.close();
  co_await w.wait_closed();
  server.close();
  co_await server.wait_closed();
}

AIO_TEST(NetBasics, Refused) {
  bool threw = false;
  try {
    co_await aio::open_connection("127.0.0.1", 1);
  } catch (const std::system_error& e) {
    threw = true;
    EXPECT_EQ(e.code().value(), ECONNREFUSED) << e.what();
  }
  EXPECT_TRUE(threw);
}

#include <cstdlib>
#include <filesystem>
namespace {
std::string make_cert_dir() {
  static std::string dir;
  if (!dir.empty()) return dir;
  char tmpl[] = "/tmp/aio-tls-XXXXXX";
  dir = mkdtemp(tmpl);
  std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + dir + "/key.pem -out " + dir +
      "/cert.pem -days 1 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) std::abort();
  return dir;
}
}  // namespace

AIO_TEST(NetBasics, Tls) {
  std::string dir = make_cert_dir();
  auto sctx = aio::SslContext::server(dir + "/cert.pem", dir + "/key.pem");
  auto server = co_await aio::start_server(echo, "127.0.0.1", 0, {.ssl = sctx});
  int port = server.addresses().at(0).port();
  auto cctx = aio::SslContext::client();
  cctx.load_verify_locations(dir + "/cert.pem");
  {
    auto [r, w] = co_await aio::open_connection("127.0.0.1", port, {.ssl = cctx, .server_hostname = "localhost"});
    w.write("Hello TLS\n");
    EXPECT_EQ(co_await r.readline(), "Hello TLS\n");
    std::string big(300000, 'y');
    w.write(big);
    EXPECT_EQ((co_await r.readexactly(big.size())).size(), big.size());
    w.close();
    co_await w.wait_closed();
  }
  // Verification against the system store fails: self-signed.
  bool failed = false;
  try {
    co_await aio::open_connection("127.0.0.1", port,
                                  {.ssl = aio::SslContext::client(), .server_hostname = "localhost"});
  } catch (const aio::SslError& e) {
    failed = true;
    EXPECT_NE(std::string(e.what()).find("certificate verify failed"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(failed);
  // Wrong host name.
  failed = false;
  try {
    co_await aio::open_connection("127.0.0.1", port, {.ssl = cctx, .server_hostname = "example.org"});
  } catch (const aio::SslError& e) {
    failed = true;
    EXPECT_NE(std::string(e.what()).find("verify failed"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(failed);
  server.close();
  co_await server.wait_closed();
}

AIO_TEST(NetBasics, Udp) {
  auto a = co_await aio::open_datagram({.local_addr = aio::SocketAddress("127.0.0.1", 0)});
  auto b = co_await aio::open_datagram({.remote_addr = a.sockname()});
  co_await b.send("ping");
  auto [data, from] = co_await a.recv_from();
  EXPECT_EQ(data, "ping");
  co_await a.send_to("pong", from);
  auto [d2, f2] = co_await b.recv_from();
  EXPECT_EQ(d2, "pong");
  EXPECT_EQ(f2, a.sockname());
}
