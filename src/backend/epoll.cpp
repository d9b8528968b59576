// The epoll backend: readiness-first with an optimistic syscall.
//
// Every fd is registered once, edge-triggered, for both directions. submit() tries the
// syscall straight away — on a busy connection the data is usually there and no wait is
// needed. Only on EAGAIN is the operation parked on its fd; an edge then retries the
// parked operations in FIFO order until one would block again.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <system_error>

#include "backend/backend.hpp"
#include "backend/epoll.hpp"
#include "backend/syscall_ops.hpp"

namespace aio::detail {

struct IoRegistration : ListNode {
  int fd = -1;
  bool pollable = true;   // false for regular files, which epoll refuses: always "ready"
  bool detached = false;  // detach() ran during poll(): freed when poll() is done with it
  // Cached readiness: false once a syscall said "would block" (or a short read/write
  // showed the socket drained/full); set again by the next epoll edge. While false, a new
  // operation parks without trying its syscall — the echo pattern's "recv right after
  // sending the reply" would otherwise always cost a syscall that returns EAGAIN.
  bool readable = true;
  bool writable = true;
  // The peer hung up (or the socket has an error): an EOF or error is waiting to be read,
  // which no later edge will announce — a short read must not clear `readable` then.
  bool read_hangup = false;
  IntrusiveList<IoOp> readers;
  IntrusiveList<IoOp> writers;
};

namespace {

bool is_read_side(IoKind k) noexcept {
  switch (k) {
    case IoKind::accept:
    case IoKind::recv:
    case IoKind::read:
    case IoKind::recvmsg:
    case IoKind::poll_readable:
      return true;
    default:
      return false;
  }
}

}  // namespace

EpollBackend::EpollBackend() {
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  wakefd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wakefd_ < 0) {
    int e = errno;
    ::close(epfd_);
    throw std::system_error(e, std::generic_category(), "eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // null marks the wake-up eventfd
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, wakefd_, &ev) < 0) {
    int e = errno;
    ::close(wakefd_);
    ::close(epfd_);
    throw std::system_error(e, std::generic_category(), "epoll_ctl(eventfd)");
  }
}

EpollBackend::~EpollBackend() {
  ::close(wakefd_);
  ::close(epfd_);
}

IoRegistration* EpollBackend::attach(int fd) {
  auto reg = std::make_unique<IoRegistration>();
  reg->fd = fd;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = reg.get();
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0) {
    if (errno != EPERM) throw std::system_error(errno, std::generic_category(), "epoll_ctl(ADD)");
    reg->pollable = false;  // a regular file: every syscall completes without waiting
  }
  attached_.push_back(reg.get());
  return reg.release();
}

void EpollBackend::detach(IoRegistration* reg) noexcept {
  if (!reg) return;
  // Operations still parked on a closing fd end with EBADF rather than wait forever.
  for (IntrusiveList<IoOp>* queue : {&reg->readers, &reg->writers}) {
    while (IoOp* op = queue->pop_front()) finish(*op, -EBADF);
  }
  if (reg->pollable) ::epoll_ctl(epfd_, EPOLL_CTL_DEL, reg->fd, nullptr);
  IntrusiveList<IoRegistration>::erase(reg);
  // A completion callback may close an fd while poll() is still walking this
  // registration (or has more events for it in this batch): free it afterwards.
  if (polling_) {
    reg->detached = true;
    graveyard_.push_back(reg);
  } else {
    delete reg;
  }
}

namespace {
// Updates the cached readiness from a syscall's result. Linux signals an edge-triggered
// EPOLLIN for every arrival of data (and EPOLLOUT whenever space frees up), so clearing the
// flag after a short stream read or write cannot miss data that comes later.
void note_readiness(IoRegistration* reg, const IoOp& op, std::int64_t r) noexcept {
  bool read_side = is_read_side(op.kind);
  bool exhausted = r == -EAGAIN;
  if (r > 0 && static_cast<std::size_t>(r) < op.length)
    exhausted = (op.kind == IoKind::recv && !reg->read_hangup) || op.kind == IoKind::send;  // (not datagrams, files)
  if (!exhausted) return;
  (read_side ? reg->readable : reg->writable) = false;
}
}  // namespace

bool EpollBackend::submit(IoRegistration* reg, IoOp& op) {
  op.fd = reg->fd;
  bool read_side = is_read_side(op.kind);
  IntrusiveList<IoOp>& queue = read_side ? reg->readers : reg->writers;
  bool ready = read_side ? reg->readable : reg->writable;
  // Earlier parked ops on the same side go first, so byte order is preserved.
  if (op.wait_only && (queue.empty() || !reg->pollable) && (ready || op.no_wait || !reg->pollable)) {
    op.result = ready || !reg->pollable ? 0 : -EAGAIN;  // the readiness cache answers: no syscall
    return true;
  }
  if ((queue.empty() && (ready || op.no_wait)) || !reg->pollable) {
    std::int64_t r = attempt_now(op);
    if (reg->pollable) note_readiness(reg, op, r);
    if (r != -EAGAIN || !reg->pollable || op.no_wait) {
      op.result = r;
      return true;
    }
  }
  if (op.no_wait) {  // others are queued ahead of it: it would have to wait
    op.result = -EAGAIN;
    return true;
  }
  op.in_flight = true;
  queue.push_back(&op);
  ++in_flight_;
  return false;
}

void EpollBackend::cancel(IoOp& op) noexcept {
  if (!op.in_flight) return;
  IntrusiveList<IoOp>::erase(&op);
  finish(op, -ECANCELED);
}

void EpollBackend::abandon(IoOp& op) noexcept {
  // Nothing of the op is with the kernel: unlinking it is all it takes.
  if (!op.in_flight) return;
  IntrusiveList<IoOp>::erase(&op);
  op.in_flight = false;
  --in_flight_;
}

void EpollBackend::complete_all() noexcept {
  // Nothing of a parked op is with the kernel: each ends with -ECANCELED, in FIFO order
  // per fd. A completion callback may detach any registration (freed afterwards, as in
  // poll()) or start new ops, which the next round ends.
  polling_ = true;
  for (int round = 0; round < 16 && in_flight_ > 0; ++round) {
    IntrusiveList<IoRegistration> todo;
    while (IoRegistration* reg = attached_.pop_front()) todo.push_back(reg);
    while (IoRegistration* reg = todo.pop_front()) {
      attached_.push_back(reg);
      for (IntrusiveList<IoOp>* queue : {&reg->readers, &reg->writers}) {
        while (!reg->detached) {
          IoOp* op = queue->pop_front();
          if (!op) break;
          finish(*op, -ECANCELED);
        }
      }
    }
  }
  polling_ = false;
  for (IoRegistration* dead : graveyard_) delete dead;
  graveyard_.clear();
}

void EpollBackend::finish(IoOp& op, std::int64_t result) noexcept {
  op.in_flight = false;
  op.result = result;
  --in_flight_;
  op.on_complete(&op);
}

void EpollBackend::retry(IoRegistration* reg, IntrusiveList<IoOp>& queue, const bool& ready) noexcept {
  while (!reg->detached && ready) {
    IoOp* op = queue.front();
    if (!op) return;
    std::int64_t r = 0;  // a wait_only op: the edge is its answer
    if (!op->wait_only) {
      r = attempt_now(*op);
      note_readiness(reg, *op, r);
      if (r == -EAGAIN) return;
    }
    IntrusiveList<IoOp>::erase(op);
    finish(*op, r);
  }
}

void EpollBackend::poll(std::int64_t timeout_ns) {
  int timeout_ms;
  if (timeout_ns < 0) {
    timeout_ms = -1;
  } else if (timeout_ns == 0) {
    timeout_ms = 0;
  } else {
    // Round up so that we never wake before the earliest timer is due.
    std::int64_t ms = (timeout_ns + 999'999) / 1'000'000;
    timeout_ms = ms > 86'400'000 ? 86'400'000 : static_cast<int>(ms);
  }
  epoll_event events[kMaxEvents];
  int n = ::epoll_wait(epfd_, events, kMaxEvents, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return;
    throw std::system_error(errno, std::generic_category(), "epoll_wait");
  }
  polling_ = true;
  for (int i = 0; i < n; ++i) {
    auto* reg = static_cast<IoRegistration*>(events[i].data.ptr);
    if (!reg) {
      std::uint64_t drained;
      [[maybe_unused]] ssize_t r = ::read(wakefd_, &drained, sizeof drained);
      continue;
    }
    if (reg->detached) continue;
    std::uint32_t ev = events[i].events;
    // Errors and hang-ups wake both sides: the retried syscall reports what happened.
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      reg->readable = true;
      if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) reg->read_hangup = true;
      retry(reg, reg->readers, reg->readable);
    }
    if (!reg->detached && (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))) {
      reg->writable = true;
      retry(reg, reg->writers, reg->writable);
    }
  }
  polling_ = false;
  for (IoRegistration* dead : graveyard_) delete dead;
  graveyard_.clear();
}

void EpollBackend::wake() noexcept {
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t r = ::write(wakefd_, &one, sizeof one);
}

}  // namespace aio::detail
