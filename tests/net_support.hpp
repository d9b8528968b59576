// Helpers shared by the network tests: a raw peer socket (the other end of a connection,
// driven by the test byte by byte — what asyncio's tests do with feed_data/feed_eof), a
// raw listener, free ports, and waiting (bounded) for something the kernel or the loop
// will make true.
//
// The raw peer is a plain non-blocking socket registered with the running loop through
// the backend seam (io/operation.hpp, from aio_internal), so it can wait for bytes without
// blocking the loop. Everything here owns its fds (RAII), so a test that fails half-way
// leaks nothing (AIO_TEST fails on leaked fds).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <aio/aio.hpp>

#include "io/operation.hpp"
#include "io/owned_fd.hpp"
#include "support.hpp"

namespace aio_test::net {

[[noreturn]] inline void throw_errno(const std::string& what, int err = errno) {
  throw std::system_error(err, std::generic_category(), what);
}

// The errno a std::exception_ptr holding a std::system_error carries (0 otherwise).
inline int errno_of(const std::exception_ptr& e) {
  auto se = exception_as<std::system_error>(e);
  return se ? se->code().value() : 0;
}

// --- owning a plain fd -------------------------------------------------------------------------

using Fd = aio::detail::OwnedFd;

inline aio::SocketAddress local_name(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) throw_errno("getsockname");
  return aio::SocketAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

inline aio::SocketAddress peer_name(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) throw_errno("getpeername");
  return aio::SocketAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

// Whether this machine can bind ::1 (IPv6 tests skip otherwise).
inline bool has_ipv6_loopback() {
  Fd s(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return false;
  aio::SocketAddress a("::1", 0);
  return ::bind(s.get(), a.data(), a.size()) == 0;
}

// A port on `host` that nothing listens on (bound, then released: connecting is refused).
inline int unused_port(const char* host = "127.0.0.1", int type = SOCK_STREAM) {
  aio::SocketAddress a(host, 0);
  Fd s(::socket(a.family(), type | SOCK_CLOEXEC, 0));
  if (!s) throw_errno("socket");
  if (::bind(s.get(), a.data(), a.size()) < 0) throw_errno("bind");
  return local_name(s.get()).port();
}

// A fresh path for a Unix-domain socket (removed again by the destructor).
class TempSocketPath {
 public:
  TempSocketPath() {
    static std::atomic<int> counter{0};
    path_ = "/tmp/aio-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".sock";
    ::unlink(path_.c_str());
  }
  ~TempSocketPath() { ::unlink(path_.c_str()); }
  TempSocketPath(const TempSocketPath&) = delete;
  TempSocketPath& operator=(const TempSocketPath&) = delete;
  const std::string& str() const noexcept { return path_; }
  bool exists() const { return ::access(path_.c_str(), F_OK) == 0; }

 private:
  std::string path_;
};

// --- waiting for the kernel or the loop ----------------------------------------------------------

// Lets the loop run until pred() holds: sleep(0) first, then 1 ms naps, for at most
// `timeout` seconds. Returns pred()'s final value (false: it never came true), so that a
// library bug makes a test fail instead of hanging. Use for what the kernel does on its
// own time (bytes crossing the loopback); order the loop's own events with run_briefly().
inline aio::Coro<bool> eventually(std::function<bool()> pred, double timeout = 5.0) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
  for (int i = 0;; ++i) {
    if (pred()) co_return true;
    if (std::chrono::steady_clock::now() > deadline) co_return false;
    co_await aio::sleep(i < 200 ? 0.0 : 0.001);
  }
}

// --- the raw peer ----------------------------------------------------------------------------------

// One end of a connection that the test drives directly: send exactly these bytes now,
// half-close, reset, read what the stream under test sent. Non-blocking, registered with
// the running loop (create it inside the loop).
class RawPeer {
 public:
  RawPeer() = default;
  // Takes ownership of fd (made non-blocking here).
  explicit RawPeer(int fd) {
    int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    io_ = aio::detail::IoHandle(aio::get_running_loop(), fd);
  }
  RawPeer(RawPeer&&) noexcept = default;
  RawPeer& operator=(RawPeer&&) noexcept = default;

  int fd() const noexcept { return io_.fd(); }
  bool is_open() const noexcept { return io_.is_open(); }

  // Sends all of data at once (small amounts: it must fit the socket buffer).
  void send_now(std::string_view data) {
    std::size_t done = 0;
    while (done < data.size()) {
      ssize_t r = ::send(fd(), data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (r < 0) throw_errno("RawPeer::send_now");
      done += static_cast<std::size_t>(r);
    }
  }

  // Sends data, waiting while the socket buffer is full. Throws std::system_error.
  aio::Coro<void> send_all(std::string data) {
    std::size_t done = 0;
    while (done < data.size()) {
      aio::detail::IoOp op;
      op.kind = aio::detail::IoKind::send;
      op.buffer = data.data() + done;
      op.length = data.size() - done;
      std::int64_t r = co_await aio::detail::IoAwaiter(io_, op);
      if (r < 0) throw_errno("RawPeer::send_all", static_cast<int>(-r));
      done += static_cast<std::size_t>(r);
    }
  }

  // Up to max bytes, waiting for at least one; "" at EOF. Throws std::system_error.
  aio::Coro<std::string> recv_some(std::size_t max = 64 * 1024) {
    std::string out(max, '\0');
    aio::detail::IoOp op;
    op.kind = aio::detail::IoKind::recv;
    op.buffer = out.data();
    op.length = max;
    std::int64_t r = co_await aio::detail::IoAwaiter(io_, op);
    if (r < 0) throw_errno("RawPeer::recv_some", static_cast<int>(-r));
    out.resize(static_cast<std::size_t>(r));
    co_return out;
  }

  // Exactly n bytes (fewer only if EOF comes first).
  aio::Coro<std::string> recv_exactly(std::size_t n) {
    std::string out;
    while (out.size() < n) {
      std::string chunk = co_await recv_some(std::min<std::size_t>(n - out.size(), 256 * 1024));
      if (chunk.empty()) break;
      out += chunk;
    }
    co_return out;
  }

  // Everything until EOF.
  aio::Coro<std::string> recv_all() {
    std::string out;
    for (;;) {
      std::string chunk = co_await recv_some(256 * 1024);
      if (chunk.empty()) break;
      out += chunk;
    }
    co_return out;
  }

  // Bytes received and not read yet (FIONREAD).
  std::size_t available() const {
    int n = 0;
    if (::ioctl(fd(), FIONREAD, &n) < 0) throw_errno("ioctl(FIONREAD)");
    return static_cast<std::size_t>(n);
  }

  // Bytes sent but not yet acknowledged by the other end (SIOCOUTQ): 0 means everything
  // sent is in the other end's receive queue.
  std::size_t unacked() const {
    int n = 0;
    if (::ioctl(fd(), SIOCOUTQ, &n) < 0) throw_errno("ioctl(SIOCOUTQ)");
    return static_cast<std::size_t>(n);
  }

  // Waits until what was sent has reached the other end's kernel (so that one receive
  // there gets it all). False if it did not within `timeout`.
  aio::Coro<bool> flushed(double timeout = 5.0) {
    bool ok = co_await eventually([this] { return unacked() == 0; }, timeout);
    co_return ok;
  }

  // Half-close: the other end reads EOF; this end can still read.
  void shutdown_write() {
    if (::shutdown(fd(), SHUT_WR) < 0) throw_errno("shutdown(SHUT_WR)");
  }

  // Resets the connection: SO_LINGER {1, 0} then close — the other end gets an RST (its
  // reads and writes fail with ECONNRESET / EPIPE).
  void reset() {
    linger lg{1, 0};
    ::setsockopt(fd(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    io_.close();
  }

  void set_recv_buffer(int bytes) { ::setsockopt(fd(), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes); }

  void close() noexcept { io_.close(); }

 private:
  aio::detail::IoHandle io_;
};

// A listening socket (plain, blocking accept with a timeout) on a loopback address or a
// Unix path: the raw end that open_connection() connects to.
class RawListener {
 public:
  // host: "127.0.0.1" or "::1". rcvbuf > 0 sets SO_RCVBUF before listen() (accepted
  // sockets inherit it: a small window fills quickly).
  explicit RawListener(const char* host = "127.0.0.1", int rcvbuf = 0) {
    aio::SocketAddress a(host, 0);
    fd_ = Fd(::socket(a.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd_) throw_errno("socket");
    if (rcvbuf > 0) ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (::bind(fd_.get(), a.data(), a.size()) < 0) throw_errno("bind");
    if (::listen(fd_.get(), 16) < 0) throw_errno("listen");
    address_ = local_name(fd_.get());
  }
  // A Unix-domain listener at path.
  static RawListener unix_at(const std::string& path) {
    RawListener l(Unix{});
    aio::SocketAddress a = aio::SocketAddress::unix_path(path);
    l.fd_ = Fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!l.fd_) throw_errno("socket");
    if (::bind(l.fd_.get(), a.data(), a.size()) < 0) throw_errno("bind");
    if (::listen(l.fd_.get(), 16) < 0) throw_errno("listen");
    l.address_ = a;
    return l;
  }

  const aio::SocketAddress& address() const noexcept { return address_; }
  int port() const noexcept { return address_.port(); }

  // The next connection (already established by the kernel: a connect that returned is
  // in the accept queue). Throws if none comes within 5 s.
  RawPeer accept() {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) throw std::runtime_error("RawListener::accept: no connection within 5 s");
    int c = ::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0) throw_errno("accept");
    return RawPeer(c);
  }
  void close() noexcept { fd_.reset(); }

 private:
  struct Unix {};
  explicit RawListener(Unix) {}
  Fd fd_;
  aio::SocketAddress address_;
};

// A stream under test and the raw peer at its other end.
struct StreamAndPeer {
  aio::StreamReader reader;
  aio::StreamWriter writer;
  RawPeer peer;
};

// open_connection() to a fresh raw listener on host; the peer is the accepted socket.
inline aio::Coro<StreamAndPeer> connect_to_raw_peer(std::size_t limit = aio::kDefaultStreamLimit,
                                                    const char* host = "127.0.0.1", int peer_rcvbuf = 0) {
  RawListener listener(host, peer_rcvbuf);
  auto conn = co_await aio::open_connection(host, listener.port(), {.limit = limit});
  RawPeer peer = listener.accept();
  co_return StreamAndPeer{std::move(conn.first), std::move(conn.second), std::move(peer)};
}

// readexactly(n), or what it had read ("" here) if the bytes do not come within `timeout`
// (so that lost bytes fail a test instead of hanging it).
inline aio::Coro<std::string> read_exactly_within(aio::StreamReader& reader, std::size_t n, double timeout) {
  std::string out;
  try {
    out = co_await aio::wait_for(reader.readexactly(n), timeout);
  } catch (const aio::TimeoutError&) {
  }
  co_return out;
}

// --- a connected pair of aio streams (through a real server) ---------------------------------------

// What a server handed to its connection handler, kept for the test to drive.
struct Accepted {
  std::optional<aio::StreamReader> reader;
  std::optional<aio::StreamWriter> writer;
  aio::Event ready;
};

inline aio::Coro<void> stash_connection(Accepted* slot, aio::StreamReader r, aio::StreamWriter w) {
  slot->reader.emplace(std::move(r));
  slot->writer.emplace(std::move(w));
  slot->ready.set();
  co_return;
}

// A handler that hands the connection to the test through *slot.
inline aio::ConnectionHandler stash_into(Accepted* slot) {
  return
      [slot](aio::StreamReader r, aio::StreamWriter w) { return stash_connection(slot, std::move(r), std::move(w)); };
}

// --- byte patterns ---------------------------------------------------------------------------------

// n bytes of a pattern that depends on the offset (and on `seed`), so that a lost,
// repeated or reordered chunk shows.
inline std::string pattern(std::size_t n, std::size_t offset = 0, unsigned seed = 0) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t k = offset + i;
    s[i] = static_cast<char>((k * 131 + (k >> 12) * 7 + seed) & 0xff);
  }
  return s;
}

// Every byte value, `rounds` times over.
inline std::string all_byte_values(int rounds = 1) {
  std::string s;
  for (int r = 0; r < rounds; ++r)
    for (int b = 0; b < 256; ++b) s.push_back(static_cast<char>(b));
  return s;
}

// --- an echo handler that counts what it saw -------------------------------------------------

// What echo_counting's connections saw, for the test to check.
struct Stats {
  int started = 0;
  int finished = 0;
  int errors = 0;          // connection errors the handler caught (resets...)
  bool clean_eof = false;  // the last connection ended with read() == "" (not an error)
  std::vector<std::string> error_messages;
};

// Echoes until EOF (a clean one is noted), then closes. Connection errors (a peer's reset)
// are the peer's problem: counted, not raised — so the only reports the loop gets are the
// server's own.
inline aio::Coro<void> echo_counting(Stats* stats, aio::StreamReader r, aio::StreamWriter w) {
  ++stats->started;
  try {
    for (;;) {
      std::string data = co_await r.read(65536);
      if (data.empty()) {
        stats->clean_eof = true;
        break;
      }
      w.write(data);
      co_await w.drain();
    }
  } catch (const std::exception& e) {
    ++stats->errors;
    stats->error_messages.push_back(e.what());
  }
  w.close();
  ++stats->finished;
}

inline aio::ConnectionHandler echo_into(Stats* stats) {
  return [stats](aio::StreamReader r, aio::StreamWriter w) { return echo_counting(stats, std::move(r), std::move(w)); };
}

}  // namespace aio_test::net
