// The aio side of the echo benchmark (bench/run_echo.py): an asyncio-style streams server.
//
// Usage: echo_aio [--workers N] PORT
//   Listens on 127.0.0.1:PORT; prints nothing; SIGTERM ends it.
//   --workers N (N > 1): aio::run_workers forks N processes, each with its own loop and
//   its own listening socket on PORT (reuse_port: the kernel spreads the connections);
//   SIGTERM to this process is forwarded to them. N = 1 (default): one process, no fork.
//
// The handler is what one writes in asyncio: read up to 64 KiB, write it back, drain.
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>

#include <aio/aio.hpp>
#include <aio/server.hpp>
#include <aio/streams.hpp>
#include <aio/workers.hpp>

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

aio::Coro<void> serve(int port, bool reuse_port) {
  aio::ServerOptions options{.backlog = 1024, .reuse_port = reuse_port};
  aio::Server server = co_await aio::start_server(echo, "127.0.0.1", port, options);
  co_await server.serve_forever();
}

int usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s [--workers N] PORT\n", argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int workers = 1;
  int arg = 1;
  if (argc == 4 && std::strcmp(argv[1], "--workers") == 0) {
    workers = std::atoi(argv[2]);
    arg = 3;
  }
  if (argc != arg + 1 || workers < 1) return usage(argv[0]);
  const int port = std::atoi(argv[arg]);
  // Many idle connections (run_echo.py --idle): take the hard limit on descriptors.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (workers == 1) {
    aio::run(serve(port, false));
    return 0;
  }
  return aio::run_workers(workers, [port](int) { return serve(port, true); });
}
