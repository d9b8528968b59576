// RFC 6455 section 5: the WebSocket frame, shared by both ends. Parsing decides a frame
// header once, with every rule of the RFC that can be checked from the header alone (reserved
// bits, opcodes, control-frame limits, masking direction, the 63-bit length); serializing
// writes a header and, for a client, masks the payload.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace aio::http::detail::ws {

enum class Opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

inline bool is_control(Opcode op) noexcept { return (static_cast<std::uint8_t>(op) & 0x8) != 0; }

/// Which end this is: a server reads masked frames and sends unmasked ones; a client the
/// reverse (RFC 6455 section 5.1).
enum class Role : unsigned char { server, client };

struct FrameHeader {
  Opcode opcode = Opcode::continuation;
  bool fin = true;
  bool rsv1 = false;  // "compressed" under permessage-deflate (first frame of a message only)
  bool masked = false;
  std::uint32_t mask_key = 0;  // the 4 key bytes in wire order, as loaded from memory
  std::uint64_t payload_length = 0;
  std::size_t header_size = 0;  // 2 to 14 bytes
};

/// Why a frame is refused: the close code to send and a reason for the close frame.
struct FrameError {
  int code = 1002;
  const char* reason = "";
};

enum class HeaderResult : unsigned char { complete, incomplete, error };

/// Parses the frame header at the start of `input`, for a receiver in `role`.
/// `rsv1_allowed`: permessage-deflate was negotiated. Refused with 1002: RSV2/RSV3 set,
/// RSV1 without the extension or on a control frame, a reserved opcode, a fragmented or
/// over-125-byte control frame, a frame masked the wrong way, a 64-bit length with its top
/// bit set. (A length not in its shortest form is accepted: RFC 6455 does not forbid it.)
HeaderResult parse_frame_header(std::string_view input, Role role, bool rsv1_allowed, FrameHeader& header,
                                FrameError& error) noexcept;

/// XORs `data` with the mask key, starting `offset` bytes into the 4-byte key cycle
/// (a payload unmasked in pieces as it arrives). Returns the offset for the next piece.
std::size_t apply_mask(char* data, std::size_t size, std::uint32_t mask_key, std::size_t offset) noexcept;

/// Appends a frame header. `mask_key` is used only when `masked`.
void append_frame_header(std::string& out, Opcode opcode, bool fin, bool rsv1, std::uint64_t payload_length,
                         bool masked, std::uint32_t mask_key);

/// Appends a whole frame; a client's payload is masked with a fresh random key.
void append_frame(std::string& out, Role sender, Opcode opcode, bool fin, bool rsv1, std::string_view payload);

/// A mask key from the kernel's CSPRNG (RFC 6455 10.3: keys must be unpredictable),
/// fetched in batches so that a frame costs no system call.
std::uint32_t random_mask_key();

/// Close codes a peer may send (RFC 6455 7.4, the IANA registry's 1012-1014, and the
/// 3000-4999 ranges for libraries and applications). 1005, 1006 and 1015 are never sent.
bool is_valid_close_code(int code) noexcept;

/// The payload of a close frame: the code in network order, then the reason.
void append_close_payload(std::string& out, int code, std::string_view reason);

}  // namespace aio::http::detail::ws
