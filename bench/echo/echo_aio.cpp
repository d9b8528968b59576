// The aio side of the echo benchmark (bench/run_echo.py): an asyncio-style streams server.
//
// Usage: echo_aio [--workers N] [--api read|read_into|read_view|readexactly:SIZE] PORT
//   Listens on 127.0.0.1:PORT; prints nothing; SIGTERM ends it.
//   --workers N (N > 1): aio::run_workers forks N processes, each with its own loop and
//   its own listening socket on PORT (reuse_port: the kernel spreads the connections);
//   SIGTERM to this process is forwarded to them. N = 1 (default): one process, no fork.
//
// The handler is what one writes in asyncio: read up to 64 KiB, write it back, drain.
// --api picks the read call (default read: a std::string per message); read_into reads
// into a 64 KiB buffer of the handler's own, read_view borrows the stream's buffer;
// readexactly:SIZE reads whole SIZE-byte messages (a framed protocol's read, through the
// stream's buffer: run it with messages of that size).
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
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

aio::Coro<void> echo_read_into(aio::StreamReader reader, aio::StreamWriter writer) {
  // The caller owns the memory in read_into's model: 64 KiB per connection, held while
  // it is idle too.
  std::unique_ptr<char[]> buf(new char[64 * 1024]);
  try {
    for (;;) {
      const std::size_t n = co_await reader.read_into(std::span<char>(buf.get(), 64 * 1024));
      if (n == 0) break;  // EOF
      writer.write(std::string_view(buf.get(), n));
      co_await writer.drain();
    }
  } catch (const std::system_error&) {
  }
}

aio::Coro<void> echo_read_view(aio::StreamReader reader, aio::StreamWriter writer) {
  try {
    for (;;) {
      aio::ReadView data = co_await reader.read_view(64 * 1024);
      if (data.empty()) break;  // EOF
      writer.write(data.bytes());
      data.release();  // before drain(): the next read must not wait on it
      co_await writer.drain();
    }
  } catch (const std::system_error&) {
  }
}

std::size_t message_size = 0;  // --api readexactly:SIZE

aio::Coro<void> echo_readexactly(aio::StreamReader reader, aio::StreamWriter writer) {
  try {
    for (;;) {
      std::string data = co_await reader.readexactly(message_size);
      writer.write(data);
      co_await writer.drain();
    }
  } catch (const aio::IncompleteReadError&) {
    // EOF (between messages, or within one)
  } catch (const std::system_error&) {
  }
}

aio::ConnectionHandler handler_for(std::string_view api) {
  if (api == "read_into") return echo_read_into;
  if (api == "read_view") return echo_read_view;
  if (api.starts_with("readexactly:")) return echo_readexactly;
  return echo;
}

aio::Coro<void> serve(int port, bool reuse_port, std::string api) {
  aio::ServerOptions options{.backlog = 1024, .reuse_port = reuse_port};
  aio::Server server = co_await aio::start_server(handler_for(api), "127.0.0.1", port, options);
  co_await server.serve_forever();
}

int usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s [--workers N] [--api read|read_into|read_view|readexactly:SIZE] PORT\n", argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int workers = 1;
  std::string api = "read";
  int arg = 1;
  while (arg + 1 < argc && argv[arg][0] == '-') {
    if (std::strcmp(argv[arg], "--workers") == 0) {
      workers = std::atoi(argv[arg + 1]);
    } else if (std::strcmp(argv[arg], "--api") == 0) {
      api = argv[arg + 1];
    } else {
      return usage(argv[0]);
    }
    arg += 2;
  }
  if (api.starts_with("readexactly:")) message_size = std::strtoul(api.c_str() + 12, nullptr, 10);
  const bool known_api = api == "read" || api == "read_into" || api == "read_view" ||
                         (api.starts_with("readexactly:") && message_size > 0);
  if (argc != arg + 1 || workers < 1 || !known_api) return usage(argv[0]);
  const int port = std::atoi(argv[arg]);
  // Many idle connections (run_echo.py --idle): take the hard limit on descriptors.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (workers == 1) {
    aio::run(serve(port, false, api));
    return 0;
  }
  return aio::run_workers(workers, [port, api](int) { return serve(port, true, api); });
}
