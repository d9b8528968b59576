// aio::http::CookieJar — the ClientSession's cookies (aiohttp's CookieJar).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace aio::http {

/// Keeps the cookies servers set (RFC 6265: Domain, Path, Secure, Max-Age, Expires) and
/// says which go back to a URL. Unlike aiohttp's default jar, cookies from IP-address hosts
/// are kept (a local server is the common case here); a Domain attribute is honoured only
/// for names, never for IP addresses.
class CookieJar {
 public:
  /// Stores the cookie of one Set-Cookie value received from `url` (ignored when malformed
  /// or when its Domain does not cover the URL's host).
  void update_cookies(std::string_view set_cookie, std::string_view url);
  /// The Cookie header value for a request to `url` ("" when none matches).
  std::string filter_cookies(std::string_view url) const;
  std::size_t size() const noexcept { return cookies_.size(); }
  void clear() noexcept { cookies_.clear(); }

  /// The same, for a URL already split (the session's own calls).
  void update_cookies(std::string_view set_cookie, std::string_view host, std::string_view path);
  std::string filter_cookies(std::string_view host, std::string_view path, bool secure) const;

 private:
  struct Cookie {
    std::string name;
    std::string value;
    std::string domain;  // lower-case
    std::string path;
    bool host_only = true;
    bool secure = false;
    double expires = 0;  // Unix time; 0: a session cookie
  };
  void drop_expired() const;

  mutable std::vector<Cookie> cookies_;
};

}  // namespace aio::http
