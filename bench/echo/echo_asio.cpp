// Echo benchmark peer: Boost.Asio C++20 coroutines (see bench/run_echo.py).
//
// Usage: echo_asio PORT     (listens on 127.0.0.1:PORT; prints nothing; SIGTERM ends it)
//
// One single-threaded io_context; an acceptor coroutine co_spawns a coroutine per
// connection, which reads up to 64 KiB (async_read_some into a buffer in its frame) and
// writes it back (async_write). TCP_NODELAY is set, as aio, asyncio and Go set it.
// Written against Boost 1.74 (Debian 12); no experimental APIs.

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>;
// GCC 12's headers no longer pull it in transitively.
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <exception>

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

namespace {

awaitable<void> echo(tcp::socket socket) {
  try {
    char data[64 * 1024];
    for (;;) {
      std::size_t n = co_await socket.async_read_some(asio::buffer(data), use_awaitable);
      co_await asio::async_write(socket, asio::buffer(data, n), use_awaitable);
    }
  } catch (const std::exception&) {
    // EOF, or the client went away mid-request.
  }
}

awaitable<void> accept_loop(tcp::acceptor& acceptor) {
  for (;;) {
    tcp::socket socket = co_await acceptor.async_accept(use_awaitable);
    socket.set_option(tcp::no_delay(true));
    asio::co_spawn(acceptor.get_executor(), echo(std::move(socket)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  // Many idle connections (run_echo.py --idle): take the hard limit on descriptors.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  try {
    asio::io_context io(1);
    tcp::acceptor acceptor(io);
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::atoi(argv[1])));
    acceptor.open(endpoint.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(1024);
    asio::co_spawn(io, accept_loop(acceptor), asio::detached);
    io.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "echo_asio: %s\n", e.what());
    return 1;
  }
}
