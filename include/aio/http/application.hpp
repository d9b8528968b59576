// aio::http::Application and its Router — aiohttp's web.Application, app.router and
// route tables.
#pragma once

#include <cstddef>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aio/coro.hpp"
#include "aio/http/request.hpp"
#include "aio/http/response.hpp"

namespace aio::http {

/// What answers a request: any callable `aio::Coro<Response>(Request&)`.
using Handler = std::function<Coro<Response>(Request&)>;
/// A middleware (aiohttp's @web.middleware): runs around the handler; `co_await
/// next(request)` calls the rest of the chain (the next middleware, then the handler).
using Middleware = std::function<Coro<Response>(Request&, Handler next)>;

class Application;
/// on_startup / on_cleanup callbacks.
using AppHook = std::function<Coro<void>(Application&)>;

/// One entry of a route table (aiohttp's web.get("/", handler) & co.).
struct RouteDef {
  std::string method;  // "GET", ..., or "*" for any method
  std::string path;
  Handler handler;
};
RouteDef get(std::string path, Handler handler);
RouteDef post(std::string path, Handler handler);
RouteDef put(std::string path, Handler handler);
RouteDef patch(std::string path, Handler handler);
RouteDef delete_(std::string path, Handler handler);
RouteDef head(std::string path, Handler handler);
RouteDef route(std::string method, std::string path, Handler handler);

namespace detail {
class RouteTable;
}

/// Maps (method, path) to handlers (aiohttp's UrlDispatcher).
///
/// Paths: "/users" (plain), "/users/{id}" (a variable matches one segment: no '/'),
/// "/users/{id:\\d+}" (a variable with a regular expression, ECMAScript syntax, matched
/// against the whole segment — or across segments if the expression can match '/'),
/// "/files/{tail:.*}" (the rest of the path). Variables match the decoded path. Plain
/// paths are found with one hash lookup; patterns are tried in the order they were added,
/// after the plain paths (a plain "/users/me" wins over "/users/{id}" whichever came
/// first). A GET route also answers HEAD. A path that no route has gives 404; a path some
/// route has, with a method none of them takes, gives 405 with an Allow header.
class Router {
 public:
  Router();
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  void add_get(std::string path, Handler handler);
  void add_post(std::string path, Handler handler);
  void add_put(std::string path, Handler handler);
  void add_patch(std::string path, Handler handler);
  void add_delete(std::string path, Handler handler);
  void add_head(std::string path, Handler handler);
  /// `method` is "GET", "POST", ... or "*" for any method. std::invalid_argument for a
  /// path that does not start with '/', an unbalanced '{', a bad regular expression, a
  /// variable named twice, or a method and path that already have a route.
  void add_route(std::string method, std::string path, Handler handler);
  /// Serves the files under `directory` at `prefix` (GET and HEAD): "/static" +
  /// "/css/a.css" → directory + "/css/a.css". Never outside `directory`: ".." segments
  /// (also percent-encoded), NUL bytes and symlinks that lead out are refused (404), and
  /// directories are not listed. std::invalid_argument if `directory` does not exist.
  void add_static(std::string prefix, std::string directory);

  detail::RouteTable& table() noexcept { return *table_; }

 private:
  std::unique_ptr<detail::RouteTable> table_;
};

/// Application-wide settings. Trivially destructible, like aio's other option structs.
struct AppOptions {
  /// The largest request body a handler may read (aiohttp's client_max_size): 413 beyond.
  std::size_t client_max_size = 1024 * 1024;
};

/// A web application (aiohttp's web.Application): routes, middlewares and lifecycle hooks.
///
///     aio::http::Application app;
///     app.router().add_get("/", index);
///     app.add_routes({aio::http::get("/{name}", hello), aio::http::post("/echo", echo)});
///     aio::http::run_app(app, {.port = 8080});
class Application {
 public:
  explicit Application(AppOptions options = {});
  Application(const Application&) = delete;
  Application& operator=(const Application&) = delete;

  Router& router() noexcept { return router_; }
  void add_routes(const std::vector<RouteDef>& routes);
  void add_routes(std::initializer_list<RouteDef> routes);
  /// Run in order around every handler: middlewares()[0] is the outermost. Set them up
  /// before serving: changing the list while requests run would move middlewares in use
  /// (routes are frozen for the same reason; the list cannot be, being a plain vector).
  std::vector<Middleware>& middlewares() noexcept { return middlewares_; }
  /// Awaited in order when a server starts (before it accepts) / after it stopped.
  void on_startup(AppHook hook) { startup_.push_back(std::move(hook)); }
  void on_cleanup(AppHook hook) { cleanup_.push_back(std::move(hook)); }

  const AppOptions& options() const noexcept { return options_; }

  // Used by the server.
  Coro<void> run_startup();
  Coro<void> run_cleanup();
  /// Routes the request and runs middlewares and handler.
  Coro<Response> handle(Request& request);

 private:
  AppOptions options_;
  Router router_;
  std::vector<Middleware> middlewares_;
  std::vector<AppHook> startup_;
  std::vector<AppHook> cleanup_;
  bool started_ = false;
};

}  // namespace aio::http
