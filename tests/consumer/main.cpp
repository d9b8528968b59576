// Built against the installed aio package by scripts/test.sh: aio::aio and aio::http.
#include <aio/aio.hpp>
#include <aio/http.hpp>

#include <cstdio>

aio::Coro<int> compute(int x) {
  co_await aio::sleep(0.001);
  co_return x * 2;
}

aio::Coro<aio::http::Response> hello(aio::http::Request& request) {
  co_return aio::http::Response::json({{"hello", request.match_info("name")}});
}

// A server on an ephemeral port, one request over a plain connection, a clean shutdown.
aio::Coro<bool> web() {
  aio::http::Application app;
  app.router().add_get("/{name}", hello);
  aio::http::Site site = co_await aio::http::start_server(app, "127.0.0.1", 0);
  auto [reader, writer] = co_await aio::open_connection("127.0.0.1", site.port());
  writer.write("GET /consumer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string response = co_await reader.read();
  site.close();
  co_await site.wait_closed();
  co_return response.find("{\"hello\":\"consumer\"}") != std::string::npos;
}

aio::Coro<int> amain() {
  auto [a, b] = co_await aio::gather(compute(1), compute(2));
  const bool web_ok = co_await web();
  std::printf("consumer: web %s\n", web_ok ? "ok" : "FAILED");
  co_return web_ok ? a + b : -1;
}

int main() {
  int r = aio::run(amain());
  std::printf("consumer: aio::run returned %d\n", r);
  return r == 6 ? 0 : 1;
}
