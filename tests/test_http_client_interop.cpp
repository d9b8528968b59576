// aio::http::ClientSession against servers nobody here wrote: Python's http.server (HTTP/1.0
// and HTTP/1.1), aiohttp's server (gzip, chunked streams, cookies, redirects), nginx (static
// files, gzip, keep-alive), and HTTPS with certificates made at test time (verification and
// host-name checks on by default). Each server runs as a child process on 127.0.0.1 and is
// stopped by its pid; a missing program skips the test with a message.
#include <gtest/gtest.h>

#include <aio/aio.hpp>
#include <aio/http.hpp>
#include <aio/testing.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "interop_support.hpp"
#include "net_support.hpp"
#include "support.hpp"

namespace {

using aio::http::ClientResponse;
using aio::http::ClientSession;
using aio::http::SessionOptions;
using aio_test::interop::Child;
using aio_test::interop::have_program;
using aio_test::interop::TestPki;

const char* const kPython = "/usr/bin/python3";
const char* const kNginx = "/usr/sbin/nginx";

// Python's http.server: GET echoes the path, POST echoes the body; argv[1] is the protocol
// version (HTTP/1.0: the body ends when the connection closes). Prints its port.
const char* const kPyHttpServer = R"PY(
import sys, http.server
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = sys.argv[1]
    def log_message(self, *a): pass
    def do_GET(self):
        body = ("path=" + self.path).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        if self.protocol_version == "HTTP/1.1":
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(201)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
)PY";

// aiohttp's server: compressed, streamed, cookie-setting and redirecting routes.
const char* const kPyAiohttpServer = R"PY(
import asyncio, sys
from aiohttp import web
async def gz(request):
    resp = web.Response(text="compressed " * 1000)
    resp.enable_compression()
    return resp
async def stream(request):
    resp = web.StreamResponse()
    await resp.prepare(request)
    for i in range(50):
        await resp.write(b"chunk %d\n" % i)
    await resp.write_eof()
    return resp
async def cookie(request):
    resp = web.Response(text="set")
    resp.set_cookie("flavour", "oat")
    return resp
async def echo(request):
    return web.json_response({"cookie": request.headers.get("Cookie", ""), "method": request.method,
                              "json": await request.json() if request.can_read_body else None})
async def redirect(request):
    raise web.HTTPFound("/echo")
async def main():
    app = web.Application()
    app.add_routes([web.get("/gzip", gz), web.get("/stream", stream), web.get("/cookie", cookie),
                    web.route("*", "/echo", echo), web.get("/redirect", redirect)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(site._server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
)PY";

// A server that resets the connection (SO_LINGER 0, then close: an RST) after part of a
// response: argv[1] "head" resets before the head is complete, "body" in the middle of the body.
const char* const kPyResettingServer = R"PY(
import socket, struct, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    data = b""
    while b"\r\n\r\n" not in data:
        data += c.recv(65536)
    if sys.argv[1] == "head":
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Le")
    else:
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
)PY";

// Starts a Python server script and returns it with the URL prefix it printed.
aio::Coro<std::pair<std::unique_ptr<Child>, std::string>> start_python(const char* script, std::string arg = "") {
  std::vector<std::string> argv = {kPython, "-c", script};
  if (!arg.empty()) argv.push_back(arg);
  auto child = std::make_unique<Child>(Child::spawn(argv));
  std::optional<std::string> port = co_await child->read_line(20);
  if (!port || port->empty()) throw std::runtime_error("the Python server did not start");
  port->pop_back();
  co_return std::make_pair(std::move(child), "http://127.0.0.1:" + *port);
}

aio::Coro<void> python_http_server_http11_keep_alive();
TEST(HttpClientInterop, PythonHttpServerHttp11KeepAlive) {
  if (!have_program(kPython)) GTEST_SKIP() << "no " << kPython;
  aio::testing::run_test(python_http_server_http11_keep_alive());
}
aio::Coro<void> python_http_server_http11_keep_alive() {
  auto [server, base] = co_await start_python(kPyHttpServer, "HTTP/1.1");
  ClientSession session;
  for (int i = 0; i < 3; ++i) {
    ClientResponse resp = co_await session.get(base + "/a?i=" + std::to_string(i));
    EXPECT_EQ(resp.status(), 200);
    EXPECT_EQ(co_await resp.text(), "path=/a?i=" + std::to_string(i));
  }
  ClientResponse posted = co_await session.post(base + "/p", "payload");
  EXPECT_EQ(posted.status(), 201);
  EXPECT_EQ(posted.reason(), "Created");
  EXPECT_EQ(co_await posted.text(), "payload");
  EXPECT_EQ(session.pool().opened, 1u);
  co_await session.close();
}

aio::Coro<void> python_http_server_http10_body_until_close();
TEST(HttpClientInterop, PythonHttpServerHttp10BodyUntilClose) {
  if (!have_program(kPython)) GTEST_SKIP() << "no " << kPython;
  aio::testing::run_test(python_http_server_http10_body_until_close());
}
aio::Coro<void> python_http_server_http10_body_until_close() {
  auto [server, base] = co_await start_python(kPyHttpServer, "HTTP/1.0");
  ClientSession session;
  for (int i = 0; i < 2; ++i) {
    ClientResponse resp = co_await session.get(base + "/ten");
    EXPECT_EQ(resp.version_minor(), 0);
    EXPECT_EQ(co_await resp.text(), "path=/ten");
  }
  EXPECT_EQ(session.pool().opened, 2u);  // HTTP/1.0 without keep-alive: never reused
  EXPECT_EQ(session.pool().idle, 0u);
  co_await session.close();
}

aio::Coro<void> aiohttp_server();
TEST(HttpClientInterop, AiohttpServer) {
  if (!have_program(kPython)) GTEST_SKIP() << "no " << kPython;
  aio::testing::run_test(aiohttp_server());
}
aio::Coro<void> aiohttp_server() {
  auto [server, base] = co_await start_python(kPyAiohttpServer);
  ClientSession session;
  for (const char* coding : {"deflate", "gzip"}) {
    aio::http::RequestOptions opts{.headers = {{"Accept-Encoding", coding}}};
    ClientResponse resp = co_await session.get(base + "/gzip", opts);
    EXPECT_EQ(resp.header("content-encoding").value_or(""), coding);
    std::string text = co_await resp.text();
    EXPECT_EQ(text.size(), 11000u);
  }
  {
    ClientResponse resp = co_await session.get(base + "/stream");
    int lines = 0;
    for (;;) {
      std::string line = co_await resp.content().readline();
      if (line.empty()) break;
      EXPECT_EQ(line, "chunk " + std::to_string(lines++) + "\n");
    }
    EXPECT_EQ(lines, 50);
  }
  {
    ClientResponse set = co_await session.get(base + "/cookie");
    co_await set.read();
    nlohmann::json body{{"x", 1}};
    ClientResponse resp = co_await session.post(base + "/echo", body);
    nlohmann::json j = co_await resp.json();
    EXPECT_EQ(j["cookie"], "flavour=oat");
    EXPECT_EQ(j["json"], body);
  }
  {
    ClientResponse resp = co_await session.get(base + "/redirect");
    EXPECT_EQ(resp.url(), base + "/echo");
    EXPECT_EQ((co_await resp.json())["method"], "GET");
  }
  EXPECT_EQ(session.pool().opened, 1u);
  co_await session.close();
}

AIO_TEST(HttpClientInterop, ResetMidHeadAndMidBodyIsAConnectionError) {
  if (!have_program(kPython)) AIO_SKIP_TEST("no /usr/bin/python3");
  for (const char* where : {"head", "body"}) {
    auto [server, base] = co_await start_python(kPyResettingServer, where);
    ClientSession session;
    try {
      ClientResponse resp = co_await session.get(base + "/");
      co_await resp.read();
      ADD_FAILURE() << "a reset must fail the request";
    } catch (const aio::http::ClientConnectionError& e) {
      // A reset is a broken connection; the OS may also report it as an early EOF.
      SUCCEED() << e.what();
    } catch (const aio::http::ClientPayloadError& e) {
      EXPECT_STREQ(where, "body") << e.what();
    }
    EXPECT_EQ(session.pool().acquired, 0u);
    EXPECT_EQ(session.pool().idle, 0u);
    co_await session.close();
  }
}

// nginx with a config in a temp dir: static files, gzip, keep-alive.
class Nginx {
 public:
  static aio::Coro<std::unique_ptr<Nginx>> start() {
    auto n = std::unique_ptr<Nginx>(new Nginx);
    char tmpl[] = "/tmp/aio-nginx-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
    n->dir_ = tmpl;
    n->port_ = aio_test::net::unused_port();
    std::filesystem::create_directories(n->dir_ + "/html");
    std::filesystem::create_directories(n->dir_ + "/logs");
    std::ofstream(n->dir_ + "/html/small.txt") << "hello from nginx\n";
    std::ofstream(n->dir_ + "/html/big.txt") << std::string(200000, 'n');
    std::ofstream conf(n->dir_ + "/nginx.conf");
    conf << (::geteuid() == 0 ? "user root;\n" : "") << "daemon off;\nworker_processes 1;\npid " << n->dir_
         << "/nginx.pid;\nerror_log " << n->dir_ << "/logs/error.log;\nevents { worker_connections 64; }\n"
         << "http {\n access_log off;\n client_body_temp_path " << n->dir_ << "/tmp;\n proxy_temp_path " << n->dir_
         << "/tmp;\n fastcgi_temp_path " << n->dir_ << "/tmp;\n uwsgi_temp_path " << n->dir_
         << "/tmp;\n scgi_temp_path " << n->dir_
         << "/tmp;\n keepalive_requests 1000;\n gzip on;\n gzip_types text/plain;\n gzip_min_length 1000;\n"
         << " server {\n  listen 127.0.0.1:" << n->port_ << ";\n  root " << n->dir_ << "/html;\n"
         << "  location = /moved { return 301 /small.txt; }\n }\n}\n";
    conf.close();
    n->child_ = std::make_unique<Child>(
        Child::spawn({kNginx, "-p", n->dir_, "-c", n->dir_ + "/nginx.conf", "-e", n->dir_ + "/logs/error.log"}));
    for (int i = 0; i < 500; ++i) {  // up to 5 s for the port to open
      try {
        auto [r, w] = co_await aio::open_connection("127.0.0.1", n->port_);
        co_return n;
      } catch (const std::system_error&) {
      }
      co_await aio::sleep(0.01);
    }
    throw std::runtime_error("nginx did not start: see " + n->dir_ + "/logs/error.log");
  }
  ~Nginx() {
    child_.reset();  // SIGKILL by pid, reaped
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

 private:
  Nginx() = default;
  std::string dir_;
  int port_ = 0;
  std::unique_ptr<Child> child_;
};

aio::Coro<void> nginx();
TEST(HttpClientInterop, Nginx) {
  if (!have_program(kNginx)) GTEST_SKIP() << "no " << kNginx << " (Debian nginx-light)";
  aio::testing::run_test(nginx());
}
aio::Coro<void> nginx() {
  auto nginx = co_await Nginx::start();
  ClientSession session;
  for (int i = 0; i < 3; ++i) {
    ClientResponse resp = co_await session.get(nginx->url("/small.txt"));
    EXPECT_EQ(resp.status(), 200);
    EXPECT_EQ(co_await resp.text(), "hello from nginx\n");
  }
  {
    ClientResponse resp = co_await session.get(nginx->url("/big.txt"));
    EXPECT_EQ(resp.header("content-encoding").value_or(""), "gzip");  // chunked and gzip
    EXPECT_EQ(co_await resp.text(), std::string(200000, 'n'));
  }
  {
    ClientResponse resp = co_await session.get(nginx->url("/moved"));
    EXPECT_EQ(resp.url(), nginx->url("/small.txt"));
    EXPECT_EQ(co_await resp.text(), "hello from nginx\n");
  }
  {
    ClientResponse resp = co_await session.head(nginx->url("/big.txt"));
    EXPECT_EQ(resp.status(), 200);
    co_await resp.read();
  }
  {
    ClientResponse resp = co_await session.get(nginx->url("/missing"));
    EXPECT_EQ(resp.status(), 404);
    EXPECT_THROW(resp.raise_for_status(), aio::http::ClientResponseError);
  }
  EXPECT_EQ(session.pool().opened, 1u);
  co_await session.close();
}

// --- HTTPS ----------------------------------------------------------------------------------

class HttpsSite {
 public:
  static aio::Coro<std::unique_ptr<HttpsSite>> start(const std::string& cert) {
    auto s = std::unique_ptr<HttpsSite>(new HttpsSite);
    const TestPki& pki = TestPki::get();
    s->ctx_.emplace(aio::SslContext::server(pki.path(cert), pki.path("server.key")));
    s->app_.router().add_get("/", [](aio::http::Request&) -> aio::Coro<aio::http::Response> {
      co_return aio::http::Response::text("secure");
    });
    aio::http::RunOptions options{.ssl = *s->ctx_};
    s->site_ = co_await aio::http::start_server(s->app_, "127.0.0.1", 0, options);
    co_return s;
  }
  std::string url(const std::string& host) const {
    return "https://" + host + ":" + std::to_string(site_.port()) + "/";
  }
  aio::Coro<void> stop() {
    site_.close();
    co_await site_.wait_closed();
  }

 private:
  HttpsSite() = default;
  std::optional<aio::SslContext> ctx_;
  aio::http::Application app_;
  aio::http::Site site_;
};

AIO_TEST(HttpClientInterop, HttpsVerifiesCertificateAndHostName) {
  auto site = co_await HttpsSite::start("server.pem");
  aio::SslContext trusting = aio::SslContext::client();
  trusting.load_verify_locations(TestPki::get().path("ca.pem"));
  ClientSession session(SessionOptions{.ssl = trusting});
  for (const char* host : {"127.0.0.1", "localhost"}) {
    ClientResponse resp = co_await session.get(site->url(host));
    EXPECT_EQ(co_await resp.text(), "secure");
  }
  ClientResponse again = co_await session.get(site->url("127.0.0.1"));
  EXPECT_EQ(co_await again.text(), "secure");
  EXPECT_EQ(session.pool().opened, 2u);  // one per host name: 127.0.0.1 reused
  // The default session trusts only the system's CAs: our test CA is not one of them.
  ClientSession strict;
  EXPECT_THROW(co_await strict.get(site->url("127.0.0.1")), aio::http::ClientConnectionError);
  co_await strict.close();
  co_await session.close();
  co_await site->stop();
}

AIO_TEST(HttpClientInterop, HttpsRejectsAWrongHostName) {
  auto site = co_await HttpsSite::start("wrong_host.pem");
  aio::SslContext trusting = aio::SslContext::client();
  trusting.load_verify_locations(TestPki::get().path("ca.pem"));
  ClientSession session(SessionOptions{.ssl = trusting});
  EXPECT_THROW(co_await session.get(site->url("localhost")), aio::http::ClientConnectionError);
  EXPECT_EQ(session.pool().acquired, 0u);
  co_await session.close();
  co_await site->stop();
}

#ifdef AIO_HTTP_CLIENT_EXAMPLE
// The seed's client program: three concurrent GETs through one session, against the server
// it starts itself.
AIO_TEST(HttpClientInterop, SeedClientExample) {
  Child example = Child::spawn({AIO_HTTP_CLIENT_EXAMPLE});
  std::string out = co_await example.read_all(20);
  EXPECT_EQ(co_await example.wait(20), std::optional<int>(0)) << out;
  for (const char* line :
       {"/ -> 200 location /\n", "/hello -> 200 location /hello\n", "/world -> 200 location /world\n"})
    EXPECT_NE(out.find(line), std::string::npos) << out;
}
#endif

}  // namespace
