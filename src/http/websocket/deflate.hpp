// permessage-deflate (RFC 7692): negotiating its parameters in the handshake, and the
// compressor/decompressor pair of one connection (zlib's raw deflate).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "http/websocket/frame.hpp"

namespace aio::http::detail::ws {

/// The parameters both ends agreed on (RFC 7692 section 7.1). "server_*" limit what the
/// server sends, "client_*" what the client sends.
struct DeflateParams {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  int server_max_window_bits = 15;
  int client_max_window_bits = 15;
};

/// What this end asks for or accepts beyond the defaults.
struct DeflateConfig {
  bool server_no_context_takeover = false;  // server: reset the compressor per message
  bool client_no_context_takeover = false;
};

/// Server side: picks the first acceptable permessage-deflate offer of a
/// Sec-WebSocket-Extensions value (several header lines joined with ","). Returns the
/// agreed parameters and the response's extension value; nullopt when none is acceptable
/// (the connection goes on uncompressed). An offer is declined for unknown or repeated
/// parameters, bad window sizes, and server_max_window_bits=8 (zlib cannot compress
/// within a 256-byte window).
std::optional<DeflateParams> negotiate_deflate(std::string_view offers, const DeflateConfig& config,
                                               std::string& response);

/// Client side: the offer to send.
std::string deflate_offer(const DeflateConfig& config);

/// Client side: checks the server's answer to our offer. Throws std::invalid_argument
/// (saying what is wrong) when the server answered what we may not accept.
DeflateParams accept_deflate_response(std::string_view response, const DeflateConfig& config);

/// Compression state of one connection, for one role.
class DeflateCodec {
 public:
  DeflateCodec(Role role, const DeflateParams& params);
  ~DeflateCodec();
  DeflateCodec(const DeflateCodec&) = delete;
  DeflateCodec& operator=(const DeflateCodec&) = delete;

  /// Replaces `out` with the compressed message (the trailing 00 00 FF FF removed).
  void compress(std::string_view message, std::string& out);

  enum class InflateResult : unsigned char { ok, too_big, corrupt };
  /// Inflates a whole compressed message (`in` is extended with 00 00 FF FF in place)
  /// into `out`, stopping as soon as it would exceed `max_size` (0: no limit), so a small
  /// "deflate bomb" costs no more than the limit.
  InflateResult decompress(std::string& in, std::string& out, std::size_t max_size);

 private:
  struct Streams;
  std::unique_ptr<Streams> streams_;
  bool reset_compressor_;    // our no_context_takeover
  bool reset_decompressor_;  // the peer's
};

}  // namespace aio::http::detail::ws
