// OpenSSL's error queue as one line of text, for the messages of aio::SslError.
#pragma once

#include <openssl/err.h>

#include <string>

namespace aio::detail {

/// Drains OpenSSL's (thread-local) error queue: "error:0A000086:SSL routines::...; ...".
inline std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

}  // namespace aio::detail
