#include "aio/datagram.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

#include "aio/errors.hpp"
#include "net/socket_ops.hpp"

namespace aio {

namespace detail {
class DatagramCore {
 public:
  DatagramCore(IoHandle handle, bool is_connected) : io(std::move(handle)), connected(is_connected) {
    local = local_address(this->io.fd());
    if (connected) peer = peer_address(this->io.fd());
  }
  IoHandle io;
  bool connected;
  SocketAddress local, peer;
  std::unique_ptr<char[]> buffer;  // receive buffer, allocated on the first receive
  // Datagrams received and not yet returned, oldest first: a receive stores its datagram
  // here as it completes, and recv_from() returns the oldest. One that arrived as its
  // receiver was being cancelled stays for the next recv_from(), so cancelling loses
  // nothing. (Usually holds one datagram for an instant; keeps its capacity.)
  std::vector<std::pair<std::string, SocketAddress>> received;
};

/// Receives one datagram into the socket's buffer and stores it, with its sender, in
/// `received` as the receive completes. Stored, it is safe: a cancellation arriving with
/// it wins (CancelledError), and the next recv_from() returns it.
class DatagramReceive final : public IoAwaiter<DatagramReceive> {
 public:
  DatagramReceive(DatagramCore& core, const IoOp& op) noexcept : IoAwaiter(core.io, op), core_(core) {}

 private:
  friend class IoAwaiter<DatagramReceive>;

  /// IoAwaiter's completion hook.
  bool store_result(IoOp& op) noexcept {
    if (op.result < 0) return false;
    try {
      core_.received.emplace_back(
          std::string(core_.buffer.get(), static_cast<std::size_t>(op.result)),
          SocketAddress::from_sockaddr(static_cast<const sockaddr*>(op.msg->msg_name), op.msg->msg_namelen));
    } catch (...) {
      op.result = -ENOMEM;
      return false;
    }
    return true;
  }

  DatagramCore& core_;
};
}  // namespace detail

namespace {
constexpr std::size_t kMaxDatagram = 64 * 1024;

detail::DatagramCore& require_open(const std::unique_ptr<detail::DatagramCore>& c, const char* what) {
  if (!c || !c->io.is_open())
    throw UsageError(std::string("DatagramSocket.") + what + ": the socket is closed (or was moved from)");
  return *c;
}

Coro<void> send_datagram(detail::DatagramCore& c, std::string data, std::optional<SocketAddress> to) {
  iovec iov{data.data(), data.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (to) {
    msg.msg_name = const_cast<sockaddr*>(to->data());
    msg.msg_namelen = to->size();
  }
  detail::IoOp op;
  op.kind = detail::IoKind::sendmsg;
  op.msg = &msg;
  std::int64_t r = co_await detail::IoAwaiter(c.io, op);
  if (r < 0)
    throw std::system_error(static_cast<int>(-r), std::generic_category(),
                            "send to " + (to ? to->to_string() : c.peer.to_string()));
}
}  // namespace

DatagramSocket::DatagramSocket() noexcept = default;
DatagramSocket::DatagramSocket(DatagramSocket&&) noexcept = default;
DatagramSocket& DatagramSocket::operator=(DatagramSocket&&) noexcept = default;
DatagramSocket::~DatagramSocket() = default;
DatagramSocket::DatagramSocket(std::unique_ptr<detail::DatagramCore> core) noexcept : core_(std::move(core)) {}

Coro<void> DatagramSocket::send_to(std::string_view data, SocketAddress addr) {
  detail::DatagramCore& c = require_open(core_, "send_to");
  if (c.connected) throw UsageError("DatagramSocket.send_to: the socket is connected; use send()");
  return send_datagram(c, std::string(data), addr);
}

Coro<void> DatagramSocket::send(std::string_view data) {
  detail::DatagramCore& c = require_open(core_, "send");
  if (!c.connected) throw UsageError("DatagramSocket.send: the socket is not connected; use send_to(data, addr)");
  return send_datagram(c, std::string(data), std::nullopt);
}

Coro<std::pair<std::string, SocketAddress>> DatagramSocket::recv_from() {
  detail::DatagramCore& c = require_open(core_, "recv_from");
  // Another receiver may take the datagram this one stored before it resumes: then wait
  // for the next one.
  while (c.received.empty()) {
    if (!c.buffer) c.buffer.reset(new char[kMaxDatagram]);
    sockaddr_storage from{};
    iovec iov{c.buffer.get(), kMaxDatagram};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    detail::IoOp op;
    op.kind = detail::IoKind::recvmsg;
    op.msg = &msg;
    std::int64_t r = co_await detail::DatagramReceive(c, op);
    if (r < 0) throw std::system_error(static_cast<int>(-r), std::generic_category(), "receive a datagram");
  }
  std::pair<std::string, SocketAddress> datagram = std::move(c.received.front());
  c.received.erase(c.received.begin());
  co_return datagram;
}

void DatagramSocket::close() noexcept {
  if (core_) core_->io.close();
}
bool DatagramSocket::is_closed() const noexcept { return !core_ || !core_->io.is_open(); }
SocketAddress DatagramSocket::sockname() const { return core_ ? core_->local : SocketAddress(); }
SocketAddress DatagramSocket::peername() const { return core_ ? core_->peer : SocketAddress(); }

Coro<DatagramSocket> open_datagram(DatagramOptions options) {
  if (!options.local_addr && !options.remote_addr)
    throw std::invalid_argument("open_datagram: give local_addr, remote_addr, or both");
  if (options.local_addr && options.remote_addr && options.local_addr->family() != options.remote_addr->family())
    throw std::invalid_argument("open_datagram: local_addr and remote_addr are of different address families");
  int family = options.local_addr ? options.local_addr->family() : options.remote_addr->family();
  int fd = detail::new_socket(family, SOCK_DGRAM);
  detail::IoHandle io(get_running_loop(), fd);
  int one = 1;
  if (options.reuse_port && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
    throw std::system_error(errno, std::generic_category(), "setsockopt(SO_REUSEPORT)");
  if (options.allow_broadcast && ::setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) < 0)
    throw std::system_error(errno, std::generic_category(), "setsockopt(SO_BROADCAST)");
  if (options.local_addr) detail::bind_socket(fd, *options.local_addr);
  if (options.remote_addr) {
    // A UDP connect only records the peer: it completes at once.
    if (::connect(fd, options.remote_addr->data(), options.remote_addr->size()) < 0)
      throw std::system_error(errno, std::generic_category(), "connect to " + options.remote_addr->to_string());
  }
  co_return DatagramSocket(std::make_unique<detail::DatagramCore>(std::move(io), options.remote_addr.has_value()));
}

}  // namespace aio
