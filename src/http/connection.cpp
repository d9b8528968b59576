// The server side of one HTTP/1.1 connection. See connection.hpp.
#include "http/connection.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <system_error>

#include "aio/errors.hpp"
#include "aio/http/application.hpp"
#include "aio/http/errors.hpp"
#include "aio/loop.hpp"
#include "aio/timeout.hpp"
#include "http/file_helpers.hpp"
#include "http/form.hpp"
#include "http/http_server.hpp"
#include "http/websocket/protocol.hpp"
#include "io/owned_fd.hpp"
#include "net/stream_core.hpp"

namespace aio::http::detail {
namespace {

// Unread body bytes the server reads and drops after a handler to keep the connection;
// a larger rest closes it instead (reading it could take long).
constexpr std::uint64_t kMaxDiscard = 256 * 1024;
// The output batch is handed to the stream when it grows past this (pipelined responses).
constexpr std::size_t kFlushThreshold = 64 * 1024;

void append_number(std::string& out, std::uint64_t n) {
  char buf[24];
  char* end = buf + sizeof buf;
  char* p = end;
  do {
    *--p = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  out.append(p, static_cast<std::size_t>(end - p));
}

void append_hex(std::string& out, std::uint64_t n) {
  char buf[20];
  char* end = buf + sizeof buf;
  char* p = end;
  do {
    *--p = "0123456789abcdef"[n & 15];
    n >>= 4;
  } while (n != 0);
  out.append(p, static_cast<std::size_t>(end - p));
}

bool has_header(const Response& r, std::string_view name) { return r.header(name).has_value(); }

// Request targets in absolute-form ("http://host/path?q") carry the path after the authority.
std::string_view origin_part(std::string_view target) {
  if (target.empty() || target[0] == '/' || target == "*") return target;
  const std::size_t scheme = target.find("://");
  if (scheme == std::string_view::npos) return target;
  const std::size_t path = target.find_first_of("/?", scheme + 3);
  return path == std::string_view::npos ? std::string_view("/") : target.substr(path);
}

}  // namespace

Connection::Connection(std::shared_ptr<HttpServer> server, StreamReader reader, StreamWriter writer)
    : server_(std::move(server)), reader_(std::move(reader)), writer_(std::move(writer)), core_(reader_.native_core()) {
  request_.conn_ = this;
  request_.app_ = &server_->app();
  request_.content_.conn_ = this;
  request_.secure_ = server_->secure();
  chunked_.set_max_body(server_->app().options().client_max_size);
  server_->add(this);
}

Connection::~Connection() {
  if (websocket_) websocket_->detach_connection();
  server_->remove(this);
}

void Connection::abort() noexcept {
  phase_ = Phase::closing;
  core_->abort();
}

void Connection::shut_down() noexcept {
  shutting_down_ = true;
  keep_alive_ = false;                       // the response in progress says "Connection: close"
  if (websocket_) websocket_->going_away();  // the peer answers; the handler's receive() ends
  if (phase_ != Phase::idle) return;
  if (writer_.buffered() > 0) {
    writer_.close();  // the last response is still going out: finish it, then close
  } else {
    abort();
  }
}

bool Connection::timed_out(double now) noexcept {
  switch (phase_) {
    case Phase::handling:
    case Phase::closing:
      return false;
    case Phase::writing:
      if (const std::size_t buffered = writer_.buffered(); buffered != buffered_at_last_sweep_) {
        buffered_at_last_sweep_ = buffered;  // bytes moved: not stalled
        deadline_ = now + server_->options().keepalive_timeout.seconds();
        return false;
      }
      return deadline_ <= now;
    case Phase::idle:
    case Phase::reading_head:
    case Phase::reading_body:
      return deadline_ <= now;
  }
  return false;
}

std::string Connection::remote_address() const {
  try {
    return writer_.peername().host();
  } catch (const std::exception&) {
    return {};
  }
}

// --- the request loop ------------------------------------------------------------------

Coro<void> Connection::serve() {
  task_ = current_task();
  try {
    bool unread_input = false;
    while (!shutting_down_ && co_await read_head()) {
      if (!begin_request()) {
        unread_input = true;  // refused before its body was read
        break;
      }
      co_await handle_request();
      if (!keep_alive_ || shutting_down_) {
        unread_input = !upgraded_ && (!body_eof_ || !core_->input().empty());
        break;
      }
    }
    if (unread_input || parse_failed_) {
      co_await linger_and_close();
      co_return;
    }
    co_await flush_output();
    phase_ = Phase::closing;
    writer_.close();  // sends what is queued, then closes
  } catch (const std::system_error&) {
    // The client went away (reset, broken pipe): nothing to answer.
    writer_.close();
  } catch (const Error&) {
    writer_.close();
  }
}

Coro<bool> Connection::read_head() {
  auto& in = core_->input();
  phase_ = in.empty() ? Phase::idle : Phase::reading_head;
  EventLoop& loop = get_running_loop();
  deadline_ = loop.time() + (phase_ == Phase::idle ? server_->options().keepalive_timeout.seconds()
                                                   : server_->options().header_timeout.seconds());
  for (;;) {
    if (!in.empty()) {
      ParseError error;
      const ParseResult r = parse_request_head(in.view(), server_->limits(), head_, request_.headers_, error);
      if (r == ParseResult::complete) break;
      if (r == ParseResult::error) {
        append_error(error.status, error.reason);
        keep_alive_ = false;
        parse_failed_ = true;
        co_return false;
      }
      if (phase_ == Phase::idle) {  // the first bytes of a request: the header clock starts
        phase_ = Phase::reading_head;
        deadline_ = loop.time() + server_->options().header_timeout.seconds();
      }
    }
    if (shutting_down_ && in.empty()) co_return false;
    if (in.empty()) {
      co_await flush_output();
      release_idle_memory();
    }
    if (!co_await fill_input()) {
      if (!in.empty() &&
          phase_ != Phase::closing) {  // a head cut short by EOF: answer, though the client may not read it
        append_error(400, "the request head ended early");
      }
      keep_alive_ = false;
      co_return false;
    }
  }
  co_return true;
}

// Copies the head out of the receive buffer (the body may move that buffer) and sets the
// Request up. False when the request is refused before its handler (the answer is queued).
bool Connection::begin_request() {
  auto& in = core_->input();
  const char* base = in.data();
  head_storage_.assign(base, head_.head_size);
  const char* copy = head_storage_.data();
  auto rebase = [&](std::string_view v) {
    return v.empty() ? v : std::string_view(copy + (v.data() - base), v.size());
  };
  head_.method = rebase(head_.method);
  head_.target = rebase(head_.target);
  head_.host = rebase(head_.host);
  for (HeaderField& h : request_.headers_) {
    h.name = rebase(h.name);
    h.value = rebase(h.value);
  }
  in.consume(head_.head_size);

  Request& r = request_;
  r.reset();
  r.method_ = head_.method;
  r.target_ = head_.target;
  r.version_minor_ = head_.version_minor;
  r.host_ = head_.host;
  keep_alive_ = head_.keep_alive && !shutting_down_;
  r.keep_alive_ = keep_alive_;

  const std::string_view origin = origin_part(head_.target);
  const std::size_t q = origin.find('?');
  const std::string_view raw_path = origin.substr(0, q);
  r.query_string_ = q == std::string_view::npos ? std::string_view() : origin.substr(q + 1);
  if (raw_path.empty()) {
    r.path_.assign("/");  // "http://host?q" (absolute form without a path) asks for "/"
  } else if (raw_path.find('%') == std::string_view::npos) {
    r.path_.assign(raw_path);
  } else if (std::optional<std::string> decoded = decode_path(raw_path)) {
    r.path_ = std::move(*decoded);
  } else {
    append_error(400, "the path has a malformed percent-escape or a NUL byte");
    keep_alive_ = false;
    return false;
  }

  framing_ = head_.framing;
  stream_started_ = false;
  body_total_ = 0;
  body_buf_.clear();
  body_broken_ = false;
  expect_continue_ = head_.expect_continue && head_.version_minor >= 1;  // RFC 9110 10.1.1: not for 1.0
  chunked_.reset();
  switch (framing_) {
    case BodyFraming::none:
      body_eof_ = true;
      break;
    case BodyFraming::content_length:
      remaining_ = head_.content_length;
      body_eof_ = remaining_ == 0;
      r.content_length_ = head_.content_length;
      r.has_body_ = remaining_ > 0;
      break;
    case BodyFraming::chunked:
      body_eof_ = false;
      r.has_body_ = true;
      break;
  }
  if (framing_ == BodyFraming::content_length && head_.content_length > server_->app().options().client_max_size) {
    // Refused before a byte of it is read (aiohttp reads up to the limit first).
    append_error(413, "the request body is larger than the server accepts (client_max_size)");
    keep_alive_ = false;
    return false;
  }
  return true;
}

// RunOptions::cancel_handler_on_disconnect: while the handler runs (its body read
// already), a task waits for the client's EOF and then cancels the connection's task,
// handler included. Bytes that arrive meanwhile (a pipelined request) stay buffered.
Coro<void> Connection::watch_for_disconnect() {
  try {
    while (core_->input().size() < kFlushThreshold)
      if (!co_await core_->fill()) break;
    if (core_->input().size() >= kFlushThreshold) co_return;  // a client this busy is there
  } catch (const std::system_error&) {
  }
  if (phase_ == Phase::handling && task_) task_->cancel("aio::http: the client disconnected");
}

Coro<void> Connection::handle_request() {
  phase_ = Phase::handling;
  const bool head_only = request_.method_ == "HEAD";
  std::exception_ptr failure, cancellation;
  bool client_gone = false;
  std::optional<Response> response;
  std::optional<Task<void>>& watcher = disconnect_watcher_;
  if (server_->options().cancel_handler_on_disconnect && body_eof_)
    watcher.emplace(create_task(watch_for_disconnect(), "aio::http disconnect watcher"));
  try {
    response.emplace(co_await server_->app().handle(request_));
  } catch (const HttpError& e) {
    Response answer = Response::text(
        e.text().empty() ? std::to_string(e.status()) + ": " + std::string(reason_phrase(e.status())) : e.text(),
        e.status());
    for (const auto& [name, value] : e.headers()) answer.add_header(name, value);  // checked by with_header
    response.emplace(std::move(answer));
  } catch (const std::system_error&) {
    // The connection itself failed under the handler (a StreamResponse write to a client
    // that is gone): nobody to answer and nothing to report; else the handler's own error.
    if (writer_.is_closing() || core_->is_closing()) {
      keep_alive_ = false;
      client_gone = true;
    } else {
      failure = std::current_exception();
    }
  } catch (const IncompleteReadError&) {
    if (!body_broken_) failure = std::current_exception();
    // else the client stopped sending the body (gone, or past body_timeout): its fault,
    // not the handler's — answered (if anyone still listens) without a report.
    if (body_broken_) response.emplace(Response::text("400: the request body ended early", 400));
  } catch (const std::exception&) {
    failure = std::current_exception();
  } catch (const CancelledError&) {
    cancellation = std::current_exception();
  } catch (...) {
    failure = std::current_exception();
  }
  if (watcher) {  // awaited before anything else (cancelled or not): it uses this connection
    watcher->cancel();
    try {
      co_await *watcher;
    } catch (const CancelledError&) {
    }
    watcher.reset();
  }
  if (cancellation) std::rethrow_exception(cancellation);
  if (failure) {
    get_running_loop().call_exception_handler({"Error handling request " + std::string(request_.method_) + " " +
                                                   std::string(request_.target_) + " from " + remote_address(),
                                               failure,
                                               {}});
    response.emplace(Response::text("500 Internal Server Error\n\nServer got itself in trouble", 500));
  }
  if (client_gone) co_return;
  if (stream_started_ && !response->prepared_) {
    // The handler sent a StreamResponse's head, then failed (or returned another response):
    // the client is mid-body and must see the connection end, not a second head.
    keep_alive_ = false;
    co_await flush_output();
    co_return;
  }
  if (body_broken_) keep_alive_ = false;
  Response& r = *response;
  phase_ = Phase::writing;
  deadline_ = get_running_loop().time() + server_->options().keepalive_timeout.seconds();
  if (r.prepared_) {  // a StreamResponse: its head (and body) went out already
    if (!r.finished_) co_await finish_stream(r);
    if (r.declared_length_ && r.body_sent_ != *r.declared_length_) keep_alive_ = false;
  }
  if (!body_eof_ && keep_alive_) co_await discard_unread_body();
  if (!r.prepared_) {
    if (r.file_path_)
      co_await send_file_response(r, head_only);
    else
      append_response(r, head_only);
  }
  if (server_->options().access_log) log_access(r);
  if (out_.size() >= kFlushThreshold || writer_.buffered() > 0) co_await flush_output();
}

void Connection::log_access(const Response& r) {
  // The common log format: remote - - [date] "request line" status bytes.
  std::string line = remote_address();
  line.append(" - - [").append(server_->date()).append("] \"");
  line.append(request_.method_).append(" ").append(request_.target_);
  line.append(head_.version_minor == 0 ? " HTTP/1.0\" " : " HTTP/1.1\" ");
  line.append(std::to_string(r.status_)).append(" ");
  line.append(std::to_string(r.prepared_ ? r.body_sent_ : r.body_.size()));
  log_line(line);
}

Coro<void> Connection::linger_and_close() {
  phase_ = Phase::closing;
  try {
    co_await flush_output();
    if (!core_->can_write_eof()) {  // TLS has no half-close
      writer_.close();
      co_return;
    }
    writer_.write_eof();
    auto drop_input = [](aio::detail::StreamCore* core) -> Coro<void> {
      std::size_t dropped = 0;
      while (dropped < kMaxDiscard && co_await core->fill()) {
        dropped += core->input().size();
        core->input().clear();
      }
    };
    co_await aio::wait_for(drop_input(core_), 1.0);
  } catch (const TimeoutError&) {
  } catch (const std::system_error&) {
  }
  writer_.close();
}

Coro<void> Connection::discard_unread_body() {
  try {
    while (!body_eof_) {
      body_buf_.clear();
      if (framing_ == BodyFraming::content_length && remaining_ > kMaxDiscard) break;
      if (body_total_ > kMaxDiscard) break;
      if (expect_continue_) break;  // the client has not sent it: no need to read it
      if (!co_await fill_body()) break;
    }
  } catch (const std::exception&) {
    body_eof_ = false;
  }
  body_buf_.clear();
  if (!body_eof_) {
    if (expect_continue_ && framing_ != BodyFraming::none) {
      // RFC 9110 10.1.1: the client waits for 100 before sending; having sent the final
      // response instead, the connection can go on only if the client does not send the
      // body — which it may. Close to be safe.
    }
    keep_alive_ = false;
  }
}

// --- reading ---------------------------------------------------------------------------

// A keep-alive connection waiting for its next request holds no buffer (as nginx does):
// 10 000 idle clients cost their sockets, not 10 000 receive buffers. The next request
// allocates one again (the kernel holds its bytes meanwhile).
void Connection::release_idle_memory() noexcept {
  core_->input().shrink_if_idle(0);
  constexpr std::size_t kKeep = 1024;  // what a typical exchange needs, kept to avoid churn
  if (out_.capacity() > kKeep && out_.empty()) std::string().swap(out_);
  if (body_buf_.capacity() > kKeep && body_buf_.empty()) std::string().swap(body_buf_);
  if (head_storage_.capacity() > kKeep) std::string().swap(head_storage_);
  if (request_.headers_.capacity() > 64) std::vector<HeaderField>().swap(request_.headers_);
}

Coro<bool> Connection::fill_input() {
  co_await flush_output();
  co_return co_await core_->fill();
}

Coro<bool> Connection::fill_body() {
  if (body_eof_) co_return false;
  if (expect_continue_) {
    expect_continue_ = false;
    out_.append("HTTP/1.1 100 Continue\r\n\r\n");
  }
  auto& in = core_->input();
  const std::uint64_t max_body = server_->app().options().client_max_size;
  for (;;) {
    if (!in.empty()) {
      const std::size_t before = body_buf_.size();
      if (framing_ == BodyFraming::content_length) {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(in.size(), remaining_));
        body_buf_.append(in.data(), n);
        in.consume(n);
        remaining_ -= n;
        if (remaining_ == 0) body_eof_ = true;
      } else {
        std::size_t consumed = 0;
        ParseError error;
        const auto r = chunked_.decode(in.view(), consumed, body_buf_, error);
        in.consume(consumed);
        if (r == ChunkedDecoder::Result::error) {
          body_broken_ = true;
          keep_alive_ = false;
          throw HttpError(error.status, std::string("bad chunked body: ") + error.reason);
        }
        if (r == ChunkedDecoder::Result::done) body_eof_ = true;
      }
      body_total_ += body_buf_.size() - before;
      if (body_total_ > max_body) {
        body_broken_ = true;
        keep_alive_ = false;
        throw HttpError(413, "Request Entity Too Large: the body is over " + std::to_string(max_body) + " bytes");
      }
      if (body_buf_.size() > before || body_eof_) co_return true;
    }
    // Waiting for the client: the sweeper ends the connection if it sends nothing for
    // body_timeout (the handler then sees the body end early).
    const Phase before = phase_;
    phase_ = Phase::reading_body;
    deadline_ = get_running_loop().time() + server_->options().body_timeout.seconds();
    const bool more = co_await fill_input();
    if (phase_ == Phase::reading_body) phase_ = before;
    if (!more) {
      body_broken_ = true;
      keep_alive_ = false;
      throw IncompleteReadError(std::string(), static_cast<std::size_t>(remaining_));
    }
  }
}

// --- writing ---------------------------------------------------------------------------

Coro<void> Connection::flush_output() {
  if (writer_.is_closing()) {  // aborted (a timeout, a shutdown): nobody to write to
    out_.clear();
    co_return;
  }
  if (!out_.empty()) {
    writer_.write(out_);
    out_.clear();
  }
  if (writer_.buffered() > 0) {
    const Phase before = phase_;
    const double before_deadline = deadline_;
    phase_ = Phase::writing;
    buffered_at_last_sweep_ = writer_.buffered();
    deadline_ = get_running_loop().time() + server_->options().keepalive_timeout.seconds();
    co_await writer_.drain();
    phase_ = before;
    deadline_ = before_deadline;
  }
}

void Connection::append_head(Response& r, std::optional<std::uint64_t> length, bool chunked) {
  std::string& o = out_;
  o.append(head_.version_minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ");
  append_number(o, static_cast<std::uint64_t>(r.status_));
  o.push_back(' ');
  o.append(r.reason());
  o.append("\r\n");
  if (const std::string_view type = r.content_type(); !type.empty())
    o.append("Content-Type: ").append(type).append("\r\n");
  if (length) {
    o.append("Content-Length: ");
    append_number(o, *length);
    o.append("\r\n");
  }
  if (chunked) o.append("Transfer-Encoding: chunked\r\n");
  o.append("Date: ").append(server_->date()).append("\r\n");
  if (!server_->server_header().empty() && !has_header(r, "Server"))
    o.append("Server: ").append(server_->server_header()).append("\r\n");
  if (!keep_alive_) {
    if (head_.version_minor == 1) o.append("Connection: close\r\n");
  } else if (head_.version_minor == 0) {
    o.append("Connection: keep-alive\r\n");
  }
  for (const auto& [name, value] : r.headers_) o.append(name).append(": ").append(value).append("\r\n");
  o.append("\r\n");
}

void Connection::append_response(Response& r, bool head_only) {
  const bool bodiless_status = r.status_ == 204 || r.status_ == 304 || (r.status_ >= 100 && r.status_ < 200);
  append_head(r, bodiless_status ? std::nullopt : std::optional<std::uint64_t>(r.body_.size()), false);
  if (!head_only && !bodiless_status) out_.append(r.body_);
}

void Connection::append_error(int status, std::string_view text) {
  Response r = Response::text(
      std::to_string(status) + " " + std::string(reason_phrase(status)) + ": " + std::string(text) + "\n", status);
  if (head_.head_size == 0 || head_.version_minor != 0) head_.version_minor = 1;
  keep_alive_ = false;
  append_response(r, false);
}

Coro<void> Connection::send_file_response(Response& r, bool head_only) {
  const std::string& path = *r.file_path_;
  aio::detail::OwnedFd fd(r.file_fd_ ? ::fcntl(*r.file_fd_, F_DUPFD_CLOEXEC, 0)
                                     : ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    const int err = fd ? ENOENT : errno;
    Response e = Response::text(err == EACCES ? "403: Forbidden" : "404: Not Found", err == EACCES ? 403 : 404);
    append_response(e, head_only);
    co_return;
  }
  const std::string etag = make_etag(st);
  r.set_header("Last-Modified", format_http_date(st.st_mtime));
  r.set_header("ETag", etag);
  r.set_header("Accept-Ranges", "bytes");
  if (r.content_type().empty()) r.assign_content_type(std::string(mime_type_for(path)));
  const auto if_none_match = request_.header("If-None-Match");
  const auto if_modified_since = request_.header("If-Modified-Since");
  if ((if_none_match && etag_matches(*if_none_match, etag)) ||
      (!if_none_match && if_modified_since && not_modified_since(*if_modified_since, st.st_mtime))) {
    r.status_ = 304;
    r.reason_.clear();
    append_head(r, std::nullopt, false);
    co_return;
  }
  const std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
  std::uint64_t first = 0, count = size;
  const auto if_range = request_.header("If-Range");
  if (const auto range = request_.header("Range");
      range && r.status_ == 200 && (!if_range || if_range_matches(*if_range, etag, st.st_mtime))) {
    std::vector<ByteRange> ranges;
    switch (parse_range(*range, size, ranges)) {
      case RangeResult::satisfiable:
        coalesce(ranges);
        if (ranges.size() == 1) {  // still several: the whole file (multipart/byteranges is not offered)
          first = ranges[0].first;
          count = ranges[0].last - ranges[0].first + 1;
          r.status_ = 206;
          r.reason_.clear();
          r.set_header("Content-Range", content_range(ranges[0], size));
        }
        break;
      case RangeResult::unsatisfiable: {
        r.status_ = 416;
        r.reason_.clear();
        r.set_header("Content-Range", content_range_unsatisfiable(size));
        append_head(r, 0, false);
        co_return;
      }
      case RangeResult::none:
      case RangeResult::ignore:
        break;
    }
  }
  append_head(r, count, false);
  if (head_only) co_return;
  if (core_->can_send_file()) {
    co_await flush_output();
    constexpr std::uint64_t kPiece = 1 << 20;  // the sweeper sees progress between pieces
    while (count > 0) {
      const std::uint64_t piece = std::min(count, kPiece);
      co_await core_->send_file(fd.get(), first, piece);
      first += piece;
      count -= piece;
      deadline_ = get_running_loop().time() + server_->options().keepalive_timeout.seconds();
    }
    co_return;
  }
  // TLS: through user space, a piece at a time.
  std::string piece;
  while (count > 0) {
    piece.resize(static_cast<std::size_t>(std::min<std::uint64_t>(count, 64 * 1024)));
    const ssize_t n = ::pread(fd.get(), piece.data(), piece.size(), static_cast<off_t>(first));
    if (n <= 0) {
      keep_alive_ = false;  // the file shrank or failed: the client must not wait for the rest
      co_return;
    }
    out_.append(piece.data(), static_cast<std::size_t>(n));
    first += static_cast<std::uint64_t>(n);
    count -= static_cast<std::uint64_t>(n);
    co_await flush_output();
  }
}

// --- StreamResponse ---------------------------------------------------------------------

Coro<void> Connection::prepare_stream(StreamResponse& r, Request& request) {
  if (&request != &request_) throw UsageError("StreamResponse.prepare: the request is not this connection's");
  if (stream_started_)
    throw UsageError("StreamResponse.prepare: this request's response was sent already (one response per request)");
  if (expect_continue_ && !body_eof_) {  // the 100 must come before the final head
    expect_continue_ = false;
    out_.append("HTTP/1.1 100 Continue\r\n\r\n");
  }
  r.conn_ = this;
  r.prepared_ = true;
  stream_started_ = true;
  r.head_only_ = request_.method_ == "HEAD";
  const bool bodiless_status = r.status_ == 204 || r.status_ == 304 || (r.status_ >= 100 && r.status_ < 200);
  if (r.declared_length_ || bodiless_status) {
    append_head(r, bodiless_status ? std::nullopt : r.declared_length_, false);
  } else if (head_.version_minor == 0) {
    keep_alive_ = false;  // HTTP/1.0 has no chunked coding: the end of the body is the close
    append_head(r, std::nullopt, false);
  } else {
    r.chunked_ = true;
    append_head(r, std::nullopt, true);
  }
  co_await flush_output();
}

Coro<aio::detail::StreamCore*> Connection::upgrade_to_websocket(Response& r, Request& request) {
  if (&request != &request_) throw UsageError("WebSocketResponse.prepare: the request is not this connection's");
  if (stream_started_)
    throw UsageError("WebSocketResponse.prepare: this request's response was sent already (one response per request)");
  if (disconnect_watcher_) {  // it reads the connection: the WebSocket reads it from now on
    disconnect_watcher_->cancel();
    try {
      co_await *disconnect_watcher_;
    } catch (const CancelledError&) {
    }
    disconnect_watcher_.reset();
  }
  r.conn_ = this;
  r.prepared_ = true;
  r.finished_ = true;  // no HTTP body follows
  stream_started_ = true;
  upgraded_ = true;
  keep_alive_ = false;
  out_.append("HTTP/1.1 101 Switching Protocols\r\n");
  if (!server_->server_header().empty()) out_.append("Server: ").append(server_->server_header()).append("\r\n");
  for (const auto& [name, value] : r.headers_) out_.append(name).append(": ").append(value).append("\r\n");
  out_.append("\r\n");
  co_await flush_output();
  co_return core_;
}

Coro<void> Connection::write_stream(StreamResponse& r, std::string_view data) {
  if (r.finished_) throw UsageError("StreamResponse.write: write_eof() was called already");
  if (data.empty()) co_return;
  if (r.status_ == 204 || r.status_ == 304 || r.status_ < 200)
    throw UsageError("StreamResponse.write: a " + std::to_string(r.status_) + " response has no body");
  if (r.declared_length_ && r.body_sent_ + data.size() > *r.declared_length_)
    throw UsageError("StreamResponse.write: more bytes than the Content-Length set (" +
                     std::to_string(*r.declared_length_) + ")");
  r.body_sent_ += data.size();
  if (r.head_only_) co_return;
  if (r.chunked_) {
    append_hex(out_, data.size());
    out_.append("\r\n").append(data).append("\r\n");
  } else {
    out_.append(data);
  }
  co_await flush_output();
}

Coro<void> Connection::finish_stream(Response& r) {
  if (r.finished_) co_return;
  r.finished_ = true;
  if (r.chunked_ && !r.head_only_) out_.append("0\r\n\r\n");
  if (r.declared_length_ && r.body_sent_ != *r.declared_length_) keep_alive_ = false;
  co_await flush_output();
}

}  // namespace aio::http::detail
