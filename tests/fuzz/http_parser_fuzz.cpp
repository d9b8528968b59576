// libFuzzer target for the HTTP/1.1 request parser (and the client's response parser). The input is a raw byte stream
// as a client would send it. Besides "does not crash", it checks the parser's contracts:
//   - any prefix of the input parses as `incomplete` or as the whole does (same error, or the
//     same head once the prefix holds it): reparsing after every read is safe;
//   - a complete head is well formed: walking its bytes with the parsed views as a map finds
//     each one where the RFC 9112 grammar puts it (no bare CR or LF, no control bytes, limits
//     kept, framing consistent with the headers), and a canonical re-serialisation parses to
//     the same request;
//   - a response head (parse_response_head, the client's) obeys the same prefix rule, has no
//     bare CR or LF or control bytes, a status of 100..999, framing consistent with its
//     headers, and survives a canonical round trip;
//   - the chunked decoder agrees with an independent recursive-descent reading of the grammar,
//     gives the same result for any split of its input, never consumes more than it was given
//     nor produces more body than it consumed, stops before the next request, and honours
//     max_body with a 413.
//
// Build and run (see tests/fuzz/corpus/http_parser for the seeds):
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -Iinclude
//       tests/fuzz/http_parser_fuzz.cpp src/http/parser.cpp -o /tmp/fuzz
//   cp -r tests/fuzz/corpus/http_parser /tmp/corpus && /tmp/fuzz -max_total_time=60 /tmp/corpus
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/parser.hpp"

using namespace aio::http::detail;

namespace {

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "invariant violated: %s\n", what);
  std::abort();
}

void check(bool ok, const char* what) {
  if (!ok) violated(what);
}

std::uint64_t fnv1a(std::string_view bytes) {
  std::uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : bytes) hash = (hash ^ c) * 1099511628211ull;
  return hash;
}

// A copy of some bytes in a buffer of exactly that size, so that ASan sees reads past the end.
class ExactCopy {
 public:
  explicit ExactCopy(std::string_view bytes) : data_(new char[bytes.size() + 1]), size_(bytes.size()) {
    if (size_) std::memcpy(data_.get(), bytes.data(), size_);
  }
  std::string_view view() const { return {data_.get(), size_}; }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t size_;
};

// A parse result copied out of its input, so results of different buffers compare.
struct Owned {
  ParseResult result = ParseResult::incomplete;
  int status = 0;
  std::string reason;
  std::string method, target, host;
  int version_minor = 0;
  BodyFraming framing = BodyFraming::none;
  std::uint64_t content_length = 0;
  bool keep_alive = false, expect_continue = false, upgrade = false;
  std::size_t head_size = 0;
  std::vector<std::string> fields;  // name, value, name, value, ...

  // Everything but head_size, which a round trip changes.
  bool same_request(const Owned& o) const {
    return result == o.result && method == o.method && target == o.target && host == o.host &&
           version_minor == o.version_minor && framing == o.framing && content_length == o.content_length &&
           keep_alive == o.keep_alive && expect_continue == o.expect_continue && upgrade == o.upgrade &&
           fields == o.fields;
  }
  bool operator==(const Owned& o) const {
    return same_request(o) && status == o.status && reason == o.reason && head_size == o.head_size;
  }
};

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

bool is_ows(char c) { return c == ' ' || c == '\t'; }
bool is_tchar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);
}
bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar); }
bool is_field_char(char c) {  // field-vchar, SP, HTAB, obs-text
  const auto b = static_cast<unsigned char>(c);
  return b == '\t' || (b >= 0x20 && b != 0x7F);
}

// The value of a string of decimal digits (the parser has rejected anything else).
std::uint64_t decimal(std::string_view digits) {
  std::uint64_t value = 0;
  for (char c : digits) value = value * 10 + static_cast<std::uint64_t>(c - '0');
  return value;
}

// Walks the head's bytes with the parsed views as a map: each view must sit exactly where the
// RFC 9112 grammar puts it, with only the separators the grammar allows in between.
void check_head_structure(std::string_view bytes, const RequestHead& head, const std::vector<HeaderField>& headers) {
  const char* cursor = bytes.data();
  const char* const end = bytes.data() + bytes.size();
  auto skip = [&](std::string_view literal) {
    check(
        static_cast<std::size_t>(end - cursor) >= literal.size() && std::string_view(cursor, literal.size()) == literal,
        "expected separator");
    cursor += literal.size();
  };
  for (int empty_lines = 0; empty_lines < 5 && std::string_view(cursor, end - cursor).starts_with("\r\n");
       ++empty_lines)
    cursor += 2;
  check(head.method.data() == cursor && is_token(head.method), "method is a token at the line start");
  cursor += head.method.size();
  skip(" ");
  check(head.target.data() == cursor, "target after one SP");
  check(std::all_of(head.target.begin(), head.target.end(), [](char c) { return c > 0x20 && c < 0x7F; }),
        "target is visible ASCII");
  cursor += head.target.size();
  skip(" HTTP/1.");
  check(cursor < end && *cursor >= '0' && *cursor <= '9', "minor version digit");
  check(head.version_minor == (*cursor == '0' ? 0 : 1), "version_minor matches the digit");
  ++cursor;
  skip("\r\n");
  for (const HeaderField& field : headers) {
    check(field.name.data() == cursor && is_token(field.name), "field name is a token at the line start");
    cursor += field.name.size();
    skip(":");
    while (cursor < end && is_ows(*cursor) && cursor != field.value.data()) ++cursor;
    check(field.value.data() == cursor || field.value.empty(), "value after the colon and OWS");
    if (!field.value.empty()) cursor += field.value.size();
    check(std::all_of(field.value.begin(), field.value.end(), is_field_char), "value has no control characters");
    while (cursor < end && is_ows(*cursor)) ++cursor;
    skip("\r\n");
  }
  skip("\r\n");
  check(cursor == end, "the head ends after the empty line");
}

// Checks what a complete head promises about the bytes it came from.
void check_complete_head(std::string_view input, const ParseLimits& limits, const RequestHead& head,
                         const std::vector<HeaderField>& headers) {
  check(head.head_size >= 4 && head.head_size <= input.size(), "head_size within input");
  check(head.head_size <= limits.max_head_size, "head_size within max_head_size");
  const std::string_view bytes = input.substr(0, head.head_size);
  check(bytes.substr(bytes.size() - 4) == "\r\n\r\n", "head ends in CRLF CRLF");
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c == '\r') check(i + 1 < bytes.size() && bytes[i + 1] == '\n', "no bare CR in a head");
    if (c == '\n') check(i > 0 && bytes[i - 1] == '\r', "no bare LF in a head");
    check(c >= 0x20 || c == '\r' || c == '\n' || c == '\t', "no control characters in a head");
    check(c != 0x7F, "no DEL in a head");
  }
  check_head_structure(bytes, head, headers);
  check(!head.method.empty() && inside(head.method, bytes), "method inside the head");
  check(!head.target.empty() && inside(head.target, bytes), "target inside the head");
  check(head.target.find_first_of(" \t") == std::string_view::npos, "target without whitespace");
  check(head.method.size() + head.target.size() + 10 <= limits.max_request_line, "request line within limit");
  check(head.version_minor == 0 || head.version_minor == 1, "version 1.0 or 1.1");
  check(headers.size() <= limits.max_headers, "header count within limit");
  for (const HeaderField& field : headers) {
    check(!field.name.empty() && inside(field.name, bytes) && inside(field.value, bytes), "field inside the head");
    check(field.name.find_first_of(" \t:\r\n") == std::string_view::npos, "field name is a token");
    check(field.value.empty() || (!is_ows(field.value.front()) && !is_ows(field.value.back())), "value trimmed");
    check(field.name.size() + 1 + field.value.size() <= limits.max_field_size, "field line within limit");
  }
  const auto content_length = find_header(headers, "content-length");
  const auto transfer_encoding = find_header(headers, "transfer-encoding");
  switch (head.framing) {
    case BodyFraming::chunked:
      check(transfer_encoding && !content_length && head.version_minor == 1, "chunked framing is unambiguous");
      break;
    case BodyFraming::content_length:
      check(content_length && !transfer_encoding && decimal(*content_length) == head.content_length,
            "Content-Length framing matches the header");
      break;
    case BodyFraming::none:
      check(!content_length && !transfer_encoding, "no framing headers without framing");
      break;
  }
  if (head.version_minor == 1) check(find_header(headers, "host").has_value(), "HTTP/1.1 has a Host");
  check(head.host == find_header(headers, "host").value_or(""), "host is the Host header");
}

Owned parse_owned(std::string_view bytes, const ParseLimits& limits, bool check_head = true) {
  const ExactCopy copy(bytes);
  RequestHead head;
  std::vector<HeaderField> headers;
  ParseError error;
  Owned out;
  out.result = parse_request_head(copy.view(), limits, head, headers, error);
  if (out.result == ParseResult::error) {
    out.status = error.status;
    out.reason = error.reason;
    check(!out.reason.empty(), "an error has a reason");
    const int s = error.status;
    check(s == 400 || s == 414 || s == 431 || s == 501 || s == 505, "error status is one of the documented");
  }
  if (out.result != ParseResult::complete) return out;
  if (check_head) check_complete_head(copy.view(), limits, head, headers);
  out.method = head.method;
  out.target = head.target;
  out.host = head.host;
  out.version_minor = head.version_minor;
  out.framing = head.framing;
  out.content_length = head.content_length;
  out.keep_alive = head.keep_alive;
  out.expect_continue = head.expect_continue;
  out.upgrade = head.upgrade;
  out.head_size = head.head_size;
  for (const HeaderField& field : headers) {
    out.fields.emplace_back(field.name);
    out.fields.emplace_back(field.value);
  }
  return out;
}

// The head as a canonical sender would write it.
std::string serialize(const Owned& head) {
  std::string out = head.method + " " + head.target + " HTTP/1." + std::to_string(head.version_minor) + "\r\n";
  for (std::size_t i = 0; i < head.fields.size(); i += 2) out += head.fields[i] + ": " + head.fields[i + 1] + "\r\n";
  return out + "\r\n";
}

void fuzz_head(std::string_view input, const ParseLimits& limits, std::uint64_t hash) {
  const Owned whole = parse_owned(input, limits);
  check(parse_owned(input, limits) == whole, "parsing is deterministic");

  const std::size_t cuts[] = {input.size() / 2, input.size() ? input.size() - 1 : 0,
                              static_cast<std::size_t>(hash % (input.size() + 1)),
                              static_cast<std::size_t>((hash >> 32) % (input.size() + 1))};
  for (std::size_t cut : cuts) {
    const Owned prefix = parse_owned(input.substr(0, cut), limits);
    if (whole.result == ParseResult::complete && cut >= whole.head_size) {
      check(prefix == whole, "a prefix holding the head parses as the whole");
    } else if (prefix.result != ParseResult::incomplete) {
      check(prefix.result == ParseResult::error, "a prefix without the whole head is not complete");
      check(prefix == whole, "a prefix fails only as the whole fails");
    }
  }

  if (whole.result == ParseResult::complete) {
    ParseLimits unlimited;
    unlimited.max_request_line = unlimited.max_field_size = unlimited.max_headers = unlimited.max_head_size = SIZE_MAX;
    const std::string canonical = serialize(whole);
    const Owned again = parse_owned(canonical, unlimited);
    check(again.same_request(whole), "a head survives a canonical round trip");
    check(again.head_size == canonical.size(), "the round trip consumes the whole canonical head");
  }
}

// An independent reading of the chunked grammar: recursive descent over the whole input,
// left to right, so it stops at the same first bad byte as the incremental decoder.
class ReferenceChunked {
 public:
  enum class Result { done, invalid, truncated };

  explicit ReferenceChunked(std::string_view input) : in_(input) {}

  Result run() {
    try {
      chunks();
      trailers();
      return Result::done;
    } catch (Truncated) {
      return Result::truncated;
    } catch (Invalid) {
      return Result::invalid;
    }
  }
  const std::string& body() const { return body_; }
  std::size_t end() const { return pos_; }

 private:
  struct Truncated {};
  struct Invalid {};

  char peek() {
    if (pos_ >= in_.size()) throw Truncated{};
    const char c = in_[pos_];
    if (line_limit_ && c != '\r' && pos_ - line_start_ >= line_limit_) throw Invalid{};
    return c;
  }
  char next() {
    const char c = peek();
    ++pos_;
    return c;
  }
  void expect(char wanted) {
    if (next() != wanted) throw Invalid{};
  }
  void skip_ows() {
    while (peek() == ' ' || peek() == '\t') ++pos_;
  }
  void token() {
    if (!is_tchar(next())) throw Invalid{};
    while (is_tchar(peek())) ++pos_;
  }
  void quoted_string() {
    expect('"');
    for (;;) {
      const char c = next();
      const auto b = static_cast<unsigned char>(c);
      if (c == '"') return;
      if (c == '\\') {
        if (!is_field_char(next())) throw Invalid{};
      } else if (!(c == '\t' || c == ' ' || c == 0x21 || (b >= 0x23 && b <= 0x5B) || (b >= 0x5D && b <= 0x7E) ||
                   b >= 0x80)) {
        throw Invalid{};
      }
    }
  }
  void begin_line(std::size_t limit) {
    line_start_ = pos_;
    line_limit_ = limit;
  }
  void end_line() {
    line_limit_ = 0;
    expect('\r');
    expect('\n');
  }

  void chunks() {
    for (;;) {
      begin_line(ChunkedDecoder::kMaxChunkSizeLine);
      std::uint64_t size = 0;
      int digits = 0;
      for (;;) {
        const char c = peek();
        const int value = (c >= '0' && c <= '9')   ? c - '0'
                          : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                          : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                                   : -1;
        if (value < 0) break;
        if (++digits > 16) throw Invalid{};
        size = size * 16 + static_cast<std::uint64_t>(value);
        ++pos_;
      }
      if (digits == 0) throw Invalid{};
      // *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ); OWS is only taken when what follows fits.
      for (;;) {
        const std::size_t before = pos_;
        skip_ows();
        if (peek() != ';') {
          pos_ = before;
          break;
        }
        ++pos_;
        skip_ows();
        token();
        const std::size_t after_name = pos_;
        skip_ows();
        if (peek() != '=') {
          pos_ = after_name;
          continue;
        }
        ++pos_;
        skip_ows();
        if (peek() == '"')
          quoted_string();
        else
          token();
      }
      end_line();
      if (size == 0) return;
      for (std::uint64_t i = 0; i < size; ++i) body_ += next();
      expect('\r');
      expect('\n');
    }
  }

  void trailers() {
    for (std::size_t count = 0;; ++count) {
      if (peek() == '\r') {
        end_line();
        return;
      }
      if (count == ChunkedDecoder::kMaxTrailerFields) throw Invalid{};
      begin_line(ChunkedDecoder::kMaxTrailerLine);
      token();
      expect(':');
      while (peek() != '\r')
        if (!is_field_char(next())) throw Invalid{};
      end_line();
    }
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  std::size_t line_start_ = 0;
  std::size_t line_limit_ = 0;  // 0: not in a limited line
  std::string body_;
};

struct Decoded {
  ChunkedDecoder::Result result = ChunkedDecoder::Result::need_more;
  std::string body;
  std::size_t consumed = 0;
  int status = 0;
  bool operator==(const Decoded&) const = default;
};

// Feeds `input` to a decoder in pieces cut where `cuts` says, as a server's buffer would.
Decoded decode_in_pieces(std::string_view input, const std::vector<std::size_t>& cuts, std::uint64_t max_body) {
  ChunkedDecoder decoder;
  decoder.set_max_body(max_body);
  Decoded out;
  std::string pending;
  std::size_t fed = 0;
  auto feed_until = [&](std::size_t offset) {
    pending.append(input.substr(fed, offset - fed));
    fed = offset;
    const ExactCopy copy(pending);
    std::size_t used = 0;
    ParseError error;
    const std::size_t body_before = out.body.size();
    out.result = decoder.decode(copy.view(), used, out.body, error);
    check(used <= pending.size(), "decode never consumes more than it is given");
    check(out.body.size() - body_before <= used, "decoded bytes never exceed consumed bytes");
    pending.erase(0, used);
    out.consumed += used;
    if (out.result == ChunkedDecoder::Result::error) {
      out.status = error.status;
      check(error.status == 400 || error.status == 413 || error.status == 431, "decoder status is documented");
    }
    return out.result == ChunkedDecoder::Result::need_more;
  };
  for (std::size_t cut : cuts)
    if (cut >= fed && cut <= input.size() && !feed_until(cut)) break;
  if (out.result == ChunkedDecoder::Result::need_more) feed_until(input.size());
  check(decoder.body_size() == out.body.size(), "body_size counts the decoded bytes");
  check(out.body.size() <= input.size(), "body no longer than the input");
  check(out.consumed <= input.size(), "consumed within the input");
  if (out.result == ChunkedDecoder::Result::need_more) check(out.consumed == input.size(), "need_more consumes all");
  return out;
}

void fuzz_chunked(std::string_view input, std::uint64_t hash) {
  const std::uint64_t max_body = (hash & 3) == 0 ? (hash >> 8) % 64 : UINT64_MAX;
  const Decoded whole = decode_in_pieces(input, {}, max_body);
  std::vector<std::size_t> cuts;
  for (std::uint64_t h = hash, i = 0; i < 4 && !input.empty();
       ++i, h = h * 6364136223846793005ull + 1442695040888963407ull)
    cuts.push_back(static_cast<std::size_t>((h >> 33) % input.size()));
  std::sort(cuts.begin(), cuts.end());
  check(decode_in_pieces(input, cuts, max_body) == whole, "chunked decoding does not depend on the split");
  if (input.size() <= 256) {
    std::vector<std::size_t> every_byte;
    for (std::size_t i = 1; i < input.size(); ++i) every_byte.push_back(i);
    check(decode_in_pieces(input, every_byte, max_body) == whole, "byte-at-a-time decoding agrees");
  }

  // The incremental decoder and the reference agree on the outcome, the body and the end.
  const Decoded unlimited = max_body == UINT64_MAX ? whole : decode_in_pieces(input, {}, UINT64_MAX);
  ReferenceChunked reference(input);
  switch (reference.run()) {
    case ReferenceChunked::Result::done:
      check(unlimited.result == ChunkedDecoder::Result::done, "decoder accepts what the reference accepts");
      check(unlimited.body == reference.body() && unlimited.consumed == reference.end(), "decoder and reference agree");
      break;
    case ReferenceChunked::Result::invalid:
      check(unlimited.result == ChunkedDecoder::Result::error, "decoder rejects what the reference rejects");
      break;
    case ReferenceChunked::Result::truncated:
      check(unlimited.result == ChunkedDecoder::Result::need_more, "decoder waits where the reference runs out");
      break;
  }
  if (whole.result != ChunkedDecoder::Result::done) return;

  check(whole.consumed >= 5, "a chunked body is at least 0 CRLF CRLF");
  check(input.substr(whole.consumed - 4, 4) == "\r\n\r\n", "a chunked body ends in CRLF CRLF");
  // Bytes after the body are the next request's: appending more must not change the result.
  const std::string extended = std::string(input) + "GET / HTTP/1.1\r\n";
  check(decode_in_pieces(extended, {}, max_body) == whole, "the next request is not consumed");
  // The body re-encoded as one chunk decodes to the same bytes.
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", whole.body.size());
  const std::string reencoded =
      whole.body.empty() ? std::string("0\r\n\r\n") : size_line + whole.body + "\r\n0\r\n\r\n";
  check(decode_in_pieces(reencoded, {}, UINT64_MAX).body == whole.body, "re-encoded body decodes the same");
  if (!whole.body.empty()) {
    const Decoded limited = decode_in_pieces(input, {}, whole.body.size() - 1);
    check(limited.result == ChunkedDecoder::Result::error && limited.status == 413, "max_body gives 413");
  }
}

struct OwnedResponse {
  ParseResult result = ParseResult::incomplete;
  std::string reason;  // the error's, or the status line's
  int status = 0, version_minor = 0;
  BodyFraming framing = BodyFraming::none;
  std::uint64_t content_length = 0;
  bool keep_alive = false;
  std::size_t head_size = 0;
  std::vector<std::string> fields;
  bool same_response(const OwnedResponse& o) const {
    return result == o.result && reason == o.reason && status == o.status && version_minor == o.version_minor &&
           framing == o.framing && content_length == o.content_length && keep_alive == o.keep_alive &&
           fields == o.fields;
  }
  bool operator==(const OwnedResponse& o) const { return same_response(o) && head_size == o.head_size; }
};

OwnedResponse parse_response_owned(std::string_view bytes) {
  const ExactCopy copy(bytes);
  ResponseHead head;
  std::vector<HeaderField> headers;
  ParseError error;
  OwnedResponse out;
  out.result = parse_response_head(copy.view(), ParseLimits{}, head, headers, error);
  if (out.result == ParseResult::error) {
    out.reason = error.reason;
    check(!out.reason.empty(), "a response error has a reason");
  }
  if (out.result != ParseResult::complete) return out;
  const std::string_view raw = copy.view().substr(0, head.head_size);
  check(raw.starts_with("HTTP/1.") && raw.ends_with("\r\n\r\n"), "a response head starts and ends right");
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const auto c = static_cast<unsigned char>(raw[i]);
    if (c == '\r') check(i + 1 < raw.size() && raw[i + 1] == '\n', "no bare CR in a response head");
    if (c == '\n') check(i > 0 && raw[i - 1] == '\r', "no bare LF in a response head");
    check((c >= 0x20 && c != 0x7F) || c == '\r' || c == '\n' || c == '\t', "no control bytes in a response head");
  }
  check(head.status >= 100 && head.status <= 999, "status has three digits");
  check(inside(head.reason, raw), "reason inside the head");
  const auto content_length = find_header(headers, "content-length");
  const auto transfer_encoding = find_header(headers, "transfer-encoding");
  if (head.framing == BodyFraming::chunked) check(transfer_encoding && !content_length, "chunked is unambiguous");
  if (head.framing == BodyFraming::content_length)
    check(content_length && !transfer_encoding && decimal(*content_length) == head.content_length, "CL framing");
  if (head.framing == BodyFraming::none) check(!content_length && !transfer_encoding, "no framing headers");
  out.reason = head.reason;
  out.status = head.status;
  out.version_minor = head.version_minor;
  out.framing = head.framing;
  out.content_length = head.content_length;
  out.keep_alive = head.keep_alive;
  out.head_size = head.head_size;
  for (const HeaderField& field : headers) {
    out.fields.emplace_back(field.name);
    out.fields.emplace_back(field.value);
  }
  return out;
}

void fuzz_response_head(std::string_view input, std::uint64_t hash) {
  const OwnedResponse whole = parse_response_owned(input);
  const std::size_t cuts[] = {input.size() / 2, static_cast<std::size_t>(hash % (input.size() + 1))};
  for (std::size_t cut : cuts) {
    const OwnedResponse prefix = parse_response_owned(input.substr(0, cut));
    if (whole.result == ParseResult::complete && cut >= whole.head_size)
      check(prefix == whole, "a prefix holding the response head parses as the whole");
    else if (prefix.result != ParseResult::incomplete)
      check(prefix.result == ParseResult::error && prefix == whole, "a response prefix fails only as the whole fails");
  }
  if (whole.result != ParseResult::complete) return;
  std::string canonical = "HTTP/1." + std::to_string(whole.version_minor) + " " + std::to_string(whole.status) + " " +
                          whole.reason + "\r\n";
  for (std::size_t i = 0; i < whole.fields.size(); i += 2)
    canonical += whole.fields[i] + ": " + whole.fields[i + 1] + "\r\n";
  canonical += "\r\n";
  const OwnedResponse again = parse_response_owned(canonical);
  check(again.same_response(whole) && again.head_size == canonical.size(), "a response head survives a round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::uint64_t hash = fnv1a(input);

  fuzz_head(input, ParseLimits{}, hash);
  // Small limits reach the 414 and 431 paths with small inputs.
  ParseLimits tight;
  tight.max_request_line = 16 + hash % 48;
  tight.max_field_size = 8 + (hash >> 8) % 48;
  tight.max_headers = (hash >> 16) % 6;
  tight.max_head_size = 32 + (hash >> 24) % 224;
  fuzz_head(input, tight, hash);
  fuzz_response_head(input, hash);

  // A chunked body after a head, and the whole input as a body.
  RequestHead head;
  std::vector<HeaderField> headers;
  ParseError error;
  if (parse_request_head(input, ParseLimits{}, head, headers, error) == ParseResult::complete &&
      head.framing == BodyFraming::chunked)
    fuzz_chunked(input.substr(head.head_size), hash);
  fuzz_chunked(input, hash);
  return 0;
}
