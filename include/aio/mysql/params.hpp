// aio::mysql query parameters: what `%s` placeholders and prepared statements bind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

namespace aio::mysql {

/// Binary data to bind as such (`_binary'...'` in SQL text, MYSQL_TYPE_BLOB in a prepared
/// statement): for BLOB columns, where bytes need not be valid UTF-8.
struct Blob {
  std::string_view bytes;
};

/// One bound parameter: NULL (nullptr, std::nullopt, an empty optional), a bool, an
/// integer, a floating-point number, text or a Blob. It refers to the caller's text
/// without copying; execute()/query() encode it before they return their Coro.
class Param {
 public:
  enum class Kind : std::uint8_t { Null, Int, UInt, Double, Text, Blob };

  Param(std::nullptr_t) noexcept {}                              // NOLINT: implicit by design
  Param(std::nullopt_t) noexcept {}                              // NOLINT
  Param(bool b) noexcept : kind_(Kind::Int), int_(b ? 1 : 0) {}  // NOLINT
  template <class T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool> && !std::is_same_v<T, char>) Param(T v)
  noexcept {  // NOLINT
    if constexpr (std::is_signed_v<T>) {
      kind_ = Kind::Int;
      int_ = v;
    } else {
      kind_ = Kind::UInt;
      uint_ = v;
    }
  }
  Param(double d) noexcept : kind_(Kind::Double), double_(d) {}                             // NOLINT
  Param(float f) noexcept : kind_(Kind::Double), double_(f) {}                              // NOLINT
  Param(std::string_view s) noexcept : kind_(Kind::Text), text_(s) {}                       // NOLINT
  Param(const std::string& s) noexcept : kind_(Kind::Text), text_(s) {}                     // NOLINT
  Param(const char* s) noexcept : kind_(s ? Kind::Text : Kind::Null), text_(s ? s : "") {}  // NOLINT
  Param(Blob b) noexcept : kind_(Kind::Blob), text_(b.bytes) {}                             // NOLINT
  template <class T>
  Param(const std::optional<T>& v) noexcept : Param(std::nullopt) {  // NOLINT
    if (v) *this = Param(*v);
  }

  Kind kind() const noexcept { return kind_; }
  std::int64_t int_value() const noexcept { return int_; }
  std::uint64_t uint_value() const noexcept { return uint_; }
  double double_value() const noexcept { return double_; }
  std::string_view text() const noexcept { return text_; }

 private:
  Kind kind_ = Kind::Null;
  union {
    std::int64_t int_ = 0;
    std::uint64_t uint_;
    double double_;
  };
  std::string_view text_;
};

/// Appends `p` as an SQL literal: NULL, 42, 1.5e+300, 'it\'s' (quotes, backslashes, NUL,
/// newlines, Ctrl-Z escaped), _binary'...'. With `no_backslash_escapes` (the server's
/// NO_BACKSLASH_ESCAPES mode) only quotes are doubled, as the server then expects.
void append_literal(std::string& out, const Param& p, bool no_backslash_escapes = false);

/// `sql` with each `%s` replaced by the next parameter's literal and `%%` by `%`
/// (PyMySQL's `query % escaped_args`). ProgrammingError if the counts differ or another
/// `%` directive appears.
std::string format_query(std::string_view sql, std::span<const Param> params, bool no_backslash_escapes = false);

}  // namespace aio::mysql
