// aio::http::WebSocket (the API both ends share) and WebSocketResponse (the server end).
#include "aio/http/websocket.hpp"

#include <utility>

#include "aio/errors.hpp"
#include "aio/http/errors.hpp"
#include "aio/http/request.hpp"
#include "http/connection.hpp"
#include "http/parser.hpp"
#include "http/websocket/handshake.hpp"
#include "http/websocket/protocol.hpp"

namespace aio::http {

using detail::ws::Opcode;

WebSocket::WebSocket() = default;
WebSocket::WebSocket(WebSocket&&) noexcept = default;
WebSocket& WebSocket::operator=(WebSocket&&) noexcept = default;
WebSocket::~WebSocket() = default;

detail::ws::Protocol& WebSocket::protocol_engine(const char* what) const {
  if (!engine_)
    throw UsageError(
        std::string(what) +
        ": the WebSocket is not connected (a server's needs prepare(request); a moved-from one has nothing)");
  return *engine_;
}

// The hot calls hand out the engine's coroutine itself: no second frame per message.
Coro<WSMessage> WebSocket::receive() { return protocol_engine("WebSocket.receive").receive(); }

Coro<void> WebSocket::send_str(std::string_view text) {
  return protocol_engine("WebSocket.send_str").send_message(Opcode::text, text);
}

Coro<void> WebSocket::send_bytes(std::string_view bytes) {
  return protocol_engine("WebSocket.send_bytes").send_message(Opcode::binary, bytes);
}

Coro<void> WebSocket::send_json(const nlohmann::json& value) {
  const std::string text = value.dump();
  co_await protocol_engine("WebSocket.send_json").send_message(Opcode::text, text);
}

Coro<void> WebSocket::ping(std::string_view payload) {
  co_await protocol_engine("WebSocket.ping").send_control(Opcode::ping, payload);
}

Coro<void> WebSocket::pong(std::string_view payload) {
  co_await protocol_engine("WebSocket.pong").send_control(Opcode::pong, payload);
}

Coro<bool> WebSocket::close(int code, std::string_view reason) {
  if (!engine_) co_return false;
  co_return co_await engine_->close(code, reason);
}

bool WebSocket::closed() const noexcept { return !engine_ || engine_->closed(); }
std::optional<int> WebSocket::close_code() const noexcept { return engine_ ? engine_->close_code() : std::nullopt; }
const std::string& WebSocket::protocol() const noexcept {
  static const std::string kNone;
  return engine_ ? engine_->protocol() : kNone;
}
bool WebSocket::compressed() const noexcept { return engine_ && engine_->compressed(); }

// --- the server end -----------------------------------------------------------------------

namespace {

// Every value of a header that may be sent in several lines, joined with ", ".
std::string joined_header(const Request& request, std::string_view name) {
  std::string out;
  for (const HeaderField& h : request.headers()) {
    if (!detail::iequals(h.name, name)) continue;
    if (!out.empty()) out.append(", ");
    out.append(h.value);
  }
  return out;
}

// Why `request` is not a WebSocket upgrade prepare() accepts ("" when it is one), and the
// status to answer.
std::pair<int, const char*> upgrade_problem(const Request& request) {
  if (request.method() != "GET") return {405, "a WebSocket upgrade must be a GET request"};
  if (request.version().minor < 1) return {400, "a WebSocket upgrade needs HTTP/1.1"};
  if (!detail::ws::has_token(joined_header(request, "Upgrade"), "websocket"))
    return {400, "not a WebSocket upgrade: no 'Upgrade: websocket' header"};
  if (!detail::ws::has_token(joined_header(request, "Connection"), "upgrade"))
    return {400, "not a WebSocket upgrade: no 'Connection: Upgrade' header"};
  const auto version = request.header("Sec-WebSocket-Version");
  if (!version || *version != "13") return {400, "unsupported WebSocket version: Sec-WebSocket-Version must be 13"};
  const auto key = request.header("Sec-WebSocket-Key");
  if (!key || !detail::ws::is_valid_client_key(*key))
    return {400, "missing or malformed Sec-WebSocket-Key (16 bytes in base64)"};
  if (request.has_body()) return {400, "a WebSocket upgrade request must not have a body"};
  return {0, ""};
}

}  // namespace

WebSocketResponse::WebSocketResponse(WebSocketOptions options) : StreamResponse(101), options_(options) {
  for (std::string_view p : options.protocols) protocols_.emplace_back(p);
  options_.protocols = {};
}

bool WebSocketResponse::can_prepare(const Request& request) noexcept {
  try {
    return upgrade_problem(request).first == 0;
  } catch (...) {
    return false;
  }
}

Coro<void> WebSocketResponse::prepare(Request& request) {
  if (engine_) co_return;
  if (const auto [status, why] = upgrade_problem(request); status != 0) {
    HttpError error(status, std::string(status == 405 ? "405: Method Not Allowed: " : "400: Bad Request: ") + why);
    if (status == 405) error.with_header("Allow", "GET");
    if (status == 400) error.with_header("Sec-WebSocket-Version", "13");
    throw error;
  }
  headers_.emplace_back("Upgrade", "websocket");
  headers_.emplace_back("Connection", "Upgrade");
  headers_.emplace_back("Sec-WebSocket-Accept", detail::ws::accept_key(*request.header("Sec-WebSocket-Key")));
  std::string chosen;
  if (!protocols_.empty()) {
    const std::string offered = joined_header(request, "Sec-WebSocket-Protocol");
    for (const std::string& p : protocols_) {
      if (detail::ws::has_token(offered, p)) {
        chosen = p;
        break;
      }
    }
    if (!chosen.empty()) headers_.emplace_back("Sec-WebSocket-Protocol", chosen);
  }
  std::optional<detail::ws::DeflateParams> deflate;
  if (options_.compress) {
    std::string answer;
    deflate = detail::ws::negotiate_deflate(
        joined_header(request, "Sec-WebSocket-Extensions"),
        detail::ws::DeflateConfig{options_.server_no_context_takeover, options_.client_no_context_takeover}, answer);
    if (deflate) headers_.emplace_back("Sec-WebSocket-Extensions", std::move(answer));
  }
  aio::detail::StreamCore* core = co_await request.conn_->upgrade_to_websocket(*this, request);
  engine_ = std::make_unique<detail::ws::Protocol>(detail::ws::Role::server, core, detail::ws::settings_from(options_),
                                                   deflate, std::move(chosen));
  engine_->attach_connection(request.conn_);
  request.conn_->attach_websocket(engine_.get());
  if (request.conn_->shutting_down()) engine_->going_away();  // the server closed while we upgraded
}

}  // namespace aio::http
