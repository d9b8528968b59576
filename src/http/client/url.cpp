#include "http/client/url.hpp"

#include <charconv>

#include "aio/http/client_errors.hpp"

namespace aio::http::detail {

namespace {

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

[[noreturn]] void invalid(std::string_view url, std::string_view why) {
  std::string message = "invalid URL '";
  message.append(url).append("': ").append(why);
  throw InvalidURL(message);
}

int default_port(std::string_view scheme) noexcept { return scheme == "https" ? 443 : 80; }

bool is_unreserved(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

// Keeps the target's visible ASCII as it is (it may be percent-encoded already) and
// percent-encodes bytes a request line cannot carry (non-ASCII).
std::string encode_target(std::string_view url, std::string_view target) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(target.size());
  for (char c : target) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7F) invalid(url, "spaces and control characters must be percent-encoded");
    if (byte >= 0x80) {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string Url::authority() const {
  std::string out;
  const bool ipv6 = host.find(':') != std::string::npos;
  if (ipv6) out += '[';
  out += host;
  if (ipv6) out += ']';
  if (port != default_port(scheme)) {
    out += ':';
    out += std::to_string(port);
  }
  return out;
}

std::string Url::origin() const {
  std::string out = scheme;
  out.append("://").append(authority());
  return out;
}

std::string Url::pool_key() const {
  std::string out = scheme;
  out.append("://").append(host).append(":").append(std::to_string(port));
  return out;
}

Url parse_url(std::string_view text) {
  Url url;
  const std::size_t colon = text.find("://");
  if (colon == std::string_view::npos) invalid(text, "expected an absolute URL such as http://host/path");
  url.scheme = lowered(text.substr(0, colon));
  if (url.scheme != "http" && url.scheme != "https")
    invalid(text, std::string("only http and https URLs are supported, not '") + url.scheme + "'");
  std::string_view rest = text.substr(colon + 3);
  rest = rest.substr(0, rest.find('#'));
  const std::size_t path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  std::string_view target = path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);
  if (authority.find('@') != std::string_view::npos)
    invalid(text, "user info in URLs is not supported; send an Authorization header instead");
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) invalid(text, "unclosed '[' in the host");
    url.host = lowered(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') invalid(text, "junk after the IPv6 address");
      port_text = after.substr(1);
    }
  } else {
    const std::size_t port_colon = authority.rfind(':');
    url.host = lowered(authority.substr(0, port_colon));
    if (port_colon != std::string_view::npos) port_text = authority.substr(port_colon + 1);
  }
  if (url.host.empty()) invalid(text, "no host");
  for (char c : url.host) {
    const bool ok = is_unreserved(c) || c == ':' || c == '%';
    if (!ok) invalid(text, "invalid character in the host");
  }
  url.port = default_port(url.scheme);
  if (!port_text.empty()) {
    int port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 1 || port > 65535)
      invalid(text, "bad port");
    url.port = port;
  }
  url.target = encode_target(text, target);
  if (url.target.empty() || url.target.front() == '?') url.target.insert(url.target.begin(), '/');
  return url;
}

Url resolve_reference(const Url& base, std::string_view reference) {
  const std::size_t scheme_end = reference.find("://");
  const std::size_t first_delimiter = reference.find_first_of("/?#");
  if (scheme_end != std::string_view::npos && scheme_end < first_delimiter) return parse_url(reference);
  if (reference.substr(0, 2) == "//") {
    std::string absolute = base.scheme;
    absolute += ':';
    absolute.append(reference);
    return parse_url(absolute);
  }
  Url url = base;
  reference = reference.substr(0, reference.find('#'));
  std::string_view base_path = std::string_view(base.target).substr(0, base.target.find('?'));
  std::string target;
  if (reference.empty()) {
    target = base.target;
  } else if (reference.front() == '/') {
    target = reference;
  } else if (reference.front() == '?') {
    target.assign(base_path).append(reference);
  } else {  // relative path: replaces the base's last segment
    target.assign(base_path.substr(0, base_path.rfind('/') + 1)).append(reference);
  }
  url.target = encode_target(reference, target);
  return url;
}

void append_form_encoded(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : text) {
    if (is_unreserved(c)) {
      out += c;
    } else if (c == ' ') {
      out += '+';
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
  }
}

std::string form_urlencode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out += '&';
    append_form_encoded(out, name);
    out += '=';
    append_form_encoded(out, value);
  }
  return out;
}

std::string add_query(std::string target, const std::vector<std::pair<std::string, std::string>>& params) {
  if (params.empty()) return target;
  target += target.find('?') == std::string::npos ? '?' : '&';
  target += form_urlencode(params);
  return target;
}

}  // namespace aio::http::detail
