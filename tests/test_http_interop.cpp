// aio::http against clients nobody here wrote: curl (HTTP/1.1, keep-alive, chunked upload,
// HTTPS), Python's http.client, and aiohttp's ClientSession (the seed's client program).
// Each client runs as a child process while the server runs in the test's loop. The
// clients are installed by scripts/install-deps.sh (curl, wrk, python3-aiohttp): a missing one
// fails the test rather than skipping it.
#include <gtest/gtest.h>

#include <aio/aio.hpp>
#include <aio/http.hpp>
#include <aio/subprocess.hpp>
#include <aio/testing.hpp>

#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "interop_support.hpp"

namespace {

using aio::http::Application;
using aio::http::Request;
using aio::http::Response;

aio::Coro<Response> hello(Request& request) {
  std::string uri = request.match_info("uri");
  co_return Response::text("location /" + uri, 200, "text/html");
}

aio::Coro<Response> echo(Request& request) {
  std::string body = co_await request.read();
  co_return Response::text(std::string(request.method()) + " " + std::to_string(body.size()) + " " + body);
}

// The seed's routes (and /echo) served on 127.0.0.1 with an ephemeral port, for one test.
class SeedSite {
 public:
  static aio::Coro<std::unique_ptr<SeedSite>> start(aio::http::RunOptions options = {}) {
    auto s = std::unique_ptr<SeedSite>(new SeedSite);
    s->app_.add_routes({aio::http::get("/", hello), aio::http::get("/{uri}", hello), aio::http::post("/echo", echo)});
    s->site_ = co_await aio::http::start_server(s->app_, "127.0.0.1", 0, options);
    co_return s;
  }
  std::string port() const { return std::to_string(site_.port()); }
  aio::Coro<void> stop() {
    site_.close();
    co_await site_.wait_closed();
  }

 private:
  SeedSite() = default;
  Application app_;
  aio::http::Site site_;
};

struct Output {
  int code = -1;
  std::string out, err;
};

aio::Coro<Output> run_program(std::vector<std::string> argv) {
  aio::Process p = co_await aio::create_subprocess_exec(argv, {.out = aio::PIPE, .err = aio::PIPE});
  auto [out, err] = co_await p.communicate();
  Output o;
  o.code = co_await p.wait();
  o.out = std::move(out);
  o.err = std::move(err);
  co_return o;
}

AIO_TEST(HttpInterop, CurlGetsThePagesOverOneKeptAliveConnection) {
  auto seed = co_await SeedSite::start();
  const std::string base = "http://127.0.0.1:" + seed->port();
  std::vector<std::string> argv = {
      "/usr/bin/curl", "-sS", "--http1.1", "-w", " [%{http_code} %{num_connects}]\n", base + "/", base + "/hello"};
  Output o = co_await run_program(argv);
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "location / [200 1]\nlocation /hello [200 0]\n") << "the second request reused the connection";
  co_await seed->stop();
}

AIO_TEST(HttpInterop, CurlChunkedUploadAndHead) {
  auto seed = co_await SeedSite::start();
  const std::string base = "http://127.0.0.1:" + seed->port();
  std::vector<std::string> upload = {"/usr/bin/curl", "-sS",          "-H",          "Transfer-Encoding: chunked",
                                     "--data-binary", "chunked body", base + "/echo"};
  Output o = co_await run_program(upload);
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "POST 12 chunked body");
  std::vector<std::string> head = {"/usr/bin/curl", "-sS", "-I", base + "/x"};
  Output h = co_await run_program(head);
  EXPECT_EQ(h.code, 0) << h.err;
  EXPECT_NE(h.out.find("HTTP/1.1 200 OK\r\n"), std::string::npos) << h.out;
  EXPECT_NE(h.out.find("Content-Length: 11\r\n"), std::string::npos) << h.out;
  co_await seed->stop();
}

AIO_TEST(HttpInterop, CurlOverHttps) {
  const auto& pki = aio_test::interop::TestPki::get();
  aio::SslContext ctx = aio::SslContext::server(pki.path("server.pem"), pki.path("server.key"));
  auto seed = co_await SeedSite::start({.ssl = ctx});
  const std::string url = "https://localhost:" + seed->port() + "/secure";
  std::vector<std::string> argv = {"/usr/bin/curl",
                                   "-sS",
                                   "--cacert",
                                   pki.path("ca.pem"),
                                   "--resolve",
                                   "localhost:" + seed->port() + ":127.0.0.1",
                                   url,
                                   url};
  Output o = co_await run_program(argv);
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "location /securelocation /secure");
  co_await seed->stop();
}

AIO_TEST(HttpInterop, PythonHttpClient) {
  auto seed = co_await SeedSite::start();
  const std::string script =
      "import http.client, sys\n"
      "c = http.client.HTTPConnection('127.0.0.1', int(sys.argv[1]))\n"
      "for path in ['/', '/py']:\n"
      "    c.request('GET', path)\n"
      "    r = c.getresponse()\n"
      "    print(r.status, r.getheader('Content-Type'), r.read().decode())\n"
      "c.request('POST', '/echo', body=b'x' * 70000)\n"
      "r = c.getresponse()\n"
      "print(r.status, r.read()[:11].decode())\n";
  std::vector<std::string> argv = {"/usr/bin/python3", "-c", script, seed->port()};
  Output o = co_await run_program(argv);
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out,
            "200 text/html; charset=utf-8 location /\n"
            "200 text/html; charset=utf-8 location /py\n"
            "200 POST 70000 \n");
  co_await seed->stop();
}

// The seed's client program: three gets at once through one aiohttp.ClientSession.
AIO_TEST(HttpInterop, AiohttpClientSession) {
  auto seed = co_await SeedSite::start();
  const std::string script =
      "import asyncio, aiohttp, sys\n"
      "async def fetch(session, url):\n"
      "    async with session.get(url) as response:\n"
      "        return response.status, await response.text()\n"
      "async def main():\n"
      "    base = 'http://127.0.0.1:' + sys.argv[1]\n"
      "    async with aiohttp.ClientSession() as session:\n"
      "        results = await asyncio.gather(*(fetch(session, base + p) for p in ['/a', '/b', '/c']))\n"
      "        for status, text in results: print(status, text)\n"
      "        async with session.post(base + '/echo', json={'k': 1}) as r: print(r.status, await r.text())\n"
      "asyncio.run(main())\n";
  std::vector<std::string> argv = {"/usr/bin/python3", "-c", script, seed->port()};
  Output o = co_await run_program(argv);
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "200 location /a\n200 location /b\n200 location /c\n200 POST 8 {\"k\": 1}\n");
  co_await seed->stop();
}

#ifdef AIO_HELLO_WEB
// The seed's server program as users run it: started, fetched with curl, stopped by SIGINT
// (graceful: exit status 0).
AIO_TEST(HttpInterop, SeedServerProgramWithCurl) {
  std::vector<std::string> argv = {AIO_HELLO_WEB, "0"};
  aio::Process server = co_await aio::create_subprocess_exec(argv, {.out = aio::PIPE});
  const std::string banner = co_await server.out().readline();
  EXPECT_EQ(banner.rfind("======== Running on http://0.0.0.0:", 0), 0u) << banner;
  const std::string port =
      banner.substr(banner.rfind(':') + 1, banner.find(' ', banner.rfind(':')) - banner.rfind(':') - 1);
  std::vector<std::string> curl = {"/usr/bin/curl", "-sS", "-i", "http://127.0.0.1:" + port + "/seed"};
  Output o = co_await run_program(curl);
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << o.out;
  EXPECT_NE(o.out.find("Content-Type: text/html; charset=utf-8\r\n"), std::string::npos) << o.out;
  EXPECT_EQ(o.out.substr(o.out.size() - 16), "\r\nlocation /seed") << o.out;
  server.send_signal(SIGINT);
  EXPECT_EQ(co_await server.wait(), 0);
}
#endif

// wrk (the benchmark's load generator) for a second: every response must be a 2xx.
AIO_TEST(HttpInterop, WrkSeesOnlySuccessfulResponses) {
  auto seed = co_await SeedSite::start();
  std::vector<std::string> argv = {"/usr/bin/wrk", "-t1", "-c8", "-d1s", "http://127.0.0.1:" + seed->port() + "/wrk"};
  Output o = co_await run_program(argv);
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.out.find("requests in"), std::string::npos) << o.out;
  EXPECT_EQ(o.out.find("Non-2xx"), std::string::npos) << o.out;
  EXPECT_EQ(o.out.find("Socket errors"), std::string::npos) << o.out;
  co_await seed->stop();
}

}  // namespace
