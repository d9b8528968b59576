// open_connection / open_unix_connection: resolve, connect (one address after the other,
// or staggered — RFC 8305 Happy Eyeballs), then wrap the socket in a stream.
#include <sys/socket.h>

#include <cerrno>
#include <optional>
#include <system_error>

#include "aio/dns.hpp"
#include "aio/errors.hpp"
#include "aio/event.hpp"
#include "aio/gather.hpp"
#include "aio/streams.hpp"
#include "aio/task.hpp"
#include "aio/timeout.hpp"
#include "net/socket_ops.hpp"
#include "net/stream_core.hpp"

namespace aio {

namespace {

using detail::IoHandle;

struct Failures {
  std::string messages;
  int last_errno = 0;
  int first_errno = 0;
  bool same_errno = true;

  void add(const std::system_error& e) {
    int err = e.code().value();
    if (!messages.empty()) messages += "; ";
    messages += e.what();
    if (first_errno == 0) first_errno = err;
    same_errno = same_errno && err == first_errno;
    last_errno = err;
  }
  [[noreturn]] void raise(const std::string& target) const {
    // One error (or the same errno everywhere): that error. Several: all of them named.
    if (same_errno) throw std::system_error(first_errno, std::generic_category(), "connect to " + target);
    throw std::system_error(last_errno, std::generic_category(), "connect to " + target + ": " + messages);
  }
};

// RFC 8305 section 4: alternate the address families, starting with the first's.
std::vector<SocketAddress> interleave_families(const std::vector<SocketAddress>& addrs) {
  if (addrs.empty()) return addrs;
  std::vector<SocketAddress> first, other, out;
  for (const SocketAddress& a : addrs) (a.family() == addrs[0].family() ? first : other).push_back(a);
  for (std::size_t i = 0; i < std::max(first.size(), other.size()); ++i) {
    if (i < first.size()) out.push_back(first[i]);
    if (i < other.size()) out.push_back(other[i]);
  }
  return out;
}

struct Race {
  std::optional<IoHandle> winner;
  Failures failures;
  int running = 0;
  Event changed;
};

Coro<void> attempt(Race& race, SocketAddress addr, std::optional<SocketAddress> local) {
  try {
    IoHandle io = co_await detail::connect_stream(addr, local);
    if (!race.winner) race.winner = std::move(io);  // a later success just closes
  } catch (const std::system_error& e) {
    race.failures.add(e);
  }
  --race.running;
  race.changed.set();
}

Coro<void> wait_event(Event& ev) { co_await ev.wait(); }

Coro<IoHandle> staggered_connect(std::vector<SocketAddress> addrs, std::optional<SocketAddress> local, Delay delay,
                                 std::string target) {
  Race race;
  std::vector<Task<void>> attempts;
  std::size_t next = 0;
  std::exception_ptr error;
  try {
    for (;;) {
      if (next < addrs.size()) {
        ++race.running;
        attempts.push_back(create_task(attempt(race, addrs[next++], local)));
      }
      race.changed.clear();
      if (next < addrs.size()) {
        // The next attempt starts after the delay, or as soon as one fails.
        try {
          co_await wait_for(wait_event(race.changed), delay);
        } catch (const TimeoutError&) {
        }
      } else if (race.running > 0) {
        co_await race.changed.wait();
      }
      if (race.winner || (race.running == 0 && next >= addrs.size())) break;
    }
  } catch (...) {
    error = std::current_exception();  // cancelled: the attempts must end before `race` does
  }
  for (Task<void>& t : attempts) t.cancel();
  if (!attempts.empty()) co_await gather(return_exceptions, attempts);
  if (error) std::rethrow_exception(error);
  if (!race.winner) race.failures.raise(target);
  co_return std::move(*race.winner);
}

Coro<IoHandle> connect_any(std::vector<SocketAddress> addrs, const ConnectOptions& options, std::string target) {
  if (options.local_addr) {
    // Only addresses of the local address's family can be reached from it.
    std::vector<SocketAddress> usable;
    for (const SocketAddress& a : addrs)
      if (a.family() == options.local_addr->family()) usable.push_back(a);
    if (usable.empty())
      throw std::system_error(EAFNOSUPPORT, std::generic_category(),
                              "connect to " + target + ": no address of the local address's family");
    addrs = std::move(usable);
  }
  // (No `co_return co_await` in this file: GCC 12 miscompiles it for move-only results.)
  if (options.happy_eyeballs_delay && addrs.size() > 1) {
    IoHandle io = co_await staggered_connect(interleave_families(addrs), options.local_addr,
                                             *options.happy_eyeballs_delay, target);
    co_return io;
  }
  Failures failures;
  for (const SocketAddress& addr : addrs) {
    std::optional<IoHandle> io;
    try {
      io = co_await detail::connect_stream(addr, options.local_addr);
    } catch (const std::system_error& e) {
      failures.add(e);
    }
    if (io) co_return std::move(*io);
  }
  failures.raise(target);
}

// What open_connection copied out of its options before returning (they may be views of
// the caller's temporaries).
struct Tls {
  std::optional<SslContext> ctx;
  std::string server_hostname;
};

Tls copy_tls(const ConnectOptions& options, std::string_view default_hostname) {
  Tls tls;
  if (options.ssl) tls.ctx = *options.ssl;
  tls.server_hostname = options.server_hostname.empty() ? default_hostname : options.server_hostname;
  return tls;
}

ConnectOptions without_views(ConnectOptions options) {
  options.ssl = {};
  options.server_hostname = {};
  return options;
}

Coro<std::pair<StreamReader, StreamWriter>> make_stream(IoHandle io, std::size_t limit, bool tcp, Tls tls) {
  auto* core = new detail::StreamCore(get_running_loop(), std::move(io), limit,
                                      tcp ? detail::StreamTransport::tcp : detail::StreamTransport::unix_socket);
  StreamReader reader(core);
  StreamWriter writer(core);
  if (tls.ctx) co_await core->start_tls(*tls.ctx, std::move(tls.server_hostname));
  co_return std::pair<StreamReader, StreamWriter>{std::move(reader), std::move(writer)};
}

Coro<std::pair<StreamReader, StreamWriter>> open_connection_impl(std::string host, int port, ConnectOptions options,
                                                                 Tls tls) {
  if (host.empty()) throw std::invalid_argument("open_connection: the host is empty");
  std::vector<SocketAddress> addrs = co_await getaddrinfo(host, port);
  std::string target = host + ":" + std::to_string(port);
  IoHandle io = co_await connect_any(std::move(addrs), options, target);
  auto stream = co_await make_stream(std::move(io), options.limit, true, std::move(tls));
  co_return stream;
}

Coro<std::pair<StreamReader, StreamWriter>> open_unix_connection_impl(std::string path, ConnectOptions options,
                                                                      Tls tls) {
  SocketAddress addr = SocketAddress::unix_path(path);
  if (tls.ctx && tls.server_hostname.empty() && tls.ctx->verifies())
    throw std::invalid_argument("open_unix_connection: TLS over a Unix socket needs server_hostname to verify");
  IoHandle io = co_await detail::connect_stream(addr, std::nullopt);
  auto stream = co_await make_stream(std::move(io), options.limit, false, std::move(tls));
  co_return stream;
}

}  // namespace

// The public entry points are plain functions: they run at the call, while the caller's
// temporaries that the options refer to are alive, and copy what those refer to.
Coro<std::pair<StreamReader, StreamWriter>> open_connection(std::string host, int port, ConnectOptions options) {
  if (options.limit == 0) throw std::invalid_argument("open_connection: limit must be > 0");
  Tls tls = copy_tls(options, host);
  return open_connection_impl(std::move(host), port, without_views(options), std::move(tls));
}

Coro<std::pair<StreamReader, StreamWriter>> open_unix_connection(std::string path, ConnectOptions options) {
  if (options.limit == 0) throw std::invalid_argument("open_unix_connection: limit must be > 0");
  Tls tls = copy_tls(options, {});
  return open_unix_connection_impl(std::move(path), without_views(options), std::move(tls));
}

}  // namespace aio
