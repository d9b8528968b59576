#include "backend/syscall_ops.hpp"

#include <sys/socket.h>
#include <sys/uio.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

namespace aio::detail {

namespace {

std::int64_t check(ssize_t r) noexcept { return r >= 0 ? r : -errno; }

bool poll_once(int fd, short events) noexcept {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, 0) > 0;
}

// sendv: sendmsg on a socket; a pipe refuses it (ENOTSOCK), so writev there.
std::int64_t send_vector(IoOp& op) noexcept {
  msghdr msg{};
  msg.msg_iov = op.iov;
  msg.msg_iovlen = static_cast<std::size_t>(op.iovcnt);
  std::int64_t r = check(::sendmsg(op.fd, &msg, op.flags | MSG_NOSIGNAL));
  if (r == -ENOTSOCK) r = check(::writev(op.fd, op.iov, op.iovcnt));
  return r;
}

std::int64_t attempt(IoOp& op) noexcept {
  switch (op.kind) {
    case IoKind::accept: {
      socklen_t* len = op.addr ? &op.addrlen : nullptr;
      return check(::accept4(op.fd, op.addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC));
    }
    case IoKind::connect:
      if (op.addr) {  // first attempt: start the connection
        int r = ::connect(op.fd, op.addr, op.addrlen);
        op.addr = nullptr;  // later attempts only collect the outcome
        if (r == 0) return 0;
        if (errno == EINPROGRESS || errno == EINTR) return -EAGAIN;
        return -errno;
      } else {
        if (!poll_once(op.fd, POLLOUT)) return -EAGAIN;
        int err = 0;
        socklen_t len = sizeof err;
        if (::getsockopt(op.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return -errno;
        return err == 0 ? 0 : -err;
      }
    case IoKind::recv:
      if (op.select_buffer) {
        op.buffer = shared_receive_buffer();
        if (op.length > kSelectBufferSize) op.length = kSelectBufferSize;
      }
      return check(::recv(op.fd, op.buffer, op.length, op.flags));
    case IoKind::send:
      return check(::send(op.fd, op.buffer, op.length, op.flags | MSG_NOSIGNAL));
    case IoKind::read:
      if (op.select_buffer) {
        op.buffer = shared_receive_buffer();
        if (op.length > kSelectBufferSize) op.length = kSelectBufferSize;
      }
      if (op.offset >= 0) return check(::pread(op.fd, op.buffer, op.length, op.offset));
      return check(::read(op.fd, op.buffer, op.length));
    case IoKind::write:
      if (op.offset >= 0) return check(::pwrite(op.fd, op.buffer, op.length, op.offset));
      return check(::write(op.fd, op.buffer, op.length));
    case IoKind::recvmsg:
      return check(::recvmsg(op.fd, op.msg, op.flags));
    case IoKind::sendmsg:
      return check(::sendmsg(op.fd, op.msg, op.flags | MSG_NOSIGNAL));
    case IoKind::sendv:
      return send_vector(op);
    case IoKind::poll_readable:
      return poll_once(op.fd, POLLIN | POLLRDHUP) ? 0 : -EAGAIN;
    case IoKind::poll_writable:
      return poll_once(op.fd, POLLOUT) ? 0 : -EAGAIN;
    case IoKind::fsync:
      return check(::fsync(op.fd));
  }
  return -EINVAL;
}

}  // namespace

char* shared_receive_buffer() {
  static thread_local std::unique_ptr<char[]> buffer(new char[kSelectBufferSize]);
  return buffer.get();
}

std::int64_t attempt_now(IoOp& op) noexcept {
  std::int64_t r;
  do r = attempt(op);
  while (r == -EINTR);
  if (r == -EWOULDBLOCK) r = -EAGAIN;
  return r;
}

}  // namespace aio::detail
