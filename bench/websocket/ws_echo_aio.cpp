// The WebSocket echo benchmark's aio programs (bench/run_websocket.py):
//   ws_echo_aio server PORT                 an aio::http echo server on 127.0.0.1:PORT
//   ws_echo_aio client URL CONNS SECONDS SIZE [deflate]
//                                          the load: CONNS connections, each sending a
//                                          SIZE-byte text message and awaiting its echo,
//                                          for SECONDS; prints "messages/s <n>"
#include <aio/aio.hpp>
#include <aio/http.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

aio::Coro<aio::http::Response> echo(aio::http::Request& request) {
  aio::http::WebSocketResponse ws;
  co_await ws.prepare(request);
  for (;;) {
    aio::http::WSMessage msg = co_await ws.receive();
    if (msg.type == aio::http::WSMsgType::text)
      co_await ws.send_str(msg.data);
    else if (msg.type == aio::http::WSMsgType::binary)
      co_await ws.send_bytes(msg.data);
    else
      break;
  }
  co_return ws;
}

aio::Coro<void> serve(int port) {
  aio::http::Application app;
  app.router().add_get("/", echo);
  aio::http::RunOptions options{.access_log = false};
  aio::http::Site site = co_await aio::http::start_server(app, "127.0.0.1", port, options);
  co_await aio::Event().wait();  // until killed
}

aio::Coro<void> one_client(std::string url, double until, std::size_t size, bool deflate, long& count) {
  aio::http::WebSocketClientOptions options{.websocket = {.compress = deflate}};
  aio::http::ClientWebSocket ws = co_await aio::http::websocket_connect(url, options);
  const std::string message(size, 'm');
  aio::EventLoop& loop = aio::get_running_loop();
  while (loop.time() < until) {
    co_await ws.send_str(message);
    aio::http::WSMessage reply = co_await ws.receive();
    if (reply.type != aio::http::WSMsgType::text) break;
    ++count;
  }
  (void)co_await ws.close();
}

aio::Coro<void> load(std::string url, int connections, double seconds, std::size_t size, bool deflate) {
  long count = 0;
  const double start = aio::get_running_loop().time();
  std::vector<aio::Coro<void>> clients;
  for (int i = 0; i < connections; ++i) clients.push_back(one_client(url, start + seconds, size, deflate, count));
  co_await aio::gather(std::move(clients));
  const double elapsed = aio::get_running_loop().time() - start;
  std::printf("messages/s %.0f\n", static_cast<double>(count) / elapsed);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "server" && argc == 3) {
    aio::run(serve(std::atoi(argv[2])));
    return 0;
  }
  if (mode == "client" && argc >= 6) {
    const bool deflate = argc > 6 && std::string(argv[6]) == "deflate";
    aio::run(
        load(argv[2], std::atoi(argv[3]), std::atof(argv[4]), static_cast<std::size_t>(std::atol(argv[5])), deflate));
    return 0;
  }
  std::fprintf(stderr, "usage: ws_echo_aio server PORT | client URL CONNS SECONDS SIZE [deflate]\n");
  return 2;
}
