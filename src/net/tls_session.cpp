#include "net/tls_session.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <arpa/inet.h>

#include <cerrno>

#include "aio/errors.hpp"
#include "net/openssl_errors.hpp"
#include "net/stream_core.hpp"

namespace aio::detail {

namespace {
bool is_ip_address(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}
}  // namespace

TlsSession::TlsSession(StreamCore& core, const SslContext& ctx, const std::string& server_hostname)
    : core_(core), ctx_(ctx), peer_name_(core.peername().to_string()) {
  ssl_ = SSL_new(static_cast<SSL_CTX*>(ctx.native_handle()));
  rbio_ = BIO_new(BIO_s_mem());
  wbio_ = BIO_new(BIO_s_mem());
  if (!ssl_ || !rbio_ || !wbio_) {
    if (rbio_) BIO_free(rbio_);
    if (wbio_) BIO_free(wbio_);
    if (ssl_) SSL_free(ssl_);
    throw SslError("TLS: could not create a session: " + openssl_errors());
  }
  BIO_set_mem_eof_return(rbio_, -1);  // an empty input means "want more", not EOF
  SSL_set_bio(ssl_, rbio_, wbio_);    // ssl_ owns both from here on
  if (ctx.is_server()) {
    SSL_set_accept_state(ssl_);
    return;
  }
  SSL_set_connect_state(ssl_);
  if (!server_hostname.empty()) {
    bool ip = is_ip_address(server_hostname);
    if (!ip) SSL_set_tlsext_host_name(ssl_, server_hostname.c_str());  // SNI takes names only
    if (ctx.verifies()) {
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
      int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, server_hostname.c_str())
                  : (X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS),
                     X509_VERIFY_PARAM_set1_host(param, server_hostname.c_str(), 0));
      if (ok != 1) {
        SSL_free(ssl_);
        throw SslError("TLS: cannot check the certificate against '" + server_hostname + "': " + openssl_errors());
      }
    }
  } else if (ctx.verifies()) {
    SSL_free(ssl_);
    throw SslError("TLS: a verifying client context needs the server's host name (server_hostname)");
  }
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

void TlsSession::receive(std::string_view bytes) {
  if (BIO_write(rbio_, bytes.data(), static_cast<int>(bytes.size())) != static_cast<int>(bytes.size()))
    throw std::bad_alloc();
}

std::exception_ptr TlsSession::error(const char* doing, int ret) const {
  int code = SSL_get_error(ssl_, ret);
  std::string why;
  long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK) {
    why = std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
  } else {
    why = openssl_errors();
    if (why.empty())
      why = code == SSL_ERROR_SYSCALL ? "unexpected end of the connection" : "error " + std::to_string(code);
  }
  return std::make_exception_ptr(SslError(std::string("TLS ") + doing + " with " + peer_name_ + " failed: " + why));
}

bool TlsSession::handshake_step() {
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  flush();
  if (r == 1) {
    handshake_done_ = true;
    after_receive();  // application data may have come with the last handshake flight
    return true;
  }
  int code = SSL_get_error(ssl_, r);
  if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) return false;
  std::rethrow_exception(error("handshake", r));
}

void TlsSession::after_receive() noexcept {
  if (!handshake_done_) return;
  ByteBuffer& in = core_.in_;
  for (;;) {
    ERR_clear_error();
    char* dst;
    try {
      dst = in.prepare(16 * 1024);
    } catch (...) {
      core_.fail(ENOMEM);
      return;
    }
    int n = SSL_read(ssl_, dst, static_cast<int>(in.writable()));
    if (n > 0) {
      in.commit(static_cast<std::size_t>(n));
      continue;
    }
    int code = SSL_get_error(ssl_, n);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) break;
    if (code == SSL_ERROR_ZERO_RETURN) {
      peer_closed_ = true;
      break;
    }
    flush();
    core_.fail(EPROTO, error("read", n));
    return;
  }
  flush();  // TLS 1.3 may answer (key updates); tickets go out too
}

void TlsSession::on_transport_eof() noexcept {
  if (!handshake_done_)
    core_.fail(ECONNRESET, std::make_exception_ptr(SslError("TLS handshake with " + peer_name_ +
                                                            " failed: the peer closed the connection")));
  // After the handshake, EOF without close_notify ends the stream like a normal EOF (as
  // asyncio's streams do); the application protocol must detect truncation if it cares.
}

void TlsSession::write(std::string_view plain) {
  while (!plain.empty()) {
    ERR_clear_error();
    int chunk = static_cast<int>(std::min<std::size_t>(plain.size(), 1 << 30));
    int n = SSL_write(ssl_, plain.data(), chunk);
    if (n <= 0) {
      core_.fail(EPROTO, error("write", n));
      return;
    }
    plain.remove_prefix(static_cast<std::size_t>(n));
  }
  flush();
}

void TlsSession::begin_shutdown() noexcept {
  if (shutdown_sent_ || !handshake_done_) return;
  shutdown_sent_ = true;
  ERR_clear_error();
  SSL_shutdown(ssl_);  // queues close_notify; we do not wait for the peer's
  flush();
}

void TlsSession::flush() noexcept {
  char* data = nullptr;
  long n = BIO_get_mem_data(wbio_, &data);
  if (n <= 0) return;
  core_.send_raw(std::string_view(data, static_cast<std::size_t>(n)));
  (void)BIO_reset(wbio_);
}

}  // namespace aio::detail
