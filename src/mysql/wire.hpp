// The MySQL client/server protocol's encodings: little-endian integers, length-encoded
// integers and strings, and the constants aio::mysql uses.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "aio/mysql/errors.hpp"

namespace aio::mysql::detail {

// Capability flags (CLIENT_*).
inline constexpr std::uint32_t kClientLongPassword = 1;
inline constexpr std::uint32_t kClientLongFlag = 4;
inline constexpr std::uint32_t kClientConnectWithDb = 8;
inline constexpr std::uint32_t kClientProtocol41 = 512;
inline constexpr std::uint32_t kClientSsl = 2048;
inline constexpr std::uint32_t kClientTransactions = 8192;
inline constexpr std::uint32_t kClientSecureConnection = 32768;
inline constexpr std::uint32_t kClientMultiStatements = 1u << 16;
inline constexpr std::uint32_t kClientMultiResults = 1u << 17;
inline constexpr std::uint32_t kClientPsMultiResults = 1u << 18;
inline constexpr std::uint32_t kClientPluginAuth = 1u << 19;
inline constexpr std::uint32_t kClientPluginAuthLenencData = 1u << 21;
inline constexpr std::uint32_t kClientDeprecateEof = 1u << 24;

// Server status flags (SERVER_*).
inline constexpr std::uint16_t kStatusInTrans = 1;
inline constexpr std::uint16_t kStatusAutocommit = 2;
inline constexpr std::uint16_t kStatusMoreResults = 8;
inline constexpr std::uint16_t kStatusNoBackslashEscapes = 512;

// Commands (COM_*).
inline constexpr char kComQuit = 0x01;
inline constexpr char kComQuery = 0x03;
inline constexpr char kComPing = 0x0e;
inline constexpr char kComStmtPrepare = 0x16;
inline constexpr char kComStmtExecute = 0x17;
inline constexpr char kComStmtClose = 0x19;
inline constexpr char kComResetConnection = 0x1f;

inline constexpr std::size_t kMaxPacketPayload = 0xffffff;

[[noreturn]] inline void throw_malformed(const char* what) {
  throw InterfaceError(2027, "HY000", std::string("malformed packet from the server: ") + what);
}

/// Reads the protocol's encodings from a packet's payload, bounds-checked.
class PacketParser {
 public:
  explicit PacketParser(std::string_view payload) noexcept : data_(payload) {}

  bool at_end() const noexcept { return pos_ >= data_.size(); }
  std::size_t remaining() const noexcept { return data_.size() - pos_; }
  std::uint8_t peek() const {
    need(1);
    return static_cast<std::uint8_t>(data_[pos_]);
  }
  std::uint64_t fixed(int bytes) {
    need(static_cast<std::size_t>(bytes));
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i)
      v |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(data_[pos_ + i])) << (8 * i);
    pos_ += static_cast<std::size_t>(bytes);
    return v;
  }
  std::uint8_t u8() { return static_cast<std::uint8_t>(fixed(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(fixed(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(fixed(4)); }
  std::uint64_t lenenc() {
    std::uint8_t first = u8();
    if (first < 0xfb) return first;
    if (first == 0xfc) return fixed(2);
    if (first == 0xfd) return fixed(3);
    if (first == 0xfe) return fixed(8);
    throw_malformed("bad length-encoded integer");
  }
  std::string_view bytes(std::size_t n) {
    need(n);
    std::string_view v = data_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  std::string_view lenenc_bytes() { return bytes(checked(lenenc())); }
  std::string_view null_terminated() {
    std::size_t end = data_.find('\0', pos_);
    if (end == std::string_view::npos) throw_malformed("unterminated string");
    std::string_view v = data_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return v;
  }
  std::string_view rest() {
    std::string_view v = data_.substr(pos_);
    pos_ = data_.size();
    return v;
  }
  void skip(std::size_t n) { bytes(n); }

 private:
  void need(std::size_t n) const {
    if (n > remaining()) throw_malformed("truncated");
  }
  std::size_t checked(std::uint64_t n) const {
    if (n > remaining()) throw_malformed("a length past the packet's end");
    return static_cast<std::size_t>(n);
  }
  std::string_view data_;
  std::size_t pos_ = 0;
};

inline void put_fixed(std::string& out, std::uint64_t v, int bytes) {
  char le[8];
  for (int i = 0; i < bytes; ++i) le[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out.append(le, static_cast<std::size_t>(bytes));  // one append, not a push_back per byte
}
/// How many bytes put_lenenc writes for v.
inline std::size_t lenenc_size(std::uint64_t v) { return v < 0xfb ? 1 : v <= 0xffff ? 3 : v <= 0xffffff ? 4 : 9; }
inline void put_lenenc(std::string& out, std::uint64_t v) {
  if (v < 0xfb) {
    out += static_cast<char>(v);
  } else if (v <= 0xffff) {
    out += static_cast<char>(0xfc);
    put_fixed(out, v, 2);
  } else if (v <= 0xffffff) {
    out += static_cast<char>(0xfd);
    put_fixed(out, v, 3);
  } else {
    out += static_cast<char>(0xfe);
    put_fixed(out, v, 8);
  }
}
inline void put_lenenc_bytes(std::string& out, std::string_view s) {
  put_lenenc(out, s.size());
  out += s;
}

}  // namespace aio::mysql::detail
