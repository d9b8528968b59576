// The I/O backend seam: the one interface between the event loop and the kernel.
//
// The layers above (streams, servers, datagrams, pipes) express I/O as *operations*
// — "receive into this buffer", "accept a connection" — that a backend carries out and
// completes. They never ask "is this fd readable?". That lets two different kernel models
// sit behind the same interface:
//   - epoll (readiness): try the syscall at once; if it would block, park the operation on
//     its fd and retry it when epoll reports readiness.
//   - io_uring (completion): submit the operation to the ring; the kernel completes it.
// Timers are not backend operations: the loop keeps its own timer heap and passes the
// time to the next deadline to poll().
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "aio/detail/intrusive.hpp"
#include "aio/loop.hpp"

namespace aio::detail {

enum class IoKind : std::uint8_t {
  accept,         // accept4(fd, addr, &addrlen, NONBLOCK|CLOEXEC) → new fd
  connect,        // connect(fd, addr, addrlen) → 0
  recv,           // recv(fd, buffer, length, flags) → bytes (0 = EOF)
  send,           // send(fd, buffer, length, flags | MSG_NOSIGNAL) → bytes
  read,           // read(fd, buffer, length), or pread at `offset` when >= 0 → bytes
  write,          // write(fd, buffer, length), or pwrite at `offset` when >= 0 → bytes
  recvmsg,        // recvmsg(fd, msg, flags) → bytes
  sendmsg,        // sendmsg(fd, msg, flags | MSG_NOSIGNAL) → bytes
  poll_readable,  // completes when fd is readable (or hung up) → 0
  poll_writable,  // completes when fd is writable (or hung up) → 0
  sendv,          // sendmsg(fd, {iov, iovcnt}, flags | MSG_NOSIGNAL); writev on pipes → bytes
  fsync,          // fsync(fd) → 0 (regular files; see IoBackend::runs_files)
};

/// The per-fd registration a backend keeps (epoll: the fd's parked operations).
struct IoRegistration;

/// One I/O operation.
///
/// Ownership: the issuer (usually an awaiter in a coroutine frame) owns the IoOp and the
/// memory it points at (buffer, addr, msg, iov) and keeps both alive while the op is in
/// flight — a completion-based backend lets the kernel write into them until the
/// completion arrives. An issuer that must go away first hands the op to abandon().
struct IoOp : ListNode {
  IoKind kind = IoKind::read;
  int fd = -1;
  void* buffer = nullptr;
  std::size_t length = 0;
  int flags = 0;
  sockaddr* addr = nullptr;  // accept: out; connect: in
  socklen_t addrlen = 0;     // accept: in/out; connect: in
  msghdr* msg = nullptr;     // recvmsg/sendmsg
  iovec* iov = nullptr;      // sendv
  int iovcnt = 0;            // sendv
  std::int64_t offset = -1;  // read/write: the file offset (pread/pwrite); -1: the fd's own position
  /// recv and read: leave `buffer` null and let the backend pick the memory when data
  /// arrives (epoll: its shared receive buffer; io_uring: a provided-buffer ring), so
  /// that a connection waiting for data holds no buffer. On completion `buffer` points at
  /// the bytes (and `buffer_id` names the provided buffer), which are valid only until
  /// on_complete returns (or, for an op that submit() completed at once, until the next
  /// backend call): copy them out at once.
  bool select_buffer = false;
  /// recv and read with select_buffer: complete (with 0) as soon as bytes, EOF or an error
  /// can be taken, without taking them; a no_wait receive then takes them at once. The
  /// reader runs first and copies the bytes straight into its own memory (one copy, one
  /// buffer alive at a time), instead of the backend delivering them to every waiting
  /// reader of a poll batch at once. May complete spuriously: the take may find nothing
  /// (-EAGAIN), and the reader waits again.
  bool wait_only = false;
  /// Try the operation now and never park it: submit() completes it at once, with
  /// -EAGAIN if it would have to wait ("is anything there already?").
  bool no_wait = false;
  /// >= 0: success (bytes, new fd, or 0). < 0: -errno; -ECANCELED when cancelled.
  std::int64_t result = 0;
  /// What the completion said beyond the result (set before on_complete runs):
  /// `more`: the kernel request behind this op is multishot and goes on (io_uring);
  /// `buffer_id`: the provided buffer a select_buffer op's bytes are in (-1: none, or
  /// the epoll backend's shared buffer); `cqe_flags`: io_uring's raw IORING_CQE_F_* (0 on epoll).
  bool more = false;
  std::int32_t buffer_id = -1;
  std::uint32_t cqe_flags = 0;
  /// Called by the backend when a parked operation completes (never for an operation
  /// that submit() completed at once, nor for one handed to abandon()).
  void (*on_complete)(IoOp*) = nullptr;
  bool in_flight = false;         // parked in the backend, completion still to come
  bool polled_receive = false;    // io_uring: a select_buffer recv waiting with a poll (bulk flows)
  IoRegistration* reg = nullptr;  // set by submit(): the fd's registration (the backend's own use)
};

class IoBackend {
 public:
  virtual ~IoBackend() = default;
  virtual std::string_view name() const noexcept = 0;

  /// Makes a non-blocking fd usable with submit(). Once per fd, before its first op.
  virtual IoRegistration* attach(int fd) = 0;
  /// Forgets the fd (call before closing it; the fd may be closed as soon as this
  /// returns). Operations still in flight on it complete with -EBADF (or their real
  /// result, if they finished first) — during detach() or in a later poll(): a
  /// completion-based backend learns of them asynchronously. Their memory must stay
  /// valid until then, as for any op in flight (or be handed over with abandon()).
  virtual void detach(IoRegistration* reg) noexcept = 0;

  /// Starts op on a registered fd. Returns true when it completed at once (op.result is
  /// set and on_complete will not be called); false when it is in flight.
  virtual bool submit(IoRegistration* reg, IoOp& op) = 0;
  /// Asks an in-flight op to stop. Its completion still arrives through on_complete —
  /// with -ECANCELED, or with its real result if it finished first (a completion-based
  /// backend cannot always win that race; callers must accept the data then).
  virtual void cancel(IoOp& op) noexcept = 0;
  /// The issuer of an in-flight op is going away (its frame is being destroyed). The
  /// backend takes the op over: on_complete is never called, a result that must not be
  /// lost is disposed of (an accepted fd is closed), and when abandon() returns neither
  /// the backend nor the kernel touches the op or the memory it points at any more.
  virtual void abandon(IoOp& op) noexcept = 0;

  /// The loop is closing: every operation still in flight completes now, through
  /// on_complete — with its real result where it already finished (a write that failed
  /// with EPIPE), else with -ECANCELED. Owners waiting for a completion let go: a send
  /// that keeps its connection alive ends, and the connection closes its fd. Operations
  /// that on_complete starts meanwhile are completed the same way. Afterwards nothing is
  /// in flight, and the kernel touches no operation's memory.
  virtual void complete_all() noexcept = 0;

  /// Whether reads, writes and fsync of regular files submitted here run without blocking
  /// the loop (io_uring does them in the kernel's own workers). epoll cannot wait for a
  /// regular file, so it would run them inline: aio::fs uses its thread pool then.
  virtual bool runs_files() const noexcept { return false; }
  /// Bytes received for reg that the backend keeps until a receive takes them (io_uring:
  /// a multishot receive's chunks; epoll keeps none). A reader that wants more than one
  /// chunk takes the rest with no_wait receives that cannot come back empty-handed.
  virtual std::size_t bytes_kept(IoRegistration*) const noexcept { return 0; }

  /// Waits at most timeout_ns (-1: no limit, 0: just look) and delivers completions.
  virtual void poll(std::int64_t timeout_ns) = 0;
  /// Interrupts a poll() in progress. Safe from any thread.
  virtual void wake() noexcept = 0;
  /// Operations in flight. When zero the loop skips polling between ready batches.
  virtual std::size_t in_flight() const noexcept = 0;
};

/// Size of the memory a backend lends to select_buffer receives (the most one returns).
inline constexpr std::size_t kSelectBufferSize = 64 * 1024;

/// The backend for `which` (automatic: the best the kernel offers).
std::unique_ptr<IoBackend> make_backend(Backend which);

}  // namespace aio::detail
