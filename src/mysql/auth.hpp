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

/// MariaDB's client_ed25519: an Ed25519 signature of the server's 32-byte message, whose
/// secret scalar and nonce prefix are SHA-512 of the password (not of a 32-byte seed, so
/// OpenSSL's Ed25519 cannot make it; libsodium's group operations can). Throws
/// OperationalError when aio::mysql was built without libsodium.
std::string ed25519_signature(std::string_view password, std::string_view message);
/// Whether client_ed25519 is available (built with libsodium).
bool have_ed25519() noexcept;

}  // namespace aio::mysql::detail
