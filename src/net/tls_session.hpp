// TLS for a stream, on OpenSSL memory BIOs: the socket side stays the stream's own
// (received bytes are fed in, ciphertext comes out to be sent), so TLS runs the same over
// any backend — epoll today, io_uring's completions tomorrow.
#pragma once

#include <exception>
#include <string>
#include <string_view>

#include "aio/ssl.hpp"

typedef struct ssl_st SSL;
typedef struct bio_st BIO;

namespace aio::detail {

class StreamCore;

class TlsSession {
 public:
  /// server_hostname: the name to check the certificate against and send as SNI (client).
  /// Throws SslError if OpenSSL cannot set the session up.
  TlsSession(StreamCore& core, const SslContext& ctx, const std::string& server_hostname);
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;
  ~TlsSession();

  /// Ciphertext from the socket.
  void receive(std::string_view bytes);
  /// One handshake step with what was received so far: true when the handshake is done.
  /// Throws SslError (naming the reason: "certificate verify failed: ...") on failure.
  bool handshake_step();
  bool handshake_done() const noexcept { return handshake_done_; }
  /// Decrypts what was received into the stream's buffer. A failure fails the stream.
  void after_receive() noexcept;
  /// The peer sent close_notify: no more data will come.
  bool peer_closed() const noexcept { return peer_closed_; }
  /// The socket reached EOF (without close_notify, or mid-handshake).
  void on_transport_eof() noexcept;
  /// Encrypts and sends plaintext.
  void write(std::string_view plain);
  /// Queues close_notify (called by close()).
  void begin_shutdown() noexcept;

 private:
  void flush() noexcept;
  std::exception_ptr error(const char* doing, int ret) const;

  StreamCore& core_;
  SslContext ctx_;  // keeps the SSL_CTX alive
  SSL* ssl_ = nullptr;
  BIO* rbio_ = nullptr;  // network -> SSL (owned by ssl_)
  BIO* wbio_ = nullptr;  // SSL -> network (owned by ssl_)
  bool handshake_done_ = false;
  bool peer_closed_ = false;
  bool shutdown_sent_ = false;
  std::string peer_name_;
};

}  // namespace aio::detail
