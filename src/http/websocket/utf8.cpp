// See utf8.hpp.
#include "http/websocket/utf8.hpp"

#include <cstring>

namespace aio::http::detail::ws {

bool Utf8Validator::feed(std::string_view piece) noexcept {
  if (!valid_) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(piece.data());
  const auto* end = p + piece.size();
  while (p < end) {
    if (need_ == 0) {
      // ASCII runs, 8 bytes at a time: the common case for text.
      while (end - p >= 8) {
        std::uint64_t word;
        std::memcpy(&word, p, 8);
        if (word & 0x8080808080808080ULL) break;
        p += 8;
      }
      if (p == end) break;
      const unsigned char c = *p++;
      if (c < 0x80) continue;
      lower_ = 0x80;
      upper_ = 0xBF;
      if (c >= 0xC2 && c <= 0xDF) {
        need_ = 1;
      } else if (c >= 0xE0 && c <= 0xEF) {
        need_ = 2;
        if (c == 0xE0) lower_ = 0xA0;  // overlong
        if (c == 0xED) upper_ = 0x9F;  // UTF-16 surrogates
      } else if (c >= 0xF0 && c <= 0xF4) {
        need_ = 3;
        if (c == 0xF0) lower_ = 0x90;  // overlong
        if (c == 0xF4) upper_ = 0x8F;  // over U+10FFFF
      } else {
        valid_ = false;  // 0x80-0xC1 (continuation or overlong lead), 0xF5-0xFF
        return false;
      }
      continue;
    }
    const unsigned char c = *p++;
    if (c < lower_ || c > upper_) {
      valid_ = false;
      return false;
    }
    lower_ = 0x80;
    upper_ = 0xBF;
    --need_;
  }
  return true;
}

bool is_valid_utf8(std::string_view text) noexcept {
  Utf8Validator v;
  return v.feed(text) && v.complete();
}

}  // namespace aio::http::detail::ws
