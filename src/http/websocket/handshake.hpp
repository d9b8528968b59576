// The opening handshake (RFC 6455 section 4): the key and its accept value, and header
// token lists, shared by the server's checks and the client's.
#pragma once

#include <string>
#include <string_view>

namespace aio::http::detail::ws {

/// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + the RFC's GUID)).
std::string accept_key(std::string_view key);
/// A fresh Sec-WebSocket-Key: 16 random bytes, base64-encoded.
std::string new_client_key();
/// Whether a Sec-WebSocket-Key is 16 bytes in base64 (22 characters and "==").
bool is_valid_client_key(std::string_view key) noexcept;
/// Whether a comma-separated header value holds `token` (any case).
bool has_token(std::string_view list, std::string_view token) noexcept;
/// Calls fn(item) for each item of a comma-separated header value, trimmed, empties skipped.
template <class F>
void for_each_token(std::string_view list, F&& fn) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty()) fn(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

}  // namespace aio::http::detail::ws
