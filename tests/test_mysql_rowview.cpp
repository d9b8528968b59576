// RowStream::next_view() against a real MariaDB server: the same values as next() for every
// text-protocol type, the view's lifetime rules (replaced, ended, stale), results with
// more results after them, cancellation while waiting for rows, and rows larger than the
// receive buffer and than one 16 MiB packet.
#include <aio/mysql.hpp>

#include "mysql_support.hpp"
#include "net_support.hpp"
#include "support.hpp"

namespace {

using aio_test::mysql::connect_tcp;
using aio_test::mysql::Server;
namespace mysql = aio::mysql;

// next_view() as a Coro, for error_of and wait_for.
aio::Coro<const mysql::RowView*> view_of(mysql::RowStream& s) { co_return co_await s.next_view(); }

// What a field reads as, as text ("NULL" for NULL): the same for a Value and a ValueView.
template <class V>
std::string text_of(const V& v) {
  return v.is_null() ? std::string("NULL") : v.template as<std::string>();
}

// Each conversion's result, or the name of the error it threw.
template <class T, class V>
std::string try_as(const V& v) {
  try {
    if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::string_view>)
      return std::string(v.template as<T>());
    else
      return std::to_string(v.template as<T>());
  } catch (const mysql::DataError&) {
    return "DataError";
  }
}

template <class V>
std::string conversions_of(const V& v) {
  return text_of(v) + "|" + try_as<std::int64_t>(v) + "|" + try_as<std::uint64_t>(v) + "|" + try_as<int>(v) + "|" +
         try_as<std::uint8_t>(v) + "|" + try_as<double>(v) + "|" + try_as<bool>(v) + "|" + try_as<std::string_view>(v);
}

AIO_TEST(MysqlRowView, EveryTextTypeReadsAsNextReadsIt) {
  AIO_REQUIRE_MYSQL(server);
  mysql::Connection c = co_await connect_tcp(server);
  co_await c.execute("DROP TABLE IF EXISTS t_view_types");
  co_await c.execute(
      "CREATE TABLE t_view_types (ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT, i INT,"
      " iu INT UNSIGNED, bi BIGINT, bu BIGINT UNSIGNED, dec1 DECIMAL(30,10), f FLOAT, d DOUBLE, dt DATE,"
      " tm TIME(6), dtm DATETIME(3), ts TIMESTAMP(6) NULL, yr YEAR, ch CHAR(3), vc VARCHAR(20), tx TEXT,"
      " bl BLOB, js JSON, bt BIT(12), en ENUM('a','b'), st SET('x','y'), e VARCHAR(5))");
  co_await c.execute(
      "INSERT INTO t_view_types VALUES (-128, 255, -32768, -8388608, -2147483648, 4294967295,"
      " -9223372036854775808, 18446744073709551615, '12345678901234567890.0123456789', 1.5, -2.25e300,"
      " '2024-02-29', '-838:59:58.999999', '2024-01-31 23:59:59.125', '2038-01-19 03:14:07.654321', 2155,"
      " 'abc', '7', 'some text', %s, '{\"k\": [1, 2]}', b'101000000011', 'b', 'x,y', '')",
      mysql::Blob{std::string_view("\0\x01\xff'\\", 5)});
  co_await c.execute(  // a row of NULLs, and one of small numbers in every column that takes them
      "INSERT INTO t_view_types VALUES (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
      " NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
      " (1, 2, 3, 4, 5, 6, 7, 8, 9.5, 0.25, 1e-3, '2000-01-01', '01:02:03', '2000-01-01 00:00:00', NULL, 1999,"
      " '1', '12', '13', '14', '15', b'1', 'a', '', '0')");
  const char* sql = "SELECT * FROM t_view_types ORDER BY ti IS NULL, ti";
  std::vector<mysql::Row> owned;
  mysql::RowStream a = co_await c.query_stream(sql);
  while (std::optional<mysql::Row> row = co_await a.next()) owned.push_back(std::move(*row));
  AIO_ASSERT_EQ(owned.size(), 3u);

  mysql::RowStream b = co_await c.query_stream(sql);
  std::size_t n = 0;
  while (const mysql::RowView* view = co_await b.next_view()) {
    AIO_ASSERT_LT(n, owned.size());
    const mysql::Row& row = owned[n];
    AIO_ASSERT_EQ(view->size(), row.size());
    EXPECT_EQ(view->columns().size(), row.size());
    for (std::size_t i = 0; i < row.size(); ++i) {
      const std::string& name = row.columns()[i].name();
      EXPECT_EQ((*view)[i].is_null(), row[i].is_null()) << name;
      EXPECT_EQ((*view)[i].kind(), row[i].kind()) << name;
      EXPECT_EQ((*view)[i].type(), row[i].type()) << name;
      EXPECT_EQ(conversions_of((*view)[i]), conversions_of(row[i])) << name << " in row " << n;
      EXPECT_EQ(conversions_of((*view)[name]), conversions_of(row[name])) << name;
      EXPECT_EQ((*view)[i].as<std::optional<std::string>>(), row[i].as<std::optional<std::string>>()) << name;
      EXPECT_EQ((*view)[i].to_value().as<std::optional<std::string>>(), row[i].as<std::optional<std::string>>());
    }
    mysql::Row kept = view->to_row();  // an owning copy, as next() gives
    AIO_ASSERT_EQ(kept.size(), row.size());
    for (std::size_t i = 0; i < row.size(); ++i) EXPECT_EQ(conversions_of(kept[i]), conversions_of(row[i]));
    EXPECT_EQ(kept["vc"].is_null(), row["vc"].is_null());
    EXPECT_THROW((void)(*view)[row.size()], mysql::ProgrammingError);
    EXPECT_THROW((void)(*view)["nope"], mysql::ProgrammingError);
    ++n;
  }
  EXPECT_EQ(n, owned.size());
  // Spot checks that the comparison above compares something.
  EXPECT_EQ(owned[0]["bu"].as<std::uint64_t>(), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(owned[1]["f"].as<float>(), 0.25f);
  EXPECT_TRUE(owned[2]["ti"].is_null());
  co_await c.execute("DROP TABLE t_view_types");
}

AIO_TEST(MysqlRowView, AViewIsReplacedEndedAndRefusedWhenStale) {
  AIO_REQUIRE_MYSQL(server);
  mysql::Connection c = co_await connect_tcp(server);
  mysql::RowStream s = co_await c.query_stream("SELECT seq, CONCAT('row-', seq) AS name FROM seq_1_to_3");
  const mysql::RowView* first = co_await s.next_view();
  AIO_ASSERT_TRUE(first != nullptr);
  EXPECT_EQ((*first)[0].as<int>(), 1);  // a literal 0: the index overload
  EXPECT_EQ((*first)["name"].as<std::string_view>(), "row-1");
  mysql::Row kept = first->to_row();
  const mysql::RowView* second = co_await s.next_view();
  EXPECT_EQ(second, first);  // one view, reused: the next row replaces it
  EXPECT_EQ((*first)["name"].as<std::string>(), "row-2");
  EXPECT_EQ(kept["name"].as<std::string>(), "row-1");  // the owning copy stays
  // next() after next_view(): the view holds no row any more.
  std::optional<mysql::Row> third = co_await s.next();
  EXPECT_EQ((*third)[0].as<int>(), 3);
  EXPECT_THROW((void)(*first)[0], mysql::ProgrammingError);
  EXPECT_EQ(co_await s.next_view(), nullptr);
  EXPECT_EQ(co_await s.next_view(), nullptr);  // and ever after
  EXPECT_EQ(first->size(), 0u);

  // The connection goes on to another query: the stream and its view are refused.
  mysql::RowStream half = co_await c.query_stream("SELECT seq FROM seq_1_to_1000");
  const mysql::RowView* v = co_await half.next_view();
  EXPECT_EQ((*v)[0].as<int>(), 1);
  mysql::ResultSet rs = co_await c.query("SELECT 'mine'");
  EXPECT_EQ(rs.rows()[0][0].as<std::string>(), "mine");
  EXPECT_THROW((void)(*v)[0], mysql::InterfaceError);
  EXPECT_THROW((void)v->to_row(), mysql::InterfaceError);
  std::exception_ptr e = co_await aio_test::error_of(view_of(half));
  EXPECT_TRUE(aio_test::holds<mysql::InterfaceError>(e)) << aio_test::what_of(e);
  std::exception_ptr e2 = co_await aio_test::error_of(half.next());
  EXPECT_TRUE(aio_test::holds<mysql::InterfaceError>(e2)) << aio_test::what_of(e2);
}

AIO_TEST(MysqlRowView, ManyRowsAndResultsAfterTheRows) {
  AIO_REQUIRE_MYSQL(server);
  mysql::Connection c = co_await connect_tcp(server);
  const long n = 50000;  // ~5 MB: most rows taken from the buffer, some read from the server
  mysql::RowStream s = co_await c.query_stream("SELECT seq, REPEAT('x', 100) FROM seq_1_to_50000");
  long sum = 0, count = 0;
  while (const mysql::RowView* row = co_await s.next_view()) {
    sum += (*row)[0].as<long>();
    if ((*row)[1].as<std::string_view>().size() != 100) ADD_FAILURE() << "row " << count;
    ++count;
  }
  EXPECT_EQ(count, n);
  EXPECT_EQ(sum, n * (n + 1) / 2);
  // A CALL: the rows, then the CALL's own OK (a second result) that the end reads too.
  co_await c.execute("DROP PROCEDURE IF EXISTS p_view");
  co_await c.execute("CREATE PROCEDURE p_view() SELECT seq FROM seq_1_to_5");
  mysql::RowStream call = co_await c.query_stream("CALL p_view()");
  int rows = 0;
  while (const mysql::RowView* row = co_await call.next_view()) rows += (*row)[0].as<int>();
  EXPECT_EQ(rows, 15);
  mysql::ResultSet after = co_await c.query("SELECT 'in step'");
  EXPECT_EQ(after.rows()[0][0].as<std::string>(), "in step");
  co_await c.execute("DROP PROCEDURE p_view");
}

AIO_TEST(MysqlRowView, CancelledWhileWaitingClosesTheConnection) {
  AIO_REQUIRE_MYSQL(server);
  mysql::Connection c = co_await connect_tcp(server);
  // The last row sleeps: the rows before it arrive at once (some may sit in the server's net
  // buffer until the sleep is over, so read until a wait times out).
  mysql::RowStream s =
      co_await c.query_stream("SELECT seq, REPEAT('y', 20000), SLEEP(IF(seq = 6, 10, 0)) FROM seq_1_to_6");
  std::exception_ptr e;
  int seen = 0;
  while (!e && seen < 6) {
    aio::Coro<const mysql::RowView*> read = view_of(s);
    try {
      const mysql::RowView* row = co_await aio::wait_for(std::move(read), 2.0);
      AIO_ASSERT_TRUE(row != nullptr);
      EXPECT_EQ((*row)[0].as<int>(), ++seen);
      EXPECT_EQ((*row)[1].as<std::string_view>().size(), 20000u);
    } catch (...) {
      e = std::current_exception();
    }
  }
  EXPECT_LT(seen, 6);
  EXPECT_TRUE(aio_test::holds<aio::TimeoutError>(e)) << aio_test::what_of(e);
  EXPECT_TRUE(c.closed());  // half-way through a result: never handed on
  std::exception_ptr again = co_await aio_test::error_of(view_of(s));
  EXPECT_TRUE(aio_test::holds<mysql::InterfaceError>(again)) << aio_test::what_of(again);
  std::exception_ptr next = co_await aio_test::error_of(c.query("SELECT 1"));
  EXPECT_TRUE(aio_test::holds<mysql::InterfaceError>(next)) << aio_test::what_of(next);
}

AIO_TEST(MysqlRowView, RowsLargerThanTheBufferAndThanOnePacket) {
  AIO_REQUIRE_MYSQL(server);
  mysql::Connection c = co_await connect_tcp(server);
  co_await c.execute("DROP TABLE IF EXISTS t_view_big");
  co_await c.execute("CREATE TABLE t_view_big (id INT, b LONGBLOB)");
  std::string big = aio_test::net::pattern(17 * 1024 * 1024 + 3);  // two packets
  std::string mid = aio_test::net::pattern(1024 * 1024);           // > the 16 KiB buffer
  co_await c.execute("INSERT INTO t_view_big VALUES (1, %s), (2, %s), (3, NULL)", mysql::Blob{big}, mysql::Blob{mid});
  mysql::RowStream s = co_await c.query_stream("SELECT id, b, LENGTH(b) FROM t_view_big ORDER BY id");
  const mysql::RowView* r = co_await s.next_view();
  AIO_ASSERT_TRUE(r != nullptr);
  EXPECT_EQ((*r)[2].as<std::size_t>(), big.size());
  EXPECT_TRUE((*r)[1].as<std::string_view>() == big);
  r = co_await s.next_view();
  AIO_ASSERT_TRUE(r != nullptr);
  EXPECT_TRUE((*r)["b"].as<std::string_view>() == mid);
  r = co_await s.next_view();
  AIO_ASSERT_TRUE(r != nullptr);
  EXPECT_TRUE((*r)[1].is_null());
  EXPECT_EQ((*r)[1].as<std::optional<std::string_view>>(), std::nullopt);
  EXPECT_THROW((void)(*r)[1].as<std::string_view>(), mysql::DataError);
  EXPECT_EQ(co_await s.next_view(), nullptr);
  co_await c.execute("DROP TABLE t_view_big");
}

}  // namespace
