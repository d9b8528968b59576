// One HTTP/1.1 connection on the server side: reads requests in place from the stream's
// receive buffer, runs the application for each, writes the responses (those of one
// pipelined batch go out in one write).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "aio/http/request.hpp"
#include "aio/http/response.hpp"
#include "aio/streams.hpp"
#include "aio/task.hpp"
#include "http/parser.hpp"

namespace aio::detail {
class StreamCore;
}

namespace aio::http::detail {

class HttpServer;
namespace ws {
class Protocol;
}

class Connection {
 public:
  /// Where the connection is: the server's sweeper closes one whose deadline passed while
  /// it waits for a client (idle, head, or a response the client does not read).
  enum class Phase : unsigned char { idle, reading_head, handling, reading_body, writing, closing };

  Connection(std::shared_ptr<HttpServer> server, StreamReader reader, StreamWriter writer);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// The connection's whole life; returns when it is closed.
  Coro<void> serve();

  Phase phase() const noexcept { return phase_; }
  /// Whether the client has kept this connection waiting past its deadline (the sweeper
  /// calls it once a second). A response being sent is cut off only when no byte of it
  /// went out for keepalive_timeout: a slow download is not a stalled one.
  bool timed_out(double now) noexcept;
  /// Closes the socket at once (timeouts, shutdown of idle connections).
  void abort() noexcept;
  /// Graceful shutdown: close now if idle, else after the response in progress.
  void shut_down() noexcept;
  /// The task serving this connection (for cancellation after shutdown_timeout).
  std::optional<TaskRef>& task() noexcept { return task_; }
  std::size_t server_slot = 0;

  // --- the request body (Request and BodyReader) ---------------------------------------
  /// Decodes more of the body into body_buffer(). False at the end of the body.
  Coro<bool> fill_body();
  std::string& body_buffer() noexcept { return body_buf_; }
  bool body_done() const noexcept { return body_eof_ && body_buf_.empty(); }

  // --- streaming responses (StreamResponse) --------------------------------------------
  Coro<void> prepare_stream(StreamResponse& response, Request& request);
  Coro<void> write_stream(StreamResponse& response, std::string_view data);
  Coro<void> finish_stream(Response& response);

  // --- WebSocket (WebSocketResponse) ---------------------------------------------------
  /// Sends `response` as the 101 answer to an upgrade and hands the connection over: from
  /// here it carries WebSocket frames, read and written by the caller, and it is closed
  /// when the handler returns.
  Coro<aio::detail::StreamCore*> upgrade_to_websocket(Response& response, Request& request);
  /// The WebSocket on this connection, told to close (1001) when the server shuts down.
  void attach_websocket(ws::Protocol* websocket) noexcept { websocket_ = websocket; }
  bool shutting_down() const noexcept { return shutting_down_; }
  void detach_websocket(ws::Protocol* websocket) noexcept {
    if (websocket_ == websocket) websocket_ = nullptr;
  }

  std::string remote_address() const;

 private:
  // Returns false when the connection ends (EOF, error, timeout).
  Coro<bool> read_head();
  bool begin_request();
  Coro<void> handle_request();
  Coro<void> discard_unread_body();
  void release_idle_memory() noexcept;
  Coro<void> watch_for_disconnect();
  /// Closing after an error with input unread: half-close, then read and drop what the
  /// client still sends for a moment, so that its kernel does not answer our answer with a
  /// reset (which can destroy the error response before the client reads it).
  Coro<void> linger_and_close();
  void log_access(const Response& response);
  /// Appends a response (head + body) to the output batch.
  void append_response(Response& response, bool head_only);
  void append_head(Response& response, std::optional<std::uint64_t> length, bool chunked);
  void append_error(int status, std::string_view text);
  Coro<void> send_file_response(Response& response, bool head_only);
  /// Hands the batched output to the stream; waits if the client reads slowly.
  Coro<void> flush_output();
  /// Flushes, then waits for more bytes from the client. False at EOF.
  Coro<bool> fill_input();

  std::shared_ptr<HttpServer> server_;
  StreamReader reader_;
  StreamWriter writer_;
  aio::detail::StreamCore* core_;
  std::optional<TaskRef> task_;

  Phase phase_ = Phase::idle;
  double deadline_ = 0;
  std::size_t buffered_at_last_sweep_ = 0;
  bool keep_alive_ = true;
  bool shutting_down_ = false;

  RequestHead head_;
  std::string head_storage_;  // the current request's head, copied out of the receive buffer
  Request request_;

  // Body.
  BodyFraming framing_ = BodyFraming::none;
  std::uint64_t remaining_ = 0;  // content_length framing
  std::uint64_t body_total_ = 0;
  ChunkedDecoder chunked_;
  std::string body_buf_;
  bool body_eof_ = true;
  bool expect_continue_ = false;
  bool body_broken_ = false;  // the body could not be read to its end: close after the response

  bool stream_started_ = false;
  bool upgraded_ = false;  // a WebSocket took the connection over
  ws::Protocol* websocket_ = nullptr;
  std::optional<Task<void>> disconnect_watcher_;  // cancel_handler_on_disconnect
  bool parse_failed_ = false;  // a bad request head: answered, then the connection lingers  // this request's
                               // StreamResponse has sent its head
  std::string out_;            // responses waiting to be written (one write per batch)
};

}  // namespace aio::http::detail
