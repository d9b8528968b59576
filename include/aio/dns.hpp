// aio::getaddrinfo — name resolution that never blocks the loop.
#pragma once

#include <sys/socket.h>

#include <string>
#include <vector>

#include "aio/coro.hpp"
#include "aio/socket_address.hpp"

namespace aio {

struct AddrInfoOptions {
  /// AF_UNSPEC (both), AF_INET or AF_INET6.
  int family = AF_UNSPEC;
  /// For binding a server: a null host means every interface (AI_PASSIVE).
  bool passive = false;
  /// Stream (TCP) addresses; false: datagram (UDP).
  bool stream = true;
};

/// The addresses of host:port, in the resolver's order of preference. A numeric host is
/// converted at once; a name is resolved by the system resolver on the loop's thread pool.
/// std::system_error (with the resolver's message, e.g. "Name or service not known") if
/// the name does not resolve.
Coro<std::vector<SocketAddress>> getaddrinfo(std::string host, int port, AddrInfoOptions options = {});

}  // namespace aio
