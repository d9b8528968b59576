// The state behind a ClientSession (shared with what a session hands out): its options, its
// pool, its cookie jar, and how one request runs — attempts, the one retry, redirects.
// Other client features that need the session's connections, TLS settings, headers or
// cookies (a WebSocket handshake) start from here.
#pragma once

#include <memory>
#include <string>

#include "aio/coro.hpp"
#include "aio/http/client.hpp"
#include "http/client/connector.hpp"
#include "http/client/url.hpp"

namespace aio::http::detail {

class ResponseState;

class SessionState {
 public:
  explicit SessionState(SessionOptions options)
      : options_(std::move(options)), connector_(std::make_shared<Connector>(options_)) {}
  ~SessionState() { connector_->close(); }

  Coro<ClientResponse> request(std::string method, std::string url, Payload body, RequestOptions options);

  SessionOptions options_;
  std::shared_ptr<Connector> connector_;
  CookieJar jar_;
  bool closed_ = false;

 private:
  Coro<ClientResponse> run(std::string method, Url url, Fields headers, Payload body, bool allow_redirects,
                           ClientTimeout timeout, double total_deadline);
  Coro<std::unique_ptr<ResponseState>> send_with_retry(const std::string& method, const Url& url, const Fields& headers,
                                                       const Payload& body, const ClientTimeout& timeout,
                                                       double total_deadline);
  /// One attempt. Returns null when a reused connection turned out dead before any byte of
  /// a response arrived and `may_retry` allows another attempt.
  Coro<std::unique_ptr<ResponseState>> send(const std::string& method, const Url& url, const Fields& headers,
                                            const Payload& body, const ClientTimeout& timeout, double total_deadline,
                                            bool fresh, bool may_retry);
  std::string build_head(const std::string& method, const Url& url, const Fields& headers, const Payload& body) const;
  Coro<void> send_stream(ClientConnection& connection, const Payload& body);
  void store_cookies(const ResponseState& response, const Url& url);
};

}  // namespace aio::http::detail
