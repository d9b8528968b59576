#include <openssl/err.h>
#include <openssl/ssl.h>

#include "aio/errors.hpp"
#include "aio/ssl.hpp"
#include "net/openssl_errors.hpp"

namespace aio {

namespace {
std::string openssl_reason() {
  std::string out = detail::openssl_errors();
  return out.empty() ? std::string("unknown OpenSSL error") : out;
}

SSL_CTX* as_ctx(void* p) { return static_cast<SSL_CTX*>(p); }

SSL_CTX* new_ctx(const SSL_METHOD* method) {
  SSL_CTX* ctx = SSL_CTX_new(method);
  if (!ctx) throw SslError("SslContext: SSL_CTX_new failed: " + openssl_reason());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return ctx;
}
}  // namespace

SslContext::SslContext(void* ctx, bool server) noexcept : ctx_(ctx), server_(server) {}

SslContext::SslContext(const SslContext& o) noexcept
    : ctx_(o.ctx_), server_(o.server_), verify_(o.verify_), handshake_timeout_(o.handshake_timeout_) {
  if (ctx_) SSL_CTX_up_ref(as_ctx(ctx_));
}

SslContext& SslContext::operator=(const SslContext& o) noexcept {
  if (this != &o) {
    if (o.ctx_) SSL_CTX_up_ref(as_ctx(o.ctx_));
    if (ctx_) SSL_CTX_free(as_ctx(ctx_));
    ctx_ = o.ctx_;
    server_ = o.server_;
    verify_ = o.verify_;
    handshake_timeout_ = o.handshake_timeout_;
  }
  return *this;
}

SslContext::~SslContext() {
  if (ctx_) SSL_CTX_free(as_ctx(ctx_));
}

SslContext SslContext::client() {
  SSL_CTX* ctx = new_ctx(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    SSL_CTX_free(ctx);
    throw SslError("SslContext::client: cannot load the system's trusted certificates: " + openssl_reason());
  }
  return SslContext(ctx, false);
}

SslContext SslContext::server(const std::string& cert_file, const std::string& key_file) {
  SslContext c(new_ctx(TLS_server_method()), true);
  c.verify_ = false;  // servers do not ask for client certificates unless told to
  c.load_cert_chain(cert_file, key_file);
  return c;
}

SslContext& SslContext::load_verify_locations(const std::string& ca_file) {
  if (SSL_CTX_load_verify_locations(as_ctx(ctx_), ca_file.c_str(), nullptr) != 1)
    throw SslError("SslContext: cannot load CA certificates from '" + ca_file + "': " + openssl_reason());
  return *this;
}

SslContext& SslContext::load_cert_chain(const std::string& cert_file, const std::string& key_file) {
  SSL_CTX* ctx = as_ctx(ctx_);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1)
    throw SslError("SslContext: cannot load the certificate chain '" + cert_file + "': " + openssl_reason());
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    throw SslError("SslContext: cannot load the private key '" + key_file + "': " + openssl_reason());
  if (SSL_CTX_check_private_key(ctx) != 1)
    throw SslError("SslContext: the private key '" + key_file + "' does not match the certificate '" + cert_file +
                   "': " + openssl_reason());
  return *this;
}

SslContext& SslContext::set_verify(bool verify) {
  verify_ = verify;
  if (server_)
    SSL_CTX_set_verify(as_ctx(ctx_), verify ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_NONE,
                       nullptr);
  else
    SSL_CTX_set_verify(as_ctx(ctx_), verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  return *this;
}

SslContext& SslContext::set_handshake_timeout(double seconds) {
  if (!(seconds > 0)) throw std::invalid_argument("SslContext::set_handshake_timeout: the timeout must be > 0");
  handshake_timeout_ = seconds;
  return *this;
}

}  // namespace aio
