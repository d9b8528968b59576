// See handshake.hpp.
#include "http/websocket/handshake.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cstdint>

#include "http/parser.hpp"
#include "http/websocket/frame.hpp"

namespace aio::http::detail::ws {

std::string accept_key(std::string_view key) {
  static constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string input(key);
  input.append(kGuid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  unsigned char encoded[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  const int n = EVP_EncodeBlock(encoded, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(n));
}

std::string new_client_key() {
  std::uint32_t raw[4];
  for (auto& word : raw) word = random_mask_key();
  unsigned char encoded[25];
  const int n = EVP_EncodeBlock(encoded, reinterpret_cast<const unsigned char*>(raw), sizeof raw);
  return std::string(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(n));
}

bool is_valid_client_key(std::string_view key) noexcept {
  if (key.size() != 24 || key[22] != '=' || key[23] != '=') return false;
  auto base64 = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
  };
  for (std::size_t i = 0; i < 22; ++i)
    if (!base64(key[i])) return false;
  // The last character before "==" carries 2 bits of data: its low 4 bits must be zero.
  static constexpr std::string_view kLast = "AQgw";
  return kLast.find(key[21]) != std::string_view::npos;
}

bool has_token(std::string_view list, std::string_view token) noexcept {
  bool found = false;
  for_each_token(list, [&](std::string_view item) { found = found || iequals(item, token); });
  return found;
}

}  // namespace aio::http::detail::ws
