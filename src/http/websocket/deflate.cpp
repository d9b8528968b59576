// See deflate.hpp.
#include "http/websocket/deflate.hpp"

#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <new>
#include <stdexcept>
#include <vector>

#include "http/parser.hpp"

namespace aio::http::detail::ws {
namespace {

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits on `sep`, outside double quotes.
std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  bool quoted = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '"') quoted = !quoted;
    if (s[i] == sep && !quoted) {
      parts.push_back(trim(s.substr(start, i - start)));
      start = i + 1;
    }
  }
  parts.push_back(trim(s.substr(start)));
  return parts;
}

// A window-bits value: 8..15, optionally quoted. nullopt when malformed.
std::optional<int> window_bits(std::string_view v) noexcept {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  int bits = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), bits);
  if (ec != std::errc() || end != v.data() + v.size() || bits < 8 || bits > 15) return std::nullopt;
  if (v.size() > 1 && v[0] == '0') return std::nullopt;
  return bits;
}

// Parses one extension's parameters. `client_bits_bare` tells whether client_max_window_bits
// came without a value (allowed in an offer only). False for anything malformed.
struct Parsed {
  DeflateParams params;
  bool server_bits_given = false;
  bool client_bits_given = false;
  bool client_bits_bare = false;
};

std::optional<Parsed> parse_deflate(const std::vector<std::string_view>& items) {
  Parsed p;
  bool seen[4] = {};
  for (std::size_t i = 1; i < items.size(); ++i) {
    std::string_view item = items[i];
    const std::size_t eq = item.find('=');
    const std::string_view name = trim(item.substr(0, eq));
    const std::optional<std::string_view> value =
        eq == std::string_view::npos ? std::nullopt : std::optional<std::string_view>(trim(item.substr(eq + 1)));
    int which = -1;
    if (iequals(name, "server_no_context_takeover"))
      which = 0;
    else if (iequals(name, "client_no_context_takeover"))
      which = 1;
    else if (iequals(name, "server_max_window_bits"))
      which = 2;
    else if (iequals(name, "client_max_window_bits"))
      which = 3;
    if (which < 0 || seen[which]) return std::nullopt;  // unknown or repeated
    seen[which] = true;
    switch (which) {
      case 0:
      case 1:
        if (value) return std::nullopt;
        (which == 0 ? p.params.server_no_context_takeover : p.params.client_no_context_takeover) = true;
        break;
      case 2: {
        if (!value) return std::nullopt;
        const auto bits = window_bits(*value);
        if (!bits) return std::nullopt;
        p.params.server_max_window_bits = *bits;
        p.server_bits_given = true;
        break;
      }
      default: {
        p.client_bits_given = true;
        if (!value) {
          p.client_bits_bare = true;
          break;
        }
        const auto bits = window_bits(*value);
        if (!bits) return std::nullopt;
        p.params.client_max_window_bits = *bits;
        break;
      }
    }
  }
  return p;
}

}  // namespace

std::optional<DeflateParams> negotiate_deflate(std::string_view offers, const DeflateConfig& config,
                                               std::string& response) {
  for (std::string_view offer : split(offers, ',')) {
    const std::vector<std::string_view> items = split(offer, ';');
    if (!iequals(items[0], "permessage-deflate")) continue;
    std::optional<Parsed> parsed = parse_deflate(items);
    if (!parsed) continue;
    DeflateParams agreed = parsed->params;
    if (agreed.server_max_window_bits == 8) continue;  // zlib's raw deflate cannot keep to 256 bytes
    agreed.server_no_context_takeover |= config.server_no_context_takeover;
    agreed.client_no_context_takeover |= config.client_no_context_takeover;
    if (parsed->client_bits_bare) agreed.client_max_window_bits = 15;
    response = "permessage-deflate";
    if (agreed.server_no_context_takeover) response += "; server_no_context_takeover";
    if (agreed.client_no_context_takeover) response += "; client_no_context_takeover";
    if (parsed->server_bits_given)
      response += std::string("; server_max_window_bits=") + std::to_string(agreed.server_max_window_bits);
    if (parsed->client_bits_given && !parsed->client_bits_bare)
      response += std::string("; client_max_window_bits=") + std::to_string(agreed.client_max_window_bits);
    return agreed;
  }
  return std::nullopt;
}

std::string deflate_offer(const DeflateConfig& config) {
  std::string offer = "permessage-deflate";
  if (config.server_no_context_takeover) offer += "; server_no_context_takeover";
  if (config.client_no_context_takeover) offer += "; client_no_context_takeover";
  offer += "; client_max_window_bits";
  return offer;
}

DeflateParams accept_deflate_response(std::string_view response, const DeflateConfig& config) {
  const std::vector<std::string_view> extensions = split(response, ',');
  if (extensions.size() != 1)
    throw std::invalid_argument("the server accepted more than one extension (only permessage-deflate was offered)");
  const std::vector<std::string_view> items = split(extensions[0], ';');
  if (!iequals(items[0], "permessage-deflate"))
    throw std::invalid_argument(std::string("the server accepted an extension that was not offered: ") +
                                std::string(items[0]));
  std::optional<Parsed> parsed = parse_deflate(items);
  if (!parsed || parsed->client_bits_bare)
    throw std::invalid_argument("malformed permessage-deflate parameters in the server's answer: " +
                                std::string(extensions[0]));
  if (config.server_no_context_takeover && !parsed->params.server_no_context_takeover)
    throw std::invalid_argument("the server refused server_no_context_takeover");
  if (parsed->params.client_max_window_bits == 8)
    throw std::invalid_argument("the server asked for client_max_window_bits=8, which zlib cannot keep to");
  return parsed->params;
}

// --- the codec ----------------------------------------------------------------------------

struct DeflateCodec::Streams {
  z_stream deflater{};
  z_stream inflater{};
};

DeflateCodec::DeflateCodec(Role role, const DeflateParams& params) : streams_(std::make_unique<Streams>()) {
  const bool server = role == Role::server;
  const int own_bits = server ? params.server_max_window_bits : params.client_max_window_bits;
  reset_compressor_ = server ? params.server_no_context_takeover : params.client_no_context_takeover;
  reset_decompressor_ = server ? params.client_no_context_takeover : params.server_no_context_takeover;
  if (deflateInit2(&streams_->deflater, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -own_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::bad_alloc();
  // 15 bits take any window the peer may use.
  if (inflateInit2(&streams_->inflater, -15) != Z_OK) {
    deflateEnd(&streams_->deflater);
    throw std::bad_alloc();
  }
}

DeflateCodec::~DeflateCodec() {
  deflateEnd(&streams_->deflater);
  inflateEnd(&streams_->inflater);
}

void DeflateCodec::compress(std::string_view message, std::string& out) {
  z_stream& z = streams_->deflater;
  out.resize(deflateBound(&z, static_cast<uLong>(message.size())) + 16);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(message.data()));
  z.avail_in = static_cast<uInt>(message.size());
  std::size_t produced = 0;
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    z.avail_out = static_cast<uInt>(out.size() - produced);
    deflate(&z, Z_SYNC_FLUSH);
    produced = out.size() - z.avail_out;
    if (z.avail_out != 0) break;  // all of it flushed
    out.resize(out.size() * 2);
  }
  // RFC 7692 7.2.1: drop the empty stored block's 00 00 FF FF that ends a sync flush.
  if (produced >= 4) produced -= 4;
  out.resize(produced);
  // Nothing new to flush (an empty message after another): zlib emits nothing, but an
  // empty payload is no valid deflate data. RFC 7692 7.2.3.6: send a single 0x00.
  if (out.empty()) out.push_back('\0');
  if (reset_compressor_) deflateReset(&z);
}

DeflateCodec::InflateResult DeflateCodec::decompress(std::string& in, std::string& out, std::size_t max_size) {
  z_stream& z = streams_->inflater;
  out.clear();
  if (in.empty()) return InflateResult::ok;  // lenient: an empty message sent as no bytes at all
  in.append("\x00\x00\xff\xff", 4);
  z.next_in = reinterpret_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  constexpr std::size_t kStep = 16 * 1024;
  InflateResult result = InflateResult::ok;
  bool stream_ended = false;
  for (;;) {
    std::size_t room = std::max(out.capacity(), out.size() + kStep) - out.size();
    if (max_size != 0) room = std::min(room, max_size + 1 - out.size());  // one byte over the limit tells
    const std::size_t before = out.size();
    out.resize(before + room);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + before);
    z.avail_out = static_cast<uInt>(room);
    const int rc = inflate(&z, Z_SYNC_FLUSH);
    out.resize(before + room - z.avail_out);
    if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END) {
      result = InflateResult::corrupt;
      break;
    }
    if (max_size != 0 && out.size() > max_size) {
      result = InflateResult::too_big;
      break;
    }
    if (z.avail_in == 0 && z.avail_out != 0) break;  // all input used, all output out
    if (rc == Z_BUF_ERROR && z.avail_out != 0) {
      result = InflateResult::corrupt;  // no progress possible
      break;
    }
    if (rc == Z_STREAM_END) {  // a final block (BFINAL): the next message starts a new stream
      stream_ended = true;
      break;
    }
  }
  if (reset_decompressor_ || stream_ended || result != InflateResult::ok) inflateReset(&z);
  return result;
}

}  // namespace aio::http::detail::ws
