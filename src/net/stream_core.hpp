// The shared state of one connection: the socket, the receive buffer behind StreamReader
// and the send buffers behind StreamWriter. Both halves hold a reference.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "aio/detail/wait_list.hpp"
#include "aio/socket_address.hpp"
#include "io/operation.hpp"
#include "net/byte_buffer.hpp"

namespace aio {
class ReadView;
}

namespace aio::detail {

class ServerCore;
class TlsSession;

/// What a StreamCore's fd is: it decides the syscalls (recv/send or read/write) and what
/// write_eof does (shutdown(SHUT_WR), or closing a pipe's write end).
enum class StreamTransport : unsigned char { tcp, unix_socket, pipe };

class StreamCore {
 public:
  StreamCore(EventLoop& loop, IoHandle io, std::size_t limit, StreamTransport transport);
  StreamCore(const StreamCore&) = delete;
  StreamCore& operator=(const StreamCore&) = delete;

  void add_ref() noexcept { ++refs_; }
  void release() noexcept {
    if (--refs_ == 0) last_reference_gone();
  }
  /// A reference held by a read in progress, from the moment the read is created (a
  /// coroutine's parameter): dropping both halves meanwhile cannot free the connection
  /// under it.
  class Hold {
   public:
    explicit Hold(StreamCore& core) noexcept : core_(&core) { core.add_ref(); }
    Hold(Hold&& o) noexcept : core_(std::exchange(o.core_, nullptr)) {}
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;
    Hold& operator=(Hold&&) = delete;
    ~Hold() {
      if (core_) core_->release();
    }

   private:
    StreamCore* core_;
  };

  // --- reading ----------------------------------------------------------------------
  /// Receives more bytes into the buffer. False at EOF. Throws the connection's error.
  Coro<bool> fill();
  /// Up to n (> 0) bytes: buffered ones, or one receive copied straight into the string
  /// (not through the buffer). "" at EOF. Throws the connection's error. The whole read:
  /// it marks the reader (begin_read's UsageError names StreamReader.`what`).
  Coro<std::string> read_some(std::size_t n, const char* what, Hold hold);
  /// Up to buffer.size() (> 0) bytes into buffer: buffered ones, or one receive straight
  /// into it where the backend allows. 0 at EOF. Throws the connection's error. The whole
  /// read, as read_some.
  Coro<std::size_t> read_into(std::span<char> buffer, const char* what, Hold hold);
  /// A ReadView lends the first n buffered bytes: reads are refused until end_loan(n)
  /// consumes them.
  std::string_view lend(std::size_t n) noexcept {
    lent_ = true;
    return in_.view().substr(0, n);
  }
  void end_loan(std::size_t n) noexcept {
    lent_ = false;
    in_.consume(n);
  }
  ByteBuffer& input() noexcept { return in_; }
  /// Bytes of memory the send buffers hold (0 once everything queued was sent). For tests.
  std::size_t send_buffer_capacity() const noexcept { return sending_.capacity() + pending_.capacity(); }
  /// Received bytes the backend keeps for this connection, not yet taken by a read
  /// (io_uring's multishot receive; always 0 on epoll).
  std::size_t bytes_kept_by_backend() const noexcept {
    return io_.is_open() ? io_.backend().bytes_kept(io_.registration()) : 0;
  }
  /// Receives what the kernel already holds, without waiting. True if bytes came.
  bool receive_now();
  /// Appends the chunks the backend already keeps for this connection (io_uring), until
  /// the buffer holds `want` bytes: a large message is then one read, not one per chunk.
  void take_kept(std::size_t want);
  /// StreamReader::read_view(n > 0), the whole read (as read_some): lends up to n bytes.
  /// With nothing buffered (and no TLS) it waits holding no memory, then receives into
  /// the buffer (up to 64 KiB, as any receive): on epoll the kernel writes straight into
  /// the buffer (no pass through the loop's shared buffer); where the backend holds the
  /// bytes (io_uring's multishot) its chunks are copied in, up to n.
  Coro<ReadView> read_view(std::size_t n, Hold hold);
  /// For a client's connection pool, before reusing an idle connection: true when it is
  /// open, nothing unread arrived and the peer has neither closed nor reset it. Receives
  /// what the kernel holds without waiting (a TLS session ticket is processed, not
  /// counted); the peer's FIN or reset is recorded as for any read.
  bool idle_usable();
  /// No more bytes will come (the peer finished, or we closed the connection ourselves).
  bool at_eof() const noexcept { return (eof_ || (closed_ && !read_error_)) && in_.empty(); }
  bool eof() const noexcept { return eof_; }
  std::size_t limit() const noexcept { return limit_; }
  /// Marks the start of a read; UsageError if another task is already reading, or a
  /// ReadView still holds bytes of the buffer.
  void begin_read(const char* what);
  void end_read() noexcept { reading_ = false; }

  // --- writing ----------------------------------------------------------------------
  void write(std::string_view data);
  std::size_t write_buffered() const noexcept { return pending_.size() + (sending_.size() - sent_); }
  Coro<void> drain();
  void write_eof();
  bool can_write_eof() const noexcept;
  /// Waits until every queued byte is with the kernel. Throws the connection's error.
  Coro<void> flush();
  /// Whether send_file() can hand a file to the kernel directly (plain TCP or Unix
  /// sockets: not through TLS, not a pipe).
  bool can_send_file() const noexcept { return !tls_ && transport_ != StreamTransport::pipe; }
  /// Sends `count` bytes of `file_fd` from `offset`, after what is queued, with sendfile()
  /// (no copy through user space). Waits while the socket is full. Throws the
  /// connection's error; EIO when the file ended early (it shrank while being sent).
  Coro<void> send_file(int file_fd, std::uint64_t offset, std::uint64_t count);
  void set_write_limits(std::size_t high, std::size_t low) noexcept {
    high_water_ = high;
    low_water_ = low;
  }

  // --- lifetime ---------------------------------------------------------------------
  void close() noexcept;
  bool is_closing() const noexcept { return closing_ || closed_; }
  Coro<void> wait_closed();

  const SocketAddress& peername() const noexcept { return peer_; }
  const SocketAddress& sockname() const noexcept { return local_; }

  /// A server's connection tells the server when it closes (Server.wait_closed()).
  void attach_to_server(ServerCore* server) noexcept;
  std::size_t server_slot = 0;  // the server's index of this connection (O(1) removal)
  /// Closes the socket now, dropping unsent bytes (Server.abort_clients, errors).
  void abort() noexcept;

  // --- TLS --------------------------------------------------------------------------
  Coro<void> start_tls(SslContext ctx, std::string server_hostname);
  bool has_tls() const noexcept { return tls_ != nullptr; }

 private:
  friend class TlsSession;
  class RecvAwaiter;
  class ReceiveReadyAwaiter;
  class ReceiveInPlaceAwaiter;
  class RecvToSpanAwaiter;
  struct SendOp : IoOp {
    StreamCore* core = nullptr;
  };

  ~StreamCore();
  void last_reference_gone() noexcept;
  /// Whether a receive may start: false at EOF. Throws the connection's error.
  bool may_receive();
  /// A receive ended with r <= 0: EOF, or the connection failed (may_receive() tells).
  void note_receive_end(std::int64_t r) noexcept;
  /// read_some() and read_into() from the buffer (filled first if empty; TLS).
  Coro<std::string> take_string(std::size_t n);
  /// Takes what a receive finds without waiting: the first n bytes into `out`, the rest
  /// into the buffer. Where the backend keeps several received chunks (io_uring), takes
  /// them all, up to n and 64 KiB. The count given to `out`, or 0 at EOF, or -errno
  /// (-EAGAIN: none).
  std::int64_t take_received_now(std::size_t n, std::string& out) noexcept;
  /// fill() and read_view()'s receive, once woken, into the stream's buffer (directly where
  /// the backend allows; else the backend's chunks, up to `want`, are copied in): the count
  /// now buffered, 0 at EOF, or -errno.
  std::int64_t receive_in_place_now(std::size_t want) noexcept;
  /// Hands `got` received bytes over: the first `want` to deliver(bytes, k), the rest to
  /// the stream's buffer. The count delivered, or -ENOMEM.
  template <class Deliver>
  std::int64_t hand_over(const char* bytes, std::size_t got, std::size_t want, Deliver deliver) noexcept;
  Coro<std::size_t> take_into(std::span<char> buffer);
  Coro<void> handshake();
  /// A receive parked: the connection waits for its peer. With nothing buffered it holds
  /// no receive memory meanwhile (the block goes back to the per-thread cache); with part
  /// of a message buffered, a block that fits it (receives go straight into a 64 KiB block:
  /// a peer that sends a byte and stalls must not hold one).
  void on_receive_parked() noexcept { in_.fit_while_waiting(); }
  /// Puts bytes a cancelled read had taken back in front of the buffer.
  void unread(std::string_view bytes);
  /// Appends received bytes (plain, or ciphertext for the TLS layer to decrypt).
  void on_received(std::string_view bytes);
  /// Queues bytes for the socket (ciphertext when TLS is on) and starts sending.
  void send_raw(std::string_view bytes);
  void start_sending() noexcept;
  void on_all_sent() noexcept;
  /// Frees the send buffers (all sent): an idle connection holds no send memory.
  void release_send_memory() noexcept;
  void handle_send_result(std::int64_t r) noexcept;
  static void on_send_complete(IoOp* op) noexcept;
  /// The connection is broken: both directions report err (or `why`, if given, which
  /// says more — a TLS failure), buffers are dropped and the socket is closed.
  void fail(int err, std::exception_ptr why = {}) noexcept;
  [[noreturn]] void throw_failure(int err, const char* doing) const;
  void maybe_finish_closing() noexcept;
  /// The write side is flushed and write_eof() was asked for: half-close the socket, or
  /// close a pipe's write end (a pipe has no half-close; the reader then sees EOF).
  void shut_write_side() noexcept;
  IoKind receive_kind() const noexcept { return transport_ == StreamTransport::pipe ? IoKind::read : IoKind::recv; }
  /// A receive into memory the backend picks when data arrives (nothing held meanwhile).
  IoOp select_receive_op() noexcept {
    // On io_uring this arms the socket's multishot receive, which then holds bytes that a
    // receive into the caller's memory could overtake: from now on read_into copies.
    if (select_arms_multishot_) direct_receive_ = false;
    IoOp op;
    op.kind = receive_kind();
    op.select_buffer = true;
    op.length = kSelectBufferSize;
    return op;
  }
  void close_socket() noexcept;
  void wake_drainers() noexcept;

  EventLoop& loop_;
  IoHandle io_;
  int refs_ = 0;
  StreamTransport transport_;

  // Reading.
  ByteBuffer in_;
  std::size_t limit_;
  bool eof_ = false;
  bool reading_ = false;
  bool lent_ = false;  // a ReadView holds the head of in_
  // Whether read_into may have the kernel receive into the caller's memory. The memory is
  // safe with every backend (a cancelled receive is awaited to its completion; a dropped
  // one is abandoned, which waits for the kernel), but on io_uring a socket's multishot
  // receive, once armed by another kind of read, would hold bytes a direct receive could
  // overtake: there direct receives stop at the first select-buffer receive.
  bool direct_receive_ = true;
  bool select_arms_multishot_ = false;
  int read_error_ = 0;
  std::exception_ptr failure_;  // what fail() was given beyond the errno

  // Writing: `sending_` is what the backend is sending (it must stay put while a send is
  // in flight); write() appends to `pending_`, which becomes `sending_` next. Only bytes
  // the socket could not take at once are queued here; once all are sent, the blocks go
  // back to the per-thread cache (byte_buffer.hpp), so a waiting connection holds none.
  ByteBuffer sending_;
  std::size_t sent_ = 0;
  ByteBuffer pending_;
  SendOp send_op_;
  bool send_in_flight_ = false;
  bool eof_requested_ = false;  // write_eof(): shut down the write side once flushed
  bool eof_sent_ = false;
  int write_error_ = 0;
  std::size_t high_water_ = 64 * 1024;
  std::size_t low_water_ = 16 * 1024;
  IntrusiveList<WaitEntry> drainers_;

  // Closing.
  bool closing_ = false;  // close() called; the socket closes once the buffers are sent
  bool closed_ = false;
  IntrusiveList<WaitEntry> close_waiters_;
  ServerCore* server_ = nullptr;

  SocketAddress peer_;
  SocketAddress local_;
  std::unique_ptr<TlsSession> tls_;
};

}  // namespace aio::detail
