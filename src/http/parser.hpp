// A strict HTTP/1.1 request parser (RFC 9112): the request head, and an incremental decoder
// for chunked bodies. Strict on purpose: every ambiguity that lets two parsers disagree about
// where a request ends (bare CR or LF, obs-fold, duplicate or conflicting framing headers) is
// an error, because that disagreement is what request smuggling exploits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aio/http/header_field.hpp"

namespace aio::http::detail {

/// One header field line; both views point into the parsed input (compare names with
/// iequals()). The public type, so a Request hands the parsed list out as it is.
using HeaderField = aio::http::HeaderField;

/// Bounds on what a client can make the server buffer before a head is complete.
struct ParseLimits {
  std::size_t max_request_line = 8 * 1024;  // method SP target SP version; over it: 414
  std::size_t max_field_size = 8 * 1024;    // one header line without its CRLF; over it: 431
  std::size_t max_headers = 100;            // field lines; over it: 431
  std::size_t max_head_size = 64 * 1024;    // the whole head with its final CRLF CRLF; over it: 431
};

/// How the body that follows the head is delimited (RFC 9112 section 6.3).
enum class BodyFraming : unsigned char { none, content_length, chunked };

/// What parse_request_head() found; the views point into its input.
struct RequestHead {
  std::string_view method;  // as sent, a case-sensitive token
  std::string_view target;  // origin-form, absolute-form, authority-form (CONNECT) or "*" (OPTIONS)
  int version_minor = 1;    // HTTP/1.0 -> 0; HTTP/1.1 and HTTP/1.2..1.9 (served as 1.1) -> 1
  BodyFraming framing = BodyFraming::none;
  std::uint64_t content_length = 0;  // when framing == content_length
  bool keep_alive = true;            // from the version and the Connection tokens
  bool expect_continue = false;      // Expect: 100-continue
  bool upgrade = false;              // HTTP/1.1 with Connection: upgrade and an Upgrade header
  std::string_view host;             // the Host value; "" when absent (HTTP/1.0 only)
  std::size_t head_size = 0;         // bytes of the head, leading empty lines and final CRLF CRLF included
};

/// Why a request was rejected: the status to answer with and a short English reason.
struct ParseError {
  int status = 400;
  const char* reason = "";
};

enum class ParseResult : unsigned char { complete, incomplete, error };

/// Parses one request head from the start of `input`. The views in `head` and `headers` point
/// into `input`. `headers` is cleared first; reusing it keeps the steady state free of heap
/// allocation. On `incomplete` nothing is consumed: call again with the same bytes and more.
/// Limits are enforced on incomplete input too, so an oversized line or head is an error as
/// soon as it is certain. On `error`, `error` says why (400, 414, 431, 501 or 505); the caller
/// answers it and closes the connection. A head split anywhere gives the same result.
///
///     std::vector<HeaderField> headers;  RequestHead head;  ParseError error;
///     auto result = parse_request_head(buffer.view(), ParseLimits{}, head, headers, error);
///     if (result == ParseResult::complete) buffer.consume(head.head_size);
ParseResult parse_request_head(std::string_view input, const ParseLimits& limits, RequestHead& head,
                               std::vector<HeaderField>& headers, ParseError& error);

/// What parse_response_head() found; `reason` points into its input. Which responses have a
/// body is the caller's to decide (RFC 9112 6.3: HEAD, 1xx, 204, 304 never do); framing
/// `none` on one that may have a body means it ends when the server closes.
struct ResponseHead {
  int status = 0;           // 100..999
  std::string_view reason;  // may be empty
  int version_minor = 1;
  BodyFraming framing = BodyFraming::none;
  std::uint64_t content_length = 0;
  bool keep_alive = true;
  std::size_t head_size = 0;
};

/// parse_request_head()'s twin for the client: a status line, then the same strict field
/// lines and framing rules (Content-Length with Transfer-Encoding, a duplicate or bad
/// Content-Length, a transfer coding other than a final chunked, bare CR or LF, obs-fold
/// are errors). Leading empty lines are an error too: on a reused connection they are what a
/// lying Content-Length leaves behind. `limits.max_request_line` bounds the status line.
ParseResult parse_response_head(std::string_view input, const ParseLimits& limits, ResponseHead& head,
                                std::vector<HeaderField>& headers, ParseError& error);

/// Incremental decoder of a chunked body (RFC 9112 section 7.1). Chunk extensions and the
/// trailer section are validated and discarded. Errors are sticky until reset().
///
///     ChunkedDecoder decoder;  decoder.set_max_body(1 << 20);
///     std::size_t used = 0;
///     auto result = decoder.decode(buffer.view(), used, body, error);
///     buffer.consume(used);  // on need_more: wait for bytes, then call again
class ChunkedDecoder {
 public:
  enum class Result : unsigned char { need_more, done, error };

  static constexpr std::size_t kMaxChunkSizeLine = 4 * 1024;  // size and extensions, without CRLF
  static constexpr std::size_t kMaxTrailerLine = 8 * 1024;
  static constexpr std::size_t kMaxTrailerFields = 100;

  /// Decodes from `input`, appends the body bytes to `out`, and sets `consumed` to the input
  /// bytes used; the caller drops them and passes the rest (and more) next time. Any split of
  /// the input works. After `done`, the bytes after the final CRLF belong to the next request
  /// and are not consumed.
  Result decode(std::string_view input, std::size_t& consumed, std::string& out, ParseError& error);

  /// Prepares for the next body; the max_body setting is kept.
  void reset() noexcept;
  /// Body bytes decoded so far.
  std::uint64_t body_size() const noexcept { return body_size_; }
  /// A chunk that would take the body past `max` is an error with status 413.
  void set_max_body(std::uint64_t max) noexcept { max_body_ = max; }

 private:
  enum class State : unsigned char;

  Result fail(ParseError& error, int status, const char* reason) noexcept;
  bool step(char c, ParseError& error) noexcept;  // one byte outside chunk data

  State state_{};
  std::uint64_t chunk_remaining_ = 0;  // chunk size while its line is read, then data bytes left
  std::uint64_t body_size_ = 0;
  std::uint64_t max_body_ = UINT64_MAX;
  std::size_t line_length_ = 0;  // bytes of the current size or trailer line so far
  std::size_t size_digits_ = 0;
  std::size_t trailer_fields_ = 0;
  ParseError sticky_error_{};
};

/// Case-insensitive ASCII comparison, as header names are compared.
bool iequals(std::string_view a, std::string_view b) noexcept;

/// The value of the first field named `name` (case-insensitive), if any.
std::optional<std::string_view> find_header(const std::vector<HeaderField>& headers, std::string_view name) noexcept;

}  // namespace aio::http::detail
