#include "aio/http/cookie_jar.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>

#include "http/client/url.hpp"
#include "http/parser.hpp"

namespace aio::http {

namespace {

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
  return out;
}

bool is_ip_address(std::string_view host) {
  std::string h(host);
  unsigned char buffer[16];
  return inet_pton(AF_INET, h.c_str(), buffer) == 1 || inet_pton(AF_INET6, h.c_str(), buffer) == 1;
}

// RFC 6265 5.1.3.
bool domain_matches(std::string_view host, std::string_view domain) noexcept {
  if (host == domain) return true;
  return host.size() > domain.size() && host.substr(host.size() - domain.size()) == domain &&
         host[host.size() - domain.size() - 1] == '.';
}

// RFC 6265 5.1.4.
bool path_matches(std::string_view request_path, std::string_view cookie_path) noexcept {
  if (request_path.substr(0, cookie_path.size()) != cookie_path) return false;
  return request_path.size() == cookie_path.size() || cookie_path.back() == '/' ||
         request_path[cookie_path.size()] == '/';
}

// RFC 6265 5.1.4: the directory of the request path.
std::string default_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return "/";
  const std::size_t last = path.rfind('/');
  return last == 0 ? "/" : std::string(path.substr(0, last));
}

// "Sun, 06 Nov 1994 08:49:37 GMT" (the format servers use; others make a session cookie).
double parse_http_date(std::string_view text) {
  std::tm tm{};
  std::string s(text);
  if (!strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S", &tm) && !strptime(s.c_str(), "%a, %d-%b-%Y %H:%M:%S", &tm))
    return 0;
  return static_cast<double>(timegm(&tm));
}

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

}  // namespace

void CookieJar::update_cookies(std::string_view set_cookie, std::string_view url) {
  detail::Url parsed = detail::parse_url(url);
  update_cookies(set_cookie, parsed.host, path_of(parsed.target));
}

std::string CookieJar::filter_cookies(std::string_view url) const {
  detail::Url parsed = detail::parse_url(url);
  return filter_cookies(parsed.host, path_of(parsed.target), parsed.is_https());
}

void CookieJar::update_cookies(std::string_view set_cookie, std::string_view host, std::string_view path) {
  const std::size_t semicolon = set_cookie.find(';');
  std::string_view pair = trim(set_cookie.substr(0, semicolon));
  const std::size_t equals = pair.find('=');
  if (equals == std::string_view::npos || equals == 0) return;
  Cookie cookie;
  cookie.name = std::string(trim(pair.substr(0, equals)));
  cookie.value = std::string(trim(pair.substr(equals + 1)));
  if (cookie.value.size() >= 2 && cookie.value.front() == '"' && cookie.value.back() == '"')
    cookie.value = cookie.value.substr(1, cookie.value.size() - 2);
  cookie.domain = lowered(host);
  cookie.path = default_path(path);
  const double now = static_cast<double>(std::time(nullptr));
  bool expired = false;
  bool have_max_age = false;
  std::string_view attributes = semicolon == std::string_view::npos ? std::string_view() : set_cookie.substr(semicolon);
  while (!attributes.empty()) {
    attributes.remove_prefix(1);  // the ';'
    const std::size_t next = attributes.find(';');
    std::string_view attribute = trim(attributes.substr(0, next));
    attributes = next == std::string_view::npos ? std::string_view() : attributes.substr(next);
    const std::size_t eq = attribute.find('=');
    const std::string name = lowered(trim(attribute.substr(0, eq)));
    const std::string_view value = eq == std::string_view::npos ? std::string_view() : trim(attribute.substr(eq + 1));
    if (name == "domain" && !value.empty()) {
      std::string domain = lowered(value);
      if (domain.front() == '.') domain.erase(0, 1);
      if (is_ip_address(host) ? domain != host : !domain_matches(cookie.domain, domain)) return;  // not ours to set
      cookie.domain = domain;
      cookie.host_only = is_ip_address(host);
    } else if (name == "path" && !value.empty() && value.front() == '/') {
      cookie.path = std::string(value);
    } else if (name == "secure") {
      cookie.secure = true;
    } else if (name == "max-age") {
      char* end = nullptr;
      const std::string text(value);
      const long seconds = std::strtol(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0') continue;
      have_max_age = true;
      expired = seconds <= 0;
      cookie.expires = now + static_cast<double>(seconds);
    } else if (name == "expires" && !have_max_age) {
      const double when = parse_http_date(value);
      if (when != 0) {
        cookie.expires = when;
        expired = when <= now;
      }
    }
  }
  std::erase_if(cookies_, [&](const Cookie& c) {
    return c.name == cookie.name && c.domain == cookie.domain && c.path == cookie.path;
  });
  if (!expired) cookies_.push_back(std::move(cookie));
}

void CookieJar::drop_expired() const {
  const double now = static_cast<double>(std::time(nullptr));
  std::erase_if(cookies_, [&](const Cookie& c) { return c.expires != 0 && c.expires <= now; });
}

std::string CookieJar::filter_cookies(std::string_view host, std::string_view path, bool secure) const {
  drop_expired();
  const std::string h = lowered(host);
  std::string out;
  for (const Cookie& c : cookies_) {
    const bool host_ok = c.host_only ? h == c.domain : domain_matches(h, c.domain);
    if (!host_ok || !path_matches(path, c.path) || (c.secure && !secure)) continue;
    if (!out.empty()) out += "; ";
    out += c.name;
    out += '=';
    out += c.value;
  }
  return out;
}

}  // namespace aio::http
