// aio::http::ClientWebSocket and websocket_connect: the client's opening handshake
// (RFC 6455 section 4.1), then the shared protocol engine.
#include <charconv>
#include <stdexcept>
#include <utility>
#include <vector>

#include "aio/http/client_websocket.hpp"
#include "aio/timeout.hpp"
#include "http/parser.hpp"
#include "http/websocket/handshake.hpp"
#include "http/websocket/protocol.hpp"

namespace aio::http {
namespace {

struct WsUrl {
  bool secure = false;
  std::string host;  // without IPv6 brackets
  int port = 80;
  std::string target = "/";  // path and query
  std::string host_header;   // host[:port] as the Host header carries it
};

WsUrl parse_ws_url(std::string_view url) {
  auto bad = [&](const char* why) {
    return std::invalid_argument(std::string("websocket_connect: bad URL '") + std::string(url) + std::string("': ") +
                                 why);
  };
  WsUrl u;
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) throw bad("no scheme (ws:// or wss://)");
  const std::string_view scheme = url.substr(0, scheme_end);
  if (detail::iequals(scheme, "wss") || detail::iequals(scheme, "https"))
    u.secure = true;
  else if (!detail::iequals(scheme, "ws") && !detail::iequals(scheme, "http"))
    throw bad("the scheme must be ws or wss");
  u.port = u.secure ? 443 : 80;
  std::string_view rest = url.substr(scheme_end + 3);
  const std::size_t path_at = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_at);
  if (path_at != std::string_view::npos) {
    std::string_view target = rest.substr(path_at);
    target = target.substr(0, target.find('#'));  // a fragment is not sent (RFC 6455 3)
    u.target = target.empty() || target[0] != '/' ? std::string("/") + std::string(target) : std::string(target);
  }
  if (authority.find('@') != std::string_view::npos)
    throw bad("user info is not supported (send an Authorization header)");
  std::string_view port_text;
  if (!authority.empty() && authority[0] == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) throw bad("unterminated IPv6 address");
    u.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') throw bad("junk after the IPv6 address");
      port_text = authority.substr(close + 2);
    }
  } else {
    const std::size_t colon = authority.find(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (u.host.empty()) throw bad("no host");
  if (!port_text.empty()) {
    int port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 1 || port > 65535)
      throw bad("bad port");
    u.port = port;
  }
  u.host_header = authority;
  return u;
}

struct HandshakeAnswer {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;

  std::string joined(std::string_view name) const {
    std::string out;
    for (const auto& [n, v] : headers) {
      if (!detail::iequals(n, name)) continue;
      if (!out.empty()) out.append(", ");
      out.append(v);
    }
    return out;
  }
  bool has(std::string_view name) const {
    for (const auto& h : headers)
      if (detail::iequals(h.first, name)) return true;
    return false;
  }
};

HandshakeAnswer parse_answer(std::string_view head) {
  HandshakeAnswer a;
  const std::size_t line_end = head.find("\r\n");
  const std::string_view status_line = head.substr(0, line_end);
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || status_line[8] != ' ')
    throw WSServerHandshakeError(0, "WebSocket handshake: the server did not answer with HTTP (got '" +
                                        std::string(status_line.substr(0, 64)) + "')");
  const auto [end, ec] = std::from_chars(status_line.data() + 9, status_line.data() + 12, a.status);
  if (ec != std::errc() || end != status_line.data() + 12)
    throw WSServerHandshakeError(
        0, std::string("WebSocket handshake: malformed status line '") + std::string(status_line) + "'");
  std::string_view rest = head.substr(line_end + 2);
  while (!rest.empty() && rest.substr(0, 2) != "\r\n") {
    const std::size_t eol = rest.find("\r\n");
    const std::string_view line = rest.substr(0, eol);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0 || line[0] == ' ' || line[0] == '\t')
      throw WSServerHandshakeError(a.status, "WebSocket handshake: malformed header line in the server's answer");
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    a.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
    rest = rest.substr(eol + 2);
  }
  return a;
}

struct Opened {
  StreamReader reader;
  StreamWriter writer;
  std::optional<detail::ws::DeflateParams> deflate;
  std::string protocol;
};

Coro<Opened> open_and_handshake(WsUrl url, WebSocketClientOptions options) {
  std::optional<SslContext> default_ssl;
  ConnectOptions connect;
  if (url.secure) {
    if (!options.ssl) default_ssl.emplace(SslContext::client());
    connect.ssl = options.ssl ? options.ssl : SslContextRef(*default_ssl);
    connect.server_hostname = options.server_hostname.empty() ? std::string_view(url.host) : options.server_hostname;
  }
  auto [reader, writer] = co_await open_connection(url.host, url.port, connect);

  const std::string key = detail::ws::new_client_key();
  const WebSocketOptions& ws = options.websocket;
  const detail::ws::DeflateConfig deflate_config{ws.server_no_context_takeover, ws.client_no_context_takeover};
  std::string request = std::string("GET ") + url.target + std::string(" HTTP/1.1\r\nHost: ") + url.host_header +
                        std::string("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ") + key +
                        "\r\nSec-WebSocket-Version: 13\r\n";
  if (!ws.protocols.empty()) {
    request += "Sec-WebSocket-Protocol: ";
    for (std::size_t i = 0; i < ws.protocols.size(); ++i) {
      if (i) request += ", ";
      request += ws.protocols[i];
    }
    request += "\r\n";
  }
  if (ws.compress)
    request += std::string("Sec-WebSocket-Extensions: ") + detail::ws::deflate_offer(deflate_config) + "\r\n";
  if (!options.origin.empty()) request.append("Origin: ").append(options.origin).append("\r\n");
  for (const auto& [name, value] : options.headers) {
    const auto bad = [](char c) { return c == '\r' || c == '\n' || c == '\0'; };
    if (std::any_of(name.begin(), name.end(), bad) || std::any_of(value.begin(), value.end(), bad))
      throw std::invalid_argument(std::string("websocket_connect: CR, LF or NUL in header ") + std::string(name));
    request.append(name).append(": ").append(value).append("\r\n");
  }
  request += "\r\n";
  writer.write(request);
  co_await writer.drain();

  std::string head;
  try {
    head = co_await reader.readuntil("\r\n\r\n");
  } catch (const IncompleteReadError&) {
    throw WSServerHandshakeError(0, "WebSocket handshake: the server closed the connection before answering");
  } catch (const LimitOverrunError&) {
    throw WSServerHandshakeError(0, "WebSocket handshake: the server's answer head is too large");
  }
  const HandshakeAnswer answer = parse_answer(head);
  auto refuse = [&](const std::string& why) {
    return WSServerHandshakeError(answer.status, std::string("WebSocket handshake with ") + url.host_header +
                                                     url.target + std::string(": ") + why);
  };
  if (answer.status != 101)
    throw refuse(std::string("the server answered ") + std::to_string(answer.status) + " instead of 101");
  if (!detail::ws::has_token(answer.joined("Upgrade"), "websocket"))
    throw refuse("no 'Upgrade: websocket' in the answer");
  if (!detail::ws::has_token(answer.joined("Connection"), "upgrade"))
    throw refuse("no 'Connection: Upgrade' in the answer");
  if (answer.joined("Sec-WebSocket-Accept") != detail::ws::accept_key(key))
    throw refuse("wrong or missing Sec-WebSocket-Accept");
  Opened opened;
  if (answer.has("Sec-WebSocket-Protocol")) {
    opened.protocol = answer.joined("Sec-WebSocket-Protocol");
    bool offered = false;
    for (std::string_view p : ws.protocols) offered = offered || p == opened.protocol;
    if (!offered)
      throw refuse(std::string("the server chose subprotocol '") + opened.protocol + "', which was not offered");
  }
  if (answer.has("Sec-WebSocket-Extensions")) {
    if (!ws.compress) throw refuse("the server accepted an extension that was not offered");
    try {
      opened.deflate = detail::ws::accept_deflate_response(answer.joined("Sec-WebSocket-Extensions"), deflate_config);
    } catch (const std::invalid_argument& e) {
      throw refuse(e.what());
    }
  }
  opened.reader = std::move(reader);
  opened.writer = std::move(writer);
  co_return opened;
}

}  // namespace

ClientWebSocket::ClientWebSocket(StreamReader reader, StreamWriter writer)
    : reader_(std::move(reader)), writer_(std::move(writer)) {}

// The engine first: its going-away close frame needs the connection open.
ClientWebSocket::~ClientWebSocket() { engine_.reset(); }

Coro<ClientWebSocket> websocket_connect(std::string url, WebSocketClientOptions options) {
  WsUrl parsed = parse_ws_url(url);
  Opened opened = co_await aio::wait_for(open_and_handshake(std::move(parsed), options), options.handshake_timeout);
  aio::detail::StreamCore* core = opened.reader.native_core();
  ClientWebSocket ws(std::move(opened.reader), std::move(opened.writer));
  ws.engine_ = std::make_unique<detail::ws::Protocol>(detail::ws::Role::client, core,
                                                      detail::ws::settings_from(options.websocket), opened.deflate,
                                                      std::move(opened.protocol));
  co_return ws;
}

}  // namespace aio::http
