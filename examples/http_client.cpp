// The seed's aiohttp client program, in aio:
//
//     async def fetch(session, url):
//         async with session.get(url) as response:
//             print(response.status, await response.text())
//     async def main():
//         async with aiohttp.ClientSession() as session:   # a client connection pool
//             await asyncio.gather(fetch(session, u1), fetch(session, u2), fetch(session, u3))
//     asyncio.run(main())
//
// With no arguments it first starts the seed's server (examples/hello_web.cpp's routes) on
// 127.0.0.1 in the same loop and fetches three pages from it; with URLs it fetches those.
//
// Run: ./http_client                       or: ./http_client http://127.0.0.1:8080/a ...
#include <aio/aio.hpp>
#include <aio/http.hpp>

#include <cstdio>
#include <string>
#include <vector>

aio::Coro<aio::http::Response> handle(aio::http::Request& request) {
  std::string uri = request.match_info("uri");
  co_return aio::http::Response::text("location /" + uri, 200, "text/html");
}

aio::Coro<void> fetch(aio::http::ClientSession& session, std::string url) {
  aio::http::ClientResponse response = co_await session.get(url);
  std::string text = co_await response.text();
  std::printf("%s -> %d %s\n", url.c_str(), response.status(), text.c_str());
}

aio::Coro<void> fetch_three(std::vector<std::string> urls) {
  aio::http::ClientSession session;  // one pool: the three requests share its connections
  co_await aio::gather(fetch(session, urls.at(0)), fetch(session, urls.at(1)), fetch(session, urls.at(2)));
  co_await session.close();
}

aio::Coro<void> main_async(std::vector<std::string> urls) {
  if (!urls.empty()) {
    while (urls.size() < 3) urls.push_back(urls.back());
    co_await fetch_three(urls);
    co_return;
  }
  aio::http::Application app;
  app.add_routes({aio::http::get("/", handle), aio::http::get("/{uri}", handle)});
  aio::http::Site site = co_await aio::http::start_server(app, "127.0.0.1", 0);
  const std::string base = "http://127.0.0.1:" + std::to_string(site.port());
  std::printf("server on %s\n", base.c_str());
  std::vector<std::string> pages = {base + "/", base + "/hello", base + "/world"};  // named: GCC 12
  co_await fetch_three(pages);
  site.close();
  co_await site.wait_closed();
}

int main(int argc, char** argv) {
  std::vector<std::string> urls(argv + 1, argv + argc);
  aio::run(main_async(urls));
  return 0;
}
