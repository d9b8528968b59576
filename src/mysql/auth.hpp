// The authentication plugins' computations (OpenSSL for SHA-1, SHA-256 and RSA).
#pragma once

#include <string>
#include <string_view>

namespace aio::mysql::detail {

/// mysql_native_password: SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))); "" for no password.
std::string native_password_scramble(std::string_view password, std::string_view scramble);
/// caching_sha2_password's fast path: SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + scramble).
std::string caching_sha2_scramble(std::string_view password, std::string_view scramble);
/// caching_sha2_password's full path without TLS: (pw + NUL) XOR scramble, encrypted with
/// the server's RSA public key (PEM) using OAEP padding.
std::string caching_sha2_rsa_encrypt(std::string_view password, std::string_view scramble, std::string_view pem);

}  // namespace aio::mysql::detail
