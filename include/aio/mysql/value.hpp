// aio::mysql result data: Column, Value, Row, ResultSet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace aio::mysql {

/// The protocol's column types (MYSQL_TYPE_*).
enum class FieldType : std::uint8_t {
  Decimal = 0,
  Tiny = 1,
  Short = 2,
  Long = 3,
  Float = 4,
  Double = 5,
  Null = 6,
  Timestamp = 7,
  LongLong = 8,
  Int24 = 9,
  Date = 10,
  Time = 11,
  DateTime = 12,
  Year = 13,
  NewDate = 14,
  VarChar = 15,
  Bit = 16,
  Json = 245,
  NewDecimal = 246,
  Enum = 247,
  Set = 248,
  TinyBlob = 249,
  MediumBlob = 250,
  LongBlob = 251,
  Blob = 252,
  VarString = 253,
  String = 254,
  Geometry = 255,
};

/// One column of a result: its name and type, as the server described it.
class Column {
 public:
  /// The name in the result (the alias, if the SQL gave one).
  const std::string& name() const noexcept { return name_; }
  /// The table's name in the result (its alias), empty for computed columns.
  const std::string& table() const noexcept { return table_; }
  FieldType type() const noexcept { return type_; }
  std::uint16_t flags() const noexcept { return flags_; }
  bool is_unsigned() const noexcept { return (flags_ & 32) != 0; }
  /// The collation id of text (63: binary data).
  std::uint16_t charset() const noexcept { return charset_; }
  std::uint8_t decimals() const noexcept { return decimals_; }
  std::uint32_t length() const noexcept { return length_; }

  Column() = default;
  Column(std::string name, std::string table, FieldType type, std::uint16_t flags, std::uint16_t charset,
         std::uint8_t decimals, std::uint32_t length)
      : name_(std::move(name)),
        table_(std::move(table)),
        type_(type),
        flags_(flags),
        charset_(charset),
        decimals_(decimals),
        length_(length) {}

 private:
  std::string name_;
  std::string table_;
  FieldType type_ = FieldType::Null;
  std::uint16_t flags_ = 0;
  std::uint16_t charset_ = 0;
  std::uint8_t decimals_ = 0;
  std::uint32_t length_ = 0;
};

namespace detail {
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

// What Value and ValueView share: text-protocol conversions, and as<T>().
[[noreturn]] void throw_null_value(const char* to);
[[noreturn]] void throw_does_not_fit(const std::string& text);
std::int64_t text_to_int64(std::string_view text, FieldType type);
std::uint64_t text_to_uint64(std::string_view text, FieldType type);
double text_to_double(std::string_view text, FieldType type);

template <class T, class V, class N>
T checked_cast(const V& v, N n) {
  if constexpr (std::is_signed_v<N>) {
    if (n < static_cast<N>(std::numeric_limits<T>::min()) || n > static_cast<N>(std::numeric_limits<T>::max()))
      throw_does_not_fit(v.to_string());
  } else {
    if (n > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) throw_does_not_fit(v.to_string());
  }
  return static_cast<T>(n);
}

/// V::as<T>() for a Value or a ValueView (see Value::as).
template <class T, class V>
T convert_value(const V& v) {
  if constexpr (is_optional<T>::value) {
    if (v.is_null()) return std::nullopt;
    return convert_value<typename T::value_type>(v);
  } else if constexpr (std::is_same_v<T, bool>) {
    return v.to_int64() != 0;
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    return checked_cast<T>(v, v.to_int64());
  } else if constexpr (std::is_integral_v<T>) {
    return checked_cast<T>(v, v.to_uint64());
  } else if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(v.to_double());
  } else if constexpr (std::is_same_v<T, std::string>) {
    return v.to_string();
  } else if constexpr (std::is_same_v<T, std::string_view>) {
    return v.to_string_view();
  } else {
    static_assert(std::is_same_v<T, std::string>,
                  "as<T>: T must be bool, an integer, float, double, std::string, std::string_view or an "
                  "std::optional of one of these");
  }
}
}  // namespace detail

/// One field of a row. Text-protocol values keep the server's text; prepared statements'
/// binary values keep numbers as numbers. Either way `as<T>()` converts:
///
///     std::int64_t id = row[0].as<std::int64_t>();        // DataError if NULL or out of range
///     std::optional<std::string> note = row["note"].as<std::optional<std::string>>();
///     std::string price = row["price"].as<std::string>();  // DECIMAL as exact text
///
/// DECIMAL is its exact text ("12.50"); DATE "2024-01-31", TIME "-838:59:59.000001",
/// DATETIME/TIMESTAMP "2024-01-31 23:59:59.5" (the fraction as the column declares it);
/// BIT reads as an unsigned integer (and as its raw big-endian bytes as a string).
class Value {
 public:
  enum class Kind : std::uint8_t { Null, Text, Int, UInt, Double };

  Value() = default;
  static Value null(FieldType type) { return Value(Kind::Null, type); }
  static Value text(FieldType type, std::string bytes) {
    Value v(Kind::Text, type);
    v.text_ = std::move(bytes);
    return v;
  }
  static Value integer(FieldType type, std::int64_t i) {
    Value v(Kind::Int, type);
    v.int_ = i;
    return v;
  }
  static Value unsigned_integer(FieldType type, std::uint64_t u) {
    Value v(Kind::UInt, type);
    v.uint_ = u;
    return v;
  }
  static Value floating(FieldType type, double d) {
    Value v(Kind::Double, type);
    v.double_ = d;
    return v;
  }

  bool is_null() const noexcept { return kind_ == Kind::Null; }
  Kind kind() const noexcept { return kind_; }
  FieldType type() const noexcept { return type_; }

  /// The value as T: bool, an integer type, float/double, std::string, std::string_view
  /// (a view into this Value; text values only), or std::optional of one of these (empty
  /// for NULL). Throws DataError for NULL (unless T is an optional), for a number that
  /// does not fit T, and for text that is not a number when a number is asked for.
  template <class T>
  T as() const {
    return detail::convert_value<T>(*this);
  }

  std::int64_t to_int64() const;
  std::uint64_t to_uint64() const;
  double to_double() const;
  std::string to_string() const;
  std::string_view to_string_view() const;

 private:
  Value(Kind kind, FieldType type) : kind_(kind), type_(type) {}
  [[noreturn]] void throw_out_of_range() const;

  Kind kind_ = Kind::Null;
  FieldType type_ = FieldType::Null;
  union {
    std::int64_t int_ = 0;
    std::uint64_t uint_;
    double double_;
  };
  std::string text_;
};

namespace detail {
class ConnectionCore;
/// The columns of one result, shared by its rows (for row["name"]).
struct ColumnSet {
  std::vector<Column> columns;
  std::size_t index_of(std::string_view name) const;  // ProgrammingError if absent
};
}  // namespace detail

/// One row: `row[0]`, `row["name"]`, `row.size()`, and a range of Values.
class Row {
 public:
  Row() = default;
  Row(std::shared_ptr<const detail::ColumnSet> columns, std::vector<Value> values)
      : columns_(std::move(columns)), values_(std::move(values)) {}

  std::size_t size() const noexcept { return values_.size(); }
  /// The i-th value (ProgrammingError past the end).
  const Value& operator[](std::size_t i) const;
  /// The value of the column with this name (ProgrammingError if there is none). The
  /// first column of that name wins, as in a Python dict built from the row.
  const Value& operator[](std::string_view name) const;
  std::vector<Value>::const_iterator begin() const noexcept { return values_.begin(); }
  std::vector<Value>::const_iterator end() const noexcept { return values_.end(); }
  const std::vector<Column>& columns() const;

 private:
  std::shared_ptr<const detail::ColumnSet> columns_;
  std::vector<Value> values_;
};

/// A buffered result: every row read (aiomysql's default Cursor). For a statement
/// without rows, columns() and rows() are empty and affected_rows() says what changed.
class ResultSet {
 public:
  ResultSet() = default;
  const std::vector<Column>& columns() const noexcept;
  /// The rows: a random-access range (`rows().size()`, `rows()[i]`, range-for).
  const std::vector<Row>& rows() const noexcept { return rows_; }
  std::uint64_t affected_rows() const noexcept { return affected_rows_; }
  std::uint64_t last_insert_id() const noexcept { return last_insert_id_; }
  std::uint16_t warning_count() const noexcept { return warnings_; }

  /// Appends a row (for code that builds results itself).
  void add_row(Row row) { rows_.push_back(std::move(row)); }

 private:
  friend class detail::ConnectionCore;
  std::shared_ptr<const detail::ColumnSet> column_set_;
  std::vector<Row> rows_;
  std::uint64_t affected_rows_ = 0;
  std::uint64_t last_insert_id_ = 0;
  std::uint16_t warnings_ = 0;
};

}  // namespace aio::mysql
