// Creating, binding and connecting sockets — the steps streams, servers and datagram
// endpoints share. Errors are std::system_error naming the step and the address.
#pragma once

#include <optional>

#include "aio/coro.hpp"
#include "aio/socket_address.hpp"
#include "io/operation.hpp"

namespace aio::detail {

/// socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC).
int new_socket(int family, int type);

struct ListenOptions {
  int backlog = 100;
  bool reuse_address = true;
  bool reuse_port = false;
};
/// A non-blocking socket bound to addr and listening, registered with the loop.
IoHandle listen_socket(EventLoop& loop, const SocketAddress& addr, const ListenOptions& options);

/// Binds fd to addr; std::system_error "bind <addr>" on failure.
void bind_socket(int fd, const SocketAddress& addr);

/// Connects a new stream socket to remote (bound to local first, if given).
Coro<IoHandle> connect_stream(SocketAddress remote, std::optional<SocketAddress> local);

SocketAddress local_address(int fd);
SocketAddress peer_address(int fd);

}  // namespace aio::detail
