// Parameters as SQL literals: the escaping behind `%s` placeholders.
#include <charconv>
#include <cmath>

#include "aio/mysql/errors.hpp"
#include "aio/mysql/params.hpp"

namespace aio::mysql {

namespace {
// What the server's own escaping (mysql_real_escape_string) replaces: the quote characters,
// the backslash, and bytes that would end or corrupt a statement in logs (NUL, newlines, ^Z).
void append_escaped(std::string& out, std::string_view s, bool no_backslash_escapes) {
  out += '\'';
  for (char ch : s) {
    if (no_backslash_escapes) {
      if (ch == '\'') out += '\'';
      out += ch;
      continue;
    }
    switch (ch) {
      case '\0':
        out += "\\0";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\x1a':
        out += "\\Z";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\'':
        out += "\\'";
        break;
      case '"':
        out += "\\\"";
        break;
      default:
        out += ch;
    }
  }
  out += '\'';
}

template <class N>
void append_number(std::string& out, N n) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, r.ptr);
}
}  // namespace

void append_literal(std::string& out, const Param& p, bool no_backslash_escapes) {
  switch (p.kind()) {
    case Param::Kind::Null:
      out += "NULL";
      return;
    case Param::Kind::Int:
      append_number(out, p.int_value());
      return;
    case Param::Kind::UInt:
      append_number(out, p.uint_value());
      return;
    case Param::Kind::Double:
      if (!std::isfinite(p.double_value()))
        throw DataError(0, "22000", "can't bind " + std::to_string(p.double_value()) + ": SQL has no NaN or infinity");
      {
        char buf[32];
        auto r = std::to_chars(buf, buf + sizeof buf, p.double_value());
        std::string_view text(buf, static_cast<std::size_t>(r.ptr - buf));
        out += text;
        // "5" would be read as an exact integer (DECIMAL arithmetic): keep it a double.
        if (text.find_first_of(".e") == std::string_view::npos) out += "e0";
        return;
      }
    case Param::Kind::Text:
      append_escaped(out, p.text(), no_backslash_escapes);
      return;
    case Param::Kind::Blob:
      out += "_binary";
      append_escaped(out, p.text(), no_backslash_escapes);
      return;
  }
}

std::string format_query(std::string_view sql, std::span<const Param> params, bool no_backslash_escapes) {
  std::string out;
  out.reserve(sql.size() + params.size() * 8);
  std::size_t next = 0;
  for (std::size_t i = 0; i < sql.size(); ++i) {
    char ch = sql[i];
    if (ch != '%') {
      out += ch;
      continue;
    }
    char directive = i + 1 < sql.size() ? sql[i + 1] : '\0';
    ++i;
    if (directive == '%') {
      out += '%';
    } else if (directive == 's') {
      if (next == params.size())
        throw ProgrammingError(0, "42000",
                               "not enough parameters for the SQL: it has more %s placeholders than the " +
                                   std::to_string(params.size()) + " given");
      append_literal(out, params[next++], no_backslash_escapes);
    } else {
      throw ProgrammingError(0, "42000",
                             "unsupported placeholder in the SQL: only %s (a parameter) and %% (a literal %) are "
                             "allowed");
    }
  }
  if (next != params.size())
    throw ProgrammingError(0, "42000",
                           "too many parameters: the SQL has " + std::to_string(next) + " %s placeholders, " +
                               std::to_string(params.size()) + " parameters were given");
  return out;
}

}  // namespace aio::mysql
