#include <algorithm>
#include <cmath>
#include <system_error>

#include "aio/errors.hpp"
#include "aio/http/client_errors.hpp"
#include "aio/http/client_response.hpp"
#include "aio/loop.hpp"
#include "aio/timeout.hpp"
#include "http/client/response_state.hpp"
#include "net/stream_core.hpp"

namespace aio::http::detail {

Coro<bool> fill_within(ClientConnection& connection, const ReadDeadlines& deadlines) {
  aio::detail::StreamCore& core = connection.core();
  double when = deadlines.total_deadline;
  if (!deadlines.sock_read.infinite()) when = std::min(when, get_running_loop().time() + deadlines.sock_read.seconds());
  try {
    if (std::isinf(when)) co_return co_await core.fill();
    co_return co_await aio::timeout_at(when, core.fill());
  } catch (const TimeoutError&) {
    throw;
  } catch (const ClientError&) {
    throw;
  } catch (const std::exception& e) {
    throw ClientConnectionError(std::string("connection to the server broke: ") + e.what());
  }
}

void ResponseState::start_body(PooledConnection connection, const ResponseHead& head, bool no_body,
                               const ReadDeadlines& deadlines, bool auto_decompress, std::uint64_t max_body) {
  connection_ = std::move(connection);
  deadlines_ = deadlines;
  max_body_ = max_body;
  framing_done_ = false;
  keep_alive_ = head.keep_alive && status != 101;  // a switched connection speaks another protocol
  if (no_body) {
    finish_framing();
    return;
  }
  switch (head.framing) {
    case BodyFraming::chunked:
      framing_ = Framing::chunked;
      chunked_.reset();
      break;
    case BodyFraming::content_length:
      framing_ = Framing::length;
      remaining_ = head.content_length;
      break;
    case BodyFraming::none:
      framing_ = Framing::until_close;
      keep_alive_ = false;
      break;
  }
  if (auto_decompress) {
    if (auto coding = find_header(headers, "content-encoding")) {
      if (iequals(*coding, "gzip") || iequals(*coding, "x-gzip"))
        inflater_ = std::make_unique<Inflater>(Inflater::Format::gzip);
      else if (iequals(*coding, "deflate"))
        inflater_ = std::make_unique<Inflater>(Inflater::Format::deflate);
    }
  }
  if (framing_ == Framing::length && remaining_ == 0) finish_framing();
}

void ResponseState::fail_payload(const std::string& why) {
  connection_.close();
  framing_done_ = true;
  raw_.clear();
  raw_pos_ = 0;
  throw ClientPayloadError(why);
}

void ResponseState::finish_framing() {
  framing_done_ = true;
  // Bytes after the body's end mean its framing lied: the connection cannot be trusted.
  const bool clean =
      keep_alive_ && framing_ != Framing::until_close && connection_ && connection_->core().input().empty();
  if (!clean) {
    connection_.close();
  } else if (!inflater_ || raw_total_ == 0 || inflater_->finished()) {
    connection_.give_back();
  }
  // Otherwise the connection waits until the compressed bytes decode properly: a server
  // that sent a corrupt or cut-off stream is not trusted with another request.
}

void ResponseState::consume(std::size_t n) noexcept {
  read_pos_ += n;
  if (read_pos_ == buffer_.size()) {
    buffer_.clear();
    read_pos_ = 0;
  }
}

std::string ResponseState::take(std::size_t n) {
  n = std::min(n, buffer_.size() - read_pos_);
  std::string out;
  if (read_pos_ == 0 && n == buffer_.size()) {
    out.swap(buffer_);
  } else {
    out.assign(buffer_, read_pos_, n);
    read_pos_ += n;
  }
  consume(0);
  return out;
}

Coro<bool> ResponseState::fill() {
  for (;;) {
    if (inflater_ && raw_pos_ < raw_.size()) {
      inflate_pending();
      if (buffer_.size() > read_pos_) co_return true;
      continue;
    }
    if (framing_done_) {
      if (inflater_ && raw_total_ > 0 && !inflater_->finished())
        fail_payload("the compressed response body is truncated");
      co_return false;
    }
    if (!connection_)
      fail_payload(
          "the response's connection is closed (release(), or an earlier error or timeout) before the end of its body");
    auto& input = connection_->core().input();
    if (input.empty()) {
      bool more = false;
      try {
        more = co_await fill_within(*connection_, deadlines_);
      } catch (...) {
        connection_.close();  // a timeout or a broken connection: never pooled half-read
        throw;
      }
      if (more) continue;
      if (framing_ == Framing::until_close) {
        finish_framing();
        continue;
      }
      fail_payload(framing_ == Framing::length
                       ? std::string("the server closed the connection ") + std::to_string(remaining_) +
                             " bytes before the end of the body (Content-Length)"
                       : std::string("the server closed the connection before the end of the chunked body"));
    }
    compact();
    const std::size_t before = buffer_.size();
    std::string& sink = inflater_ ? raw_ : buffer_;
    std::string_view available = input.view();
    bool done = false;
    switch (framing_) {
      case Framing::length: {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, available.size()));
        sink.append(available.data(), n);
        input.consume(n);
        remaining_ -= n;
        raw_total_ += n;
        done = remaining_ == 0;
        break;
      }
      case Framing::chunked: {
        std::size_t used = 0;
        ParseError error;
        const std::size_t sink_before = sink.size();
        const auto result = chunked_.decode(available, used, sink, error);
        input.consume(used);
        raw_total_ += sink.size() - sink_before;
        if (result == ChunkedDecoder::Result::error)
          fail_payload(std::string("malformed chunked response body: ") + error.reason);
        done = result == ChunkedDecoder::Result::done;
        break;
      }
      case Framing::until_close:
        sink.append(available);
        raw_total_ += available.size();
        input.consume(available.size());
        break;
    }
    if (!inflater_) {
      decoded_total_ += buffer_.size() - before;
      if (max_body_ != 0 && decoded_total_ > max_body_)
        fail_payload(std::string("the response body exceeds the session's max_body_size (") +
                     std::to_string(max_body_) + " bytes)");
    }
    if (done) finish_framing();
    if (buffer_.size() > read_pos_) co_return true;
  }
}

void ResponseState::compact() noexcept {
  if (read_pos_ > 0 && read_pos_ * 2 >= buffer_.size()) {
    buffer_.erase(0, read_pos_);
    read_pos_ = 0;
  }
}

void ResponseState::inflate_pending() {
  // Bounded: a few KiB of gzip can hold megabytes; content() must not buffer them all.
  constexpr std::size_t kMaxDecodedPerFill = 64 * 1024;
  compact();
  const std::size_t decoded_before = buffer_.size();
  std::size_t used = 0;
  try {
    used = inflater_->feed(std::string_view(raw_).substr(raw_pos_), buffer_, decoded_total_, max_body_,
                           kMaxDecodedPerFill);
  } catch (const ClientPayloadError& e) {
    fail_payload(e.what());
  }
  if (used == 0 && buffer_.size() == decoded_before && !inflater_->finished())
    fail_payload("cannot decode the compressed response body: zlib makes no progress");
  raw_pos_ += used;
  if (inflater_->finished()) {
    raw_pos_ = raw_.size();                      // bytes after the end of the stream: ignored
    if (framing_done_) connection_.give_back();  // held by finish_framing() until now
  }
  if (raw_pos_ == raw_.size()) {  // the next fill() says whether the stream ended properly
    raw_.clear();
    raw_pos_ = 0;
  }
}

Coro<bool> ResponseState::discard(std::size_t limit) {
  std::size_t dropped = 0;
  for (;;) {
    dropped += buffered().size();
    consume(buffered().size());
    if (body_done()) co_return true;
    if (dropped > limit) {
      release();
      co_return false;
    }
    co_await fill();
  }
}

}  // namespace aio::http::detail

namespace aio::http {

namespace {
constexpr std::size_t kMaxLine = 64 * 1024;  // ResponseContent::readline()
}

// --- ResponseContent -------------------------------------------------------------------------

Coro<std::string> ResponseContent::read(long n) {
  if (n == 0) co_return std::string();
  if (n < 0) {
    for (;;) {
      bool more = co_await state_->fill();
      if (!more) break;
    }
    co_return state_->take(state_->buffered().size());
  }
  if (state_->buffered().empty()) co_await state_->fill();
  co_return state_->take(static_cast<std::size_t>(n));
}

Coro<std::string> ResponseContent::readany() {
  if (state_->buffered().empty()) co_await state_->fill();
  co_return state_->take(state_->buffered().size());
}

Coro<std::string> ResponseContent::readline() {
  std::size_t scanned = 0;
  for (;;) {
    std::string_view buffered = state_->buffered();
    const std::size_t newline = buffered.find('\n', scanned);
    if (newline != std::string_view::npos) co_return state_->take(newline + 1);
    if (buffered.size() > kMaxLine) {
      state_->release();
      throw ClientPayloadError("a line of the response body is longer than 64 KiB");
    }
    scanned = buffered.size();
    bool more = co_await state_->fill();
    if (!more) co_return state_->take(state_->buffered().size());
  }
}

Coro<std::string> ResponseContent::readexactly(std::size_t n) {
  while (state_->buffered().size() < n) {
    bool more = co_await state_->fill();
    if (!more) throw IncompleteReadError(state_->take(state_->buffered().size()), n);
  }
  co_return state_->take(n);
}

bool ResponseContent::at_eof() const noexcept { return state_->at_eof(); }

// --- ClientResponse --------------------------------------------------------------------------

ClientResponse::ClientResponse(std::unique_ptr<detail::ResponseState> state) noexcept : state_(std::move(state)) {
  content_.state_ = state_.get();
}

ClientResponse::ClientResponse(ClientResponse&& o) noexcept : state_(std::move(o.state_)) {
  content_.state_ = state_.get();
  o.content_.state_ = nullptr;
}

ClientResponse& ClientResponse::operator=(ClientResponse&& o) noexcept {
  if (this != &o) {
    release();
    state_ = std::move(o.state_);
    content_.state_ = state_.get();
    o.content_.state_ = nullptr;
  }
  return *this;
}

ClientResponse::~ClientResponse() { release(); }

int ClientResponse::status() const noexcept { return state_->status; }
std::string_view ClientResponse::reason() const noexcept { return state_->reason; }
int ClientResponse::version_minor() const noexcept { return state_->version_minor; }
const std::vector<HeaderField>& ClientResponse::headers() const noexcept { return state_->headers; }
std::string ClientResponse::url() const { return state_->url; }

std::optional<std::string> ClientResponse::header(std::string_view name) const {
  auto value = detail::find_header(state_->headers, name);
  if (!value) return std::nullopt;
  return std::string(*value);
}

Coro<std::string> ClientResponse::read() { return content_.read(-1); }

Coro<std::string> ClientResponse::text() { return content_.read(-1); }

Coro<nlohmann::json> ClientResponse::json() {
  std::string body = co_await content_.read(-1);
  try {
    co_return nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception& e) {
    throw ClientPayloadError(std::string("the response body is not valid JSON: ") + e.what());
  }
}

void ClientResponse::raise_for_status() {
  if (state_->status < 400) return;
  release();
  throw ClientResponseError(state_->status, std::to_string(state_->status) + ", message='" +
                                                std::string(state_->reason) + "', url='" + state_->url + "'");
}

void ClientResponse::release() noexcept {
  if (state_) state_->release();
}

}  // namespace aio::http
