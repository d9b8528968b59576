// The state behind a ClientResponse: its head (owned), and the body as it is read off its
// connection — framing undone (Content-Length, chunked, or until close), then decoding
// (gzip/deflate), into a buffer the reads take from.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aio/coro.hpp"
#include "aio/delay.hpp"
#include "aio/http/header_field.hpp"
#include "http/client/connector.hpp"
#include "http/client/inflater.hpp"
#include "http/parser.hpp"

namespace aio::http::detail {

/// When a wait for the server's bytes must end: the request's total deadline (loop time)
/// and the longest single wait (sock_read).
struct ReadDeadlines {
  double total_deadline = 0;  // infinity: none
  Delay sock_read = 0.0;
};

/// Waits for more bytes on the connection within the deadlines. False at EOF. Errors of the
/// connection come out as ClientConnectionError; a deadline as aio::TimeoutError.
Coro<bool> fill_within(ClientConnection& connection, const ReadDeadlines& deadlines);

class ResponseState {
 public:
  int status = 0;
  std::string_view reason;
  int version_minor = 1;
  std::string head_storage;  // the head's bytes; reason and headers point into it
  std::vector<HeaderField> headers;
  std::string url;

  /// Sets up the body reader. `connection` is the one the head came on; with an empty body
  /// it goes back to the pool at once.
  void start_body(PooledConnection connection, const ResponseHead& head, bool no_body, const ReadDeadlines& deadlines,
                  bool auto_decompress, std::uint64_t max_body);

  /// Decodes more of the body into the buffer. False at the end of the body (the buffer
  /// may still hold bytes).
  Coro<bool> fill();
  /// Bytes decoded and not read yet.
  std::string_view buffered() const noexcept { return std::string_view(buffer_).substr(read_pos_); }
  void consume(std::size_t n) noexcept;
  std::string take(std::size_t n);
  bool at_eof() const noexcept { return body_done() && read_pos_ == buffer_.size(); }
  /// Reads the rest and drops it, up to `limit` bytes; false if there was more (the
  /// connection is then closed). For redirects: a small body keeps the connection.
  Coro<bool> discard(std::size_t limit);
  /// Gives the connection back if the body is complete; else closes it.
  void release() noexcept { connection_.close(); }
  bool holds_connection() const noexcept { return static_cast<bool>(connection_); }

 private:
  enum class Framing : unsigned char { length, chunked, until_close };
  /// The body's last byte came off the connection: it goes back to the pool (or closes;
  /// with a compressed body, once the stream has decoded to its proper end).
  void finish_framing();
  /// Decodes a bounded piece of the compressed bytes waiting in raw_.
  void inflate_pending();
  /// Everything is decoded: the connection is done with and no compressed byte waits.
  bool body_done() const noexcept { return framing_done_ && raw_pos_ == raw_.size(); }
  /// Moves the unread tail of the decoded bytes to the front once it is less than half.
  void compact() noexcept;
  [[noreturn]] void fail_payload(const std::string& why);

  PooledConnection connection_;
  ReadDeadlines deadlines_;
  Framing framing_ = Framing::length;
  std::uint64_t remaining_ = 0;
  ChunkedDecoder chunked_;
  std::unique_ptr<Inflater> inflater_;
  bool keep_alive_ = false;
  bool framing_done_ = true;
  std::uint64_t max_body_ = 0;
  std::uint64_t decoded_total_ = 0;
  std::uint64_t raw_total_ = 0;
  std::string buffer_;
  std::size_t read_pos_ = 0;
  std::string raw_;  // compressed body bytes (with an inflater), decoded from raw_pos_ on
  std::size_t raw_pos_ = 0;
};

}  // namespace aio::http::detail
