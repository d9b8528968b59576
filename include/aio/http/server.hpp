// aio::http::run_app and start_server — aiohttp's web.run_app and AppRunner/TCPSite.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <type_traits>

#include "aio/coro.hpp"
#include "aio/delay.hpp"
#include "aio/runner.hpp"
#include "aio/ssl.hpp"
#include "aio/http/application.hpp"

namespace aio::http {

namespace detail {
class HttpServer;
}

/// How an application is served. Trivially destructible (see aio::SslContextRef), so a
/// braced `{.port = 8080}` is safe anywhere, inside co_await included.
struct RunOptions {
  /// The address to listen on: "0.0.0.0", "::", "127.0.0.1", a name...
  std::string_view host = "0.0.0.0";
  int port = 8080;
  /// Processes serving the port (SO_REUSEPORT, aio::run_workers). run_app only.
  int workers = 1;
  /// HTTPS: e.g. `aio::SslContext::server(cert, key)`.
  SslContextRef ssl{};
  int backlog = 128;
  /// On SIGINT/SIGTERM (or Site::close()): in-flight requests get this long to finish.
  Delay shutdown_timeout = 60.0;
  /// An idle keep-alive connection is closed after this long.
  Delay keepalive_timeout = 75.0;
  /// A client must send a whole request head within this long of starting it (slowloris).
  Delay header_timeout = 30.0;
  /// While a handler reads the request body, the client must send more within this long
  /// each time it is waited for (a body trickled in, or never sent, ends the connection).
  Delay body_timeout = 60.0;
  /// Longest request line / header line (414 / 431 beyond) and most header lines (431).
  std::size_t max_line_size = 8 * 1024;
  std::size_t max_field_size = 8 * 1024;
  std::size_t max_headers = 100;
  /// Whether a client that disconnects while its handler runs cancels the handler
  /// (aiohttp does, which surprises handlers that must finish their work; aio does not
  /// by default). When false the handler runs to its end and its response is dropped.
  /// When true, a disconnect seen while the handler runs — once the request body has been
  /// read — cancels it (CancelledError at its current await).
  bool cancel_handler_on_disconnect = false;
  /// The Server header; "" sends none.
  std::string_view server_header = "aio";
  /// Log each request through aio::log_line (common log format).
  bool access_log = false;
  /// What run_app passes to aio::run in each process.
  aio::RunOptions run{};
};
static_assert(std::is_trivially_destructible_v<RunOptions>);

/// A running server of an application (aiohttp's TCPSite). Destroying it closes it.
class Site {
 public:
  Site() noexcept;
  Site(Site&&) noexcept;
  Site& operator=(Site&&) noexcept;
  ~Site();

  /// The port it listens on (the real one when 0 was asked for).
  int port() const;
  /// Stops accepting; idle keep-alive connections close at once; requests in progress
  /// finish (their connections then close) — up to shutdown_timeout, then they are cancelled.
  void close();
  /// Waits until close() has finished every connection, then runs on_cleanup.
  Coro<void> wait_closed();
  /// Connections open now.
  std::size_t connection_count() const noexcept;

  explicit Site(std::shared_ptr<detail::HttpServer> server) noexcept;

 private:
  std::shared_ptr<detail::HttpServer> server_;
};

/// Starts serving `app` in the running loop: on_startup runs first, then the server listens.
/// `options.workers` is ignored here (use run_app). The application must outlive the Site.
Coro<Site> start_server(Application& app, std::string host, int port, RunOptions options = {});
/// The same with host and port from `options`.
Coro<Site> start_server(Application& app, RunOptions options = {});

/// Serves `app` until SIGINT or SIGTERM (aiohttp's web.run_app), then shuts down
/// gracefully and runs on_cleanup. Runs its own event loop (call it from main, not from a
/// coroutine). With `options.workers > 1` it forks that many processes sharing the port
/// (aio::run_workers): each runs on_startup and on_cleanup. Prints the address it serves
/// on (aiohttp's "======== Running on http://0.0.0.0:8080 ========"). Returns 0 after a
/// clean shutdown (the exit status of run_workers with several workers).
int run_app(Application& app, RunOptions options = {});

}  // namespace aio::http
