// aio::SslContext — TLS settings for streams (asyncio's ssl.SSLContext), over OpenSSL.
#pragma once

#include <string>

namespace aio {

/// A TLS configuration shared by the connections that use it: a cheap, copyable handle.
///
///     auto ctx = aio::SslContext::client();                 // verifies peer + host name
///     auto [r, w] = co_await aio::open_connection("example.org", 443, {.ssl = ctx});
///
///     auto sctx = aio::SslContext::server("cert.pem", "key.pem");
///     auto server = co_await aio::start_server(handle, "127.0.0.1", 8443, {.ssl = sctx});
class SslContext {
 public:
  /// A client context that verifies the server's certificate against the system's trust
  /// store and checks the host name (like ssl.create_default_context()).
  static SslContext client();
  /// A server context with this certificate chain and private key (PEM files).
  /// std::system_error-like aio::Error naming the file and OpenSSL's reason on failure.
  static SslContext server(const std::string& cert_file, const std::string& key_file);

  /// Trust these CA certificates (PEM file) instead of / besides the system's.
  SslContext& load_verify_locations(const std::string& ca_file);
  /// Present a client certificate, or change the server's certificate.
  SslContext& load_cert_chain(const std::string& cert_file, const std::string& key_file);
  /// Turns peer verification (and host-name checking) off — for tests only.
  SslContext& set_verify(bool verify);
  bool verifies() const noexcept { return verify_; }
  bool is_server() const noexcept { return server_; }
  /// How long a handshake may take before it fails with aio::TimeoutError (default 60 s,
  /// asyncio's ssl_handshake_timeout).
  SslContext& set_handshake_timeout(double seconds);
  double handshake_timeout() const noexcept { return handshake_timeout_; }

  SslContext(const SslContext& o) noexcept;
  SslContext& operator=(const SslContext& o) noexcept;
  ~SslContext();

  /// The OpenSSL SSL_CTX* (for settings aio does not wrap).
  void* native_handle() const noexcept { return ctx_; }

 private:
  SslContext(void* ctx, bool server) noexcept;
  void* ctx_ = nullptr;  // SSL_CTX*, reference-counted by OpenSSL
  bool server_ = false;
  bool verify_ = true;
  double handshake_timeout_ = 60.0;
};

/// How ConnectOptions and ServerOptions name a context: `{.ssl = ctx}`. Deliberately a
/// plain pointer-sized value rather than a copy: GCC 12 miscompiles aggregate temporaries
/// with destructors inside co_await expressions (it destroys them twice), so aio's option
/// structs hold only trivially copyable members. The function you pass the options to
/// copies the context before it returns, so a temporary (`{.ssl = SslContext::client()}`)
/// is fine.
class SslContextRef {
 public:
  SslContextRef() noexcept = default;
  SslContextRef(const SslContext& ctx) noexcept : ctx_(&ctx) {}  // NOLINT: implicit by design
  explicit operator bool() const noexcept { return ctx_ != nullptr; }
  const SslContext& operator*() const noexcept { return *ctx_; }
  const SslContext* operator->() const noexcept { return ctx_; }

 private:
  const SslContext* ctx_ = nullptr;
};

}  // namespace aio
