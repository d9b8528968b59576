// Helpers for the aio::http client tests: a raw TCP server whose connections run a test's
// script (for servers that misbehave on purpose), and the zlib compressors for encoded bodies.
#pragma once

#include <aio/aio.hpp>
#include <aio/http.hpp>

#include <zlib.h>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

namespace aio_test {

/// A TCP server on 127.0.0.1 whose every connection runs `script(reader, writer, index)`
/// (index: 0 for the first connection, 1 for the next...). connections() counts accepts.
class ScriptedServer {
 public:
  using Script = std::function<aio::Coro<void>(aio::StreamReader&, aio::StreamWriter&, int)>;

  static aio::Coro<std::unique_ptr<ScriptedServer>> start(Script script) {
    auto s = std::unique_ptr<ScriptedServer>(new ScriptedServer);
    s->script_ = std::move(script);
    ScriptedServer* self = s.get();
    auto handler = [self](aio::StreamReader r, aio::StreamWriter w) -> aio::Coro<void> {
      const int index = self->connections_++;
      try {
        co_await self->script_(r, w, index);
      } catch (const std::exception&) {
        // A script's peer went away: that is what these tests provoke.
      }
      w.close();
      ++self->finished_;
    };
    s->server_ = co_await aio::start_server(handler, "127.0.0.1", 0);
    co_return s;
  }
  int port() const { return server_.addresses().at(0).port(); }
  std::string url(const std::string& path = "/") const { return "http://127.0.0.1:" + std::to_string(port()) + path; }
  int connections() const { return connections_; }
  /// Connections whose script has ended (and which the server has closed).
  int finished() const { return finished_; }
  aio::Coro<void> stop() {
    server_.close();
    co_await server_.wait_closed();
  }

 private:
  ScriptedServer() = default;
  Script script_;
  aio::Server server_;
  int connections_ = 0;
  int finished_ = 0;
};

/// Reads one request head (up to the empty line) and returns it.
inline aio::Coro<std::string> read_request_head(aio::StreamReader& reader) {
  co_return co_await reader.readuntil("\r\n\r\n");
}

/// gzip (window_bits 31) or zlib "deflate" (15) or raw deflate (-15) of `data`.
inline std::string compress(const std::string& data, int window_bits) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2");
  std::string out(deflateBound(&z, data.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace aio_test
