// Blocking loopback sockets for tests whose servers run in other processes (run_workers,
// run_app, a forked server whose memory is measured): the test talks to them with plain
// blocking calls, bounded by receive timeouts.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace aio_test {

inline sockaddr_in loopback_address(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// A port nobody else can take: a bound (not listening) SO_REUSEPORT socket holds it until
// the servers under test listen on it too.
struct ReservedPort {
  int fd = -1;
  int port = 0;
  ReservedPort() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    sockaddr_in addr = loopback_address(0);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw std::runtime_error("bind");
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ReservedPort(const ReservedPort&) = delete;
  ReservedPort& operator=(const ReservedPort&) = delete;
  void release() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  ~ReservedPort() { release(); }
};

// A blocking connection to 127.0.0.1:port (-1 on failure), reads bounded by
// `receive_timeout_s` (SO_RCVTIMEO).
inline int connect_loopback(int port, int receive_timeout_s = 30) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{receive_timeout_s, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const sockaddr_in addr = loopback_address(port);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// One blocking read(2), retried on EINTR. EINTR comes even without a signal handler: an
// io_uring ring this thread closed earlier (an earlier test's loop) makes the kernel
// interrupt the thread's next blocking wait once, and a socket read with a timeout
// (SO_RCVTIMEO, as connect_loopback sets) reports it instead of restarting.
inline ssize_t read_some(int fd, char* buf, std::size_t size) {
  ssize_t n;
  do n = ::read(fd, buf, size);
  while (n < 0 && errno == EINTR);
  return n;
}

// Everything the peer sends until it closes (or the receive timeout passes).
inline std::string read_to_eof(int fd) {
  std::string out;
  char buf[1024];
  for (;;) {
    const ssize_t n = read_some(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

}  // namespace aio_test
