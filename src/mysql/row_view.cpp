// RowView: a streamed row read in place.
#include "aio/mysql/row_view.hpp"

#include "aio/mysql/errors.hpp"
#include "connection_core.hpp"

namespace aio::mysql {

ValueView RowView::operator[](std::string_view name) const {
  check_live();
  if (!columns_ || fields_.empty()) throw_past_end(0);
  return (*this)[columns_->index_of(name)];
}

const std::vector<Column>& RowView::columns() const {
  static const std::vector<Column> none;
  return columns_ ? columns_->columns : none;
}

Row RowView::to_row() const {
  check_live();
  std::vector<Value> values;
  values.reserve(fields_.size());
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    const Column& column = columns_->columns[i];
    values.push_back(fields_[i].data() ? detail::decode_text_value(fields_[i], column) : Value::null(column.type()));
  }
  return Row(columns_, std::move(values));
}

void RowView::throw_stale() const {
  throw InterfaceError(0, "HY000",
                       "this RowView is stale: another operation ran on its connection after the row was read, "
                       "which reused the buffer it points into; keep rows past that with RowView::to_row()");
}

void RowView::throw_past_end(std::size_t i) const {
  if (fields_.empty())
    throw ProgrammingError(0, "42S22",
                           "the RowView holds no row: its stream ended, or next() was called after next_view(); "
                           "a view is only valid until the next call on its stream");
  throw ProgrammingError(
      0, "42S22",
      "column index " + std::to_string(i) + " is past the row's " + std::to_string(fields_.size()) + " columns");
}

}  // namespace aio::mysql
