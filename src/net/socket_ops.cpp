#include "net/socket_ops.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace aio::detail {

namespace {
[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

SocketAddress name_of(int fd, bool peer) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  int r = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
               : ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (r < 0) return {};
  return SocketAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

void set_option(int fd, int level, int name, int value, const char* what) {
  if (::setsockopt(fd, level, name, &value, sizeof value) < 0) throw_errno(errno, what);
}
}  // namespace

SocketAddress local_address(int fd) { return name_of(fd, false); }
SocketAddress peer_address(int fd) { return name_of(fd, true); }

int new_socket(int family, int type) {
  int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno(errno, "socket");
  return fd;
}

void bind_socket(int fd, const SocketAddress& addr) {
  if (::bind(fd, addr.data(), addr.size()) < 0) throw_errno(errno, "bind " + addr.to_string());
}

IoHandle listen_socket(EventLoop& loop, const SocketAddress& addr, const ListenOptions& options) {
  int fd = new_socket(addr.family(), SOCK_STREAM);
  try {
    if (!addr.is_unix()) {
      if (options.reuse_address) set_option(fd, SOL_SOCKET, SO_REUSEADDR, 1, "setsockopt(SO_REUSEADDR)");
      if (options.reuse_port) set_option(fd, SOL_SOCKET, SO_REUSEPORT, 1, "setsockopt(SO_REUSEPORT)");
      // A v6 socket listens on v6 only, so that the same port can be bound on v4 too.
      if (addr.is_ipv6()) set_option(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1, "setsockopt(IPV6_V6ONLY)");
    }
    bind_socket(fd, addr);
    if (::listen(fd, options.backlog) < 0) throw_errno(errno, "listen on " + addr.to_string());
  } catch (...) {
    ::close(fd);
    throw;
  }
  return IoHandle(loop, fd);
}

Coro<IoHandle> connect_stream(SocketAddress remote, std::optional<SocketAddress> local) {
  int fd = new_socket(remote.family(), SOCK_STREAM);
  IoHandle io(get_running_loop(), fd);  // owns fd from here on, on every path
  if (local) bind_socket(fd, *local);
  IoOp op;
  op.kind = IoKind::connect;
  op.addr = const_cast<sockaddr*>(remote.data());
  op.addrlen = remote.size();
  std::int64_t r = co_await IoAwaiter(io, op);
  if (r < 0) throw_errno(static_cast<int>(-r), "connect to " + remote.to_string());
  co_return io;
}

}  // namespace aio::detail
