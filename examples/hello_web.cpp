// The seed's aiohttp server, in aio:
//
//     from aiohttp import web
//     async def handle(request):
//         uri = request.match_info.get('uri', '')
//         return web.Response(text=f"location /{uri}", content_type='text/html')
//     app = web.Application()
//     app.add_routes([web.get('/', handle), web.get('/{uri}', handle)])
//     web.run_app(app)
//
// Run: ./hello_web [port]   then: curl http://127.0.0.1:8080/hello
#include <aio/http.hpp>

#include <cstdlib>

aio::Coro<aio::http::Response> handle(aio::http::Request& request) {
  std::string uri = request.match_info("uri");
  co_return aio::http::Response::text("location /" + uri, 200, "text/html");
}

int main(int argc, char** argv) {
  aio::http::Application app;
  app.add_routes({aio::http::get("/", handle), aio::http::get("/{uri}", handle)});
  return aio::http::run_app(app, {.port = argc > 1 ? std::atoi(argv[1]) : 8080});
}
