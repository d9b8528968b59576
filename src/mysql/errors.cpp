// PEP 249's classes for server errors, mapped as PyMySQL's err.py maps them.
#include "aio/mysql/errors.hpp"

#include <algorithm>
#include <array>

namespace aio::mysql {

namespace {
// "(1062, 23000) Duplicate entry ...": PyMySQL's str(err) with the SQLSTATE added.
std::string describe(int code, const std::string& sqlstate, const std::string& message) {
  std::string out("(");
  out += std::to_string(code);
  if (!sqlstate.empty()) {
    out += ", ";
    out += sqlstate;
  }
  out += ") ";
  out += message;
  return out;
}
}  // namespace

Error::Error(int code, std::string sqlstate, const std::string& message)
    : aio::Error(describe(code, sqlstate, message)), code_(code), sqlstate_(std::move(sqlstate)) {}

namespace {
template <std::size_t N>
bool is_one_of(int code, const std::array<int, N>& codes) {
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}
// The server error numbers (mysqld_error.h) PyMySQL sorts into each class.
constexpr std::array<int, 8> kIntegrity{1062, 1216, 1217, 1451, 1452, 1048, 1169, 1215};
constexpr std::array<int, 14> kProgramming{1007, 1064, 1149, 1146, 1102, 1103, 1110,
                                           1111, 1112, 1113, 1179, 1166, 1305, 1054};
constexpr std::array<int, 9> kData{1265, 1263, 1264, 1364, 1171, 1406, 1441, 1292, 1367};
constexpr std::array<int, 4> kNotSupported{1196, 1235, 1289, 1286};
}  // namespace

void throw_server_error(int code, std::string sqlstate, const std::string& message) {
  if (is_one_of(code, kIntegrity)) throw IntegrityError(code, std::move(sqlstate), message);
  // 1054 (unknown column) is an OperationalError in PyMySQL; keep its choice.
  if (code != 1054 && is_one_of(code, kProgramming)) throw ProgrammingError(code, std::move(sqlstate), message);
  if (is_one_of(code, kData)) throw DataError(code, std::move(sqlstate), message);
  if (is_one_of(code, kNotSupported)) throw NotSupportedError(code, std::move(sqlstate), message);
  if (code < 1000) throw InternalError(code, std::move(sqlstate), message);
  throw OperationalError(code, std::move(sqlstate), message);
}

}  // namespace aio::mysql
