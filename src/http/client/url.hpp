// URLs as the HTTP client needs them: parsed into origin and request-target, resolved
// against a redirect's Location, extended with query parameters.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aio::http::detail {

/// An absolute http or https URL, split for a request. The fragment is dropped (it never
/// goes on the wire).
struct Url {
  std::string scheme;  // "http" or "https", lower-case
  std::string host;    // lower-case; an IPv6 literal without its brackets
  int port = 80;
  std::string target;  // origin-form request-target: path and "?query"; at least "/"

  bool is_https() const noexcept { return scheme == "https"; }
  /// host[:port] as the Host header and the URL write it (brackets around IPv6; the port
  /// only when it is not the scheme's default).
  std::string authority() const;
  /// scheme://authority: what decides whether a redirect crosses origins.
  std::string origin() const;
  /// The pool's key: one pool per scheme, host and port.
  std::string pool_key() const;
  std::string to_string() const { return origin().append(target); }
};

/// Parses an absolute http(s) URL. InvalidURL (saying what is wrong) for another scheme, a
/// missing host, a bad port, user info, or spaces and control characters anywhere.
Url parse_url(std::string_view text);

/// Resolves a redirect's Location (absolute, scheme-relative "//host/x", absolute-path or
/// relative path) against the URL it came from (RFC 3986 5.2, without dot-segment removal
/// beyond what servers send). InvalidURL when the result is not a usable URL.
Url resolve_reference(const Url& base, std::string_view reference);

/// Percent-encodes a query component as application/x-www-form-urlencoded does (space ->
/// '+', unreserved characters kept).
void append_form_encoded(std::string& out, std::string_view text);

/// name=value pairs joined by '&', form-encoded: a query string or a form body.
std::string form_urlencode(const std::vector<std::pair<std::string, std::string>>& fields);

/// The target with the parameters appended (after '?' or '&').
std::string add_query(std::string target, const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace aio::http::detail
