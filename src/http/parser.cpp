// The request head is parsed line by line, left to right, and every decision depends only on
// the bytes before the position where it is made. So a prefix of a request either ends in the
// same error as the whole or is `incomplete`: that is what makes reparsing from the start after
// every read safe, and what the split tests and the fuzz target check.
#include "http/parser.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace aio::http::detail {

namespace {

// Byte classes from RFC 9110 and RFC 3986, decided once in a table.
enum ByteClass : unsigned char {
  kToken = 1,      // tchar (RFC 9110 5.6.2)
  kHostChar = 2,   // reg-name, IP-literal and port characters of a Host value
  kFieldChar = 4,  // field-vchar, SP, HTAB (obs-text included)
  kQdText = 8,     // qdtext of a quoted-string
};

constexpr std::array<unsigned char, 256> make_byte_classes() {
  std::array<unsigned char, 256> classes{};
  auto add = [&](const char* chars, unsigned char cls) {
    for (; *chars; ++chars) classes[static_cast<unsigned char>(*chars)] |= cls;
  };
  for (int c = 0; c < 256; ++c) {
    bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (alnum) classes[c] |= kToken | kHostChar;
    if ((c >= 0x20 && c != 0x7F) || c == '\t') classes[c] |= kFieldChar;
    if (c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E) || c >= 0x80)
      classes[c] |= kQdText;
  }
  add("!#$%&'*+-.^_`|~", kToken);
  add("-._~!$&'()*+,;=%:[]", kHostChar);
  return classes;
}

constexpr std::array<unsigned char, 256> kByteClasses = make_byte_classes();

bool has_class(char c, ByteClass cls) noexcept { return kByteClasses[static_cast<unsigned char>(c)] & cls; }
bool is_token_char(char c) noexcept { return has_class(c, kToken); }
bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_target_char(char c) noexcept { return c > 0x20 && c < 0x7F; }  // visible ASCII

bool is_token(std::string_view s) noexcept { return !s.empty() && std::all_of(s.begin(), s.end(), is_token_char); }

constexpr std::array<char, 256> make_ascii_lower() {
  std::array<char, 256> lower{};
  for (int c = 0; c < 256; ++c) lower[c] = static_cast<char>((c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c);
  return lower;
}

constexpr std::array<char, 256> kAsciiLower = make_ascii_lower();

char ascii_lower(char c) noexcept { return kAsciiLower[static_cast<unsigned char>(c)]; }

std::uint64_t load8(const char* p) noexcept {
  std::uint64_t word;
  std::memcpy(&word, p, sizeof word);
  return word;
}

// Whether `text` equals `lowercase`, ignoring the case of its letters, 8 bytes at a time.
// Setting bit 0x20 lowercases letters and leaves '-' and digits alone; it also maps some
// control characters onto them, but tokens and field values never contain those.
bool equals_lowercase(std::string_view text, std::string_view lowercase) noexcept {
  const std::size_t n = lowercase.size();
  if (text.size() != n) return false;
  constexpr std::uint64_t kCaseBits = 0x2020202020202020ull;
  if (n >= 8) {  // two overlapping words cover 8..16 bytes
    return n <= 16 && ((load8(text.data()) | kCaseBits) == load8(lowercase.data())) &&
           ((load8(text.data() + n - 8) | kCaseBits) == load8(lowercase.data() + n - 8));
  }
  for (std::size_t i = 0; i < n; ++i)
    if (static_cast<char>(text[i] | 0x20) != lowercase[i]) return false;
  return true;
}

#if defined(__SSE2__)
// The scanners below test 16 bytes at a time with SSE2 (part of every x86-64) and finish the
// last few bytes of the input with the byte tables.

__m128i load16(const char* p) noexcept { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }

// Lanes whose byte is in [lo, hi]: unsigned (b - lo) <= (hi - lo).
__m128i in_range(__m128i bytes, char lo, char hi) noexcept {
  const __m128i shifted = _mm_sub_epi8(bytes, _mm_set1_epi8(lo));
  return _mm_cmpeq_epi8(_mm_min_epu8(shifted, _mm_set1_epi8(static_cast<char>(hi - lo))), shifted);
}

__m128i equal_to(__m128i bytes, char c) noexcept { return _mm_cmpeq_epi8(bytes, _mm_set1_epi8(c)); }

// Offset of the first lane not set in `accepted`, or 16.
unsigned first_rejected(__m128i accepted) noexcept {
  const unsigned rejected = ~static_cast<unsigned>(_mm_movemask_epi8(accepted)) & 0xFFFFu;
  return rejected ? static_cast<unsigned>(__builtin_ctz(rejected)) : 16;
}
#endif

// First byte in [p, end) that is not a tchar. The vector loop only passes the tchars that
// field names are made of in practice (letters, digits, '-'); the byte table takes over at the
// first other byte, which is nearly always the colon.
const char* skip_token_chars(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
  while (end - p >= 16) {
    const __m128i bytes = load16(p);
    const __m128i letter = in_range(_mm_or_si128(bytes, _mm_set1_epi8(0x20)), 'a', 'z');
    const __m128i common = _mm_or_si128(_mm_or_si128(letter, in_range(bytes, '0', '9')), equal_to(bytes, '-'));
    const unsigned offset = first_rejected(common);
    p += offset;
    if (offset < 16) break;
  }
#endif
  while (p < end && is_token_char(*p)) ++p;
  return p;
}

// First byte in [p, end) outside the request-target class (visible ASCII).
const char* skip_target_chars(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
  while (end - p >= 16) {
    const unsigned offset = first_rejected(in_range(load16(p), 0x21, 0x7E));
    if (offset < 16) return p + offset;
    p += 16;
  }
#endif
  while (p < end && is_target_char(*p)) ++p;
  return p;
}

// First byte in [p, end) that is a control character or DEL. HTAB stops the scan too (it is
// rare in values, and one class test per 16 bytes keeps the common case fast); the caller
// steps over it.
const char* skip_field_value_chars(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
  while (end - p >= 16) {
    const __m128i bytes = load16(p);
    const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(bytes, _mm_set1_epi8(0x1F)), bytes);  // b <= 0x1F
    const auto stop = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(control, equal_to(bytes, 0x7F))));
    if (stop) return p + __builtin_ctz(stop);
    p += 16;
  }
#endif
  while (p < end && has_class(*p, kFieldChar) && *p != '\t') ++p;
  return p;
}

// First byte in [p, end) that is a control character or DEL, stepping over HTABs: where a
// field value or a reason phrase ends (or the window's end).
const char* skip_text_with_tabs(const char* p, const char* end) noexcept {
  for (;;) {
    p = skip_field_value_chars(p, end);
    if (p == end || *p != '\t') return p;
    ++p;
  }
}

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

// Calls on_element(element) for each non-empty element of a comma-separated list (RFC 9110
// 5.6.1: empty elements are ignored), OWS trimmed; stops at the first false it returns.
template <class OnElement>
bool for_each_list_element(std::string_view list, OnElement&& on_element) {
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    std::string_view element = trim_ows(list.substr(0, comma));
    if (!element.empty() && !on_element(element)) return false;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return true;
}

// Why a byte ended a line element where it should not have; for the error reason.
const char* reason_for_stray(char c, const char* otherwise) noexcept {
  if (c == '\r') return "unexpected CR";
  if (c == '\n') return "bare LF";
  if (c == '\0') return "NUL byte";
  if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return "control character";
  return otherwise;
}

// HTTP-version = "HTTP/" DIGIT "." DIGIT; '#' stands for a digit.
constexpr char kVersionShape[] = "HTTP/#.#";

// Whether the 8 bytes at p are an HTTP-version: the fixed bytes in one word compare.
bool is_http_version(const char* p) noexcept {
  static constexpr unsigned char kFixedBytes[8] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0xFF, 0};
  const std::uint64_t fixed = load8(reinterpret_cast<const char*>(kFixedBytes));
  return (load8(p) & fixed) == (load8(kVersionShape) & fixed) && is_digit(p[5]) && is_digit(p[7]);
}

// Empty lines a client may send before a request line (RFC 9112 2.2: ignore at least one).
constexpr int kMaxLeadingEmptyLines = 4;

class HeadParser {
 public:
  HeadParser(std::string_view input, const ParseLimits& limits, RequestHead& head, std::vector<HeaderField>& headers,
             ParseError& error, ResponseHead* response = nullptr) noexcept
      : limits_(limits),
        response_(response),
        head_(head),
        headers_(headers),
        error_(error),
        begin_(input.data()),
        input_end_(input.data() + input.size()),
        data_end_(input.data() + std::min(input.size(), limits.max_head_size)),
        p_(input.data()) {}

  ParseResult run() {
    head_ = RequestHead{};
    headers_.clear();
    if (!skip_empty_lines() || !parse_request_line() || !parse_field_lines() || !finish()) return outcome_;
    head_.head_size = static_cast<std::size_t>(p_ - begin_);
    return ParseResult::complete;
  }

  // A response head: no leading empty lines (on a kept-alive connection they would be the
  // tail of a body whose length lied), a status line, the same field lines.
  ParseResult run_response() {
    head_ = RequestHead{};
    *response_ = ResponseHead{};
    headers_.clear();
    if (!parse_status_line() || !parse_field_lines() || !finish()) return outcome_;
    response_->version_minor = head_.version_minor;
    response_->framing = head_.framing;
    response_->content_length = head_.content_length;
    response_->keep_alive = head_.keep_alive;
    response_->head_size = static_cast<std::size_t>(p_ - begin_);
    return ParseResult::complete;
  }

 private:
  // Where the scan of one line may go, and whether stopping there means the line is too long
  // (true) or only that the input ends (false).
  struct Window {
    const char* end;
    bool line_capped;
  };

  bool fail(int status, const char* reason) noexcept {
    error_ = ParseError{status, reason};
    outcome_ = ParseResult::error;
    return false;
  }

  // The head needs bytes past data_end_: more input, unless the head cap is what ended it.
  bool ran_out() noexcept {
    if (data_end_ < input_end_) return fail(431, response_ ? "response head too large" : "request head too large");
    outcome_ = ParseResult::incomplete;
    return false;
  }

  bool have(const char* p) noexcept { return p < data_end_ || ran_out(); }

  Window line_window(const char* line, std::size_t max_line) const noexcept {
    auto available = static_cast<std::size_t>(data_end_ - line);
    if (available > max_line) return {line + max_line + 1, true};
    return {data_end_, false};
  }

  bool hit_window_end(const Window& window, int status, const char* reason) noexcept {
    return window.line_capped ? fail(status, reason) : ran_out();
  }

  // After a CR at `cr`: the LF must follow.
  bool expect_lf_after(const char* cr) noexcept {
    if (!have(cr + 1)) return false;
    return cr[1] == '\n' || fail(400, "bare CR");
  }

  bool skip_empty_lines() noexcept {
    for (int skipped = 0;; ++skipped) {
      if (!have(p_)) return false;
      if (*p_ != '\r') return true;
      if (!expect_lf_after(p_)) return false;
      if (skipped == kMaxLeadingEmptyLines) return fail(400, "too many empty lines before the request line");
      p_ += 2;
    }
  }

  // method SP request-target SP HTTP-version CRLF
  bool parse_request_line() noexcept {
    const char* line = p_;
    const Window window = line_window(line, limits_.max_request_line);
    const char* p = skip_token_chars(line, window.end);
    if (p == window.end) return hit_window_end(window, 414, "request line too long");
    if (p == line) return fail(400, reason_for_stray(*p, "missing method"));
    if (*p != ' ') return fail(400, reason_for_stray(*p, "invalid character in method"));
    head_.method = {line, static_cast<std::size_t>(p - line)};

    const char* target = ++p;
    p = skip_target_chars(p, window.end);
    if (p == window.end) return hit_window_end(window, 414, "request line too long");
    if (p == target) return fail(400, reason_for_stray(*p, "missing request-target"));
    if (*p == '\r') return fail(400, "request line without HTTP version");
    if (*p != ' ') return fail(400, reason_for_stray(*p, "invalid character in request-target"));
    head_.target = {target, static_cast<std::size_t>(p - target)};

    // "HTTP/" DIGIT "." DIGIT, then CRLF right away.
    ++p;
    if (window.end - p >= 8 && is_http_version(p)) {
      p += 8;
    } else {
      // Byte by byte, to tell a bad byte from one not received yet.
      for (const char* shape = kVersionShape; *shape; ++shape, ++p) {
        if (p == window.end) return hit_window_end(window, 414, "request line too long");
        bool fits = *shape == '#' ? is_digit(*p) : *p == *shape;
        if (!fits) return fail(400, reason_for_stray(*p, "malformed HTTP version"));
      }
    }
    if (p == window.end) return hit_window_end(window, 414, "request line too long");
    if (*p != '\r') return fail(400, reason_for_stray(*p, "junk after HTTP version"));
    if (!expect_lf_after(p)) return false;

    const char major = p[-3];
    const char minor = p[-1];
    if (major != '1') return fail(505, "HTTP version not supported");
    // HTTP/1.2 and later minors are answered as HTTP/1.1 (RFC 9110 6.2).
    head_.version_minor = minor == '0' ? 0 : 1;
    p_ = p + 2;
    return check_target_form();
  }

  // HTTP-version SP 3DIGIT SP reason-phrase CRLF (RFC 9112 4). The SP and an empty reason
  // may be missing altogether ("HTTP/1.1 200"): common in the wild and unambiguous.
  bool parse_status_line() noexcept {
    const char* line = p_;
    const Window window = line_window(line, limits_.max_request_line);
    const char* p = line;
    for (const char* shape = kVersionShape; *shape; ++shape, ++p) {
      if (p == window.end) return hit_window_end(window, 400, "status line too long");
      bool fits = *shape == '#' ? is_digit(*p) : *p == *shape;
      if (!fits) return fail(400, reason_for_stray(*p, "malformed HTTP version in status line"));
    }
    if (p[-3] != '1') return fail(505, "HTTP version not supported");
    head_.version_minor = p[-1] == '0' ? 0 : 1;
    int status = 0;
    for (int i = 0; i < 4; ++i, ++p) {
      if (p == window.end) return hit_window_end(window, 400, "status line too long");
      const bool fits = i == 0 ? *p == ' ' : is_digit(*p);
      if (!fits) return fail(400, reason_for_stray(*p, "malformed status code"));
      if (i > 0) status = status * 10 + (*p - '0');
    }
    if (status < 100) return fail(400, "status code below 100");
    const char* reason = p;
    if (p == window.end) return hit_window_end(window, 400, "status line too long");
    if (*p == ' ') {
      reason = ++p;
      p = skip_text_with_tabs(p, window.end);
      if (p == window.end) return hit_window_end(window, 400, "status line too long");
    }
    if (*p != '\r') return fail(400, reason_for_stray(*p, "invalid character in status line"));
    if (!expect_lf_after(p)) return false;
    response_->status = status;
    response_->reason = {reason, static_cast<std::size_t>(p - reason)};
    p_ = p + 2;
    return true;
  }

  // RFC 9112 3.2: which form of request-target goes with which method.
  bool check_target_form() noexcept {
    std::string_view target = head_.target;
    const bool connect = head_.method == "CONNECT";
    if (target == "*") return head_.method == "OPTIONS" || fail(400, "'*' target is only for OPTIONS");
    if (connect) {
      // authority-form: host ":" port, nothing else.
      bool authority = target.front() != '/' && target.find('/') == std::string_view::npos &&
                       target.find(':') != std::string_view::npos;
      return authority || fail(400, "CONNECT needs an authority-form target");
    }
    if (target.front() == '/') return true;  // origin-form
    // absolute-form: scheme ":" ...
    auto is_scheme_char = [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '+' || c == '-' || c == '.';
    };
    std::size_t colon = target.find(':');
    bool absolute = colon != std::string_view::npos && colon > 0 &&
                    ((target[0] >= 'a' && target[0] <= 'z') || (target[0] >= 'A' && target[0] <= 'Z')) &&
                    std::all_of(target.begin(), target.begin() + static_cast<std::ptrdiff_t>(colon), is_scheme_char);
    return absolute || fail(400, "invalid request-target");
  }

  bool parse_field_lines() {
    for (;;) {
      if (!have(p_)) return false;
      if (*p_ == '\r') {  // the empty line that ends the head
        if (!expect_lf_after(p_)) return false;
        p_ += 2;
        return true;
      }
      if (headers_.size() == limits_.max_headers) return fail(431, "too many header fields");
      if (!parse_field_line()) return false;
    }
  }

  // field-name ":" OWS field-value OWS CRLF
  bool parse_field_line() {
    const char* line = p_;
    const Window window = line_window(line, limits_.max_field_size);
    const char* p = skip_token_chars(line, window.end);
    if (p == window.end) return hit_window_end(window, 431, "header field too long");
    if (*p != ':') {
      if (p == line && is_ows(*p)) return fail(400, "obsolete line folding or whitespace before a field");
      if (is_ows(*p)) return fail(400, "whitespace between field name and colon");
      if (*p == '\r' || *p == '\n') return fail(400, "header line without a colon");
      return fail(400, reason_for_stray(*p, "invalid character in field name"));
    }
    if (p == line) return fail(400, "empty field name");
    const std::string_view name{line, static_cast<std::size_t>(p - line)};

    const char* value = p + 1;
    while (value < window.end && is_ows(*value)) ++value;
    const char* stop = skip_text_with_tabs(value, window.end);
    if (stop == window.end) return hit_window_end(window, 431, "header field too long");
    if (*stop != '\r') return fail(400, reason_for_stray(*stop, "invalid character in field value"));
    if (!expect_lf_after(stop)) return false;
    const char* value_end = stop;
    while (value_end > value && is_ows(value_end[-1])) --value_end;

    // Filled in place: copying a just-built HeaderField into the vector stalls on store
    // forwarding, a measurable share of a whole parse.
    HeaderField& field = headers_.emplace_back();
    field.name = name;
    field.value = {value, static_cast<std::size_t>(value_end - value)};
    p_ = stop + 2;
    return apply_field(field);
  }

  // The fields the parser itself must understand: framing, Host, connection management.
  bool apply_field(const HeaderField& field) {
    const std::string_view name = field.name;
    switch (name.size()) {
      case 4:
        if (!response_ && equals_lowercase(name, "host")) return apply_host(field.value);
        break;
      case 6:
        if (equals_lowercase(name, "expect")) apply_expect(field.value);
        break;
      case 7:
        if (equals_lowercase(name, "upgrade")) upgrade_header_ = upgrade_header_ || !field.value.empty();
        break;
      case 10:
        if (equals_lowercase(name, "connection")) return apply_connection(field.value);
        break;
      case 14:
        if (equals_lowercase(name, "content-length")) return apply_content_length(field.value);
        break;
      case 17:
        if (iequals(name, "transfer-encoding")) return apply_transfer_encoding(field.value);
        break;
      default:
        break;
    }
    return true;
  }

  // RFC 9112 3.2: more than one Host, or an invalid one, is a 400.
  bool apply_host(std::string_view value) {
    if (host_seen_) return fail(400, "duplicate Host header");
    host_seen_ = true;
    bool valid = std::all_of(value.begin(), value.end(), [](char c) { return has_class(c, kHostChar); });
    if (!valid) return fail(400, "invalid Host header");
    head_.host = value;
    return true;
  }

  void apply_expect(std::string_view value) {
    for_each_list_element(value, [&](std::string_view expectation) {
      if (equals_lowercase(expectation, "100-continue")) head_.expect_continue = true;
      return true;
    });
  }

  bool apply_connection(std::string_view value) {
    bool valid = for_each_list_element(value, [&](std::string_view option) {
      if (!is_token(option)) return false;
      if (equals_lowercase(option, "close"))
        connection_close_ = true;
      else if (equals_lowercase(option, "keep-alive"))
        connection_keep_alive_ = true;
      else if (equals_lowercase(option, "upgrade"))
        connection_upgrade_ = true;
      return true;
    });
    return valid || fail(400, "invalid Connection header");
  }

  // 1*DIGIT and nothing else: signs, spaces, lists and repeats are how smuggling starts.
  bool apply_content_length(std::string_view value) {
    if (content_length_seen_) return fail(400, "duplicate Content-Length header");
    content_length_seen_ = true;
    if (value.empty()) return fail(400, "empty Content-Length");
    std::uint64_t length = 0;
    for (char c : value) {
      if (!is_digit(c)) return fail(400, "invalid Content-Length");
      auto digit = static_cast<std::uint64_t>(c - '0');
      if (length > (UINT64_MAX - digit) / 10) return fail(400, "Content-Length too large");
      length = length * 10 + digit;
    }
    head_.content_length = length;
    return true;
  }

  // The codings of all Transfer-Encoding lines form one list; finish() judges it.
  bool apply_transfer_encoding(std::string_view value) {
    if (value.empty()) return fail(400, "empty Transfer-Encoding");
    transfer_encoding_seen_ = true;
    bool valid = for_each_list_element(value, [&](std::string_view coding) {
      std::size_t name_end = 0;
      while (name_end < coding.size() && is_token_char(coding[name_end])) ++name_end;
      std::string_view name = coding.substr(0, name_end);
      std::string_view parameters = trim_ows(coding.substr(name_end));
      if (name.empty() || (!parameters.empty() && parameters.front() != ';')) return false;
      const bool chunked = equals_lowercase(name, "chunked");
      if (chunked && !parameters.empty()) return false;  // chunked takes no parameters
      chunked_count_ += chunked ? 1 : 0;
      other_coding_ = other_coding_ || !chunked;
      last_coding_chunked_ = chunked;
      return true;
    });
    return valid || fail(400, "invalid Transfer-Encoding");
  }

  // The checks that need the whole head: framing (RFC 9112 6.3), Host, persistence.
  bool finish() noexcept {
    const bool http11 = head_.version_minor >= 1;
    if (transfer_encoding_seen_) {
      if (!http11)
        return fail(
            400, response_ ? "Transfer-Encoding in an HTTP/1.0 response" : "Transfer-Encoding in an HTTP/1.0 request");
      if (content_length_seen_) return fail(400, "both Transfer-Encoding and Content-Length");
      if (chunked_count_ > 1) return fail(400, "chunked applied more than once");
      if (!last_coding_chunked_) return fail(400, "chunked is not the final transfer coding");
      if (other_coding_) return fail(501, "unsupported transfer coding");
      head_.framing = BodyFraming::chunked;
    } else if (content_length_seen_) {
      head_.framing = BodyFraming::content_length;
    }
    if (http11 && !host_seen_ && !response_) return fail(400, "missing Host header");
    head_.keep_alive = !connection_close_ && (http11 || connection_keep_alive_);
    head_.upgrade = http11 && connection_upgrade_ && upgrade_header_;  // RFC 9110 7.8: not in 1.0
    return true;
  }

  const ParseLimits& limits_;
  ResponseHead* response_;  // parsing a response head into this (the client's side)
  RequestHead& head_;
  std::vector<HeaderField>& headers_;
  ParseError& error_;
  const char* const begin_;
  const char* const input_end_;
  const char* const data_end_;  // input_end_, or earlier where max_head_size cuts it
  const char* p_;               // start of the next line
  ParseResult outcome_ = ParseResult::incomplete;

  bool host_seen_ = false;
  bool content_length_seen_ = false;
  bool transfer_encoding_seen_ = false;
  bool last_coding_chunked_ = false;
  bool other_coding_ = false;
  int chunked_count_ = 0;
  bool connection_close_ = false;
  bool connection_keep_alive_ = false;
  bool connection_upgrade_ = false;
  bool upgrade_header_ = false;
};

}  // namespace

ParseResult parse_request_head(std::string_view input, const ParseLimits& limits, RequestHead& head,
                               std::vector<HeaderField>& headers, ParseError& error) {
  return HeadParser(input, limits, head, headers, error).run();
}

ParseResult parse_response_head(std::string_view input, const ParseLimits& limits, ResponseHead& head,
                                std::vector<HeaderField>& headers, ParseError& error) {
  RequestHead fields;  // the framing and persistence fields both kinds of head share
  return HeadParser(input, limits, fields, headers, error, &head).run_response();
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

std::optional<std::string_view> find_header(const std::vector<HeaderField>& headers, std::string_view name) noexcept {
  for (const HeaderField& field : headers)
    if (iequals(field.name, name)) return field.value;
  return std::nullopt;
}

// ---- chunked body ------------------------------------------------------------------------

// chunk      = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
// chunk-ext  = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )
// last-chunk = 1*("0") [ chunk-ext ] CRLF, then trailer-section CRLF
enum class ChunkedDecoder::State : unsigned char {
  size_start,       // before the first hex digit
  size,             // in the hex digits
  ext_bws,          // whitespace after the size or an ext-val: only ";" may follow
  ext_before_name,  // after ";"
  ext_name,
  ext_after_name,    // whitespace after a name: "=" or ";" may follow
  ext_before_value,  // after "="
  ext_token_value,
  ext_quoted_value,
  ext_quoted_pair,  // after a backslash in a quoted-string
  ext_after_quoted,
  size_lf,  // after the CR that ends the size line
  data,
  data_cr,
  data_lf,
  trailer_start,  // start of a trailer line, or of the final CRLF
  trailer_name,
  trailer_value,
  trailer_lf,
  final_lf,
  done,
  error,
};

namespace {
int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
bool is_quoted_pair_char(char c) noexcept { return c == '\t' || has_class(c, kFieldChar); }
constexpr std::size_t kMaxChunkSizeDigits = 16;  // any more cannot fit in 64 bits
}  // namespace

ChunkedDecoder::Result ChunkedDecoder::fail(ParseError& error, int status, const char* reason) noexcept {
  state_ = State::error;
  sticky_error_ = ParseError{status, reason};
  error = sticky_error_;
  return Result::error;
}

void ChunkedDecoder::reset() noexcept {
  state_ = State::size_start;
  chunk_remaining_ = 0;
  body_size_ = 0;
  line_length_ = 0;
  size_digits_ = 0;
  trailer_fields_ = 0;
  sticky_error_ = ParseError{};
}

ChunkedDecoder::Result ChunkedDecoder::decode(std::string_view input, std::size_t& consumed, std::string& out,
                                              ParseError& error) {
  consumed = 0;
  if (state_ == State::done) return Result::done;
  if (state_ == State::error) {
    error = sticky_error_;
    return Result::error;
  }
  const char* const begin = input.data();
  const char* const end = begin + input.size();
  const char* p = begin;
  while (p < end) {
    if (state_ == State::data) {
      auto take =
          static_cast<std::size_t>(std::min<std::uint64_t>(chunk_remaining_, static_cast<std::uint64_t>(end - p)));
      out.append(p, take);
      p += take;
      chunk_remaining_ -= take;
      body_size_ += take;
      if (chunk_remaining_ == 0) state_ = State::data_cr;
      continue;
    }
    const char c = *p++;
    if (!step(c, error)) {
      consumed = static_cast<std::size_t>(p - begin);
      return state_ == State::done ? Result::done : Result::error;
    }
  }
  consumed = input.size();
  return Result::need_more;
}

// Feeds one byte of a size line, the CRLF after data, or the trailer section. Returns false
// when the body is done or broken (state_ says which).
bool ChunkedDecoder::step(char c, ParseError& error) noexcept {
  const bool ows = c == ' ' || c == '\t';
  const bool in_size_line = state_ <= State::ext_after_quoted;
  if (in_size_line && c != '\r' && ++line_length_ > kMaxChunkSizeLine) {
    fail(error, 400, "chunk-size line too long");
    return false;
  }
  const bool in_trailer_line = state_ == State::trailer_name || state_ == State::trailer_value;
  if (in_trailer_line && c != '\r' && ++line_length_ > kMaxTrailerLine) {
    fail(error, 431, "trailer field too long");
    return false;
  }
  auto bad = [&](const char* reason) {
    fail(error, 400, reason_for_stray(c, reason));
    return false;
  };

  switch (state_) {
    case State::size_start:
    case State::size: {
      const int digit = hex_value(c);
      if (digit >= 0) {
        if (++size_digits_ > kMaxChunkSizeDigits) return bad("chunk size too large");
        chunk_remaining_ = chunk_remaining_ * 16 + static_cast<std::uint64_t>(digit);
        if (body_size_ > max_body_ || chunk_remaining_ > max_body_ - body_size_) {
          fail(error, 413, "request body too large");
          return false;
        }
        state_ = State::size;
        return true;
      }
      if (state_ == State::size_start) return bad("invalid chunk size");
      if (c == ';')
        state_ = State::ext_before_name;
      else if (ows)
        state_ = State::ext_bws;
      else if (c == '\r')
        state_ = State::size_lf;
      else
        return bad("invalid chunk size");
      return true;
    }
    case State::ext_bws:
      if (c == ';')
        state_ = State::ext_before_name;
      else if (!ows)
        return bad("invalid chunk extension");
      return true;
    case State::ext_before_name:
      if (is_token_char(c))
        state_ = State::ext_name;
      else if (!ows)
        return bad("invalid chunk extension");
      return true;
    case State::ext_name:
      if (is_token_char(c)) return true;
      if (c == '=')
        state_ = State::ext_before_value;
      else if (c == ';')
        state_ = State::ext_before_name;
      else if (ows)
        state_ = State::ext_after_name;
      else if (c == '\r')
        state_ = State::size_lf;
      else
        return bad("invalid chunk extension");
      return true;
    case State::ext_after_name:
      if (c == '=')
        state_ = State::ext_before_value;
      else if (c == ';')
        state_ = State::ext_before_name;
      else if (!ows)
        return bad("invalid chunk extension");
      return true;
    case State::ext_before_value:
      if (c == '"')
        state_ = State::ext_quoted_value;
      else if (is_token_char(c))
        state_ = State::ext_token_value;
      else if (!ows)
        return bad("invalid chunk extension");
      return true;
    case State::ext_token_value:
      if (is_token_char(c)) return true;
      if (c == ';')
        state_ = State::ext_before_name;
      else if (ows)
        state_ = State::ext_bws;
      else if (c == '\r')
        state_ = State::size_lf;
      else
        return bad("invalid chunk extension");
      return true;
    case State::ext_quoted_value:
      if (c == '"')
        state_ = State::ext_after_quoted;
      else if (c == '\\')
        state_ = State::ext_quoted_pair;
      else if (!has_class(c, kQdText))
        return bad("invalid quoted string in chunk extension");
      return true;
    case State::ext_quoted_pair:
      if (!is_quoted_pair_char(c)) return bad("invalid quoted string in chunk extension");
      state_ = State::ext_quoted_value;
      return true;
    case State::ext_after_quoted:
      if (c == ';')
        state_ = State::ext_before_name;
      else if (ows)
        state_ = State::ext_bws;
      else if (c == '\r')
        state_ = State::size_lf;
      else
        return bad("invalid chunk extension");
      return true;
    case State::size_lf:
      if (c != '\n') return bad("bare CR in chunk-size line");
      line_length_ = 0;
      state_ = chunk_remaining_ == 0 ? State::trailer_start : State::data;
      return true;
    case State::data:  // decode() copies data in bulk and never steps through it
      return true;
    case State::data_cr:
      if (c != '\r') return bad("chunk data not followed by CRLF");
      state_ = State::data_lf;
      return true;
    case State::data_lf:
      if (c != '\n') return bad("chunk data not followed by CRLF");
      state_ = State::size_start;
      size_digits_ = 0;
      return true;
    case State::trailer_start:
      if (c == '\r') {
        state_ = State::final_lf;
        return true;
      }
      if (ows) return bad("obsolete line folding in trailer");
      if (!is_token_char(c))
        return bad(c == ':' ? "empty trailer field name" : "invalid character in trailer field name");
      if (trailer_fields_ == kMaxTrailerFields) {
        fail(error, 431, "too many trailer fields");
        return false;
      }
      ++trailer_fields_;
      line_length_ = 1;
      state_ = State::trailer_name;
      return true;
    case State::trailer_name:
      if (c == ':')
        state_ = State::trailer_value;
      else if (!is_token_char(c))
        return bad("invalid character in trailer field name");
      return true;
    case State::trailer_value:
      if (c == '\r')
        state_ = State::trailer_lf;
      else if (!has_class(c, kFieldChar))
        return bad("invalid character in trailer field value");
      return true;
    case State::trailer_lf:
      if (c != '\n') return bad("bare CR in trailer");
      line_length_ = 0;
      state_ = State::trailer_start;
      return true;
    case State::final_lf:
      if (c != '\n') return bad("bare CR at end of chunked body");
      state_ = State::done;
      return false;
    case State::done:
    case State::error:
      return false;
  }
  return false;
}

}  // namespace aio::http::detail
