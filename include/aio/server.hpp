// aio::Server and start_server — asyncio's streams servers.
#pragma once

#include <concepts>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "aio/coro.hpp"
#include "aio/delay.hpp"
#include "aio/socket_address.hpp"
#include "aio/ssl.hpp"
#include "aio/streams.hpp"

namespace aio {

namespace detail {
class ServerCore;
}

/// What start_server runs for each connection, in a task of its own.
using ConnectionHandler = std::function<Coro<void>(StreamReader, StreamWriter)>;

/// Every member is trivially copyable (see SslContextRef for why); start_server copies
/// the context before it returns.
struct ServerOptions {
  int backlog = 100;
  /// SO_REUSEADDR (asyncio's default on Unix): rebind at once after a restart.
  bool reuse_address = true;
  /// SO_REUSEPORT: several processes (aio::run_workers) share the port.
  bool reuse_port = false;
  /// TLS: e.g. aio::SslContext::server(cert, key). Empty: plain TCP.
  SslContextRef ssl{};
  std::size_t limit = kDefaultStreamLimit;
  /// After accept() fails for lack of resources (EMFILE, ENFILE, ENOBUFS, ENOMEM), the
  /// server keeps serving its connections and tries again after this long (asyncio: 1 s).
  Delay accept_retry_delay = 1.0;
};
static_assert(std::is_trivially_destructible_v<ServerOptions>, "see SslContextRef: GCC 12 and aggregate temporaries");

/// A listening server (asyncio.Server). Connections are accepted as soon as it starts.
/// Destroying the Server closes it (stops accepting); its connections live on.
class Server {
 public:
  Server() noexcept = default;
  Server(Server&& o) noexcept;
  Server& operator=(Server&& o) noexcept;
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  /// The addresses it listens on (with the real port when 0 was asked for).
  std::vector<SocketAddress> addresses() const;
  bool is_serving() const noexcept;
  /// Stops accepting and closes the listening sockets. Open connections stay open.
  void close() noexcept;
  /// Waits until the server is closed and every connection it accepted is closed.
  Coro<void> wait_closed();
  /// Serves until cancelled (then closes the server and waits for it, as asyncio does).
  Coro<void> serve_forever();
  /// Python 3.13: closes every connection (after sending what they buffered) / at once.
  void close_clients() noexcept;
  void abort_clients() noexcept;
  /// Connections currently open.
  std::size_t connection_count() const noexcept;

  explicit Server(detail::ServerCore* core) noexcept;

 private:
  detail::ServerCore* core_ = nullptr;
};

Coro<Server> start_server(ConnectionHandler handler, std::string host, int port, ServerOptions options = {});
Coro<Server> start_unix_server(ConnectionHandler handler, std::string path, ServerOptions options = {});

}  // namespace aio
