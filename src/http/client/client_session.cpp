// ClientSession: a request is one or more attempts (a retry after a stale kept-alive
// connection, redirects), each on a connection from the session's pool.
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "aio/errors.hpp"
#include "aio/http/client.hpp"
#include "aio/loop.hpp"
#include "aio/timeout.hpp"
#include "http/client/connector.hpp"
#include "http/client/response_state.hpp"
#include "http/client/session_state.hpp"
#include "http/client/url.hpp"
#include "http/parser.hpp"
#include "net/stream_core.hpp"

namespace aio::http {

// --- Payload ---------------------------------------------------------------------------------

Payload Payload::text(std::string text, std::string content_type) {
  Payload p(std::move(text));
  p.content_type_ = std::move(content_type);
  return p;
}

Payload Payload::bytes(std::string bytes, std::string content_type) {
  return text(std::move(bytes), std::move(content_type));
}

Payload Payload::form(const Fields& fields) {
  return bytes(detail::form_urlencode(fields), "application/x-www-form-urlencoded");
}

Payload Payload::stream(AsyncGenerator<std::string> chunks, std::string content_type) {
  Payload p;
  p.content_type_ = std::move(content_type);
  p.chunks_ = std::make_shared<AsyncGenerator<std::string>>(std::move(chunks));
  return p;
}

namespace detail {

namespace {

constexpr std::size_t kRedirectDiscardLimit = 64 * 1024;

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

bool is_field_value(std::string_view s) noexcept {
  return std::none_of(s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

bool is_idempotent(std::string_view method) noexcept {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" || method == "DELETE" ||
         method == "TRACE";
}

bool is_redirect(int status) noexcept {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool has_field(const Fields& fields, std::string_view name) noexcept {
  return std::any_of(fields.begin(), fields.end(), [&](const auto& f) { return iequals(f.first, name); });
}

// The session's headers, then the request's; a request header replaces same-named ones.
Fields merge_headers(const Fields& session, const Fields& request) {
  Fields merged;
  for (const auto& field : session)
    if (!has_field(request, field.first)) merged.push_back(field);
  merged.insert(merged.end(), request.begin(), request.end());
  for (const auto& [name, value] : merged) {
    if (!is_token(name)) throw std::invalid_argument(std::string("aio::http: invalid header name '") + name + "'");
    if (!is_field_value(value))
      throw std::invalid_argument(std::string("aio::http: the value of header '") + name + "' contains CR, LF or NUL");
    if (iequals(name, "content-length") || iequals(name, "transfer-encoding"))
      throw std::invalid_argument(std::string("aio::http: '") + name +
                                  "' is set by the client from the body; do not pass it");
  }
  return merged;
}

double deadline_after(double now, const Delay& delay) { return delay.infinite() ? INFINITY : now + delay.seconds(); }

}  // namespace

Coro<ClientResponse> SessionState::request(std::string method, std::string url_text, Payload body,
                                           RequestOptions options) {
  if (closed_ || connector_->closed())
    throw ClientError("the ClientSession is closed; make a new one for more requests");
  if (!is_token(method)) throw std::invalid_argument(std::string("aio::http: invalid request method '") + method + "'");
  const ClientTimeout timeout = options.timeout.value_or(options_.timeout);
  const double total_deadline = deadline_after(get_running_loop().time(), timeout.total);
  Url url = parse_url(url_text);
  url.target = add_query(std::move(url.target), options.params);
  Fields headers = merge_headers(options_.headers, options.headers);
  Coro<ClientResponse> attempts = run(std::move(method), std::move(url), std::move(headers), std::move(body),
                                      options.allow_redirects, timeout, total_deadline);
  if (std::isinf(total_deadline)) co_return co_await std::move(attempts);
  co_return co_await aio::timeout_at(total_deadline, std::move(attempts));
}

Coro<ClientResponse> SessionState::run(std::string method, Url url, Fields headers, Payload body, bool allow_redirects,
                                       ClientTimeout timeout, double total_deadline) {
  int redirects = 0;
  for (;;) {
    std::unique_ptr<ResponseState> response =
        co_await send_with_retry(method, url, headers, body, timeout, total_deadline);
    store_cookies(*response, url);
    const int status = response->status;
    std::optional<std::string_view> location = find_header(response->headers, "location");
    const bool follow = allow_redirects && is_redirect(status) && location && !body.is_stream() &&
                        (method == "GET" || method == "HEAD" || status == 303);
    if (!follow) {
      ClientResponse result(std::move(response));
      if (options_.raise_for_status) result.raise_for_status();
      co_return result;
    }
    if (++redirects > options_.max_redirects) {
      response->release();
      throw TooManyRedirects(status, std::string("more than ") + std::to_string(options_.max_redirects) +
                                         " redirects (the last to '" + std::string(*location) + "' from '" +
                                         url.to_string() +
                                         "'); raise SessionOptions::max_redirects if that is expected");
    }
    Url next = resolve_reference(url, *location);
    try {
      co_await response->discard(kRedirectDiscardLimit);
    } catch (const ClientError&) {
      // The redirect's own body is of no interest; its connection is closed already.
    }
    response.reset();
    if (next.origin() != url.origin()) {
      // Credentials meant for one origin must not reach another.
      std::erase_if(headers,
                    [](const auto& f) { return iequals(f.first, "authorization") || iequals(f.first, "cookie"); });
    }
    if (status == 303 && method != "HEAD") {
      method = "GET";
      body = Payload();
    }
    url = std::move(next);
  }
}

Coro<std::unique_ptr<ResponseState>> SessionState::send_with_retry(const std::string& method, const Url& url,
                                                                   const Fields& headers, const Payload& body,
                                                                   const ClientTimeout& timeout,
                                                                   double total_deadline) {
  const bool may_retry = is_idempotent(method) && !body.is_stream();
  std::unique_ptr<ResponseState> response =
      co_await send(method, url, headers, body, timeout, total_deadline, false, may_retry);
  if (response) co_return response;
  connector_->note_retry();
  // The kept-alive connection had been closed by the server while we sent: once more on a
  // new connection (never a second retry).
  co_return co_await send(method, url, headers, body, timeout, total_deadline, true, false);
}

std::string SessionState::build_head(const std::string& method, const Url& url, const Fields& headers,
                                     const Payload& body) const {
  std::string head;
  head.reserve(256);
  head.append(method).append(" ").append(url.target).append(" HTTP/1.1\r\n");
  auto add = [&](std::string_view name, std::string_view value) {
    head.append(name).append(": ").append(value).append("\r\n");
  };
  if (!has_field(headers, "host")) add("Host", url.authority());
  if (!has_field(headers, "user-agent")) add("User-Agent", "aio-http/0.1");
  if (!has_field(headers, "accept")) add("Accept", "*/*");
  if (options_.auto_decompress && !has_field(headers, "accept-encoding")) add("Accept-Encoding", "gzip, deflate");
  std::string cookies = jar_.filter_cookies(url.host, url.target.substr(0, url.target.find('?')), url.is_https());
  for (const auto& [name, value] : headers) {
    if (iequals(name, "cookie") && !cookies.empty()) {
      add(name, value + "; " + cookies);
      cookies.clear();
    } else {
      add(name, value);
    }
  }
  if (!cookies.empty()) add("Cookie", cookies);
  if (body.has_body()) {
    if (!has_field(headers, "content-type")) add("Content-Type", body.content_type());
    if (body.is_stream())
      add("Transfer-Encoding", "chunked");
    else
      add("Content-Length", std::to_string(body.bytes().size()));
  } else if (method == "POST" || method == "PUT" || method == "PATCH") {
    add("Content-Length", "0");
  }
  head.append("\r\n");
  return head;
}

Coro<void> SessionState::send_stream(ClientConnection& connection, const Payload& body) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (;;) {
    std::optional<std::string> chunk = co_await body.chunks()->next();
    if (!chunk) break;
    if (chunk->empty()) continue;
    std::string size;
    for (std::size_t n = chunk->size(); n != 0; n >>= 4) size.insert(size.begin(), kHex[n & 15]);
    connection.writer.write(size + "\r\n");
    connection.writer.write(*chunk);
    connection.writer.write("\r\n");
    co_await connection.writer.drain();
  }
  connection.writer.write("0\r\n\r\n");
}

void SessionState::store_cookies(const ResponseState& response, const Url& url) {
  const std::string_view path = std::string_view(url.target).substr(0, url.target.find('?'));
  for (const HeaderField& field : response.headers)
    if (iequals(field.name, "set-cookie")) jar_.update_cookies(field.value, url.host, path);
}

Coro<std::unique_ptr<ResponseState>> SessionState::send(const std::string& method, const Url& url,
                                                        const Fields& headers, const Payload& body,
                                                        const ClientTimeout& timeout, double total_deadline, bool fresh,
                                                        bool may_retry) {
  EventLoop& loop = get_running_loop();
  const double connect_deadline = std::min(total_deadline, deadline_after(loop.time(), timeout.connect));
  PooledConnection connection;
  if (std::isinf(connect_deadline)) {
    connection = co_await connector_->acquire(url, timeout.sock_connect, fresh);
  } else {
    connection = co_await aio::timeout_at(connect_deadline, connector_->acquire(url, timeout.sock_connect, fresh));
  }
  const bool reused = connection.reused();
  ClientConnection& c = *connection;

  // Send. A write to a connection the server already closed usually succeeds (the kernel
  // takes it) and the failure shows when reading; either way it counts as "no response".
  c.writer.write(build_head(method, url, headers, body));
  if (body.has_body() && !body.is_stream()) c.writer.write(body.bytes());
  try {
    if (body.is_stream()) co_await send_stream(c, body);
    co_await c.writer.drain();
  } catch (const std::system_error& e) {
    if (reused && may_retry) co_return nullptr;
    throw ClientConnectionError(std::string("cannot send the request to ") + url.authority() + ": " + e.what());
  }

  // Receive the head (skipping 1xx informational responses).
  const ReadDeadlines deadlines{total_deadline, timeout.sock_read};
  auto& input = c.core().input();
  std::vector<HeaderField> fields;
  ResponseHead head;
  ParseError error;
  bool received = false;
  for (;;) {
    if (!input.empty()) {
      received = true;
      const ParseResult result = parse_response_head(input.view(), ParseLimits{}, head, fields, error);
      if (result == ParseResult::error)
        throw MalformedResponseError(std::string("malformed response from ") + url.authority() + ": " + error.reason);
      if (result == ParseResult::complete) {
        if (head.status >= 200 || head.status == 101) break;
        input.consume(head.head_size);  // 100 Continue, 103 Early Hints
        continue;
      }
    }
    bool more = false;
    try {
      more = co_await fill_within(c, deadlines);
    } catch (const ClientConnectionError&) {
      if (reused && !received && may_retry) co_return nullptr;
      throw;
    }
    if (more) continue;
    if (reused && !received && may_retry) co_return nullptr;
    throw ServerDisconnectedError(
        received ? "Server disconnected in the middle of the response head from " + url.authority()
                 : std::string("Server disconnected without sending a response (") + url.authority() + ")");
  }

  // The head's bytes move into the response; the views are moved along with them.
  auto response = std::make_unique<ResponseState>();
  const std::string_view raw = input.view().substr(0, head.head_size);
  response->head_storage.assign(raw);
  auto rebase = [&](std::string_view view) {
    return std::string_view(response->head_storage.data() + (view.data() - raw.data()), view.size());
  };
  response->headers.reserve(fields.size());
  for (const HeaderField& field : fields) response->headers.push_back({rebase(field.name), rebase(field.value)});
  response->reason = rebase(head.reason);
  response->status = head.status;
  response->version_minor = head.version_minor;
  response->url = url.to_string();
  input.consume(head.head_size);
  const bool no_body = method == "HEAD" || head.status == 204 || head.status == 304 || head.status == 101;
  response->start_body(std::move(connection), head, no_body, deadlines, options_.auto_decompress,
                       options_.max_body_size);
  co_return response;
}

}  // namespace detail

// --- ClientSession ---------------------------------------------------------------------------

ClientSession::ClientSession(SessionOptions options)
    : state_(std::make_shared<detail::SessionState>(std::move(options))) {}

ClientSession::~ClientSession() = default;

Coro<ClientResponse> ClientSession::request(std::string method, std::string url, RequestOptions options) {
  return state_->request(std::move(method), std::move(url), Payload(), std::move(options));
}
Coro<ClientResponse> ClientSession::request(std::string method, std::string url, Payload body, RequestOptions options) {
  return state_->request(std::move(method), std::move(url), std::move(body), std::move(options));
}
Coro<ClientResponse> ClientSession::get(std::string url, RequestOptions options) {
  return request("GET", std::move(url), std::move(options));
}
Coro<ClientResponse> ClientSession::head(std::string url, RequestOptions options) {
  return request("HEAD", std::move(url), std::move(options));
}
Coro<ClientResponse> ClientSession::options(std::string url, RequestOptions options) {
  return request("OPTIONS", std::move(url), std::move(options));
}
Coro<ClientResponse> ClientSession::delete_(std::string url, RequestOptions options) {
  return request("DELETE", std::move(url), std::move(options));
}
Coro<ClientResponse> ClientSession::post(std::string url, Payload body, RequestOptions options) {
  return request("POST", std::move(url), std::move(body), std::move(options));
}
Coro<ClientResponse> ClientSession::post(std::string url, RequestOptions options) {
  return request("POST", std::move(url), std::move(options));
}
Coro<ClientResponse> ClientSession::put(std::string url, Payload body, RequestOptions options) {
  return request("PUT", std::move(url), std::move(body), std::move(options));
}
Coro<ClientResponse> ClientSession::put(std::string url, RequestOptions options) {
  return request("PUT", std::move(url), std::move(options));
}
Coro<ClientResponse> ClientSession::patch(std::string url, Payload body, RequestOptions options) {
  return request("PATCH", std::move(url), std::move(body), std::move(options));
}
Coro<ClientResponse> ClientSession::patch(std::string url, RequestOptions options) {
  return request("PATCH", std::move(url), std::move(options));
}

Coro<ClientWebSocket> ClientSession::ws_connect(std::string url, WebSocketClientOptions options) {
  if (state_->closed_) throw ClientError("the ClientSession is closed; make a new one for more connections");
  // The session's headers, its cookies for the URL, then the caller's own.
  std::string http_url = url;
  if (http_url.starts_with("ws://")) http_url.replace(0, 2, "http");
  if (http_url.starts_with("wss://")) http_url.replace(0, 3, "https");
  std::string cookies;
  try {
    cookies = state_->jar_.filter_cookies(http_url);
  } catch (const std::invalid_argument&) {
    // (a malformed URL: websocket_connect says what is wrong with it)
  }
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  for (const auto& [name, value] : state_->options_.headers) headers.emplace_back(name, value);
  if (!cookies.empty()) headers.emplace_back("Cookie", cookies);
  for (const auto& h : options.headers) headers.emplace_back(h);
  options.headers = headers;
  if (!options.ssl) options.ssl = state_->options_.ssl;
  try {
    ClientWebSocket ws = co_await websocket_connect(std::move(url), options);
    co_return ws;
  } catch (const std::invalid_argument& e) {
    throw InvalidURL(e.what());
  } catch (const std::system_error& e) {
    throw ClientConnectionError(e.what());
  }
}

Coro<void> ClientSession::close() {
  state_->closed_ = true;
  state_->connector_->close();
  co_return;
}

bool ClientSession::closed() const noexcept { return state_->closed_; }
PoolStats ClientSession::pool() const noexcept { return state_->connector_->stats(); }
CookieJar& ClientSession::cookie_jar() noexcept { return state_->jar_; }

}  // namespace aio::http
