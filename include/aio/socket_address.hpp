// aio::SocketAddress — an IPv4, IPv6 or Unix-domain socket address, as a value.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace aio {

/// What asyncio represents as a (host, port) tuple, or a path for Unix sockets.
///
///     aio::SocketAddress a("127.0.0.1", 8888);
///     aio::SocketAddress b("::1", 0);
///     a.to_string();   // "127.0.0.1:8888"; b.to_string() == "[::1]:0"
///
/// The constructor takes numeric hosts only (it never blocks); resolve names with
/// aio::getaddrinfo().
class SocketAddress {
 public:
  /// An empty address (family AF_UNSPEC).
  SocketAddress() noexcept;
  /// From a numeric IPv4 or IPv6 host ("10.0.0.1", "::1", "fe80::1%eth0") and a port.
  /// std::invalid_argument if host is not a numeric address or port is out of 0..65535.
  SocketAddress(std::string_view host, int port);
  /// A Unix-domain socket path; a leading '\0' makes it an abstract-namespace name.
  /// std::invalid_argument if the path is too long for sockaddr_un.
  static SocketAddress unix_path(std::string_view path);
  /// Copies a kernel sockaddr (from accept, getpeername, recvfrom, getaddrinfo).
  static SocketAddress from_sockaddr(const sockaddr* addr, socklen_t len);

  int family() const noexcept { return storage_.ss_family; }
  bool is_ipv4() const noexcept { return family() == AF_INET; }
  bool is_ipv6() const noexcept { return family() == AF_INET6; }
  bool is_unix() const noexcept { return family() == AF_UNIX; }
  bool empty() const noexcept { return family() == AF_UNSPEC; }

  /// The numeric host ("127.0.0.1", "::1"), or the path for a Unix socket.
  std::string host() const;
  /// The port (0 for Unix sockets).
  int port() const noexcept;
  /// "127.0.0.1:8888", "[::1]:8888", or the Unix path ("@name" for an abstract name).
  std::string to_string() const;

  const sockaddr* data() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
  sockaddr* data() noexcept { return reinterpret_cast<sockaddr*>(&storage_); }
  socklen_t size() const noexcept { return len_; }

  friend bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept;

 private:
  sockaddr_storage storage_;
  socklen_t len_;
};

}  // namespace aio
