// Helpers for the aio::http server tests: a site on 127.0.0.1 with an ephemeral port, and
// a raw HTTP/1.1 client that sends exact bytes and reads responses one by one.
#pragma once

#include <aio/aio.hpp>
#include <aio/http.hpp>

#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace aio_test {

/// One response as read off the wire.
struct RawResponse {
  int status = 0;
  std::string status_line;
  std::multimap<std::string, std::string> headers;  // names lower-cased
  std::string body;
  bool chunked = false;

  std::optional<std::string> header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    if (it == headers.end()) return std::nullopt;
    return it->second;
  }
};

inline std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// A connection that speaks raw HTTP.
class RawClient {
 public:
  static aio::Coro<RawClient> connect(int port) {
    auto [r, w] = co_await aio::open_connection("127.0.0.1", port);
    RawClient c;
    c.reader = std::move(r);
    c.writer = std::move(w);
    co_return c;
  }

  aio::Coro<void> send(std::string bytes) {
    writer.write(bytes);
    co_await writer.drain();
  }

  /// Reads one response (to a request that was not HEAD unless `head` says so). A
  /// response without Content-Length or chunked coding is read to EOF.
  aio::Coro<RawResponse> response(bool head = false) {
    RawResponse out;
    std::string head_text = co_await reader.readuntil("\r\n\r\n");
    std::size_t line_end = head_text.find("\r\n");
    out.status_line = head_text.substr(0, line_end);
    out.status = std::atoi(out.status_line.substr(9, 3).c_str());
    std::size_t pos = line_end + 2;
    while (pos < head_text.size() - 2) {
      const std::size_t end = head_text.find("\r\n", pos);
      const std::string line = head_text.substr(pos, end - pos);
      const std::size_t colon = line.find(':');
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      out.headers.emplace(lower(line.substr(0, colon)), value);
      pos = end + 2;
    }
    if (head || out.status == 204 || out.status == 304 || out.status / 100 == 1) co_return out;
    if (auto te = out.header("transfer-encoding"); te && lower(*te) == "chunked") {
      out.chunked = true;
      for (;;) {
        std::string size_line = co_await reader.readuntil("\r\n");
        const std::size_t size = std::strtoul(size_line.c_str(), nullptr, 16);
        if (size == 0) {
          co_await reader.readuntil("\r\n");  // no trailers in our tests
          break;
        }
        out.body += co_await reader.readexactly(size);
        co_await reader.readexactly(2);
      }
    } else if (auto cl = out.header("content-length")) {
      out.body = co_await reader.readexactly(std::strtoul(cl->c_str(), nullptr, 10));
    } else {
      out.body = co_await reader.read();
    }
    co_return out;
  }

  /// True when the server closed the connection (EOF with nothing more).
  aio::Coro<bool> closed_by_server() {
    std::string rest = co_await reader.read();
    co_return rest.empty() && reader.at_eof();
  }

  aio::StreamReader reader;
  aio::StreamWriter writer;
};

inline std::string get_request(std::string_view path, std::string_view extra_headers = "") {
  std::string r = "GET ";
  r.append(path).append(" HTTP/1.1\r\nHost: localhost\r\n").append(extra_headers).append("\r\n");
  return r;
}

}  // namespace aio_test
