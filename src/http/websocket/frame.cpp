// RFC 6455 framing. See frame.hpp.
#include "http/websocket/frame.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace aio::http::detail::ws {

HeaderResult parse_frame_header(std::string_view input, Role role, bool rsv1_allowed, FrameHeader& header,
                                FrameError& error) noexcept {
  if (input.size() < 2) return HeaderResult::incomplete;
  const auto b0 = static_cast<std::uint8_t>(input[0]);
  const auto b1 = static_cast<std::uint8_t>(input[1]);
  auto fail = [&](int code, const char* reason) {
    error = {code, reason};
    return HeaderResult::error;
  };
  if (b0 & 0x30) return fail(1002, "reserved bits RSV2/RSV3 set without an extension that defines them");
  header.rsv1 = (b0 & 0x40) != 0;
  if (header.rsv1 && !rsv1_allowed) return fail(1002, "reserved bit RSV1 set without permessage-deflate");
  header.fin = (b0 & 0x80) != 0;
  const std::uint8_t op = b0 & 0x0F;
  if (!(op <= 2 || (op >= 8 && op <= 10))) return fail(1002, "reserved opcode");
  header.opcode = static_cast<Opcode>(op);
  header.masked = (b1 & 0x80) != 0;
  if (role == Role::server && !header.masked) return fail(1002, "a client frame must be masked");
  if (role == Role::client && header.masked) return fail(1002, "a server frame must not be masked");
  std::uint64_t length = b1 & 0x7F;
  std::size_t pos = 2;
  if (is_control(header.opcode)) {
    if (!header.fin) return fail(1002, "a control frame must not be fragmented");
    if (length > 125) return fail(1002, "a control frame payload is over 125 bytes");
    if (header.rsv1) return fail(1002, "RSV1 set on a control frame");
  }
  if (length == 126) {
    if (input.size() < 4) return HeaderResult::incomplete;
    length =
        (static_cast<std::uint64_t>(static_cast<std::uint8_t>(input[2])) << 8) | static_cast<std::uint8_t>(input[3]);
    pos = 4;
  } else if (length == 127) {
    if (input.size() < 10) return HeaderResult::incomplete;
    length = 0;
    for (std::size_t i = 2; i < 10; ++i) length = (length << 8) | static_cast<std::uint8_t>(input[i]);
    if (length >> 63) return fail(1002, "the 64-bit payload length has its most significant bit set");
    pos = 10;
  }
  if (header.masked) {
    if (input.size() < pos + 4) return HeaderResult::incomplete;
    std::memcpy(&header.mask_key, input.data() + pos, 4);
    pos += 4;
  } else {
    header.mask_key = 0;
  }
  header.payload_length = length;
  header.header_size = pos;
  return HeaderResult::complete;
}

std::size_t apply_mask(char* data, std::size_t size, std::uint32_t mask_key, std::size_t offset) noexcept {
  // The key rotated so that its first byte lines up with data[0]; then 8 bytes per step.
  unsigned char key[4];
  std::memcpy(key, &mask_key, 4);
  unsigned char rotated[8];
  for (std::size_t i = 0; i < 8; ++i) rotated[i] = key[(offset + i) & 3];
  std::uint64_t key64;
  std::memcpy(&key64, rotated, 8);
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, data + i, 8);
    word ^= key64;
    std::memcpy(data + i, &word, 8);
  }
  for (; i < size; ++i) data[i] = static_cast<char>(data[i] ^ rotated[i & 7]);
  return (offset + size) & 3;
}

void append_frame_header(std::string& out, Opcode opcode, bool fin, bool rsv1, std::uint64_t payload_length,
                         bool masked, std::uint32_t mask_key) {
  char buf[14];
  std::size_t n = 0;
  buf[n++] = static_cast<char>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | static_cast<std::uint8_t>(opcode));
  const char mask_bit = masked ? static_cast<char>(0x80) : 0;
  if (payload_length < 126) {
    buf[n++] = static_cast<char>(mask_bit | static_cast<char>(payload_length));
  } else if (payload_length <= 0xFFFF) {
    buf[n++] = static_cast<char>(mask_bit | 126);
    buf[n++] = static_cast<char>(payload_length >> 8);
    buf[n++] = static_cast<char>(payload_length & 0xFF);
  } else {
    buf[n++] = static_cast<char>(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8) buf[n++] = static_cast<char>((payload_length >> shift) & 0xFF);
  }
  if (masked) {
    std::memcpy(buf + n, &mask_key, 4);
    n += 4;
  }
  out.append(buf, n);
}

void append_frame(std::string& out, Role sender, Opcode opcode, bool fin, bool rsv1, std::string_view payload) {
  const bool masked = sender == Role::client;
  const std::uint32_t key = masked ? random_mask_key() : 0;
  append_frame_header(out, opcode, fin, rsv1, payload.size(), masked, key);
  const std::size_t at = out.size();
  out.append(payload);
  if (masked) apply_mask(out.data() + at, payload.size(), key, 0);
}

std::uint32_t random_mask_key() {
  thread_local std::uint32_t keys[1024];
  thread_local std::size_t next = sizeof keys / sizeof keys[0];
  if (next == sizeof keys / sizeof keys[0]) {
    std::size_t got = 0;
    while (got < sizeof keys) {
      const ssize_t n = ::getrandom(reinterpret_cast<char*>(keys) + got, sizeof keys - got, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw std::system_error(errno, std::generic_category(), "WebSocket mask key: getrandom");
      }
      got += static_cast<std::size_t>(n);
    }
    next = 0;
  }
  return keys[next++];
}

bool is_valid_close_code(int code) noexcept {
  if (code >= 3000 && code <= 4999) return true;
  switch (code) {
    case 1000:
    case 1001:
    case 1002:
    case 1003:
    case 1007:
    case 1008:
    case 1009:
    case 1010:
    case 1011:
    case 1012:
    case 1013:
    case 1014:
      return true;
    default:
      return false;
  }
}

void append_close_payload(std::string& out, int code, std::string_view reason) {
  out.push_back(static_cast<char>((code >> 8) & 0xFF));
  out.push_back(static_cast<char>(code & 0xFF));
  out.append(reason);
}

}  // namespace aio::http::detail::ws
