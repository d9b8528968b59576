// Application: route resolution, the middleware chain and the lifecycle hooks.
#include <memory>

#include "aio/http/application.hpp"
#include "aio/http/errors.hpp"
#include "http/route_table.hpp"

namespace aio::http {
namespace {

// The handler of an unknown path or method: middlewares see it like any handler's error.
Coro<Response> refuse(int status, std::string allow) {
  HttpError error(status);
  if (status == 405) error.with_header("Allow", std::move(allow));
  throw error;
  co_return Response(status);
}

// The rest of the chain from middleware `index` on (a plain function: its arguments live
// in the frame, so the Handler it makes for `next` never refers to a finished frame).
Coro<Response> run_chain(const std::vector<Middleware>& middlewares, std::size_t index, Handler handler,
                         Request& request) {
  if (index == middlewares.size()) co_return co_await handler(request);
  Handler next = [&middlewares, index, handler](Request& r) { return run_chain(middlewares, index + 1, handler, r); };
  co_return co_await middlewares[index](request, std::move(next));
}

}  // namespace

Application::Application(AppOptions options) : options_(options) {}

void Application::add_routes(const std::vector<RouteDef>& routes) {
  for (const RouteDef& r : routes) router_.add_route(r.method, r.path, r.handler);
}

void Application::add_routes(std::initializer_list<RouteDef> routes) {
  for (const RouteDef& r : routes) router_.add_route(r.method, r.path, r.handler);
}

Coro<void> Application::run_startup() {
  for (AppHook& hook : startup_) co_await hook(*this);
  started_ = true;
}

Coro<void> Application::run_cleanup() {
  if (!started_) co_return;
  started_ = false;
  for (AppHook& hook : cleanup_) co_await hook(*this);
}

Coro<Response> Application::handle(Request& request) {
  auto& match_info = request.match_info_storage();
  detail::Resolution found = router_.table().resolve(request.method(), request.path(), match_info);
  if (middlewares_.empty()) {
    if (found.handler) co_return co_await (*found.handler)(request);
    co_return co_await refuse(found.path_known ? 405 : 404, std::move(found.allow));
  }
  Handler handler =
      found.handler ? *found.handler : Handler([status = found.path_known ? 405 : 404, allow = found.allow](Request&) {
        return refuse(status, allow);
      });
  co_return co_await run_chain(middlewares_, 0, std::move(handler), request);
}

}  // namespace aio::http
