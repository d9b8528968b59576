// The aio side of the HTTP benchmark (bench/run_http.py): an aio::http application.
//
// Usage: bench_http_aio [PORT]   (PORT defaults to $PORT)
//   Listens on 127.0.0.1:PORT, prints run_app's "Running on" line, serves until
//   SIGINT/SIGTERM.
//
//   GET /plaintext -> "Hello, World!"               (text/plain)
//   GET /json      -> {"message":"Hello, World!"}   (application/json, encoded per request)
//
// The handlers are what one writes with aiohttp; the server adds Date and Server.
#include <cstdio>
#include <cstdlib>
#include <string>

#include <aio/http.hpp>

namespace {

aio::Coro<aio::http::Response> plaintext(aio::http::Request&) { co_return aio::http::Response::text("Hello, World!"); }

aio::Coro<aio::http::Response> json(aio::http::Request&) {
  co_return aio::http::Response::json({{"message", "Hello, World!"}});
}

int port_from(int argc, char** argv) {
  const char* arg = argc == 2 ? argv[1] : std::getenv("PORT");
  if (argc > 2 || arg == nullptr) return 0;
  char* end = nullptr;
  const long port = std::strtol(arg, &end, 10);
  return *end == '\0' && port > 0 && port < 65536 ? static_cast<int>(port) : 0;
}

}  // namespace

int main(int argc, char** argv) {
  const int port = port_from(argc, argv);
  if (port == 0) {
    std::fprintf(stderr, "usage: %s PORT (or PORT in the environment)\n", argv[0]);
    return 2;
  }
  aio::http::Application app;
  app.router().add_get("/plaintext", plaintext);
  app.router().add_get("/json", json);
  // The backlog takes wrk's 64 connections arriving at once, as the peers' do.
  return aio::http::run_app(app, {.host = "127.0.0.1", .port = port, .backlog = 1024, .access_log = false});
}
