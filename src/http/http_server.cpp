// HttpServer (behind Site), start_server and run_app.
#include "http/http_server.hpp"

#include <signal.h>

#include <algorithm>
#include <cstdio>

#include "aio/errors.hpp"
#include "aio/loop.hpp"
#include "aio/runner.hpp"
#include "aio/sleep.hpp"
#include "aio/timeout.hpp"
#include "aio/workers.hpp"
#include "http/connection.hpp"
#include "http/file_helpers.hpp"
#include "http/route_table.hpp"

namespace aio::http {
namespace detail {
namespace {

// Each connection in a task of its own (a plain function, so that its arguments live in
// the coroutine frame).
Coro<void> serve_connection(std::shared_ptr<HttpServer> server, StreamReader reader, StreamWriter writer) {
  if (!server) co_return;  // accepted just as the site went away
  Connection connection(std::move(server), std::move(reader), std::move(writer));
  co_await connection.serve();
}

Coro<void> wait_event(Event& event) { co_await event.wait(); }

}  // namespace

HttpServer::HttpServer(Application& app, const RunOptions& options)
    : app_(app), options_(options), host_(options.host), server_header_(options.server_header) {
  if (options.ssl) ssl_.emplace(*options.ssl);
  options_.ssl = {};
  options_.host = {};
  options_.server_header = {};
  limits_.max_request_line = options.max_line_size;
  limits_.max_field_size = options.max_field_size;
  limits_.max_headers = options.max_headers;
}

// A Site dropped without wait_closed(): the sweeper must not outlive the state it sweeps
// (cancelled, its frame only unwinds its own locals).
HttpServer::~HttpServer() {
  if (sweeper_) sweeper_->cancel();
}

Coro<void> HttpServer::listen(std::string host, int port) {
  app_.router().table().freeze();  // routes in use are not moved by later additions
  co_await app_.run_startup();
  ServerOptions server_options;
  server_options.backlog = options_.backlog;
  server_options.reuse_port = options_.workers > 1;
  if (ssl_) server_options.ssl = *ssl_;
  // A weak reference: the listening server must not keep its owner alive.
  ConnectionHandler handler = [weak = weak_from_this()](StreamReader r, StreamWriter w) {
    return serve_connection(weak.lock(), std::move(r), std::move(w));
  };
  std::exception_ptr failure;
  try {
    server_ = co_await aio::start_server(std::move(handler), std::move(host), port, server_options);
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure) {  // cannot listen: undo on_startup, as aiohttp's runner does
    co_await app_.run_cleanup();
    std::rethrow_exception(failure);
  }
  sweeper_.emplace(create_task(sweep_timeouts(), "aio::http timeouts"));
}

int HttpServer::port() const {
  const std::vector<SocketAddress> addresses = server_.addresses();
  if (addresses.empty()) throw UsageError("aio::http::Site.port: the site is closed");
  return addresses.front().port();
}

std::string_view HttpServer::date() noexcept {
  const std::time_t now = std::time(nullptr);
  if (now != date_second_) {
    date_second_ = now;
    format_http_date(now, date_);
  }
  return {date_, 29};
}

void HttpServer::add(Connection* c) {
  c->server_slot = connections_.size();
  connections_.push_back(c);
  if (closing_) c->shut_down();
}

void HttpServer::remove(Connection* c) noexcept {
  Connection* last = connections_.back();
  connections_[c->server_slot] = last;
  last->server_slot = c->server_slot;
  connections_.pop_back();
  if (connections_.empty() && closing_) all_closed_.set();
}

// Once a second: connections whose deadline passed while they waited for the client
// (idle keep-alive, a head arriving too slowly, a response the client does not read).
Coro<void> HttpServer::sweep_timeouts() {
  EventLoop& loop = get_running_loop();
  std::vector<Connection*> expired;
  for (;;) {
    co_await sleep(1.0);
    const double now = loop.time();
    expired.clear();
    for (Connection* c : connections_)
      if (c->timed_out(now)) expired.push_back(c);
    for (Connection* c : expired) c->abort();
  }
}

void HttpServer::close() {
  if (closing_) return;
  closing_ = true;
  server_.close();
  std::vector<Connection*> open = connections_;
  for (Connection* c : open) c->shut_down();
  if (connections_.empty()) all_closed_.set();
}

Coro<void> HttpServer::wait_closed() {
  if (!closing_) close();
  if (!connections_.empty()) {
    bool timed_out = false;
    try {
      co_await aio::wait_for(wait_event(all_closed_), options_.shutdown_timeout);
    } catch (const TimeoutError&) {
      timed_out = true;
    }
    if (timed_out) {  // requests still running after shutdown_timeout are cancelled
      std::vector<Connection*> open = connections_;
      for (Connection* c : open) {
        c->abort();
        if (c->task()) c->task()->cancel("aio::http: shutdown_timeout passed");
      }
      co_await all_closed_.wait();
    }
  }
  if (sweeper_) {
    sweeper_->cancel();
    try {
      co_await *sweeper_;
    } catch (const CancelledError&) {
    }
    sweeper_.reset();
  }
  co_await server_.wait_closed();
  if (!cleaned_up_) {
    cleaned_up_ = true;
    co_await app_.run_cleanup();
  }
}

}  // namespace detail

// --- Site ------------------------------------------------------------------------------

Site::Site() noexcept = default;
Site::Site(Site&&) noexcept = default;
Site& Site::operator=(Site&& o) noexcept {
  if (this != &o) {
    if (server_) server_->close();  // the site it held stops, as when it is destroyed
    server_ = std::move(o.server_);
  }
  return *this;
}
Site::~Site() {
  if (server_) server_->close();
}
Site::Site(std::shared_ptr<detail::HttpServer> server) noexcept : server_(std::move(server)) {}

int Site::port() const {
  if (!server_) throw UsageError("aio::http::Site.port: an empty Site");
  return server_->port();
}
void Site::close() {
  if (server_) server_->close();
}
Coro<void> Site::wait_closed() {
  if (server_) co_await server_->wait_closed();
}
std::size_t Site::connection_count() const noexcept { return server_ ? server_->connection_count() : 0; }

Coro<Site> start_server(Application& app, std::string host, int port, RunOptions options) {
  auto server = std::make_shared<detail::HttpServer>(app, options);
  co_await server->listen(std::move(host), port);
  co_return Site(std::move(server));
}

Coro<Site> start_server(Application& app, RunOptions options) {
  return start_server(app, std::string(options.host), options.port, options);
}

// --- run_app ---------------------------------------------------------------------------

namespace {

// One process's server: serves until SIGINT/SIGTERM (single process) or until cancelled
// (a run_workers worker: its loop turns those signals into cancellation), then shuts down.
Coro<void> serve_until_stopped(Application& app, RunOptions options, bool own_signals, bool announce) {
  EventLoop& loop = get_running_loop();
  Event stop;
  struct SignalHandlers {
    EventLoop& loop;
    bool installed;
    ~SignalHandlers() {
      if (!installed) return;
      loop.remove_signal_handler(SIGINT);
      loop.remove_signal_handler(SIGTERM);
    }
  } handlers{loop, own_signals};
  if (own_signals) {
    auto set_stop = [&stop] { stop.set(); };
    loop.add_signal_handler(SIGINT, set_stop);
    loop.add_signal_handler(SIGTERM, set_stop);
  }
  Site site = co_await start_server(app, options);
  if (announce) {
    std::printf("======== Running on %s://%.*s:%d ========\n(Press CTRL+C to quit)\n", options.ssl ? "https" : "http",
                static_cast<int>(options.host.size()), options.host.data(), site.port());
    std::fflush(stdout);
  }
  try {
    co_await stop.wait();
  } catch (const CancelledError&) {
    // run_workers' worker: SIGINT/SIGTERM cancelled us. Shut down gracefully all the same.
  }
  site.close();
  co_await site.wait_closed();
}

}  // namespace

int run_app(Application& app, RunOptions options) {
  if (options.workers < 1)
    throw std::invalid_argument("aio::http::run_app: workers = " + std::to_string(options.workers) +
                                "; need at least 1");
  if (options.workers == 1) {
    aio::run(serve_until_stopped(app, options, /*own_signals=*/true, /*announce=*/true), options.run);
    return 0;
  }
  std::printf("======== Running on %s://%.*s:%d with %d workers ========\n(Press CTRL+C to quit)\n",
              options.ssl ? "https" : "http", static_cast<int>(options.host.size()), options.host.data(), options.port,
              options.workers);
  std::fflush(stdout);
  WorkerOptions worker_options;
  worker_options.shutdown_timeout = options.shutdown_timeout.seconds() + 5.0;
  worker_options.run = options.run;
  return run_workers(
      options.workers,
      [&app, options](int) { return serve_until_stopped(app, options, /*own_signals=*/false, /*announce=*/false); },
      worker_options);
}

}  // namespace aio::http
