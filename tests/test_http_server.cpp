// aio::http server: routing, requests, responses, HTTP/1.1 keep-alive and pipelining,
// bodies, errors, strict parsing at the connection, static files, lifecycle, shutdown.
// aiohttp's documented behaviour is the reference (test_web_functional.py,
// test_web_urldispatcher.py, test_web_request.py); the clients are raw sockets that send
// exact bytes, so every byte of the answer is checked.
#include <gtest/gtest.h>

#include <aio/aio.hpp>
#include <aio/http.hpp>
#include <aio/testing.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include "http_support.hpp"
#include "loopback_sockets.hpp"
#include "support.hpp"

namespace {

using aio::http::Application;
using aio::http::Request;
using aio::http::Response;
using aio_test::get_request;
using aio_test::RawClient;
using aio_test::RawResponse;

aio::Coro<Response> hello(Request& request) {
  std::string uri = request.match_info("uri");
  co_return Response::text("location /" + uri, 200, "text/html");
}

aio::Coro<Response> echo_body(Request& request) {
  std::string body = co_await request.read();
  co_return Response::bytes(body, "application/octet-stream");
}

aio::Coro<Response> fixed(std::string text) { co_return Response::text(std::move(text)); }

// A site on 127.0.0.1 with an ephemeral port; closes and waits in stop().
struct TestSite {
  aio::http::Site site;
  int port = 0;
  static aio::Coro<TestSite> start(Application& app, aio::http::RunOptions options = {}) {
    TestSite t;
    t.site = co_await aio::http::start_server(app, "127.0.0.1", 0, options);
    t.port = t.site.port();
    co_return t;
  }
  aio::Coro<void> stop() {
    site.close();
    co_await site.wait_closed();
  }
};

// One request on a fresh connection; the response.
aio::Coro<RawResponse> fetch(int port, std::string request, bool head = false) {
  RawClient c = co_await RawClient::connect(port);
  co_await c.send(std::move(request));
  RawResponse r = co_await c.response(head);
  c.writer.close();
  co_await c.writer.wait_closed();
  co_return r;
}

// --- routing -------------------------------------------------------------------------------

AIO_TEST(HttpRouting, SeedProgramRoutes) {
  Application app;
  app.add_routes({aio::http::get("/", hello), aio::http::get("/{uri}", hello)});
  TestSite s = co_await TestSite::start(app);
  RawResponse root = co_await fetch(s.port, get_request("/"));
  EXPECT_EQ(root.status, 200);
  EXPECT_EQ(root.body, "location /");
  EXPECT_EQ(root.header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(root.header("content-length"), "10");
  EXPECT_EQ(root.header("server"), "aio");
  EXPECT_TRUE(root.header("date").has_value());
  RawResponse named = co_await fetch(s.port, get_request("/hello"));
  EXPECT_EQ(named.body, "location /hello");
  RawResponse decoded = co_await fetch(s.port, get_request("/a%20b"));
  EXPECT_EQ(decoded.body, "location /a b") << "match_info holds the decoded segment";
  RawResponse deeper = co_await fetch(s.port, get_request("/a/b"));
  EXPECT_EQ(deeper.status, 404) << "{uri} matches one segment only";
  co_await s.stop();
}

AIO_TEST(HttpRouting, NotFoundAndMethodNotAllowed) {
  Application app;
  app.router().add_get("/items", [](Request&) { return fixed("list"); });
  app.router().add_post("/items", [](Request&) { return fixed("made"); });
  app.router().add_delete("/items/{id}", [](Request&) { return fixed("gone"); });
  TestSite s = co_await TestSite::start(app);
  RawResponse missing = co_await fetch(s.port, get_request("/nothing"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, "404: Not Found");
  RawResponse wrong = co_await fetch(s.port, "PUT /items HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.header("allow"), "GET, HEAD, POST");
  RawResponse wrong_pattern = co_await fetch(s.port, get_request("/items/7"));
  EXPECT_EQ(wrong_pattern.status, 405);
  EXPECT_EQ(wrong_pattern.header("allow"), "DELETE");
  RawResponse post = co_await fetch(s.port, "POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(post.body, "made");
  co_await s.stop();
}

AIO_TEST(HttpRouting, PatternsRegexAndTail) {
  Application app;
  app.router().add_get("/users/me", [](Request&) { return fixed("me"); });
  app.router().add_get("/users/{id:\\d+}", [](Request& r) { return fixed("id " + r.match_info("id")); });
  app.router().add_get("/users/{name}", [](Request& r) { return fixed("name " + r.match_info("name")); });
  app.router().add_get("/files/{tail:.*}", [](Request& r) { return fixed("tail " + r.match_info("tail")); });
  app.router().add_get("/v{major}.{minor}/x",
                       [](Request& r) { return fixed(r.match_info("major") + "|" + r.match_info("minor")); });
  TestSite s = co_await TestSite::start(app);
  EXPECT_EQ((co_await fetch(s.port, get_request("/users/me"))).body, "me");
  EXPECT_EQ((co_await fetch(s.port, get_request("/users/42"))).body, "id 42");
  EXPECT_EQ((co_await fetch(s.port, get_request("/users/bob"))).body, "name bob");
  EXPECT_EQ((co_await fetch(s.port, get_request("/files/a/b/c.txt"))).body, "tail a/b/c.txt");
  EXPECT_EQ((co_await fetch(s.port, get_request("/files/"))).body, "tail ");
  EXPECT_EQ((co_await fetch(s.port, get_request("/v1.2/x"))).body, "1|2");
  EXPECT_EQ((co_await fetch(s.port, get_request("/users/"))).status, 404);
  co_await s.stop();
}

AIO_TEST(HttpRouting, RoutesCannotBeAddedWhileServing) {
  Application app;
  app.router().add_get("/", [](Request&) { return fixed("x"); });
  TestSite s = co_await TestSite::start(app);
  EXPECT_THROW(app.router().add_get("/late", [](Request&) { return fixed("y"); }), aio::UsageError);
  co_await s.stop();
}

TEST(HttpRouting, BadPathsAreRefused) {
  Application app;
  auto h = [](Request&) { return fixed("x"); };
  EXPECT_THROW(app.router().add_get("nope", h), std::invalid_argument);
  EXPECT_THROW(app.router().add_get("/{a", h), std::invalid_argument);
  EXPECT_THROW(app.router().add_get("/a}", h), std::invalid_argument);
  EXPECT_THROW(app.router().add_get("/{a}/{a}", h), std::invalid_argument);
  EXPECT_THROW(app.router().add_get("/{a:(}", h), std::invalid_argument);
  EXPECT_THROW(app.router().add_route("BAD METHOD", "/x", h), std::invalid_argument);
  app.router().add_get("/dup", h);
  EXPECT_THROW(app.router().add_get("/dup", h), std::invalid_argument);
  EXPECT_THROW(app.router().add_static("/static", "/nonexistent/dir/for/sure"), std::invalid_argument);
}

AIO_TEST(HttpRouting, HeadIsAnsweredByGetWithoutBody) {
  Application app;
  app.router().add_get("/", [](Request&) { return fixed("twelve bytes"); });
  TestSite s = co_await TestSite::start(app);
  RawClient c = co_await RawClient::connect(s.port);
  co_await c.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n" + get_request("/"));
  RawResponse head = co_await c.response(/*head=*/true);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("content-length"), "12");
  RawResponse get = co_await c.response();
  EXPECT_EQ(get.body, "twelve bytes") << "no body bytes were sent for HEAD (else they would show up here)";
  c.writer.close();
  co_await s.stop();
}

// --- requests ------------------------------------------------------------------------------

AIO_TEST(HttpRequest, QueryHeadersCookiesAndVersion) {
  Application app;
  app.router().add_get("/q", [](Request& r) -> aio::Coro<Response> {
    std::string out;
    out += std::string(r.method()) + "|" + r.path() + "|" + std::string(r.raw_path()) + "|" +
           std::string(r.query_string()) + "|";
    out += r.query("a").value_or("-") + "|" + r.query("b").value_or("-") + "|" + r.query("zz").value_or("-") + "|";
    out += std::to_string(r.query_params().getall("a").size()) + "|";
    out += std::string(r.header("x-CUSTOM").value_or("-")) + "|" + r.cookie("session").value_or("-") + "|";
    out += std::to_string(r.version().major) + "." + std::to_string(r.version().minor) + "|" +
           (r.keep_alive() ? "ka" : "close") + "|" + r.remote() + "|" + std::string(r.host());
    co_return Response::text(out);
  });
  TestSite s = co_await TestSite::start(app);
  RawResponse r = co_await fetch(
      s.port, get_request("/q?a=1&b=two+words&a=%33", "X-Custom: yes\r\nCookie: theme=dark; session=abc123\r\n"));
  EXPECT_EQ(
      r.body,
      "GET|/q|/q?a=1&b=two+words&a=%33|a=1&b=two+words&a=%33|1|two words|-|2|yes|abc123|1.1|ka|127.0.0.1|localhost");
  co_await s.stop();
}

AIO_TEST(HttpRequest, BodiesByLengthAndChunked) {
  Application app;
  app.router().add_post("/echo", echo_body);
  TestSite s = co_await TestSite::start(app);
  RawClient c = co_await RawClient::connect(s.port);
  co_await c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ((co_await c.response()).body, "hello");
  co_await c.send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nchunk\r\n1\r\n-\r\n6\r\nbodies\r\n0\r\nTrailer: yes\r\n\r\n");
  EXPECT_EQ((co_await c.response()).body, "chunk-bodies");
  co_await c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ((co_await c.response()).body, "");
  c.writer.close();
  co_await s.stop();
}

AIO_TEST(HttpRequest, BodyAsStream) {
  Application app;
  app.router().add_post("/lines", [](Request& r) -> aio::Coro<Response> {
    std::string out;
    aio::http::BodyReader& body = r.content();
    while (!body.at_eof()) {
      std::string line = co_await body.readline();
      if (line.empty()) break;
      out += "[" + line + "]";
    }
    co_return Response::text(out);
  });
  TestSite s = co_await TestSite::start(app);
  RawResponse r = co_await fetch(s.port,
                                 "POST /lines HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                                 "chunked\r\n\r\n4\r\none\n\r\n6\r\ntwo\nth\r\n4\r\nree\n\r\n0\r\n\r\n");
  EXPECT_EQ(r.body, "[one\n][two\n][three\n]");
  co_await s.stop();
}

AIO_TEST(HttpRequest, JsonInAndOut) {
  Application app;
  app.router().add_post("/sum", [](Request& r) -> aio::Coro<Response> {
    nlohmann::json in = co_await r.json();
    nlohmann::json out = {{"sum", in["a"].get<int>() + in["b"].get<int>()}};
    co_return Response::json(out, 201);
  });
  TestSite s = co_await TestSite::start(app);
  const std::string body = R"({"a": 2, "b": 40})";
  RawResponse r =
      co_await fetch(s.port, "POST /sum HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                                 std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.body, R"({"sum":42})");
  RawResponse bad = co_await fetch(s.port, "POST /sum HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n{x}");
  EXPECT_EQ(bad.status, 400);
  co_await s.stop();
}

AIO_TEST(HttpRequest, FormPosts) {
  Application app;
  app.router().add_post("/form", [](Request& r) -> aio::Coro<Response> {
    aio::http::FormData form = co_await r.post();
    std::string out = form.get("name").value_or("-") + "|" + std::to_string(form.getall("tag").size());
    if (const aio::http::FormField* f = form.field("upload")) out += "|" + f->filename.value_or("-") + "|" + f->value;
    co_return Response::text(out);
  });
  TestSite s = co_await TestSite::start(app);
  const std::string urlencoded = "name=J%C3%BCrgen+X&tag=a&tag=b";
  RawResponse a = co_await fetch(
      s.port, "POST /form HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
                  std::to_string(urlencoded.size()) + "\r\n\r\n" + urlencoded);
  EXPECT_EQ(a.body, "J\xC3\xBCrgen X|2");
  const std::string multipart =
      "--XyZ\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nAda\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\n"
      "line1\r\n--XyZnot-a-boundary\r\n--XyZ--\r\n";
  RawResponse b = co_await fetch(
      s.port, "POST /form HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: " +
                  std::to_string(multipart.size()) + "\r\n\r\n" + multipart);
  EXPECT_EQ(b.body, "Ada|0|a.txt|line1\r\n--XyZnot-a-boundary");
  co_await s.stop();
}

AIO_TEST(HttpRequest, BodyOverClientMaxSizeIs413) {
  Application app(aio::http::AppOptions{.client_max_size = 10});
  app.router().add_post("/echo", echo_body);
  TestSite s = co_await TestSite::start(app);
  RawResponse declared =
      co_await fetch(s.port, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n01234567890");
  EXPECT_EQ(declared.status, 413);
  EXPECT_EQ(declared.header("connection"), "close");
  RawResponse chunked = co_await fetch(
      s.port,
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n6\r\n678901\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.status, 413);
  RawResponse fits = co_await fetch(s.port, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789");
  EXPECT_EQ(fits.body, "0123456789");
  co_await s.stop();
}

// The 413 reaches a client that is still sending its (refused) body: the server half-closes
// and drops what follows instead of closing with unread input (which makes the kernel send a
// reset that can destroy the answer).
AIO_TEST(HttpRequest, RefusedBodyStillGetsItsAnswer) {
  Application app(aio::http::AppOptions{.client_max_size = 1000});
  app.router().add_post("/echo", echo_body);
  TestSite s = co_await TestSite::start(app);
  RawClient c = co_await RawClient::connect(s.port);
  const std::string body(200 * 1000, 'x');
  c.writer.write("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n");
  c.writer.write(body);
  RawResponse r = co_await c.response();
  EXPECT_EQ(r.status, 413);
  c.writer.close();
  co_await s.stop();
}

AIO_TEST(HttpRequest, ExpectContinueIsAnsweredWhenTheBodyIsRead) {
  Application app;
  app.router().add_post("/echo", echo_body);
  app.router().add_post("/reject", [](Request&) -> aio::Coro<Response> { throw aio::http::HttpError(403); });
  TestSite s = co_await TestSite::start(app);
  RawClient c = co_await RawClient::connect(s.port);
  co_await c.send("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  RawResponse interim = co_await c.response();
  EXPECT_EQ(interim.status, 100);
  co_await c.send("data");
  EXPECT_EQ((co_await c.response()).body, "data");
  c.writer.close();
  RawClient d = co_await RawClient::connect(s.port);
  co_await d.send("POST /reject HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  RawResponse refused = co_await d.response();
  EXPECT_EQ(refused.status, 403) << "no 100 Continue for a handler that never reads the body";
  d.writer.close();
  co_await s.stop();
}

// --- responses -----------------------------------------------------------------------------

AIO_TEST(HttpResponse, HeadersCookiesRedirectsAndStatus) {
  Application app;
  app.router().add_get("/c", [](Request&) -> aio::Coro<Response> {
    Response r = Response::text("ok", 202);
    r.set_header("X-One", "1");
    r.set_header("x-one", "2");  // replaces, any case
    r.add_header("X-Many", "a");
    r.add_header("X-Many", "b");
    r.set_cookie("sid", "v1", {.max_age = 60, .http_only = true});
    co_return r;
  });
  app.router().add_get("/r", [](Request&) -> aio::Coro<Response> { co_return Response::redirect("/c", 301); });
  app.router().add_get("/nobody", [](Request&) -> aio::Coro<Response> { co_return Response(204); });
  TestSite s = co_await TestSite::start(app);
  RawResponse c = co_await fetch(s.port, get_request("/c"));
  EXPECT_EQ(c.status, 202);
  EXPECT_EQ(c.status_line, "HTTP/1.1 202 Accepted");
  EXPECT_EQ(c.headers.count("x-one"), 1u);
  EXPECT_EQ(c.header("x-one"), "2");
  EXPECT_EQ(c.headers.count("x-many"), 2u);
  EXPECT_EQ(c.header("set-cookie"), "sid=v1; Path=/; Max-Age=60; HttpOnly");
  RawResponse r = co_await fetch(s.port, get_request("/r"));
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(r.header("location"), "/c");
  RawResponse n = co_await fetch(s.port, get_request("/nobody"));
  EXPECT_EQ(n.status, 204);
  EXPECT_FALSE(n.header("content-length").has_value());
  co_await s.stop();
}

TEST(HttpResponse, HeaderInjectionAndServerHeadersAreRefused) {
  Response r;
  EXPECT_THROW(r.set_header("X-Bad", "a\r\nSet-Cookie: evil=1"), std::invalid_argument);
  EXPECT_THROW(r.set_header("X Bad", "v"), std::invalid_argument);
  EXPECT_THROW(r.set_header("Content-Length", "5"), std::invalid_argument);
  EXPECT_THROW(r.set_cookie("bad name", "v"), std::invalid_argument);
  EXPECT_THROW(r.set_cookie("ok", "has;semicolon"), std::invalid_argument);
  EXPECT_THROW(Response::redirect("/x", 200), std::invalid_argument);
  EXPECT_THROW(Response(42), std::invalid_argument);
}

TEST(HttpResponse, ErrorsAndReasonsCannotSplitTheResponse) {
  EXPECT_THROW(aio::http::HttpError(503).with_header("Retry-After", "1\r\nX: y"), std::invalid_argument);
  EXPECT_THROW(aio::http::HttpError(503).with_header("Content-Length", "0"), std::invalid_argument);
  Response r;
  EXPECT_THROW(r.set_reason("OK\r\nSet-Cookie: x=1"), std::invalid_argument);
  r.set_reason("Fine");
  EXPECT_EQ(r.reason(), "Fine");
}

AIO_TEST(HttpResponse, StreamResponseWithExpectContinueSendsTheInterimResponseFirst) {
  Application app;
  app.router().add_post("/up", [](Request& request) -> aio::Coro<Response> {
    aio::http::StreamResponse resp(200);
    co_await resp.prepare(request);
    std::string body = co_await request.read();
    co_await resp.write("got " + body);
    co_return resp;
  });
  TestSite s = co_await TestSite::start(app);
  RawClient c = co_await RawClient::connect(s.port);
  co_await c.send("POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  EXPECT_EQ((co_await c.response()).status, 100);
  co_await c.send("data");
  RawResponse r = co_await c.response();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "got data");
  c.writer.close();
  co_await s.stop();
}

AIO_TEST(HttpResponse, StreamResponseMisuseIsRefused) {
  Application app;
  std::vector<std::string> errors;
  app.router().add_get("/twice", [&errors](Request& request) -> aio::Coro<Response> {
    aio::http::StreamResponse resp(200);
    co_await resp.prepare(request);
    aio::http::StreamResponse again(200);
    try {
      co_await again.prepare(request);
    } catch (const aio::UsageError& e) {
      errors.push_back(e.what());
    }
    co_await resp.write("one");
    co_return resp;
  });
  app.router().add_get("/nocontent", [&errors](Request& request) -> aio::Coro<Response> {
    aio::http::StreamResponse resp(204);
    co_await resp.prepare(request);
    try {
      co_await resp.write("body");
    } catch (const aio::UsageError& e) {
      errors.push_back(e.what());
    }
    co_return resp;
  });
  TestSite s = co_await TestSite::start(app);
  RawClient c = co_await RawClient::connect(s.port);
  co_await c.send(get_request("/twice") + get_request("/nocontent") + get_request("/twice"));
  EXPECT_EQ((co_await c.response()).body, "one");
  EXPECT_EQ((co_await c.response()).status, 204);
  EXPECT_EQ((co_await c.response()).body, "one") << "the connection stayed in step";
  EXPECT_EQ(errors.size(), 3u);
  c.writer.close();
  co_await s.stop();
}

AIO_TEST(HttpResponse, StreamResponseIsChunked) {
  Application app;
  app.router().add_get("/stream", [](Request& request) -> aio::Coro<Response> {
    aio::http::StreamResponse resp(200);
    resp.set_content_type("text/plain");
    co_await resp.prepare(request);
    co_await resp.write("part 1\n");
    co_await aio::sleep(0.001);
    co_await resp.write("part 2\n");
    co_await resp.write_eof();
    co_return resp;
  });
  app.router().add_get("/sized", [](Request& request) -> aio::Coro<Response> {
    aio::http::StreamResponse resp(200);
    resp.set_content_length(6);
    co_await resp.prepare(request);
    co_await resp.write("abc");
    co_await resp.write("def");
    co_return resp;  // write_eof is implied
  });
  TestSite s = co_await TestSite::start(app);
  RawClient c = co_await RawClient::connect(s.port);
  co_await c.send(get_request("/stream"));
  RawResponse r = co_await c.response();
  EXPECT_TRUE(r.chunked);
  EXPECT_EQ(r.body, "part 1\npart 2\n");
  co_await c.send(get_request("/sized"));
  RawResponse sized = co_await c.response();
  EXPECT_FALSE(sized.chunked);
  EXPECT_EQ(sized.body, "abcdef");
  c.writer.close();
  co_await s.stop();
}

// --- errors --------------------------------------------------------------------------------

AIO_TEST(HttpErrors, HttpErrorAnd500KeepTheServerAlive) {
  Application app;
  app.router().add_get("/teapot", [](Request&) -> aio::Coro<Response> {
    throw aio::http::HttpError(418, "short and stout").with_header("X-Why", "tea");
  });
  app.router().add_get("/boom", [](Request&) -> aio::Coro<Response> { throw std::runtime_error("kaboom"); });
  app.router().add_get("/ok", [](Request&) { return fixed("fine"); });
  std::vector<std::string> reported;
  aio::get_running_loop().set_exception_handler([&](aio::EventLoop&, const aio::ExceptionContext& ctx) {
    reported.push_back(ctx.message + " / " + aio::describe(ctx.exception));
  });
  TestSite s = co_await TestSite::start(app);
  RawClient c = co_await RawClient::connect(s.port);
  co_await c.send(get_request("/teapot") + get_request("/boom") + get_request("/ok"));
  RawResponse teapot = co_await c.response();
  EXPECT_EQ(teapot.status, 418);
  EXPECT_EQ(teapot.body, "short and stout");
  EXPECT_EQ(teapot.header("x-why"), "tea");
  RawResponse boom = co_await c.response();
  EXPECT_EQ(boom.status, 500);
  EXPECT_EQ(boom.body.find("kaboom"), std::string::npos) << "the error is not leaked to the client";
  RawResponse ok = co_await c.response();
  EXPECT_EQ(ok.body, "fine") << "the connection lives on after a 500";
  AIO_ASSERT_EQ(reported.size(), 1u);
  EXPECT_NE(reported[0].find("GET /boom"), std::string::npos) << reported[0];
  EXPECT_NE(reported[0].find("kaboom"), std::string::npos) << reported[0];
  c.writer.close();
  co_await s.stop();
  aio::get_running_loop().set_exception_handler({});
}

// --- middlewares and lifecycle --------------------------------------------------------------

AIO_TEST(HttpApp, MiddlewaresRunInOrderAroundTheHandler) {
  Application app;
  std::vector<std::string> log;
  app.middlewares().push_back([&log](Request& r, aio::http::Handler next) -> aio::Coro<Response> {
    log.push_back("outer in");
    Response resp = co_await next(r);
    resp.set_header("X-Outer", "1");
    log.push_back("outer out");
    co_return resp;
  });
  app.middlewares().push_back([&log](Request& r, aio::http::Handler next) -> aio::Coro<Response> {
    log.push_back("inner in");
    if (r.path() == "/blocked") throw aio::http::HttpError(403);
    Response resp = co_await next(r);
    log.push_back("inner out");
    co_return resp;
  });
  app.router().add_get("/", [&log](Request&) -> aio::Coro<Response> {
    log.push_back("handler");
    co_return Response::text("ok");
  });
  TestSite s = co_await TestSite::start(app);
  RawResponse r = co_await fetch(s.port, get_request("/"));
  EXPECT_EQ(r.body, "ok");
  EXPECT_EQ(r.header("x-outer"), "1");
  EXPECT_EQ(log, (std::vector<std::string>{"outer in", "inner in", "handler", "inner out", "outer out"}));
  RawResponse blocked = co_await fetch(s.port, get_request("/blocked"));
  EXPECT_EQ(blocked.status, 403);
  log.clear();
  RawResponse missing = co_await fetch(s.port, get_request("/missing"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(log, (std::vector<std::string>{"outer in", "inner in"})) << "middlewares see unknown paths too";
  co_await s.stop();
}

AIO_TEST(HttpApp, StartupAndCleanupRunInOrder) {
  Application app;
  std::vector<std::string> log;
  app.on_startup([&log](Application&) -> aio::Coro<void> {
    log.push_back("startup 1");
    co_return;
  });
  app.on_startup([&log](Application&) -> aio::Coro<void> {
    co_await aio::sleep(0);
    log.push_back("startup 2");
  });
  app.on_cleanup([&log](Application&) -> aio::Coro<void> {
    log.push_back("cleanup");
    co_return;
  });
  app.router().add_get("/", [](Request&) { return fixed("x"); });
  TestSite s = co_await TestSite::start(app);
  EXPECT_EQ(log, (std::vector<std::string>{"startup 1", "startup 2"}));
  co_await s.stop();
  EXPECT_EQ(log, (std::vector<std::string>{"startup 1", "startup 2", "cleanup"}));
}

// --- HTTP/1.1 connection behaviour ----------------------------------------------------------

AIO_TEST(HttpConnection, KeepAliveAndPipelining) {
  Application app;
  int counter = 0;
  app.router().add_get("/{n}", [&counter](Request& r) -> aio::Coro<Response> {
    co_return Response::text(r.match_info("n") + ":" + std::to_string(++counter));
  });
  TestSite s = co_await TestSite::start(app);
  RawClient c = co_await RawClient::connect(s.port);
  std::string batch;
  for (int i = 0; i < 16; ++i) {
    std::string path = "/";
    path += std::to_string(i);  // not "/" + to_string(i): GCC 12's -Wrestrict false positive
    batch += get_request(path);
  }
  co_await c.send(batch);
  for (int i = 0; i < 16; ++i) {
    RawResponse r = co_await c.response();
    EXPECT_EQ(r.body, std::to_string(i) + ":" + std::to_string(i + 1)) << "responses in request order";
    EXPECT_FALSE(r.header("connection").has_value());
  }
  co_await c.send(get_request("/last", "Connection: close\r\n"));
  RawResponse last = co_await c.response();
  EXPECT_EQ(last.header("connection"), "close");
  EXPECT_TRUE(co_await c.closed_by_server());
  co_await s.stop();
}

AIO_TEST(HttpConnection, RequestSplitAtEveryByte) {
  Application app;
  app.router().add_post("/echo", echo_body);
  TestSite s = co_await TestSite::start(app);
  const std::string request =
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
  RawClient c = co_await RawClient::connect(s.port);
  for (char byte : request) {
    co_await c.send(std::string(1, byte));
    co_await aio::sleep(0);  // let the server take each byte alone
  }
  EXPECT_EQ((co_await c.response()).body, "abcde");
  c.writer.close();
  co_await s.stop();
}

AIO_TEST(HttpConnection, Http10ClosesUnlessKeepAlive) {
  Application app;
  app.router().add_get("/", [](Request&) { return fixed("old"); });
  TestSite s = co_await TestSite::start(app);
  RawClient c = co_await RawClient::connect(s.port);
  co_await c.send("GET / HTTP/1.0\r\n\r\n");
  RawResponse r = co_await c.response();
  EXPECT_EQ(r.status_line, "HTTP/1.0 200 OK");
  EXPECT_EQ(r.body, "old");
  EXPECT_TRUE(co_await c.closed_by_server());
  RawClient k = co_await RawClient::connect(s.port);
  co_await k.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  RawResponse kr = co_await k.response();
  EXPECT_EQ(kr.header("connection"), "keep-alive");
  co_await k.send("GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ((co_await k.response()).body, "old");
  co_await s.stop();
}

// Each of these is answered with 400 (431, 414, 505 where said) and the connection closed.
AIO_TEST(HttpConnection, SmugglingAndBadInputAreRefused) {
  Application app;
  app.router().add_route("*", "/", [](Request& r) -> aio::Coro<Response> {
    std::string body = co_await r.read();
    co_return Response::text("reached:" + body);
  });
  TestSite s = co_await TestSite::start(app);
  struct Case {
    const char* what;
    std::string bytes;
    int status;
  };
  const std::vector<Case> cases = {
      {"CL and TE", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       400},
      {"duplicate CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400},
      {"non-numeric CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\nx", 400},
      {"TE not chunked last", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400},
      {"bare LF", "GET / HTTP/1.1\nHost: x\r\n\r\n", 400},
      {"bare CR", "GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", 400},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", 400},
      {"space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},
      {"NUL in header", std::string("GET / HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n", 35), 400},
      {"no Host on 1.1", "GET / HTTP/1.1\r\n\r\n", 400},
      {"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"bad chunk size", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400},
      {"TE on HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
      {"long request line", "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
      {"too many headers",
       "GET / HTTP/1.1\r\nHost: x\r\n" +
           [] {
             std::string h;
             for (int i = 0; i < 101; ++i) h += "X-" + std::to_string(i) + ": v\r\n";
             return h;
           }() +
           "\r\n",
       431},
  };
  for (const Case& k : cases) {
    RawClient c = co_await RawClient::connect(s.port);
    co_await c.send(k.bytes + get_request("/"));  // a second request that must not be reached
    RawResponse r = co_await c.response();
    EXPECT_EQ(r.status, k.status) << k.what;
    EXPECT_EQ(r.header("connection"), "close") << k.what;
    EXPECT_EQ(r.body.find("reached"), std::string::npos) << k.what;
    EXPECT_TRUE(co_await c.closed_by_server()) << k.what << ": the pipelined request after it was not served";
    c.writer.close();
  }
  co_await s.stop();
}

AIO_TEST(HttpConnection, SlowHeadIsCutOffAtHeaderTimeout) {
  Application app;
  app.router().add_get("/", [](Request&) { return fixed("x"); });
  TestSite s = co_await TestSite::start(app, {.keepalive_timeout = 30.0, .header_timeout = 0.2});
  RawClient c = co_await RawClient::connect(s.port);
  co_await c.send("GET / HTTP/1.1\r\nHost:");  // and nothing more (slowloris)
  const double started = aio::get_running_loop().time();
  EXPECT_TRUE(co_await aio::wait_for(c.closed_by_server(), 10.0));
  EXPECT_GE(aio::get_running_loop().time() - started, 0.15);
  co_await s.stop();
}

AIO_TEST(HttpConnection, IdleKeepAliveIsClosedAfterTimeout) {
  Application app;
  app.router().add_get("/", [](Request&) { return fixed("x"); });
  TestSite s = co_await TestSite::start(app, {.keepalive_timeout = 0.2});
  RawClient c = co_await RawClient::connect(s.port);
  co_await c.send(get_request("/"));
  EXPECT_EQ((co_await c.response()).body, "x");
  EXPECT_TRUE(co_await aio::wait_for(c.closed_by_server(), 10.0));
  co_await s.stop();
}

AIO_TEST(HttpConnection, TrickledBodyIsCutOffAtBodyTimeout) {
  Application app;
  app.router().add_post("/echo", echo_body);
  std::vector<std::string> reported;
  aio::get_running_loop().set_exception_handler(
      [&](aio::EventLoop&, const aio::ExceptionContext& ctx) { reported.push_back(ctx.message); });
  TestSite s = co_await TestSite::start(app, {.body_timeout = 0.2});
  RawClient c = co_await RawClient::connect(s.port);
  co_await c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");  // 7 bytes never come
  EXPECT_TRUE(co_await aio::wait_for(c.closed_by_server(), 10.0));
  EXPECT_TRUE(reported.empty()) << "a client that stops sending is not the handler's error: " << reported.front();
  co_await s.stop();
  aio::get_running_loop().set_exception_handler({});
}

// Out of fds (EMFILE): accept() fails, the failure is reported, the server keeps serving the
// connections it has and accepts again once fds are free (the stream server's behaviour,
// which aio::http inherits: this checks it holds with HTTP on top).
AIO_TEST(HttpConnection, OutOfFdsIsSurvived) {
  aio_test::FdExhaustion fds;  // (before the server starts)
  Application app;
  app.router().add_get("/", [](Request&) { return fixed("x"); });
  std::vector<int> reported;
  aio::get_running_loop().set_exception_handler([&](aio::EventLoop&, const aio::ExceptionContext& ctx) {
    try {
      if (ctx.exception) std::rethrow_exception(ctx.exception);
    } catch (const std::system_error& e) {
      reported.push_back(e.code().value());
    } catch (...) {
      reported.push_back(-1);
    }
  });
  TestSite s = co_await TestSite::start(app);
  RawClient a = co_await RawClient::connect(s.port);
  co_await a.send(get_request("/"));
  EXPECT_EQ((co_await aio::wait_for(a.response(), 5.0)).body, "x");
  // Meet the types of the report path while fds are free (UBSan's first check of a dynamic
  // type opens a pipe; see test_server.cpp), then forget the warm-up report.
  aio::get_running_loop().call_exception_handler(
      {"warm-up", std::make_exception_ptr(std::system_error(EMFILE, std::generic_category(), "warm-up")), {}});
  co_await aio::sleep(0.001);
  reported.clear();
  const int b = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  AIO_ASSERT_TRUE(b >= 0);
  {
    fds.exhaust();
    const sockaddr_in addr = aio_test::loopback_address(s.port);
    const int connected = ::connect(b, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);  // accept() now fails
    co_await aio::sleep(1.2);  // the server retries accept after 1 s
    co_await a.send(get_request("/"));
    const RawResponse again = co_await aio::wait_for(a.response(), 5.0);
    fds.release();
    EXPECT_EQ(connected, 0);
    EXPECT_EQ(again.body, "x") << "the open connection is served while accept() fails";
  }
  EXPECT_FALSE(reported.empty()) << "accept's EMFILE was reported";
  for (int err : reported) EXPECT_EQ(err, EMFILE);
  RawClient c = co_await RawClient::connect(s.port);  // accepted again once fds are free
  co_await c.send(get_request("/"));
  EXPECT_EQ((co_await aio::wait_for(c.response(), 5.0)).body, "x");
  ::close(b);
  a.writer.close();
  c.writer.close();
  co_await s.stop();
  aio::get_running_loop().set_exception_handler({});
}

// --- shutdown ------------------------------------------------------------------------------

AIO_TEST(HttpShutdown, IdleConnectionsCloseAtOnceAndInFlightRequestsFinish) {
  Application app;
  aio::Event entered, release;
  app.router().add_get("/slow", [&](Request&) -> aio::Coro<Response> {
    entered.set();
    co_await release.wait();
    co_return Response::text("finished");
  });
  app.router().add_get("/", [](Request&) { return fixed("x"); });
  TestSite s = co_await TestSite::start(app);
  RawClient idle = co_await RawClient::connect(s.port);
  co_await idle.send(get_request("/"));
  EXPECT_EQ((co_await idle.response()).body, "x");
  RawClient busy = co_await RawClient::connect(s.port);
  co_await busy.send(get_request("/slow"));
  co_await entered.wait();
  s.site.close();
  EXPECT_TRUE(co_await aio::wait_for(idle.closed_by_server(), 10.0)) << "idle keep-alive closed at once";
  release.set();
  RawResponse r = co_await busy.response();
  EXPECT_EQ(r.body, "finished");
  EXPECT_EQ(r.header("connection"), "close");
  co_await s.site.wait_closed();
  EXPECT_EQ(s.site.connection_count(), 0u);
}

AIO_TEST(HttpShutdown, HandlersStillRunningAfterShutdownTimeoutAreCancelled) {
  Application app;
  aio::Event entered;
  bool cancelled = false;
  app.router().add_get("/forever", [&](Request&) -> aio::Coro<Response> {
    entered.set();
    try {
      co_await aio::sleep(3600);
    } catch (const aio::CancelledError&) {
      cancelled = true;
      throw;
    }
    co_return Response::text("never");
  });
  TestSite s = co_await TestSite::start(app, {.shutdown_timeout = 0.1});
  RawClient c = co_await RawClient::connect(s.port);
  co_await c.send(get_request("/forever"));
  co_await entered.wait();
  co_await s.stop();
  EXPECT_TRUE(cancelled);
}

// A client that goes away mid-request does not cancel its handler (aiohttp's surprise).
AIO_TEST(HttpShutdown, DisconnectDoesNotCancelTheHandler) {
  Application app;
  aio::Event entered, release, done;
  app.router().add_get("/work", [&](Request&) -> aio::Coro<Response> {
    entered.set();
    co_await release.wait();
    done.set();
    co_return Response::text("done");
  });
  TestSite s = co_await TestSite::start(app);
  {
    RawClient c = co_await RawClient::connect(s.port);
    co_await c.send(get_request("/work"));
    co_await entered.wait();
    c.writer.close();
    co_await c.writer.wait_closed();
  }
  co_await aio::sleep(0.01);
  release.set();
  co_await done.wait();
  EXPECT_TRUE(done.is_set());
  co_await s.stop();
}

AIO_TEST(HttpShutdown, DisconnectCancelsTheHandlerWhenAskedTo) {
  Application app;
  aio::Event entered, cancelled;
  app.router().add_get("/work", [&](Request&) -> aio::Coro<Response> {
    entered.set();
    try {
      co_await aio::sleep(3600);
    } catch (const aio::CancelledError&) {
      cancelled.set();
      throw;
    }
    co_return Response::text("never");
  });
  TestSite s = co_await TestSite::start(app, {.cancel_handler_on_disconnect = true});
  {
    RawClient c = co_await RawClient::connect(s.port);
    co_await c.send(get_request("/work"));
    co_await entered.wait();
    c.writer.close();
    co_await c.writer.wait_closed();
  }
  co_await cancelled.wait();  // a hang here is the failure (the test's timeout ends it)
  EXPECT_TRUE(cancelled.is_set());
  co_await s.stop();
}

// --- static files --------------------------------------------------------------------------

struct TempTree {
  std::string root;
  TempTree() {
    char pattern[] = "/tmp/aio-http-XXXXXX";
    root = ::mkdtemp(pattern);
  }
  ~TempTree() { std::filesystem::remove_all(root); }
  void write(const std::string& rel, const std::string& content) const {
    std::filesystem::create_directories(std::filesystem::path(root + "/" + rel).parent_path());
    std::ofstream(root + "/" + rel, std::ios::binary) << content;
  }
};

AIO_TEST(HttpStatic, ServesFilesAndRefusesTraversal) {
  TempTree outside;
  outside.write("secret.txt", "top secret");
  TempTree tree;
  tree.write("pub/index.html", "<h1>hi</h1>");
  tree.write("pub/css/a.css", "body{}");
  std::filesystem::create_symlink(outside.root + "/secret.txt", tree.root + "/pub/leak.txt");
  Application app;
  app.router().add_static("/static", tree.root + "/pub");
  TestSite s = co_await TestSite::start(app);
  RawResponse index = co_await fetch(s.port, get_request("/static/index.html"));
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, "<h1>hi</h1>");
  EXPECT_EQ(index.header("content-type"), "text/html; charset=utf-8");
  EXPECT_TRUE(index.header("last-modified").has_value());
  EXPECT_TRUE(index.header("etag").has_value());
  EXPECT_EQ((co_await fetch(s.port, get_request("/static/css/a.css"))).body, "body{}");
  for (const char* bad :
       {"/static/../secret.txt", "/static/%2e%2e/%2e%2e/secret.txt", "/static/css/..%2f..%2findex.html",
        "/static/leak.txt", "/static/css", "/static/nothing.txt", "/static/%00x"}) {
    RawResponse r = co_await fetch(s.port, get_request(bad));
    EXPECT_TRUE(r.status == 404 || r.status == 400) << bad << " gave " << r.status;
    EXPECT_EQ(r.body.find("secret"), std::string::npos) << bad;
  }
  co_await s.stop();
}

AIO_TEST(HttpStatic, HeadOfAMissingFileSendsNoBody) {
  Application app;
  app.router().add_get("/gone", [](Request&) -> aio::Coro<Response> { co_return Response::file("/nonexistent/file"); });
  app.router().add_get("/ok", [](Request&) { return fixed("ok"); });
  TestSite s = co_await TestSite::start(app);
  RawClient c = co_await RawClient::connect(s.port);
  co_await c.send("HEAD /gone HTTP/1.1\r\nHost: x\r\n\r\n" + get_request("/ok"));
  EXPECT_EQ((co_await c.response(/*head=*/true)).status, 404);
  EXPECT_EQ((co_await c.response()).body, "ok") << "no 404 body bytes in between";
  c.writer.close();
  co_await s.stop();
}

AIO_TEST(HttpStatic, RangesAndConditionalRequests) {
  TempTree tree;
  tree.write("f.txt", "0123456789");
  Application app;
  app.router().add_get("/f",
                       [&tree](Request&) -> aio::Coro<Response> { co_return Response::file(tree.root + "/f.txt"); });
  TestSite s = co_await TestSite::start(app);
  RawResponse whole = co_await fetch(s.port, get_request("/f"));
  EXPECT_EQ(whole.body, "0123456789");
  EXPECT_EQ(whole.header("accept-ranges"), "bytes");
  RawResponse part = co_await fetch(s.port, get_request("/f", "Range: bytes=2-4\r\n"));
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.body, "234");
  EXPECT_EQ(part.header("content-range"), "bytes 2-4/10");
  RawResponse suffix = co_await fetch(s.port, get_request("/f", "Range: bytes=-3\r\n"));
  EXPECT_EQ(suffix.body, "789");
  RawResponse beyond = co_await fetch(s.port, get_request("/f", "Range: bytes=20-30\r\n"));
  EXPECT_EQ(beyond.status, 416);
  EXPECT_EQ(beyond.header("content-range"), "bytes */10");
  RawResponse cached =
      co_await fetch(s.port, get_request("/f", "If-Modified-Since: " + *whole.header("last-modified") + "\r\n"));
  EXPECT_EQ(cached.status, 304);
  RawResponse etag = co_await fetch(s.port, get_request("/f", "If-None-Match: " + *whole.header("etag") + "\r\n"));
  EXPECT_EQ(etag.status, 304);
  RawResponse head = co_await fetch(s.port, "HEAD /f HTTP/1.1\r\nHost: x\r\n\r\n", /*head=*/true);
  EXPECT_EQ(head.header("content-length"), "10");
  co_await s.stop();
}

}  // namespace

// --- memory: idle keep-alive connections ------------------------------------------------------

namespace {

[[maybe_unused]] long rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

// One blocking keep-alive exchange on a new connection; the fd stays open. -1 on failure,
// with `why` saying which step failed.
[[maybe_unused]] int connect_and_fetch(int port, std::string& why) {
  const int fd = aio_test::connect_loopback(port);
  if (fd < 0) return why = std::string("connect: ") + std::strerror(errno), -1;
  const std::string request = get_request("/");
  if (::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size()))
    return why = std::string("write: ") + std::strerror(errno), ::close(fd), -1;
  std::string got;
  char buf[1024];
  while (got.find("\r\n\r\nok") == std::string::npos) {
    const ssize_t n = aio_test::read_some(fd, buf, sizeof buf);
    if (n <= 0) {
      why = n == 0 ? "the server closed the connection after " + std::to_string(got.size()) + " bytes"
                   : std::string("read: ") + std::strerror(errno);
      return ::close(fd), -1;
    }
    got.append(buf, static_cast<std::size_t>(n));
  }
  return fd;
}

}  // namespace

// 10 000 keep-alive connections, each idle after one request, cost at most 4 KiB each of
// the server's memory (its RSS growth), buffers included. The server runs in a forked
// process so that only its memory is measured.
TEST(HttpMemory, IdleKeepAliveConnectionsCostAtMost4KiBEach) {
#ifdef AIO_TEST_SANITIZER_ALLOCATOR
  GTEST_SKIP() << "sanitizers pad every allocation: RSS says nothing about aio's costs there";
#else
  constexpr int kWarm = 1000, kTotal = 10000;
  rlimit fds{};
  ::getrlimit(RLIMIT_NOFILE, &fds);
  if (fds.rlim_max < kTotal + 100)
    GTEST_SKIP() << "needs " << kTotal + 100 << " fds; the hard limit is " << fds.rlim_max;
  fds.rlim_cur = fds.rlim_max;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &fds), 0);
  int port_pipe[2];
  ASSERT_EQ(::pipe2(port_pipe, O_CLOEXEC), 0);
  const pid_t server = ::fork();
  if (server == 0) {
    ::close(port_pipe[0]);
    Application app;
    app.router().add_get("/", [](Request&) { return fixed("ok"); });
    aio::run([](Application& a, int out) -> aio::Coro<void> {
      aio::http::Site site = co_await aio::http::start_server(a, "127.0.0.1", 0, {.backlog = 4096});
      const int port = site.port();
      if (::write(out, &port, sizeof port) != sizeof port) ::_exit(3);
      co_await aio::sleep(3600);  // killed by the test
    }(app, port_pipe[1]));
    ::_exit(0);
  }
  ::close(port_pipe[1]);
  int port = 0;
  ASSERT_EQ(::read(port_pipe[0], &port, sizeof port), static_cast<ssize_t>(sizeof port));
  ::close(port_pipe[0]);
  std::vector<int> clients;
  clients.reserve(kTotal);
  long warm_rss = 0;
  std::string why;
  for (int i = 0; i < kTotal; ++i) {
    const int fd = connect_and_fetch(port, why);
    if (fd < 0) break;
    clients.push_back(fd);
    if (i + 1 == kWarm) warm_rss = rss_kib(server);
  }
  const long full_rss = rss_kib(server);
  int status = 0;
  const bool server_died = ::waitpid(server, &status, WNOHANG) == server;
  if (!server_died) {
    ::kill(server, SIGKILL);
    ::waitpid(server, nullptr, 0);
  }
  for (int fd : clients) ::close(fd);
  ASSERT_EQ(clients.size(), static_cast<std::size_t>(kTotal))
      << "connection " << clients.size() + 1 << " failed: " << why << "; the server "
      << (!server_died          ? std::string("was still running")
          : WIFSIGNALED(status) ? "had died of signal " + std::to_string(WTERMSIG(status))
                                : "had exited with status " + std::to_string(WEXITSTATUS(status)));
  const double per_connection = (full_rss - warm_rss) * 1024.0 / (kTotal - kWarm);
  RecordProperty("bytes_per_idle_connection", static_cast<int>(per_connection));
  std::printf("server RSS: %ld KiB after %d connections, %ld KiB after %d: %.0f bytes per idle connection\n", warm_rss,
              kWarm, full_rss, kTotal, per_connection);
  EXPECT_LE(per_connection, 4096.0);
#endif
}

// --- run_app with several workers -----------------------------------------------------------

namespace {

// GET / with Connection: close on a blocking socket; the body, or "" on failure.
std::string fetch_body_blocking(int port) {
  const int fd = aio_test::connect_loopback(port, /*receive_timeout_s=*/5);
  std::string got;
  if (fd >= 0) {
    const std::string request = get_request("/", "Connection: close\r\n");
    if (::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size()))
      got = aio_test::read_to_eof(fd);
    ::close(fd);
  }
  const std::size_t body = got.find("\r\n\r\n");
  return body == std::string::npos ? std::string() : got.substr(body + 4);
}

}  // namespace

// run_app(.workers = 2): two processes answer on one port (SO_REUSEPORT), and SIGTERM to
// the supervisor stops both gracefully (run_app returns 0).
TEST(HttpRunApp, WorkersShareThePortAndStopOnSigterm) {
  const aio_test::ReservedPort reserved;  // the workers bind it too (SO_REUSEPORT)
  const int port = reserved.port;

  const pid_t app_pid = ::fork();
  if (app_pid == 0) {
    Application app;
    app.router().add_get("/", [](Request&) { return fixed(std::to_string(::getpid())); });
    ::_exit(aio::http::run_app(app, {.host = "127.0.0.1", .port = port, .workers = 2, .shutdown_timeout = 5.0}));
  }
  std::set<std::string> pids;
  for (int attempt = 0; attempt < 2000 && pids.size() < 2; ++attempt) {
    const std::string body = fetch_body_blocking(port);
    if (body.empty()) {
      ::usleep(5000);  // the workers are still starting
      continue;
    }
    pids.insert(body);
  }
  EXPECT_EQ(pids.size(), 2u) << "both workers answered";
  ASSERT_EQ(::kill(app_pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(app_pid, &status, 0), app_pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
}
