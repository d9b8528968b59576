// aio::mysql::RowView — a streamed row read in place (RowStream::next_view), and its ValueView.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aio/mysql/value.hpp"

namespace aio::mysql {

class RowStream;

/// One field of a RowView: the server's text, not copied (a text-protocol row's bytes in
/// the stream's receive buffer). `as<T>()` converts as Value::as does; `as<std::string_view>()`
/// is a view into that buffer, valid as long as the RowView is. to_value() copies it.
class ValueView {
 public:
  ValueView() = default;
  /// `text.data() == nullptr` is NULL.
  ValueView(FieldType type, std::string_view text) noexcept : text_(text), type_(type) {}

  bool is_null() const noexcept { return text_.data() == nullptr; }
  Value::Kind kind() const noexcept { return is_null() ? Value::Kind::Null : Value::Kind::Text; }
  FieldType type() const noexcept { return type_; }

  /// As Value::as: bool, an integer type, float/double, std::string, std::string_view, or
  /// std::optional of one of these. DataError for NULL (unless optional), a number that
  /// does not fit T, or text that is not a number when a number is asked for.
  template <class T>
  T as() const {
    return detail::convert_value<T>(*this);
  }

  std::int64_t to_int64() const {
    if (is_null()) detail::throw_null_value("an integer");
    return detail::text_to_int64(text_, type_);
  }
  std::uint64_t to_uint64() const {
    if (is_null()) detail::throw_null_value("an unsigned integer");
    return detail::text_to_uint64(text_, type_);
  }
  double to_double() const {
    if (is_null()) detail::throw_null_value("a floating-point number");
    return detail::text_to_double(text_, type_);
  }
  std::string to_string() const { return std::string(to_string_view()); }
  std::string_view to_string_view() const {
    if (is_null()) detail::throw_null_value("a string_view");
    return text_;
  }
  /// An owning copy (what RowStream::next() would have given for this field).
  Value to_value() const { return is_null() ? Value::null(type_) : Value::text(type_, std::string(text_)); }

 private:
  std::string_view text_;
  FieldType type_ = FieldType::Null;
};

/// A row of a RowStream read in place: `row[0]`, `row["name"]`, `row.size()`, each a
/// ValueView into the stream's receive buffer — no allocation and no copy per row.
///
/// **Valid until the next call on its stream** (next_view(), next(), moving or dropping
/// the stream) and only while the connection is still on that stream: once another
/// operation starts on the connection, using the view throws InterfaceError. Keep a row
/// past that with to_row().
class RowView {
 public:
  RowView() = default;

  std::size_t size() const noexcept { return fields_.size(); }
  /// The i-th value (ProgrammingError past the end).
  ValueView operator[](std::size_t i) const {
    check_live();
    if (i >= fields_.size()) throw_past_end(i);
    return ValueView(columns_->columns[i].type(), fields_[i]);
  }
  /// The value of the column with this name (ProgrammingError if there is none; the first
  /// column of that name wins, as for Row).
  ValueView operator[](std::string_view name) const;
  const std::vector<Column>& columns() const;
  /// An owning copy of the row: what RowStream::next() would have returned.
  Row to_row() const;

 private:
  friend class RowStream;
  void check_live() const {
    if (live_generation_ && *live_generation_ != generation_) throw_stale();
  }
  [[noreturn]] void throw_stale() const;
  [[noreturn]] void throw_past_end(std::size_t i) const;

  std::shared_ptr<const detail::ColumnSet> columns_;
  std::vector<std::string_view> fields_;            // reused row after row; data() == nullptr is NULL
  const std::uint64_t* live_generation_ = nullptr;  // the connection's current operation
  std::uint64_t generation_ = 0;                    // the stream's
};

}  // namespace aio::mysql
