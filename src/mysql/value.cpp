// Value conversions, Row and ResultSet lookups.
#include <charconv>
#include <cstdlib>

#include "aio/mysql/errors.hpp"
#include "aio/mysql/value.hpp"

namespace aio::mysql {

namespace {
[[noreturn]] void throw_not_a_number(std::string_view text, const char* to) {
  throw DataError(0, "22018", "the value '" + std::string(text.substr(0, 64)) + "' is not " + to);
}

bool is_bit(FieldType t) { return t == FieldType::Bit; }

// BIT(n) arrives as big-endian bytes in both protocols.
std::uint64_t bits_of(std::string_view bytes) {
  std::uint64_t n = 0;
  for (unsigned char b : bytes) n = (n << 8) | b;
  return n;
}

template <class N>
N parse_integer(std::string_view text, const char* to) {
  N n{};
  auto r = std::from_chars(text.data(), text.data() + text.size(), n);
  if (r.ec == std::errc::result_out_of_range)
    throw DataError(0, "22003", "the value " + std::string(text) + " does not fit " + to);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size()) throw_not_a_number(text, to);
  return n;
}

template <class N>
std::string number_text(N n) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  return std::string(buf, r.ptr);
}
}  // namespace

void detail::throw_null_value(const char* to) {
  throw DataError(0, "22000",
                  std::string("the value is NULL and can't be read as ") + to +
                      ": read it as std::optional<T>, or check is_null() first");
}

void detail::throw_does_not_fit(const std::string& text) {
  throw DataError(0, "22003", "the value " + text + " does not fit the type asked for");
}

std::int64_t detail::text_to_int64(std::string_view text, FieldType type) {
  if (is_bit(type)) {
    std::uint64_t u = bits_of(text);
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) throw_does_not_fit(number_text(u));
    return static_cast<std::int64_t>(u);
  }
  return parse_integer<std::int64_t>(text, "an integer");
}

std::uint64_t detail::text_to_uint64(std::string_view text, FieldType type) {
  if (is_bit(type)) return bits_of(text);
  if (!text.empty() && text[0] == '-') throw_does_not_fit(std::string(text));
  return parse_integer<std::uint64_t>(text, "an unsigned integer");
}

double detail::text_to_double(std::string_view text, FieldType type) {
  if (is_bit(type)) return static_cast<double>(bits_of(text));
  double d = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), d);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size()) throw_not_a_number(text, "a number");
  return d;
}

void Value::throw_out_of_range() const { detail::throw_does_not_fit(to_string()); }

std::int64_t Value::to_int64() const {
  switch (kind_) {
    case Kind::Null:
      detail::throw_null_value("an integer");
    case Kind::Int:
      return int_;
    case Kind::UInt:
      if (uint_ > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) throw_out_of_range();
      return static_cast<std::int64_t>(uint_);
    case Kind::Double:
      if (double_ != static_cast<double>(static_cast<std::int64_t>(double_)))
        throw_not_a_number(to_string(), "an integer");
      return static_cast<std::int64_t>(double_);
    case Kind::Text:
      return detail::text_to_int64(text_, type_);
  }
  return 0;
}

std::uint64_t Value::to_uint64() const {
  switch (kind_) {
    case Kind::Null:
      detail::throw_null_value("an unsigned integer");
    case Kind::Int:
      if (int_ < 0) throw_out_of_range();
      return static_cast<std::uint64_t>(int_);
    case Kind::UInt:
      return uint_;
    case Kind::Double:
      if (double_ < 0 || double_ != static_cast<double>(static_cast<std::uint64_t>(double_)))
        throw_not_a_number(to_string(), "an unsigned integer");
      return static_cast<std::uint64_t>(double_);
    case Kind::Text:
      return detail::text_to_uint64(text_, type_);
  }
  return 0;
}

double Value::to_double() const {
  switch (kind_) {
    case Kind::Null:
      detail::throw_null_value("a floating-point number");
    case Kind::Int:
      return static_cast<double>(int_);
    case Kind::UInt:
      return static_cast<double>(uint_);
    case Kind::Double:
      return double_;
    case Kind::Text:
      return detail::text_to_double(text_, type_);
  }
  return 0;
}

std::string Value::to_string() const {
  switch (kind_) {
    case Kind::Null:
      detail::throw_null_value("a string");
    case Kind::Int:
      return number_text(int_);
    case Kind::UInt:
      return number_text(uint_);
    case Kind::Double:
      // A FLOAT column's shortest text is the float's, as the server prints it.
      if (type_ == FieldType::Float) return number_text(static_cast<float>(double_));
      return number_text(double_);
    case Kind::Text:
      return text_;
  }
  return {};
}

std::string_view Value::to_string_view() const {
  if (kind_ == Kind::Null) detail::throw_null_value("a string_view");
  if (kind_ != Kind::Text)
    throw DataError(0, "22000", "a number from a prepared statement has no text to view: read it as std::string");
  return text_;
}

std::size_t detail::ColumnSet::index_of(std::string_view name) const {
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (columns[i].name() == name) return i;
  throw ProgrammingError(0, "42S22", "the result has no column named '" + std::string(name) + "'");
}

const Value& Row::operator[](std::size_t i) const {
  if (i >= values_.size())
    throw ProgrammingError(
        0, "42S22",
        "column index " + std::to_string(i) + " is past the row's " + std::to_string(values_.size()) + " columns");
  return values_[i];
}

const Value& Row::operator[](std::string_view name) const {
  if (!columns_) throw ProgrammingError(0, "42S22", "the row has no column names");
  return values_[columns_->index_of(name)];
}

const std::vector<Column>& Row::columns() const {
  static const std::vector<Column> none;
  return columns_ ? columns_->columns : none;
}

const std::vector<Column>& ResultSet::columns() const noexcept {
  static const std::vector<Column> none;
  return column_set_ ? column_set_->columns : none;
}

}  // namespace aio::mysql
