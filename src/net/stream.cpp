// StreamCore (one connection's buffers and socket) and the StreamReader / StreamWriter
// faces over it.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <system_error>

#include "aio/errors.hpp"
#include "aio/timeout.hpp"
#include "aio/streams.hpp"
#include "net/server_core.hpp"
#include "net/socket_ops.hpp"
#include "net/stream_core.hpp"
#include "net/tls_session.hpp"
#include "io/sigpipe_guard.hpp"

namespace aio::detail {

namespace {
[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

// Marks the one reader for the duration of a read (begin_read's UsageError otherwise).
struct ReadScope {
  StreamCore& core;
  ReadScope(StreamCore& c, const char* what) : core(c) { c.begin_read(what); }
  ~ReadScope() { core.end_read(); }
  ReadScope(const ReadScope&) = delete;
};
}  // namespace

StreamCore::StreamCore(EventLoop& loop, IoHandle io, std::size_t limit, StreamTransport transport)
    : loop_(loop), io_(std::move(io)), transport_(transport), limit_(limit) {
  if (transport_ == StreamTransport::tcp) {
    int one = 1;  // asyncio sets TCP_NODELAY on every TCP connection: no Nagle delays
    ::setsockopt(io_.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  if (transport_ != StreamTransport::pipe) {  // a pipe has no addresses
    peer_ = peer_address(io_.fd());
    local_ = local_address(io_.fd());
  }
  send_op_.core = this;
  send_op_.kind = transport_ == StreamTransport::pipe ? IoKind::write : IoKind::send;
  send_op_.on_complete = &StreamCore::on_send_complete;
  select_arms_multishot_ = io_.backend().name() == "io_uring" && transport_ != StreamTransport::pipe;
}

StreamCore::~StreamCore() = default;

void StreamCore::last_reference_gone() noexcept {
  // Dropping both halves closes the connection. Buffered bytes still go out: a send in
  // flight holds its own reference, so we only get here once nothing is left to send.
  if (!closed_) {
    closing_ = true;
    if (write_buffered() == 0 && !send_in_flight_) {
      close_socket();
    } else {
      abort();
    }
  }
  delete this;
}

// --- reading ---------------------------------------------------------------------------

void StreamCore::begin_read(const char* what) {
  if (lent_)
    throw UsageError(std::string("StreamReader.") + what +
                     ": a ReadView still holds bytes of this stream; release it (or let it go out of scope) first");
  if (reading_)
    throw UsageError(std::string("StreamReader.") + what +
                     ": another task is already waiting to read from this stream; read from one task at a time");
  reading_ = true;
}

template <class Deliver>
std::int64_t StreamCore::hand_over(const char* bytes, std::size_t got, std::size_t want, Deliver deliver) noexcept {
  const std::size_t k = std::min(got, want);
  try {
    deliver(bytes, k);
    if (got > k) in_.append({bytes + k, got - k});  // the rest stays buffered for the next read
  } catch (...) {
    return -ENOMEM;  // the only way storing them fails
  }
  return static_cast<std::int64_t>(k);
}

/// Receives into the backend's buffer and copies the bytes into the stream at once (in
/// the completion), so that a connection waiting for data holds no buffer of its own.
/// Cancelled after the bytes came in: they are already in the stream's buffer (the next
/// read gets them), so the cancellation wins, as asyncio's would at this await.
class StreamCore::RecvAwaiter final : public IoAwaiter<RecvAwaiter> {
 public:
  explicit RecvAwaiter(StreamCore& core) noexcept : IoAwaiter(core.io_, receive_op(core)), core_(core) {}

  /// Receives what the kernel already holds, without waiting. True if bytes came.
  static bool receive_now(StreamCore& core) {
    IoOp op = receive_op(core);
    op.no_wait = true;
    core.io_.backend().submit(core.io_.registration(), op);
    if (op.result <= 0) return false;
    core.on_received({static_cast<const char*>(op.buffer), static_cast<std::size_t>(op.result)});
    if (core.tls_) core.tls_->after_receive();
    return true;
  }

  bool await_suspend(std::coroutine_handle<> h) {
    if (!IoAwaiter::await_suspend(h)) return false;
    core_.on_receive_parked();
    return true;
  }

 private:
  friend class IoAwaiter<RecvAwaiter>;

  static IoOp receive_op(StreamCore& core) noexcept { return core.select_receive_op(); }
  /// IoAwaiter's completion hook: appends the bytes while the backend still lends them.
  bool store_result(IoOp& op) noexcept {
    if (op.result <= 0) return false;
    try {
      core_.on_received({static_cast<const char*>(op.buffer), static_cast<std::size_t>(op.result)});
    } catch (...) {
      op.result = -ENOMEM;  // the only way appending fails
      return false;
    }
    return true;
  }

  StreamCore& core_;
};

/// read(n) waits with this when nothing is buffered: until a receive can take bytes (or
/// learn of EOF or an error), without taking them (IoOp::wait_only). read_some()
/// then takes them itself, copying them once, from the backend's memory straight into the
/// string it returns. (Had the backend delivered them in its poll instead, each would go
/// to the stream's buffer first: a string allocated per completion of a batch keeps a
/// batch of strings alive at once, and glibc then grows and trims its heap — brk — every
/// batch, which measured twice the CPU on 16 KiB echoes.)
class StreamCore::ReceiveReadyAwaiter : public IoAwaiter<ReceiveReadyAwaiter> {
 public:
  explicit ReceiveReadyAwaiter(StreamCore& core) noexcept : IoAwaiter(core.io_, wait_op(core)), core_(core) {}

  bool await_suspend(std::coroutine_handle<> h) {
    if (!IoAwaiter::await_suspend(h)) return false;
    core_.on_receive_parked();
    return true;
  }

 protected:
  StreamCore& core_;

 private:
  friend class IoAwaiter<ReceiveReadyAwaiter>;

  static IoOp wait_op(StreamCore& core) noexcept {
    IoOp op = core.select_receive_op();
    op.wait_only = true;
    return op;
  }
  /// Ready: the bytes stay where the next receive finds them, so a cancellation that came
  /// meanwhile wins and loses nothing. (Even when ready at once: like asyncio's read,
  /// which waits for data the stream has not buffered yet, and so sees a pending cancel.)
  bool store_result(IoOp& op) noexcept { return op.result >= 0; }
};

/// fill() and read_view() with nothing to take from the buffer: wait as above, then have
/// the bytes received straight into the stream's buffer (receive_in_place_now: on epoll
/// the kernel writes them there, without a pass through the loop's shared buffer). True
/// if bytes came; false at EOF or on an error (noted: may_receive() tells) or when the
/// readiness was stale (wait again).
class StreamCore::ReceiveInPlaceAwaiter final : public ReceiveReadyAwaiter {
 public:
  ReceiveInPlaceAwaiter(StreamCore& core, std::size_t want) noexcept : ReceiveReadyAwaiter(core), want_(want) {}

  bool await_resume() {
    const std::int64_t ready = ReceiveReadyAwaiter::await_resume();
    const std::int64_t r = ready < 0 ? ready : core_.receive_in_place_now(want_);
    if (r > 0) return true;
    if (r != -EAGAIN) core_.note_receive_end(r);
    return false;
  }

 private:
  std::size_t want_;
};

/// read_into() with nothing buffered: one receive whose bytes go straight to the caller.
/// Where the backend allows (direct_receive_) and the caller's buffer is not tiny, the
/// kernel writes into the caller's memory (no copy); otherwise the bytes are copied there
/// from the backend's buffer in the completion, and only what exceeds the span is kept
/// in the stream's buffer (so small reads do not cost a syscall each). If the task was
/// cancelled while the bytes were on their way, the cancellation wins and the bytes are
/// put back in front of the stream's buffer for the next read (asyncio: a cancelled read
/// loses nothing) — the one case where they are copied twice.
class StreamCore::RecvToSpanAwaiter final : public IoAwaiter<RecvToSpanAwaiter> {
 public:
  RecvToSpanAwaiter(StreamCore& core, std::span<char> into) noexcept
      : IoAwaiter(core.io_, receive_op(core, into)), core_(core), into_(into) {}

  bool await_suspend(std::coroutine_handle<> h) {
    if (!IoAwaiter::await_suspend(h)) return false;
    core_.on_receive_parked();
    return true;
  }

  std::int64_t await_resume() {
    const std::int64_t r = IoAwaiter::await_resume();
    TaskBase* task = current_task_base();
    if (r > 0 && task->cancel_pending()) {
      core_.unread({into_.data(), static_cast<std::size_t>(r)});
      task->throw_cancelled();
    }
    return r;
  }

 private:
  friend class IoAwaiter<RecvToSpanAwaiter>;
  // Below this, one receive into the backend's buffer serves several small reads.
  static constexpr std::size_t kDirectMin = 2048;

  static IoOp receive_op(StreamCore& core, std::span<char> into) noexcept {
    if (!core.direct_receive_ || into.size() < kDirectMin) return core.select_receive_op();
    IoOp op;
    op.kind = core.receive_kind();
    op.buffer = into.data();
    op.length = into.size();
    return op;
  }
  bool store_result(IoOp& op) noexcept {
    if (op.result > 0 && op.buffer != into_.data()) {
      op.result =
          core_.hand_over(static_cast<const char*>(op.buffer), static_cast<std::size_t>(op.result), into_.size(),
                          [this](const char* p, std::size_t k) { std::memcpy(into_.data(), p, k); });
    }
    return false;
  }

  StreamCore& core_;
  std::span<char> into_;
};

bool StreamCore::receive_now() {
  if (closed_ || eof_ || read_error_) return false;
  return RecvAwaiter::receive_now(*this);
}

void StreamCore::take_kept(std::size_t want) {
  while (in_.size() < want && bytes_kept_by_backend() > 0 && receive_now()) {
  }
}

bool StreamCore::idle_usable() {
  // A few rounds at most: TLS 1.3 servers send session tickets after the handshake, which
  // arrive as bytes but decrypt to nothing.
  for (int round = 0; round < 4; ++round) {
    if (closing_ || closed_ || eof_ || read_error_ || !in_.empty()) return false;
    if (tls_ && tls_->peer_closed()) return false;
    IoOp op = select_receive_op();
    op.no_wait = true;
    io_.backend().submit(io_.registration(), op);
    if (op.result == -EAGAIN || op.result == -EWOULDBLOCK) return true;
    if (op.result <= 0) {
      note_receive_end(op.result);
      return false;
    }
    on_received({static_cast<const char*>(op.buffer), static_cast<std::size_t>(op.result)});
    if (tls_) tls_->after_receive();
  }
  return false;
}

void StreamCore::unread(std::string_view bytes) {
  std::string rest(in_.view());
  in_.clear();
  in_.append(bytes);
  in_.append(rest);
}

void StreamCore::on_received(std::string_view bytes) {
  if (tls_) {
    tls_->receive(bytes);
  } else {
    in_.append(bytes);
  }
}

bool StreamCore::may_receive() {
  if (read_error_) throw_failure(read_error_, "read from ");
  if (eof_) return false;
  if ((tls_ && tls_->peer_closed()) || closed_) {
    // close_notify came (perhaps with the last data), or we closed the socket ourselves:
    // nothing more will come.
    eof_ = true;
    return false;
  }
  return true;
}

void StreamCore::note_receive_end(std::int64_t r) noexcept {
  if (r == 0 || (r == -EBADF && (closing_ || closed_))) {
    if (tls_) tls_->on_transport_eof();  // may fail the connection (mid-handshake)
    if (!read_error_) eof_ = true;
    return;
  }
  fail(static_cast<int>(-r));
}

Coro<bool> StreamCore::fill() {
  while (may_receive()) {
    if (!tls_) {
      if (co_await ReceiveInPlaceAwaiter(*this, kSelectBufferSize)) co_return true;
      continue;
    }
    // TLS: ciphertext goes to the TLS layer, which decrypts into the buffer.
    std::size_t before = in_.size();
    std::int64_t r = co_await RecvAwaiter(*this);
    if (r <= 0) {
      note_receive_end(r);
      continue;
    }
    if (tls_) {
      tls_->after_receive();  // may fail the connection, or produce output to send
      if (read_error_) continue;
      if (tls_->peer_closed() && in_.size() == before) {
        eof_ = true;
        co_return false;
      }
    }
    if (in_.size() > before) co_return true;
    // TLS: a partial record, or handshake traffic: receive again.
  }
  co_return false;
}

// read_some and read_into are the whole of a read(n) / read_into() with nothing buffered:
// one coroutine frame, which marks the reader itself (an idle connection parked in a read
// holds just this frame; a second one only when bytes are buffered, or with TLS).
Coro<std::string> StreamCore::read_some(std::size_t n, const char* what, [[maybe_unused]] Hold hold) {
  ReadScope scope(*this, what);
  if (!in_.empty() || tls_) co_return co_await take_string(n);  // (TLS decrypts into in_)
  std::string out;
  while (may_receive()) {
    const std::int64_t ready = co_await ReceiveReadyAwaiter(*this);
    const std::int64_t r = ready < 0 ? ready : take_received_now(n, out);
    if (r > 0) co_return out;
    if (r != -EAGAIN) note_receive_end(r);  // (EAGAIN: the readiness was stale; wait again)
  }
  co_return out;
}

std::int64_t StreamCore::take_received_now(std::size_t n, std::string& out) noexcept {
  if (!io_.is_open()) return -EBADF;  // closed between the wake-up and now
  IoOp op = select_receive_op();
  op.no_wait = true;
  try {
    io_.backend().submit(io_.registration(), op);
  } catch (...) {
    return -ENOMEM;
  }
  if (op.result <= 0) return op.result;
  const auto got = static_cast<std::size_t>(op.result);
  std::size_t kept = io_.backend().bytes_kept(io_.registration());
  n = std::min(n, kSelectBufferSize);  // (the most one receive returns on epoll)
  if (got < n && kept > 0) {
    try {
      out.reserve(std::min(n, got + kept));  // (one allocation for the chunks taken below)
    } catch (...) {
    }
  }
  const std::int64_t first = hand_over(static_cast<const char*>(op.buffer), got, n,
                                       [&out](const char* p, std::size_t k) { out.assign(p, k); });
  if (first < 0) return first;
  // The backend already holds more chunks (io_uring): take them too, up to n, so that a
  // large message costs one read (and one write of it) rather than one per chunk.
  try {
    while (out.size() < n && kept > 0) {
      IoOp more = select_receive_op();
      more.no_wait = true;
      more.length = n - out.size();
      io_.backend().submit(io_.registration(), more);
      if (more.result <= 0) break;  // (cannot happen while bytes are kept)
      const std::int64_t r = hand_over(static_cast<const char*>(more.buffer), static_cast<std::size_t>(more.result),
                                       n - out.size(), [&out](const char* p, std::size_t k) { out.append(p, k); });
      if (r < 0) {
        fail(ENOMEM);  // bytes were lost: the connection cannot go on (the next read says so)
        break;
      }
      kept = io_.backend().bytes_kept(io_.registration());
    }
  } catch (...) {
  }
  return static_cast<std::int64_t>(out.size());
}

Coro<ReadView> StreamCore::read_view(std::size_t n, [[maybe_unused]] Hold hold) {
  ReadScope scope(*this, "read_view");
  if (in_.empty()) {
    bool more = false;
    if (tls_) {  // (the TLS layer decrypts into the buffer)
      more = co_await fill();
    } else {
      while (may_receive()) {
        if (co_await ReceiveInPlaceAwaiter(*this, n)) {
          more = true;
          break;
        }
      }
    }
    if (!more) co_return ReadView();
  }
  co_return ReadView(this, std::min(n, in_.size()));
}

std::int64_t StreamCore::receive_in_place_now(std::size_t want) noexcept {
  if (!io_.is_open()) return -EBADF;  // closed between the wake-up and now
  try {
    if (!direct_receive_) {  // the backend holds the bytes (io_uring): copy its chunks in
      IoOp op = select_receive_op();
      op.no_wait = true;
      io_.backend().submit(io_.registration(), op);
      if (op.result <= 0) return op.result;
      in_.append({static_cast<const char*>(op.buffer), static_cast<std::size_t>(op.result)});
      take_kept(std::min(want, kSelectBufferSize));
      return static_cast<std::int64_t>(in_.size());
    }
    // As much as a receive into the shared buffer would take (not just `want`): the rest
    // is buffered for the next reads, which then need no syscall. Below 64 KiB buffered,
    // up to 64 KiB in all, so that the buffer stays one block of the per-thread cache.
    const std::size_t room = in_.size() < kSelectBufferSize ? kSelectBufferSize - in_.size() : kSelectBufferSize;
    IoOp op;
    op.kind = receive_kind();
    op.buffer = in_.prepare(room);
    op.length = room;
    op.no_wait = true;
    io_.backend().submit(io_.registration(), op);
    if (op.result > 0) in_.commit(static_cast<std::size_t>(op.result));
    return op.result;
  } catch (...) {
    return -ENOMEM;  // (the connection then fails: bytes may have been lost)
  }
}

Coro<std::string> StreamCore::take_string(std::size_t n) {
  if (in_.empty()) {
    const bool more = co_await fill();
    if (!more) co_return std::string();
  }
  const std::size_t k = std::min(n, in_.size());
  std::string out(in_.data(), k);
  in_.consume(k);
  co_return out;
}

Coro<std::size_t> StreamCore::read_into(std::span<char> buffer, const char* what, [[maybe_unused]] Hold hold) {
  ReadScope scope(*this, what);
  if (!in_.empty() || tls_) co_return co_await take_into(buffer);
  while (may_receive()) {
    RecvToSpanAwaiter receive(*this, buffer);
    const std::int64_t r = co_await receive;
    if (r > 0) co_return static_cast<std::size_t>(r);
    note_receive_end(r);
  }
  co_return 0;
}

Coro<std::size_t> StreamCore::take_into(std::span<char> buffer) {
  if (in_.empty()) {
    const bool more = co_await fill();
    if (!more) co_return 0;
  }
  const std::size_t k = std::min(buffer.size(), in_.size());
  std::memcpy(buffer.data(), in_.data(), k);
  in_.consume(k);
  co_return k;
}

// --- writing ---------------------------------------------------------------------------

void StreamCore::write(std::string_view data) {
  if (write_error_) return;  // the connection is lost: the bytes are dropped, drain() tells
  if (eof_requested_) throw UsageError("StreamWriter.write: called after write_eof(); the write side is shut down");
  if (closing_) throw UsageError("StreamWriter.write: called after close()");
  if (closed_ || data.empty()) return;
  if (tls_) {
    tls_->write(data);
  } else {
    send_raw(data);
  }
}

void StreamCore::send_raw(std::string_view bytes) {
  if (bytes.empty() || write_error_ || closed_) return;
  if (!send_in_flight_ && sent_ == sending_.size() && pending_.empty()) {
    // Nothing queued: offer the caller's bytes to the kernel straight away (no_wait: the
    // op never parks, so it never outlives the caller's memory). Usually all of them go,
    // and nothing is copied; only what the kernel did not take is buffered below.
    send_op_.buffer = const_cast<char*>(bytes.data());
    send_op_.length = bytes.size();
    send_op_.no_wait = true;
    bool done;
    try {
      done = io_.backend().submit(io_.registration(), send_op_);
    } catch (...) {
      done = false;
    }
    send_op_.no_wait = false;
    std::int64_t r = done ? send_op_.result : -EAGAIN;
    if (r < 0 && r != -EAGAIN) {
      fail(static_cast<int>(-r));
      return;
    }
    if (r > 0) bytes.remove_prefix(static_cast<std::size_t>(r));
    if (bytes.empty()) {
      on_all_sent();
      return;
    }
  }
  if (!send_in_flight_ && sent_ == sending_.size()) {
    sending_.clear();
    sending_.append(bytes);
    sent_ = 0;
  } else {
    pending_.append(bytes);
  }
  if (!send_in_flight_) start_sending();
}

void StreamCore::start_sending() noexcept {
  while (!write_error_ && !closed_) {
    if (sent_ == sending_.size()) {
      if (pending_.empty()) break;
      sending_.swap(pending_);
      pending_.clear();
      sent_ = 0;
    }
    send_op_.buffer = const_cast<char*>(sending_.data()) + sent_;
    send_op_.length = sending_.size() - sent_;
    bool done;
    try {
      done = io_.backend().submit(io_.registration(), send_op_);
    } catch (...) {
      fail(ENOMEM);
      return;
    }
    if (!done) {
      send_in_flight_ = true;
      add_ref();  // stay alive until the send completes, even if both halves are dropped
      return;
    }
    if (send_op_.result < 0) {
      fail(static_cast<int>(-send_op_.result));
      return;
    }
    sent_ += static_cast<std::size_t>(send_op_.result);
  }
  if (write_error_ || closed_) return;
  // Everything is with the kernel: a connection that waits keeps no send memory.
  release_send_memory();
  on_all_sent();
}

void StreamCore::release_send_memory() noexcept {
  sending_.clear();
  sending_.release_if_empty();
  pending_.release_if_empty();
  sent_ = 0;
}

void StreamCore::on_all_sent() noexcept {
  // Everything is with the kernel.
  if (eof_requested_ && !eof_sent_) shut_write_side();
  wake_drainers();
  maybe_finish_closing();
}

void StreamCore::on_send_complete(IoOp* op) noexcept {
  StreamCore* self = static_cast<SendOp*>(op)->core;
  self->send_in_flight_ = false;
  std::int64_t r = op->result;
  if (r >= 0) {
    self->sent_ += static_cast<std::size_t>(r);
    self->start_sending();
    if (self->write_buffered() <= self->low_water_) self->wake_drainers();
  } else if (r != -EBADF || !self->closed_) {
    self->fail(static_cast<int>(-r));
  }
  self->release();
}

void StreamCore::wake_drainers() noexcept { wake_all(drainers_); }

Coro<void> StreamCore::drain() {
  if (write_error_) throw_failure(write_error_, "write to ");
  if (read_error_) throw_failure(read_error_, "connection to ");
  if (closed_) throw_errno(ECONNRESET, "drain: the connection to " + peer_.to_string() + " is closed");
  if (write_buffered() > high_water_) {
    while (write_buffered() > low_water_ && !write_error_ && !closed_) co_await WaitOn(drainers_, "StreamWriter.drain");
    if (write_error_) throw_failure(write_error_, "write to ");
  }
}

Coro<void> StreamCore::flush() {
  for (;;) {
    if (write_error_) throw_failure(write_error_, "write to ");
    if (read_error_) throw_failure(read_error_, "connection to ");
    if (closed_) throw_errno(ECONNRESET, "flush: the connection to " + peer_.to_string() + " is closed");
    if (write_buffered() == 0) co_return;
    co_await WaitOn(drainers_, "StreamWriter.flush");
  }
}

Coro<void> StreamCore::send_file(int file_fd, std::uint64_t offset, std::uint64_t count) {
  if (!can_send_file()) throw UsageError("send_file: only plain sockets can send a file directly; write() it");
  co_await flush();  // the file's bytes go after what was queued
  auto off = static_cast<off_t>(offset);
  while (count > 0) {
    if (closed_) throw_errno(ECONNRESET, "sendfile: the connection to " + peer_.to_string() + " is closed");
    const std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(count, 1u << 30));
    ssize_t n;
    int err = 0;
    {
      SigpipeBlocked guard;  // sendfile has no MSG_NOSIGNAL: a peer gone would raise SIGPIPE
      n = ::sendfile(io_.fd(), file_fd, &off, chunk);
      if (n < 0) err = errno;
      if (err == EPIPE) guard.note_epipe();
    }
    if (n > 0) {
      count -= static_cast<std::uint64_t>(n);
      continue;
    }
    if (n == 0) throw_errno(EIO, "sendfile to " + peer_.to_string() + ": the file ended early (truncated while sent)");
    if (err == EINTR) continue;
    if (err != EAGAIN) {
      if (err == EPIPE || err == ECONNRESET) fail(err);
      throw_errno(err, "sendfile to " + peer_.to_string());
    }
    IoOp op;
    op.kind = IoKind::poll_writable;
    op.fd = io_.fd();
    const std::int64_t r = co_await IoAwaiter(io_, op);
    if (r < 0) throw_errno(static_cast<int>(-r), "waiting to send a file to " + peer_.to_string());
  }
}

bool StreamCore::can_write_eof() const noexcept { return !tls_; }

void StreamCore::write_eof() {
  if (tls_)
    throw UsageError("StreamWriter.write_eof: a TLS stream cannot half-close (TLS has no half-close); use close()");
  if (closing_ || closed_ || eof_requested_) return;
  eof_requested_ = true;
  if (!send_in_flight_ && write_buffered() == 0) shut_write_side();
}

void StreamCore::shut_write_side() noexcept {
  eof_sent_ = true;
  if (transport_ == StreamTransport::pipe) {
    closing_ = true;  // a pipe end is one-way: its write side is all there is
    maybe_finish_closing();
  } else {
    ::shutdown(io_.fd(), SHUT_WR);
  }
}

// --- closing ---------------------------------------------------------------------------

void StreamCore::close() noexcept {
  if (closing_ || closed_) return;
  closing_ = true;
  if (tls_) tls_->begin_shutdown();  // queues close_notify before the socket closes
  maybe_finish_closing();
}

void StreamCore::maybe_finish_closing() noexcept {
  if (closing_ && !closed_ && !send_in_flight_ && write_buffered() == 0) close_socket();
}

void StreamCore::fail(int err, std::exception_ptr why) noexcept {
  if (!read_error_ && !eof_) read_error_ = err;
  if (!write_error_) write_error_ = err;
  if (why && !failure_) failure_ = std::move(why);
  abort();
}

void StreamCore::throw_failure(int err, const char* doing) const {
  if (failure_) std::rethrow_exception(failure_);
  throw_errno(err, doing + peer_.to_string());
}

void StreamCore::abort() noexcept {
  pending_.clear();
  sending_.clear();
  sent_ = 0;
  close_socket();
}

void StreamCore::close_socket() noexcept {
  if (closed_) return;
  closed_ = true;
  closing_ = true;
  io_.close();  // a receive still in flight ends with EBADF: the reader sees EOF
  wake_drainers();
  wake_all(close_waiters_);
  if (ServerCore* s = std::exchange(server_, nullptr)) {
    s->connection_closed(this);
    s->release();
  }
}

Coro<void> StreamCore::wait_closed() {
  while (!closed_) co_await WaitOn(close_waiters_, "StreamWriter.wait_closed");
  // asyncio: a connection lost to an error makes wait_closed() raise it.
  if (write_error_) throw_failure(write_error_, "connection to ");
}

// --- TLS -------------------------------------------------------------------------------

Coro<void> StreamCore::start_tls(SslContext ctx, std::string server_hostname) {
  if (tls_) throw UsageError("start_tls: the stream already speaks TLS");
  if (closing_ || closed_) throw UsageError("start_tls: the stream is closed");
  if (reading_ || lent_)
    throw UsageError("start_tls: the stream is being read (a read or a ReadView is active); start TLS before reading");
  tls_ = std::make_unique<TlsSession>(*this, ctx, server_hostname);
  if (!in_.empty()) {
    // Bytes that came after the plaintext part (a quick peer's ClientHello) are TLS.
    std::string early(in_.view());
    in_.clear();
    tls_->receive(early);
  }
  std::exception_ptr error;
  double limit = ctx.handshake_timeout();
  try {
    co_await wait_for(handshake(), limit);
  } catch (const TimeoutError&) {
    error = std::make_exception_ptr(
        TimeoutError("TLS handshake with " + peer_.to_string() + " timed out after " + std::to_string(limit) + " s"));
  } catch (...) {
    error = std::current_exception();
  }
  if (error) {
    fail(ETIMEDOUT, error);  // a failed handshake leaves no usable stream: close it
    std::rethrow_exception(error);
  }
}

Coro<void> StreamCore::handshake() {
  begin_read("start_tls");
  struct EndRead {
    StreamCore& c;
    ~EndRead() { c.end_read(); }
  } end_read{*this};
  for (;;) {
    if (read_error_) throw_failure(read_error_, "TLS handshake with ");
    if (tls_->handshake_step()) co_return;
    std::int64_t r = co_await RecvAwaiter(*this);
    if (r > 0) continue;
    if (r == 0) throw SslError("TLS handshake with " + peer_.to_string() + " failed: the peer closed the connection");
    throw_errno(static_cast<int>(-r), "TLS handshake with " + peer_.to_string());
  }
}

void StreamCore::attach_to_server(ServerCore* server) noexcept {
  server_ = server;
  server->add_ref();
  server->connection_opened(this);
}

}  // namespace aio::detail

// --- the public faces ------------------------------------------------------------------

namespace aio {

using detail::ReadScope;
using detail::StreamCore;

namespace {
StreamCore& require(StreamCore* c, const char* what) {
  if (!c) throw UsageError(std::string(what) + ": this stream object is empty (moved from or default-constructed)");
  return *c;
}

std::string take(detail::ByteBuffer& in, std::size_t n) {
  std::string out(in.data(), n);
  in.consume(n);
  return out;
}

Coro<std::string> read_until(StreamCore& c, std::string_view sep) {
  detail::ByteBuffer& in = c.input();
  std::size_t offset = 0;  // where the separator can still start: no rescanning
  for (;;) {
    std::string_view buf = in.view();
    if (buf.size() >= offset + sep.size()) {
      std::size_t pos = buf.find(sep, offset);
      if (pos != std::string_view::npos) {
        if (pos > c.limit())
          throw LimitOverrunError("StreamReader.readuntil: separator is found, but the chunk is longer than the limit",
                                  pos);
        co_return take(in, pos + sep.size());
      }
      offset = buf.size() + 1 - sep.size();
      if (offset > c.limit()) {
        // Reading is pull-based: bytes the kernel already holds may complete the separator
        // (asyncio's buffer would have them). Take them before giving up.
        if (c.receive_now()) continue;
        throw LimitOverrunError("StreamReader.readuntil: separator is not found, and the chunk exceeds the limit",
                                offset);
      }
    }
    if (c.eof()) {
      std::string partial = take(in, in.size());
      throw IncompleteReadError(std::move(partial), 0);
    }
    co_await c.fill();
  }
}
}  // namespace

StreamReader::StreamReader(StreamCore* core) noexcept : core_(core) {
  if (core_) core_->add_ref();
}
StreamReader::StreamReader(StreamReader&& o) noexcept : core_(std::exchange(o.core_, nullptr)) {}
StreamReader& StreamReader::operator=(StreamReader&& o) noexcept {
  if (this != &o) {
    if (core_) core_->release();
    core_ = std::exchange(o.core_, nullptr);
  }
  return *this;
}
StreamReader::~StreamReader() {
  if (core_) core_->release();
}

namespace {
// read(n), read_into() and read_view() with n > 0 are StreamCore's coroutine alone (one
// frame per read); these are the rest: an empty stream object, n == 0, read(-1).
Coro<std::string> read_all(StreamCore* core, long n) {
  StreamCore& c = require(core, "StreamReader.read");
  if (n == 0) co_return std::string();
  ReadScope scope(c, "read");
  while (co_await c.fill()) {
  }
  co_return take(c.input(), c.input().size());
}

Coro<std::size_t> read_into_nothing(StreamCore* core) {
  require(core, "StreamReader.read_into");
  co_return 0;
}

Coro<ReadView> read_view_nothing(StreamCore* core) {
  require(core, "StreamReader.read_view");
  co_return ReadView();
}
}  // namespace

Coro<std::string> StreamReader::read(long n) {
  if (core_ && n > 0) return core_->read_some(static_cast<std::size_t>(n), "read", StreamCore::Hold(*core_));
  return read_all(core_, n);
}

Coro<std::size_t> StreamReader::read_into(std::span<char> buffer) {
  if (core_ && !buffer.empty()) return core_->read_into(buffer, "read_into", StreamCore::Hold(*core_));
  return read_into_nothing(core_);
}

Coro<ReadView> StreamReader::read_view(std::size_t n) {
  if (core_ && n > 0) return core_->read_view(n, StreamCore::Hold(*core_));
  return read_view_nothing(core_);
}

ReadView::ReadView(StreamCore* core, std::size_t n) noexcept : core_(core), size_(n) {
  core_->add_ref();
  data_ = core_->lend(n).data();
}
ReadView::ReadView(ReadView&& o) noexcept
    : core_(std::exchange(o.core_, nullptr)),
      data_(std::exchange(o.data_, nullptr)),
      size_(std::exchange(o.size_, 0)) {}
ReadView& ReadView::operator=(ReadView&& o) noexcept {
  if (this != &o) {
    release();
    core_ = std::exchange(o.core_, nullptr);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}
void ReadView::release() noexcept {
  data_ = nullptr;
  if (StreamCore* c = std::exchange(core_, nullptr)) {
    c->end_loan(std::exchange(size_, 0));
    c->release();
  }
  size_ = 0;
}

Coro<std::string> StreamReader::readuntil(std::string_view sep) {
  StreamCore& c = require(core_, "StreamReader.readuntil");
  if (sep.empty()) throw std::invalid_argument("StreamReader.readuntil: the separator must be at least one byte");
  std::string separator(sep);  // the caller's view may not outlive the first suspension
  ReadScope scope(c, "readuntil");
  co_return co_await read_until(c, separator);
}

Coro<std::string> StreamReader::readline() {
  StreamCore& c = require(core_, "StreamReader.readline");
  ReadScope scope(c, "readline");
  std::exception_ptr overrun;
  try {
    co_return co_await read_until(c, "\n");
  } catch (const IncompleteReadError& e) {
    co_return e.partial();  // the last line, without its newline ("" at EOF)
  } catch (const LimitOverrunError& e) {
    // asyncio discards the over-long line (through its newline if it is buffered).
    detail::ByteBuffer& in = c.input();
    std::string_view buf = in.view();
    if (e.consumed() < buf.size() && buf[e.consumed()] == '\n')
      in.consume(e.consumed() + 1);
    else
      in.clear();
    overrun = std::current_exception();
  }
  std::rethrow_exception(overrun);
}

namespace {
// Owns a reader of its own (a reference to the connection), so the generator does not
// depend on where the StreamReader that made it lives.
AsyncGenerator<std::string> read_lines(StreamReader reader) {
  for (;;) {
    std::string line = co_await reader.readline();
    if (line.empty()) co_return;  // EOF
    co_yield std::move(line);
  }
}
}  // namespace

AsyncGenerator<std::string> StreamReader::lines() {
  return read_lines(StreamReader(&require(core_, "StreamReader.lines")));
}

Coro<std::string> StreamReader::readexactly(std::size_t n) {
  StreamCore& c = require(core_, "StreamReader.readexactly");
  ReadScope scope(c, "readexactly");
  while (c.input().size() < n) {
    if (!co_await c.fill()) {
      std::string partial = take(c.input(), c.input().size());
      throw IncompleteReadError(std::move(partial), n);
    }
  }
  co_return take(c.input(), n);
}

bool StreamReader::at_eof() const noexcept { return !core_ || core_->at_eof(); }
std::size_t StreamReader::buffered() const noexcept { return core_ ? core_->input().size() : 0; }
std::size_t StreamReader::limit() const noexcept { return core_ ? core_->limit() : kDefaultStreamLimit; }

StreamWriter::StreamWriter(StreamCore* core) noexcept : core_(core) {
  if (core_) core_->add_ref();
}
StreamWriter::StreamWriter(StreamWriter&& o) noexcept : core_(std::exchange(o.core_, nullptr)) {}
StreamWriter& StreamWriter::operator=(StreamWriter&& o) noexcept {
  if (this != &o) {
    if (core_) core_->release();
    core_ = std::exchange(o.core_, nullptr);
  }
  return *this;
}
StreamWriter::~StreamWriter() {
  if (core_) core_->release();
}

void StreamWriter::write(std::string_view data) { require(core_, "StreamWriter.write").write(data); }
Coro<void> StreamWriter::drain() { return require(core_, "StreamWriter.drain").drain(); }
bool StreamWriter::can_write_eof() const noexcept { return core_ && core_->can_write_eof(); }
void StreamWriter::write_eof() { require(core_, "StreamWriter.write_eof").write_eof(); }
void StreamWriter::close() noexcept {
  if (core_) core_->close();
}
bool StreamWriter::is_closing() const noexcept { return !core_ || core_->is_closing(); }
Coro<void> StreamWriter::wait_closed() { return require(core_, "StreamWriter.wait_closed").wait_closed(); }
std::size_t StreamWriter::buffered() const noexcept { return core_ ? core_->write_buffered() : 0; }
void StreamWriter::set_write_buffer_limits(std::size_t high, std::optional<std::size_t> low) {
  std::size_t lo = low.value_or(high / 4);
  if (lo > high)
    throw std::invalid_argument("StreamWriter.set_write_buffer_limits: low (" + std::to_string(lo) +
                                ") must not exceed high (" + std::to_string(high) + ")");
  require(core_, "StreamWriter.set_write_buffer_limits").set_write_limits(high, lo);
}
SocketAddress StreamWriter::peername() const { return require(core_, "StreamWriter.peername").peername(); }
SocketAddress StreamWriter::sockname() const { return require(core_, "StreamWriter.sockname").sockname(); }
Coro<void> StreamWriter::start_tls(SslContext ctx, std::string server_hostname) {
  StreamCore& c = require(core_, "StreamWriter.start_tls");
  co_await c.start_tls(ctx, std::move(server_hostname));
}

}  // namespace aio
