// The WebSocket protocol engine. See protocol.hpp.
#include "http/websocket/protocol.hpp"

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "aio/errors.hpp"
#include "aio/loop.hpp"
#include "aio/timeout.hpp"
#include "http/connection.hpp"
#include "net/stream_core.hpp"

namespace aio::http::detail::ws {
namespace {

// Past this much unsent output (pongs to a peer that does not read), receive() waits for
// it to drain before reading more.
constexpr std::size_t kMaxQueuedControl = 64 * 1024;
// The outgoing scratch buffer is kept between messages up to this size.
constexpr std::size_t kKeepScratch = 256 * 1024;

[[noreturn]] void throw_closing(const char* what) {
  throw std::system_error(ECONNRESET, std::generic_category(),
                          std::string(what) + ": the WebSocket is closing or closed (no more messages can be sent)");
}

Coro<void> discard_until_eof(aio::detail::StreamCore* core) {
  for (;;) {
    const bool more = co_await core->fill();
    if (!more) break;
    core->input().clear();
  }
}

}  // namespace

Settings settings_from(const WebSocketOptions& options) {
  Settings settings;
  settings.max_msg_size = options.max_msg_size;
  settings.heartbeat = options.heartbeat.seconds();
  settings.close_timeout = options.close_timeout.seconds();
  settings.max_frame_size = options.max_frame_size;
  settings.autoping = options.autoping;
  return settings;
}

Protocol::Protocol(Role role, aio::detail::StreamCore* core, const Settings& settings,
                   std::optional<DeflateParams> deflate, std::string protocol)
    : role_(role), core_(core), settings_(settings), protocol_(std::move(protocol)) {
  core_->add_ref();
  if (deflate) codec_ = std::make_unique<DeflateCodec>(role, *deflate);
  if (settings_.heartbeat > 0) {
    last_frame_at_ = get_running_loop().time();
    schedule_heartbeat();
  }
}

Protocol::~Protocol() {
  if (connection_) connection_->detach_websocket(this);
  if (heartbeat_timer_) heartbeat_timer_->cancel();
  if (pong_timer_) pong_timer_->cancel();
  if (state_ == State::open && !close_sent_ && !core_->is_closing()) {
    try {
      write_close_frame(1001, "");
    } catch (...) {  // nothing to tell anyone: the connection is going away either way
    }
  }
  core_->release();
}

// --- receiving ----------------------------------------------------------------------------

Coro<WSMessage> Protocol::receive() {
  if (receiving_) throw UsageError("WebSocket.receive: another task is receiving already (one reader at a time)");
  if (state_ == State::closed) {
    WSMessage m;
    m.type = heartbeat_failed_ && !closed_reported_ ? WSMsgType::error : WSMsgType::closed;
    if (m.type == WSMsgType::error) m.data = "no pong arrived within half the heartbeat";
    closed_reported_ = true;
    m.close_code = close_code_.value_or(1006);
    co_return m;
  }
  receiving_ = true;
  struct Unmark {
    bool& flag;
    ~Unmark() { flag = false; }
  } unmark{receiving_};
  for (;;) {
    if (std::optional<WSMessage> msg = parse_available()) {
      if (msg->type == WSMsgType::error) {
        // Let the peer read our close frame: half-close, drop what it still sends until it
        // closes (a close with unread input would reset the connection, close frame and all).
        try {
          if (core_->can_write_eof()) core_->write_eof();
          co_await aio::wait_for(discard_until_eof(core_), std::min(settings_.close_timeout, 2.0));
        } catch (const TimeoutError&) {
        } catch (const std::system_error&) {
        }
        core_->close();
      }
      co_return std::move(*msg);
    }
    if (core_->write_buffered() > kMaxQueuedControl) {
      try {
        co_await core_->drain();
      } catch (const std::system_error& e) {
        co_return connection_lost(e.what());
      }
    }
    bool more = false;
    try {
      more = co_await core_->fill();
    } catch (const std::system_error& e) {
      co_return connection_lost(e.what());
    }
    if (!more) co_return connection_lost("the connection ended without a close frame");
  }
}

std::optional<WSMessage> Protocol::parse_available() {
  auto& in = core_->input();
  for (;;) {
    if (!in_frame_) {
      FrameHeader h;
      FrameError error;
      const HeaderResult r = parse_frame_header(in.view(), role_, codec_ != nullptr, h, error);
      if (r == HeaderResult::incomplete) return std::nullopt;
      if (r == HeaderResult::error) return fail(error.code, error.reason);
      if (settings_.heartbeat > 0) last_frame_at_ = get_running_loop().time();
      if (is_control(h.opcode)) {
        const std::size_t size = h.header_size + static_cast<std::size_t>(h.payload_length);
        if (in.size() < size) return std::nullopt;  // control frames are handled whole (<= 139 bytes)
        char payload[125];
        const auto n = static_cast<std::size_t>(h.payload_length);
        std::copy_n(in.data() + h.header_size, n, payload);
        in.consume(size);
        if (h.masked) apply_mask(payload, n, h.mask_key, 0);
        if (std::optional<WSMessage> m = on_control(h.opcode, std::string_view(payload, n))) return m;
        if (state_ == State::closed) return std::nullopt;
        continue;
      }
      if (h.opcode == Opcode::continuation) {
        if (message_opcode_ == Opcode::continuation)
          return fail(1002, "a continuation frame without a message to continue");
        if (h.rsv1) return fail(1002, "RSV1 set on a continuation frame");
      } else {
        if (message_opcode_ != Opcode::continuation)
          return fail(1002, "a new data frame before the fragmented message ended");
        message_opcode_ = h.opcode;
        message_compressed_ = h.rsv1;
        message_.clear();
        utf8_.reset();
      }
      if (settings_.max_msg_size != 0 && h.payload_length > settings_.max_msg_size - message_.size())
        return fail(1009, std::string("message too big (over max_msg_size = ") +
                              std::to_string(settings_.max_msg_size) + " bytes)");
      in.consume(h.header_size);
      in_frame_ = true;
      frame_ = h;
      frame_remaining_ = h.payload_length;
      mask_offset_ = 0;
    }
    const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(in.size(), frame_remaining_));
    if (take > 0) {
      const std::size_t at = message_.size();
      message_.append(in.data(), take);
      in.consume(take);
      if (frame_.masked) mask_offset_ = apply_mask(message_.data() + at, take, frame_.mask_key, mask_offset_);
      frame_remaining_ -= take;
      if (message_opcode_ == Opcode::text && !message_compressed_ &&
          !utf8_.feed(std::string_view(message_.data() + at, take)))
        return fail(1007, "invalid UTF-8 in a text message");
    }
    if (frame_remaining_ > 0) return std::nullopt;
    in_frame_ = false;
    if (frame_.fin) return finish_message();
  }
}

std::optional<WSMessage> Protocol::finish_message() {
  const Opcode opcode = std::exchange(message_opcode_, Opcode::continuation);
  if (message_compressed_) {
    switch (codec_->decompress(message_, inflated_, settings_.max_msg_size)) {
      case DeflateCodec::InflateResult::ok:
        break;
      case DeflateCodec::InflateResult::too_big:
        return fail(1009, "message too big once inflated (over max_msg_size = " +
                              std::to_string(settings_.max_msg_size) + " bytes)");
      case DeflateCodec::InflateResult::corrupt:
        return fail(1007, "the compressed message is not valid deflate data");
    }
    message_.swap(inflated_);
    if (inflated_.capacity() > kKeepScratch) std::string().swap(inflated_);
    if (opcode == Opcode::text && !is_valid_utf8(message_)) return fail(1007, "invalid UTF-8 in a text message");
  } else if (opcode == Opcode::text && !utf8_.complete()) {
    return fail(1007, "a text message ends inside a UTF-8 sequence");
  }
  WSMessage m;
  m.type = opcode == Opcode::text ? WSMsgType::text : WSMsgType::binary;
  m.data = std::move(message_);
  message_ = std::string();
  return m;
}

std::optional<WSMessage> Protocol::on_control(Opcode opcode, std::string_view payload) {
  switch (opcode) {
    case Opcode::ping:
      if (!settings_.autoping) return WSMessage{WSMsgType::ping, std::string(payload), 0};
      if (!close_sent_) write_frame(Opcode::pong, true, false, payload);
      return std::nullopt;
    case Opcode::pong:
      if (!settings_.autoping) return WSMessage{WSMsgType::pong, std::string(payload), 0};
      return std::nullopt;
    default:
      return on_close_frame(payload);
  }
}

std::optional<WSMessage> Protocol::on_close_frame(std::string_view payload) {
  int code = 1005;
  std::string_view reason;
  if (payload.size() == 1) return fail(1002, "a close frame with a one-byte payload");
  if (payload.size() >= 2) {
    code = (static_cast<std::uint8_t>(payload[0]) << 8) | static_cast<std::uint8_t>(payload[1]);
    if (!is_valid_close_code(code)) return fail(1002, std::string("invalid close code ") + std::to_string(code));
    reason = payload.substr(2);
    if (!is_valid_utf8(reason)) return fail(1007, "the close reason is not valid UTF-8");
  }
  close_received_ = true;
  close_code_ = code;
  state_ = State::closed;
  closed_reported_ = true;
  const bool we_started = close_sent_;
  if (!close_sent_) write_close_frame(code == 1005 ? 1000 : code, reason);  // echoed, as Python's websockets does
  if (heartbeat_timer_) heartbeat_timer_->cancel();
  if (pong_timer_) pong_timer_->cancel();
  // RFC 6455 7.1.1: the server closes the TCP connection first; a client that started
  // the handshake waits for that in close().
  if (role_ == Role::server || !we_started) core_->close();
  peer_closed_.set();
  return WSMessage{WSMsgType::close, std::string(reason), code};
}

WSMessage Protocol::fail(int code, std::string reason) {
  if (!close_sent_ && !core_->is_closing()) {
    try {
      write_close_frame(code,
                        reason.size() <= 123 ? std::string_view(reason) : std::string_view(reason).substr(0, 123));
    } catch (...) {
    }
  }
  state_ = State::closed;
  closed_reported_ = true;
  close_code_ = code;
  in_frame_ = false;
  message_opcode_ = Opcode::continuation;
  if (heartbeat_timer_) heartbeat_timer_->cancel();
  if (pong_timer_) pong_timer_->cancel();
  peer_closed_.set();
  return WSMessage{WSMsgType::error, std::move(reason), code};
}

WSMessage Protocol::connection_lost(std::string why) {
  const bool was_closed = state_ == State::closed;
  state_ = State::closed;
  if (!close_code_ || heartbeat_failed_) close_code_ = 1006;
  core_->close();
  if (heartbeat_timer_) heartbeat_timer_->cancel();
  if (pong_timer_) pong_timer_->cancel();
  peer_closed_.set();
  WSMessage m;
  m.close_code = *close_code_;
  if (heartbeat_failed_ && !closed_reported_) {
    m.type = WSMsgType::error;
    m.data =
        std::string("no pong arrived within half the heartbeat (") + std::to_string(settings_.heartbeat / 2) + " s)";
  } else {
    m.type = WSMsgType::closed;
    m.data = was_closed ? std::string() : std::move(why);
  }
  closed_reported_ = true;
  return m;
}

// --- sending ------------------------------------------------------------------------------

void Protocol::write_frame(Opcode opcode, bool fin, bool rsv1, std::string_view payload) {
  out_.clear();
  append_frame(out_, role_, opcode, fin, rsv1, payload);
  core_->write(out_);
}

void Protocol::write_close_frame(int code, std::string_view reason) {
  close_sent_ = true;
  std::string payload;
  append_close_payload(payload, code, reason);
  write_frame(Opcode::close, true, false, payload);
}

Coro<void> Protocol::drain() { co_await core_->drain(); }

Coro<void> Protocol::send_message(Opcode opcode, std::string_view payload) {
  if (closed() || core_->is_closing())
    throw_closing(opcode == Opcode::text ? "WebSocket.send_str" : "WebSocket.send_bytes");
  std::string_view data = payload;
  bool rsv1 = false;
  if (codec_) {
    codec_->compress(payload, inflated_out_);
    data = inflated_out_;
    rsv1 = true;
  }
  out_.clear();
  const std::size_t frame_size = settings_.max_frame_size != 0 ? settings_.max_frame_size : data.size();
  std::size_t pos = 0;
  bool first = true;
  do {
    const std::size_t n = std::min(frame_size, data.size() - pos);
    const bool fin = pos + n == data.size();
    append_frame(out_, role_, first ? opcode : Opcode::continuation, fin, first && rsv1, data.substr(pos, n));
    first = false;
    pos += n;
  } while (pos < data.size());
  core_->write(out_);  // every frame of the message in one write: no other message can interleave
  if (out_.capacity() > kKeepScratch) std::string().swap(out_);
  if (inflated_out_.capacity() > kKeepScratch) std::string().swap(inflated_out_);
  co_await core_->drain();
}

Coro<void> Protocol::send_control(Opcode opcode, std::string_view payload) {
  if (payload.size() > 125)
    throw std::invalid_argument(std::string("WebSocket.ping/pong: the payload is ") + std::to_string(payload.size()) +
                                " bytes; a control frame carries at most 125");
  if (closed() || core_->is_closing()) throw_closing(opcode == Opcode::ping ? "WebSocket.ping" : "WebSocket.pong");
  write_frame(opcode, true, false, payload);
  co_await core_->drain();
}

// --- closing ------------------------------------------------------------------------------

Coro<bool> Protocol::close(int code, std::string_view reason) {
  if (!is_valid_close_code(code))
    throw std::invalid_argument(std::string("WebSocket.close: ") + std::to_string(code) +
                                " is not a close code to send (1000-1003, 1007-1014, 3000-4999)");
  if (reason.size() > 123)
    throw std::invalid_argument("WebSocket.close: the reason is over 123 bytes (a close frame carries at most 125)");
  if (close_sent_ || state_ == State::closed) co_return false;
  if (core_->is_closing()) {
    state_ = State::closed;
    co_return false;
  }
  write_close_frame(code, reason);
  if (!close_code_) close_code_ = code;
  try {
    co_await aio::wait_for(close_handshake(), settings_.close_timeout);
  } catch (const TimeoutError&) {
    core_->abort();  // the peer does not answer: give up on it
  } catch (const std::system_error&) {
  }
  state_ = State::closed;
  core_->close();
  co_return true;
}

Coro<void> Protocol::close_handshake() {
  co_await core_->drain();
  if (receiving_) {
    co_await peer_closed_.wait();  // the receiving task sees the answer
  } else {
    while (state_ != State::closed) (void)co_await receive();
  }
  // RFC 6455 7.1.1: the server closes the TCP connection first.
  if (role_ == Role::client) co_await discard_until_eof(core_);
}

void Protocol::going_away() noexcept {
  if (state_ != State::open || close_sent_ || core_->is_closing()) return;
  try {
    write_close_frame(1001, "server shutting down");
  } catch (...) {
  }
}

// --- heartbeat ----------------------------------------------------------------------------

void Protocol::schedule_heartbeat() {
  heartbeat_timer_ = get_running_loop().call_at(last_frame_at_ + settings_.heartbeat, [this] { on_heartbeat(); });
}

void Protocol::on_heartbeat() noexcept {
  if (closed() || core_->is_closing()) return;
  EventLoop& loop = get_running_loop();
  if (loop.time() < last_frame_at_ + settings_.heartbeat) {  // the peer spoke meanwhile
    schedule_heartbeat();
    return;
  }
  try {
    write_frame(Opcode::ping, true, false, {});
  } catch (...) {
    return;
  }
  ping_sent_at_ = loop.time();
  pong_timer_ = loop.call_later(settings_.heartbeat / 2, [this] { on_pong_deadline(); });
}

void Protocol::on_pong_deadline() noexcept {
  if (closed() || core_->is_closing()) return;
  if (last_frame_at_ >= ping_sent_at_) {  // a pong (or anything) came back
    schedule_heartbeat();
    return;
  }
  heartbeat_failed_ = true;
  close_code_ = 1006;
  state_ = State::closed;
  core_->abort();  // a receive in progress sees the end and reports the error
}

}  // namespace aio::http::detail::ws
