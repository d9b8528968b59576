// The aio side of the echo benchmark (bench/run_echo.py): an asyncio-style streams server.
//
// Usage: echo_aio PORT      (listens on 127.0.0.1:PORT; prints nothing; SIGTERM ends it)
//
// The handler is what one writes in asyncio: read up to 64 KiB, write it back, drain.
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <system_error>

#include <aio/aio.hpp>
#include <aio/server.hpp>
#include <aio/streams.hpp>

namespace {

aio::Coro<void> echo(aio::StreamReader reader, aio::StreamWriter writer) {
  try {
    for (;;) {
      std::string data = co_await reader.read(64 * 1024);
      if (data.empty()) break;  // EOF
      writer.write(data);
      co_await writer.drain();
    }
  } catch (const std::system_error&) {
    // The client went away mid-request (reset, broken pipe): nothing to report.
  }
}

aio::Coro<void> serve(int port) {
  aio::Server server = co_await aio::start_server(echo, "127.0.0.1", port, {.backlog = 1024});
  co_await server.serve_forever();
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
  aio::run(serve(std::atoi(argv[1])));
}
