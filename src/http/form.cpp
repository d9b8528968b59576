// URL decoding, query strings and form bodies; see form.hpp for the contracts.

#include "http/form.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace aio::http::detail {

namespace {

constexpr std::size_t kMaxBoundaryLength = 70;  // RFC 2046 section 5.1.1

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

bool is_ows(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

// RFC 9110 tchar.
bool is_tchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// RFC 2046 bchars (bcharsnospace plus the space).
bool is_bchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

// A byte allowed in a header field value: HT, visible ASCII, space, obs-text.
bool is_field_value_byte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}

std::size_t token_length(std::string_view s, std::size_t pos) {
  std::size_t end = pos;
  while (end < s.size() && is_tchar(s[end])) ++end;
  return end - pos;
}

// Text from the body shown in an error message, in quotes: at most 64 bytes, with control
// and non-ASCII bytes escaped, so a hostile body can neither bloat the message nor break
// the log line it ends up on.
std::string quoted(std::string_view text) {
  constexpr std::size_t kMaxShown = 64;
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string out = "\"";
  for (char c : text.substr(0, kMaxShown)) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u >= 0x7f) {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
  if (text.size() > kMaxShown) out += "...";
  return out;
}

// ---------------------------------------------------------------------------------------
// Header parameters: `type; name=value; name="quoted \" value"` (RFC 9110 section 5.6.6).

struct Parameter {
  std::string name;  // lower-cased
  std::string value;
};

// Reads a quoted-string starting at s[pos] == '"'; on success pos is just past the
// closing quote and `value` holds the text with its quoted-pairs undone.
bool read_quoted_string(std::string_view s, std::size_t& pos, std::string& value, std::string& error) {
  value.clear();
  for (std::size_t i = pos + 1; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') {
      pos = i + 1;
      return true;
    }
    if (c == '\\') {
      if (++i == s.size()) break;
      c = s[i];
    }
    if (!is_field_value_byte(c)) {
      error = "control character in a quoted string";
      return false;
    }
    value.push_back(c);
  }
  error = "unterminated quoted string";
  return false;
}

// Parses `*( OWS ";" OWS name OWS "=" OWS ( token / quoted-string ) ) OWS`. Empty
// parameters (`;;`, a trailing `;`) are skipped; a repeated name is an error, since the
// two readings would disagree on which one counts.
bool parse_parameters(std::string_view s, std::vector<Parameter>& params, std::string& error) {
  std::size_t pos = 0;
  auto skip_ows = [&] {
    while (pos < s.size() && is_ows(s[pos])) ++pos;
  };
  for (;;) {
    skip_ows();
    if (pos == s.size()) return true;
    if (s[pos] != ';') {
      error = "expected ';' before " + quoted(s.substr(pos));
      return false;
    }
    ++pos;
    skip_ows();
    if (pos == s.size() || s[pos] == ';') continue;

    const std::size_t name_length = token_length(s, pos);
    if (name_length == 0) {
      error = "bad parameter name at " + quoted(s.substr(pos));
      return false;
    }
    Parameter param{lowercase(s.substr(pos, name_length)), {}};
    pos += name_length;
    skip_ows();
    if (pos == s.size() || s[pos] != '=') {
      error = "parameter '" + param.name + "' has no value";
      return false;
    }
    ++pos;
    skip_ows();
    if (pos < s.size() && s[pos] == '"') {
      if (!read_quoted_string(s, pos, param.value, error)) {
        error = "parameter '" + param.name + "': " + error;
        return false;
      }
    } else {
      const std::size_t value_length = token_length(s, pos);
      if (value_length == 0) {
        error = "parameter '" + param.name + "' has a bad or empty value";
        return false;
      }
      param.value.assign(s.substr(pos, value_length));
      pos += value_length;
    }
    const bool repeated =
        std::any_of(params.begin(), params.end(), [&](const Parameter& p) { return p.name == param.name; });
    if (repeated) {
      error = "duplicate parameter '" + param.name + "'";
      return false;
    }
    params.push_back(std::move(param));
  }
}

const Parameter* find_parameter(const std::vector<Parameter>& params, std::string_view name) {
  for (const Parameter& p : params) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

// The `type/subtype` (or disposition type) before the first ';', and the rest from there.
std::pair<std::string_view, std::string_view> split_main_value(std::string_view header_value) {
  const std::size_t semicolon = header_value.find(';');
  if (semicolon == std::string_view::npos) return {trim_ows(header_value), {}};
  return {trim_ows(header_value.substr(0, semicolon)), header_value.substr(semicolon)};
}

bool media_type_is(std::string_view content_type, std::string_view media_type) {
  return iequals(split_main_value(content_type).first, media_type);
}

// ---------------------------------------------------------------------------------------
// RFC 5987 ext-value: `charset'[language]'percent-encoded`, for `filename*=` and `name*=`.

enum class ExtValue { decoded, unknown_charset, malformed };

bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto lead = static_cast<unsigned char>(s[i]);
    std::size_t length;
    std::uint32_t code_point;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2, code_point = lead & 0x1f;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3, code_point = lead & 0x0f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4, code_point = lead & 0x07;
    } else {
      return false;
    }
    if (s.size() - i < length) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto continuation = static_cast<unsigned char>(s[i + k]);
      if ((continuation & 0xc0) != 0x80) return false;
      code_point = (code_point << 6) | (continuation & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates, and code points past U+10FFFF.
    if ((length == 3 && code_point < 0x800) || (length == 4 && code_point < 0x10000) ||
        (code_point >= 0xd800 && code_point <= 0xdfff) || code_point > 0x10ffff) {
      return false;
    }
    i += length;
  }
  return true;
}

std::string latin1_to_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x80) {
      out.push_back(c);
    } else {
      out.push_back(static_cast<char>(0xc0 | (u >> 6)));
      out.push_back(static_cast<char>(0x80 | (u & 0x3f)));
    }
  }
  return out;
}

ExtValue decode_ext_value(std::string_view ext, std::string& decoded) {
  const std::size_t first_quote = ext.find('\'');
  if (first_quote == std::string_view::npos || first_quote == 0) return ExtValue::malformed;
  const std::size_t second_quote = ext.find('\'', first_quote + 1);
  if (second_quote == std::string_view::npos) return ExtValue::malformed;
  const std::string_view charset = ext.substr(0, first_quote);
  std::optional<std::string> bytes = percent_decode(ext.substr(second_quote + 1), false, false);
  if (!bytes) return ExtValue::malformed;
  if (iequals(charset, "utf-8")) {
    if (!is_valid_utf8(*bytes)) return ExtValue::malformed;
    decoded = std::move(*bytes);
    return ExtValue::decoded;
  }
  if (iequals(charset, "iso-8859-1")) {
    decoded = latin1_to_utf8(*bytes);
    return ExtValue::decoded;
  }
  return ExtValue::unknown_charset;
}

// `name` or `filename` from Content-Disposition parameters, preferring a decodable `name*`.
// An ext-value in a charset we cannot convert is skipped, as RFC 6266 section 4.3 lets a
// recipient do (the plain parameter is the fallback senders are told to include).
bool disposition_parameter(const std::vector<Parameter>& params, std::string_view name,
                           std::optional<std::string>& value, std::string& error) {
  const std::string ext_name = std::string(name) + "*";
  if (const Parameter* ext = find_parameter(params, ext_name)) {
    std::string decoded;
    switch (decode_ext_value(ext->value, decoded)) {
      case ExtValue::decoded:
        value = std::move(decoded);
        return true;
      case ExtValue::malformed:
        error = "malformed " + ext_name + " parameter " + quoted(ext->value);
        return false;
      case ExtValue::unknown_charset:
        break;
    }
  }
  if (const Parameter* plain = find_parameter(params, name)) value = plain->value;
  return true;
}

bool apply_content_disposition(std::string_view header_value, FormField& field, std::string& error) {
  const auto [disposition, rest] = split_main_value(header_value);
  if (!iequals(disposition, "form-data")) {
    error = "Content-Disposition is " + quoted(disposition) + ", not form-data";
    return false;
  }
  std::vector<Parameter> params;
  std::optional<std::string> name;
  if (!parse_parameters(rest, params, error) || !disposition_parameter(params, "name", name, error) ||
      !disposition_parameter(params, "filename", field.filename, error)) {
    error = "Content-Disposition: " + error;
    return false;
  }
  if (!name) {
    error = "Content-Disposition has no name parameter";
    return false;
  }
  field.name = std::move(*name);
  return true;
}

// ---------------------------------------------------------------------------------------
// Multipart framing (RFC 2046 section 5.1.1).

struct Delimiter {
  std::size_t content_end;  // where the preceding part's content ends (its CRLF)
  std::size_t next;         // just past the delimiter line
  bool closing;
};

// Finds delimiter lines: "--boundary" at the body's start or after CRLF, then optional
// transport padding and CRLF, or "--" for the closing one. Holds iterators into its own
// pattern, so it stays where it was built.
class DelimiterFinder {
 public:
  explicit DelimiterFinder(std::string_view boundary)
      : pattern_("\r\n--" + std::string(boundary)), searcher_(pattern_.data(), pattern_.data() + pattern_.size()) {}
  DelimiterFinder(const DelimiterFinder&) = delete;
  DelimiterFinder& operator=(const DelimiterFinder&) = delete;

  std::optional<Delimiter> first(std::string_view body) const {
    const std::string_view dash_boundary = std::string_view(pattern_).substr(2);
    if (body.starts_with(dash_boundary)) {
      if (auto d = complete(body, 0, dash_boundary.size())) return d;
    }
    return find(body, 0);
  }

  std::optional<Delimiter> find(std::string_view body, std::size_t from) const {
    const char* const begin = body.data();
    const char* const end = begin + body.size();
    const char* at = begin + from;
    for (;;) {
      at = std::search(at, end, searcher_);
      if (at == end) return std::nullopt;
      const auto start = static_cast<std::size_t>(at - begin);
      if (auto d = complete(body, start, start + pattern_.size())) return d;
      ++at;  // "--boundaryX": content that merely starts like a delimiter
    }
  }

 private:
  // `after` indexes the byte after "--boundary"; says whether a delimiter line ends there.
  static std::optional<Delimiter> complete(std::string_view body, std::size_t start, std::size_t after) {
    const bool closing = body.substr(after, 2) == "--";
    std::size_t pos = closing ? after + 2 : after;
    while (pos < body.size() && is_ows(body[pos])) ++pos;
    if (body.substr(pos, 2) == "\r\n") return Delimiter{start, pos + 2, closing};
    if (closing && pos == body.size()) return Delimiter{start, pos, true};
    return std::nullopt;
  }

  std::string pattern_;
  std::boyer_moore_horspool_searcher<const char*> searcher_;
};

// Reads one part's header block starting at `pos`; on success `pos` is the first byte of
// the part's content.
bool parse_part_headers(std::string_view body, std::size_t& pos, const MultipartLimits& limits, FormField& field,
                        std::string& error) {
  // The blank line must start within the limit, so look no further than that.
  const std::size_t limit = limits.max_part_header_size;
  const std::string_view block = body.substr(pos, limit < body.size() ? limit + 2 : std::string_view::npos);
  bool seen_disposition = false;
  bool seen_content_type = false;
  std::size_t line_start = 0;
  for (;;) {
    const std::size_t line_end = block.find("\r\n", line_start);
    if (line_end == std::string_view::npos || line_end > limit) {
      if (line_end == std::string_view::npos && pos + block.size() == body.size()) {
        error = "headers are not ended by an empty line";
      } else {
        error = "headers exceed " + std::to_string(limit) + " bytes";
      }
      return false;
    }
    if (line_end == line_start) {
      pos += line_end + 2;
      break;
    }
    const std::string_view line = block.substr(line_start, line_end - line_start);
    line_start = line_end + 2;

    if (is_ows(line.front())) {
      error = "obsolete line folding in headers";
      return false;
    }
    const std::size_t name_length = token_length(line, 0);
    if (name_length == 0 || name_length == line.size() || line[name_length] != ':') {
      error = "bad header line " + quoted(line);
      return false;
    }
    const std::string_view name = line.substr(0, name_length);
    const std::string_view value = trim_ows(line.substr(name_length + 1));
    if (!std::all_of(value.begin(), value.end(), is_field_value_byte)) {
      error = "control character in header " + std::string(name);
      return false;
    }

    if (iequals(name, "Content-Disposition")) {
      if (seen_disposition) {
        error = "duplicate Content-Disposition";
        return false;
      }
      seen_disposition = true;
      if (!apply_content_disposition(value, field, error)) return false;
    } else if (iequals(name, "Content-Type")) {
      if (seen_content_type) {
        error = "duplicate Content-Type";
        return false;
      }
      seen_content_type = true;
      field.content_type.assign(value);
    } else if (iequals(name, "Content-Transfer-Encoding")) {
      // RFC 7578 section 4.7 deprecates it; no client in use sends anything but these.
      if (!iequals(value, "binary") && !iequals(value, "8bit") && !iequals(value, "7bit")) {
        error = "unsupported Content-Transfer-Encoding " + quoted(value);
        return false;
      }
    } else if (iequals(name, "Content-Encoding")) {
      if (!iequals(value, "identity")) {
        error = "unsupported Content-Encoding " + quoted(value);
        return false;
      }
    }
  }
  if (!seen_disposition) {
    error = "no Content-Disposition header";
    return false;
  }
  return true;
}

bool parse_form_pairs(std::string_view text, FormData& out) {
  FormData parsed;
  while (!text.empty()) {
    const std::size_t amp = text.find('&');
    const std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t equals = pair.find('=');
    std::optional<std::string> key = percent_decode(pair.substr(0, equals), true, true);
    std::optional<std::string> value =
        equals == std::string_view::npos ? std::string() : percent_decode(pair.substr(equals + 1), true, true);
    if (!key || !value) return false;
    parsed.add(std::move(*key), std::move(*value));
  }
  for (const FormField& field : parsed) out.add(field);
  return true;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space, bool allow_nul) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int high = hex_value(s[i + 1]);
      const int low = hex_value(s[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      c = static_cast<char>(high * 16 + low);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    if (c == '\0' && !allow_nul) return std::nullopt;
    out.push_back(c);
  }
  return out;
}

std::optional<std::string> decode_path(std::string_view raw_path) { return percent_decode(raw_path, false, false); }

bool parse_query(std::string_view query, FormData& out) { return parse_form_pairs(query, out); }

bool parse_urlencoded(std::string_view body, FormData& out) { return parse_form_pairs(body, out); }

bool is_urlencoded(std::string_view content_type) {
  return media_type_is(content_type, "application/x-www-form-urlencoded");
}

bool is_multipart(std::string_view content_type) { return media_type_is(content_type, "multipart/form-data"); }

std::optional<std::string> multipart_boundary(std::string_view content_type) {
  const auto [media_type, rest] = split_main_value(content_type);
  if (!iequals(media_type, "multipart/form-data")) return std::nullopt;
  std::vector<Parameter> params;
  std::string error;
  if (!parse_parameters(rest, params, error)) return std::nullopt;
  const Parameter* boundary = find_parameter(params, "boundary");
  if (!boundary) return std::nullopt;
  const std::string& b = boundary->value;
  if (b.empty() || b.size() > kMaxBoundaryLength || b.back() == ' ' || !std::all_of(b.begin(), b.end(), is_bchar)) {
    return std::nullopt;
  }
  return b;
}

bool parse_multipart(std::string_view body, std::string_view boundary, FormData& out, std::string& error,
                     const MultipartLimits& limits) {
  if (boundary.empty() || boundary.size() > kMaxBoundaryLength) {
    error = "multipart: boundary must be 1 to 70 characters";
    return false;
  }
  const DelimiterFinder finder(boundary);
  std::optional<Delimiter> delimiter = finder.first(body);
  if (!delimiter) {
    error = "multipart: no boundary delimiter \"--" + std::string(boundary) + "\" in the body";
    return false;
  }
  FormData parsed;
  std::size_t part_number = 0;
  while (!delimiter->closing) {
    if (++part_number > limits.max_parts) {
      error = "multipart: more than " + std::to_string(limits.max_parts) + " parts";
      return false;
    }
    const std::string context = "multipart part " + std::to_string(part_number) + ": ";
    std::size_t content_start = delimiter->next;
    FormField field;
    if (!parse_part_headers(body, content_start, limits, field, error)) {
      error = context + error;
      return false;
    }
    delimiter = finder.find(body, content_start);
    if (!delimiter) {
      error = context + "no closing delimiter \"--" + std::string(boundary) + "--\"";
      return false;
    }
    field.value.assign(body.substr(content_start, delimiter->content_end - content_start));
    parsed.add(std::move(field));
  }
  for (const FormField& field : parsed) out.add(field);
  return true;
}

}  // namespace aio::http::detail
