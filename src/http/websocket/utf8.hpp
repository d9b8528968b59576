// An incremental UTF-8 validator (RFC 3629) for text messages that arrive in pieces: a
// code point may be split across frames or reads, and an invalid byte is found as soon as
// it arrives (fail fast, as Autobahn's case 6.4 expects).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace aio::http::detail::ws {

class Utf8Validator {
 public:
  /// Checks the next piece. False once the text is invalid (sticky until reset()).
  bool feed(std::string_view piece) noexcept;
  /// True when the text fed so far ends on a code point boundary (a message may end here).
  bool complete() const noexcept { return need_ == 0 && valid_; }
  void reset() noexcept { *this = Utf8Validator(); }

 private:
  std::uint8_t need_ = 0;      // continuation bytes still expected
  std::uint8_t lower_ = 0x80;  // bounds of the next continuation byte (overlongs, surrogates,
  std::uint8_t upper_ = 0xBF;  // code points over U+10FFFF are excluded through them)
  bool valid_ = true;
};

/// Whether `text` is complete, valid UTF-8.
bool is_valid_utf8(std::string_view text) noexcept;

}  // namespace aio::http::detail::ws
