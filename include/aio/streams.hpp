// aio streams — asyncio's StreamReader / StreamWriter, open_connection and friends.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "aio/async_generator.hpp"
#include "aio/coro.hpp"
#include "aio/delay.hpp"
#include "aio/socket_address.hpp"
#include "aio/ssl.hpp"

namespace aio {

namespace detail {
class StreamCore;
}

/// The default limit of readline()/readuntil() (asyncio's 64 KiB).
inline constexpr std::size_t kDefaultStreamLimit = 64 * 1024;

/// Bytes lent by StreamReader::read_view(): a view into the stream's own receive buffer,
/// valid while this object lives (no copy, no allocation).
///
/// Ownership: the bytes count as read when the view is released (destroyed, assigned over
/// or release()d); until then they stay where they are and every read on the stream throws
/// UsageError, so the memory cannot change under the view. A view holds the connection
/// alive by itself: it may outlive its StreamReader. Write it on with
/// `writer.write(view.bytes())`; keep a copy with `std::string(view.bytes())`.
/// bytes() and data() exist only on a named view, so a view that dies at the end of the
/// expression cannot leave a dangling string_view behind (that does not compile).
class ReadView {
 public:
  ReadView() noexcept = default;
  ReadView(ReadView&& o) noexcept;
  ReadView& operator=(ReadView&& o) noexcept;
  ReadView(const ReadView&) = delete;
  ReadView& operator=(const ReadView&) = delete;
  ~ReadView() { release(); }

  std::string_view bytes() const& noexcept { return {data_, size_}; }
  std::string_view bytes() && = delete;  // the bytes die with the view: name it first
  const char* data() const& noexcept { return data_; }
  const char* data() && = delete;
  std::size_t size() const noexcept { return size_; }
  /// True at EOF (and for a released or default-constructed view).
  bool empty() const noexcept { return size_ == 0; }
  /// Ends the loan now: the bytes are consumed and the stream may be read again.
  void release() noexcept;

 private:
  friend class detail::StreamCore;
  ReadView(detail::StreamCore* core, std::size_t n) noexcept;

  detail::StreamCore* core_ = nullptr;
  const char* data_ = nullptr;
  std::size_t size_ = 0;
};

/// The reading half of a connection (asyncio.StreamReader).
///
/// Reading is pull-based: bytes are received when a read needs them, so a task that stops
/// reading stops the peer (TCP flow control) instead of letting a buffer grow. Only one
/// task may wait in a read at a time (UsageError otherwise). Cancel-safe: a cancelled read
/// loses nothing; bytes that arrived stay buffered for the next read.
class StreamReader {
 public:
  StreamReader() noexcept = default;
  StreamReader(const StreamReader&) = delete;
  StreamReader& operator=(const StreamReader&) = delete;
  StreamReader(StreamReader&& o) noexcept;
  StreamReader& operator=(StreamReader&& o) noexcept;
  ~StreamReader();

  /// Up to n bytes (n < 0: everything until EOF). Returns "" at EOF (and for n == 0).
  /// Buffered bytes first; otherwise one receive (at most 64 KiB; what exceeds n stays
  /// buffered). Returns a new string per call: read_into() and read_view() read without one.
  Coro<std::string> read(long n = -1);
  /// read(n) into the caller's memory: up to buffer.size() bytes, the count returned (0 at
  /// EOF, and for an empty buffer). Takes buffered bytes first; when nothing is buffered
  /// the bytes are received straight into `buffer` (no intermediate copy, no allocation).
  /// `buffer` must stay valid until the read completes. Cancel-safe: a cancelled read
  /// loses nothing (bytes that came with the cancellation stay buffered for the next
  /// read; `buffer`'s contents are then unspecified).
  ///
  ///     std::array<char, 16384> buf;
  ///     for (;;) {
  ///       std::size_t n = co_await reader.read_into(buf);
  ///       if (n == 0) break;  // EOF
  ///       handle(std::string_view(buf.data(), n));
  ///     }
  Coro<std::size_t> read_into(std::span<char> buffer);
  /// read(n) without a copy into a string: up to n bytes, lent from the stream's receive
  /// buffer in a ReadView (empty at EOF, and for n == 0). See ReadView for the ownership
  /// rules: release it before the next read (UsageError otherwise). Cancel-safe as read().
  /// With nothing buffered it waits holding no memory, then receives (up to 64 KiB) into
  /// the stream's buffer: on epoll the kernel writes there directly (no copy at all).
  ///
  ///     for (;;) {
  ///       aio::ReadView chunk = co_await reader.read_view(64 * 1024);
  ///       if (chunk.empty()) break;  // EOF
  ///       writer.write(chunk.bytes());
  ///     }                            // the chunk is released here, before the next read
  Coro<ReadView> read_view(std::size_t n);
  /// A line ending in "\n" (the last line may lack it; "" at EOF). Past the limit it
  /// throws LimitOverrunError — after discarding the line (or the buffer), as asyncio does.
  Coro<std::string> readline();
  /// The lines still to come, each ending in "\n" (the last may lack it), until EOF
  /// (asyncio's `async for line in reader`):
  ///
  ///     auto lines = reader.lines();
  ///     while (std::optional<std::string> line = co_await lines.next()) handle(*line);
  ///
  /// Each next() is a readline(): an over-long line throws LimitOverrunError from it,
  /// which ends the generator (call lines() again to go on). The generator holds the
  /// connection's reading side itself, so it may outlive (or move with) this reader;
  /// reads through the reader and the generator still take turns, one at a time.
  /// UsageError if this reader is empty.
  AsyncGenerator<std::string> lines();
  /// Exactly n bytes. IncompleteReadError (with what was read) if EOF comes first.
  Coro<std::string> readexactly(std::size_t n);
  /// The bytes up to and including sep. LimitOverrunError if sep is not found within the
  /// limit (the data stays buffered); IncompleteReadError at EOF without sep.
  Coro<std::string> readuntil(std::string_view sep = "\n");
  /// True when the peer has finished sending and the buffer is empty.
  bool at_eof() const noexcept;
  /// Bytes received and not read yet.
  std::size_t buffered() const noexcept;
  std::size_t limit() const noexcept;

  explicit StreamReader(detail::StreamCore* core) noexcept;
  /// The connection underneath, for aio's own protocol layers (aio::http parses requests
  /// in place in its receive buffer). Not for applications.
  detail::StreamCore* native_core() const noexcept { return core_; }

 private:
  detail::StreamCore* core_ = nullptr;
};

/// The writing half of a connection (asyncio.StreamWriter).
///
/// write() never blocks: it hands the bytes to the kernel at once when it can and buffers
/// the rest; `co_await drain()` waits while more than 64 KiB is buffered (until it is down
/// to 16 KiB), which is how a fast writer adapts to a slow reader. Errors of the connection
/// (reset, broken pipe) surface from drain() as std::system_error.
class StreamWriter {
 public:
  StreamWriter() noexcept = default;
  StreamWriter(const StreamWriter&) = delete;
  StreamWriter& operator=(const StreamWriter&) = delete;
  StreamWriter(StreamWriter&& o) noexcept;
  StreamWriter& operator=(StreamWriter&& o) noexcept;
  /// Dropping the last of a connection's reader and writer closes it (after sending what
  /// is buffered), as close() does.
  ~StreamWriter();

  /// Queues bytes to send. UsageError after close() or write_eof(). After the connection
  /// failed, the bytes are dropped and drain() reports the error.
  void write(std::string_view data);
  template <class Range>
  void writelines(const Range& lines) {
    for (const auto& line : lines) write(std::string_view(line));
  }
  /// Waits until the buffer is below the low-water mark. Throws the connection's error.
  /// Cancel-safe: a cancelled drain leaves the stream as it was.
  Coro<void> drain();
  bool can_write_eof() const noexcept;
  /// Half-closes: the peer reads EOF once the buffered bytes are sent; reading goes on.
  void write_eof();
  /// Closes the connection: buffered bytes are still sent, then the socket is closed.
  void close() noexcept;
  bool is_closing() const noexcept;
  /// Waits until the socket is closed (after close(), or when the peer and we are done).
  Coro<void> wait_closed();
  /// Bytes written and not yet accepted by the kernel.
  std::size_t buffered() const noexcept;
  /// The high- and low-water marks of drain() (asyncio's set_write_buffer_limits).
  void set_write_buffer_limits(std::size_t high, std::optional<std::size_t> low = std::nullopt);

  SocketAddress peername() const;
  SocketAddress sockname() const;

  /// Upgrades the connection to TLS (asyncio's StreamWriter.start_tls): performs the
  /// handshake; afterwards both this writer and its reader speak TLS.
  Coro<void> start_tls(SslContext ctx, std::string server_hostname = {});

  explicit StreamWriter(detail::StreamCore* core) noexcept;

 private:
  detail::StreamCore* core_ = nullptr;
};

/// Every member is trivially copyable (see SslContextRef for why); open_connection copies
/// what the views refer to before it returns.
struct ConnectOptions {
  /// TLS: e.g. `{.ssl = ctx}` with `auto ctx = aio::SslContext::client();`. Empty: plain TCP.
  SslContextRef ssl{};
  /// The name to verify and send (SNI); defaults to the host connected to.
  std::string_view server_hostname{};
  std::size_t limit = kDefaultStreamLimit;
  /// Bind the local end to this address first (port 0: any).
  std::optional<SocketAddress> local_addr{};
  /// RFC 8305 Happy Eyeballs: start the next address's attempt after this long if the
  /// previous one has not connected yet (asyncio's happy_eyeballs_delay; 0.25 s is the
  /// RFC's value). Empty: try the addresses one after the other.
  std::optional<Delay> happy_eyeballs_delay{};
};
static_assert(std::is_trivially_destructible_v<ConnectOptions>, "see SslContextRef: GCC 12 and aggregate temporaries");

/// Connects to host:port (a name is resolved without blocking the loop; each address is
/// tried in turn) and returns the connection's two halves. std::system_error with the
/// errno (ECONNREFUSED, ETIMEDOUT, ...) if no address accepts.
Coro<std::pair<StreamReader, StreamWriter>> open_connection(std::string host, int port, ConnectOptions options = {});
/// Connects to a Unix-domain socket.
Coro<std::pair<StreamReader, StreamWriter>> open_unix_connection(std::string path, ConnectOptions options = {});

}  // namespace aio
