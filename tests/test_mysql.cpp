// aio::mysql against a real MariaDB server: connecting and authenticating, TLS, text
// result sets with every column type, parameters, errors, transactions, multi-results,
// large packets, prepared statements, streaming, and a server that goes away.
#include <malloc.h>

#include <aio/mysql.hpp>

#include "mysql/auth.hpp"
#include "mysql_support.hpp"
#include "support.hpp"

namespace {

using aio_test::mysql::connect_tcp;
using aio_test::mysql::Server;
namespace mysql = aio::mysql;

template <class E>
aio::Coro<std::exception_ptr> connect_error(mysql::ConnectOptions o) {
  std::exception_ptr e;
  try {
    mysql::Connection c = co_await mysql::connect(o);
  } catch (...) {
    e = std::current_exception();
  }
  co_return e;
}

int code_of(const std::exception_ptr& e) {
  auto x = aio_test::exception_as<mysql::Error>(e);
  return x ? x->code() : -1;
}

std::string hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

// --- authentication ---------------------------------------------------------------------------

// The scrambles against Python's hashlib (the formulas PyMySQL uses), for the plugin
// MariaDB 10.11 cannot exercise: it has no server side for caching_sha2_password.
TEST(MysqlAuth, ScramblesMatchPyMySQLs) {
  std::string nonce;
  for (char c = 1; c <= 20; ++c) nonce += c;
  EXPECT_EQ(hex(aio::mysql::detail::caching_sha2_scramble("secret", nonce)),
            "746ebe205d56a0707acb3e796e834e0dd7b1d61743b26bd5202c7a623230c7c9");
  EXPECT_EQ(hex(aio::mysql::detail::native_password_scramble("secret", nonce)),
            "b32bb3a583e1340c0a1108d58b1be49781ad8c2f");
  EXPECT_EQ(aio::mysql::detail::native_password_scramble("", nonce), "");
}

// --- connecting ------------------------------------------------------------------------------

AIO_TEST(MysqlConnect, OverTcpAndUnixSocket) {
  AIO_REQUIRE_MYSQL(server);
  mysql::Connection tcp = co_await connect_tcp(server);
  EXPECT_FALSE(tcp.closed());
  EXPECT_NE(tcp.server_version().find("MariaDB"), std::string::npos) << tcp.server_version();
  EXPECT_EQ(tcp.auth_plugin(), "mysql_native_password");
  mysql::ResultSet rs = co_await tcp.query("SELECT CONNECTION_ID(), DATABASE(), @@autocommit");
  EXPECT_EQ(rs.rows()[0][0].as<std::uint32_t>(), tcp.thread_id());
  EXPECT_EQ(rs.rows()[0][1].as<std::string>(), "aio_test");
  EXPECT_EQ(rs.rows()[0][2].as<int>(), 1);

  mysql::ConnectOptions uo = server->unix_socket();
  mysql::Connection unix_conn = co_await mysql::connect(uo);
  mysql::ResultSet rs2 = co_await unix_conn.query("SELECT 1 + 1");
  EXPECT_EQ(rs2.rows()[0][0].as<int>(), 2);
  co_await unix_conn.close();
  EXPECT_TRUE(unix_conn.closed());
  co_await tcp.close();
}

AIO_TEST(MysqlConnect, WrongPasswordIsOperationalError1045) {
  AIO_REQUIRE_MYSQL(server);
  mysql::ConnectOptions o = server->tcp();
  o.password = "wrong";
  std::exception_ptr e = co_await connect_error<mysql::OperationalError>(o);
  EXPECT_TRUE(aio_test::holds<mysql::OperationalError>(e)) << aio_test::what_of(e);
  EXPECT_EQ(code_of(e), 1045);
  EXPECT_EQ(aio_test::exception_as<mysql::Error>(e)->sqlstate(), "28000");
}

AIO_TEST(MysqlConnect, UnknownDatabaseIsOperationalError1049) {
  AIO_REQUIRE_MYSQL(server);
  mysql::ConnectOptions o = server->tcp();
  o.db = "no_such_db";
  std::exception_ptr e = co_await connect_error<mysql::OperationalError>(o);
  EXPECT_TRUE(aio_test::holds<mysql::OperationalError>(e)) << aio_test::what_of(e);
  EXPECT_EQ(code_of(e), 1049);
}

AIO_TEST(MysqlConnect, RefusedIsOperationalError2003) {
  AIO_REQUIRE_MYSQL(server);
  mysql::ConnectOptions o = server->tcp();
  o.port = aio_test::net::unused_port();
  std::exception_ptr e = co_await connect_error<mysql::OperationalError>(o);
  EXPECT_TRUE(aio_test::holds<mysql::OperationalError>(e)) << aio_test::what_of(e);
  EXPECT_EQ(code_of(e), 2003);
  EXPECT_NE(aio_test::what_of(e).find("Can't connect"), std::string::npos) << aio_test::what_of(e);
}

AIO_TEST(MysqlConnect, AuthSwitchToTheUsersPlugin) {
  AIO_REQUIRE_MYSQL(server);
  // Answering the greeting with another plugin makes the server switch to the user's own.
  mysql::ConnectOptions o = server->tcp();
  o.auth_plugin = "caching_sha2_password";
  mysql::Connection c = co_await mysql::connect(o);
  EXPECT_EQ(c.auth_plugin(), "mysql_native_password");
  mysql::ResultSet rs = co_await c.query("SELECT CURRENT_USER()");
  EXPECT_EQ(rs.rows()[0][0].as<std::string>(), "aio@%");
}

AIO_TEST(MysqlConnect, Ed25519User) {
  AIO_REQUIRE_MYSQL(server);
  if (!aio::mysql::detail::have_ed25519()) AIO_SKIP_TEST("aio::mysql was built without libsodium (libsodium-dev)");
  mysql::ConnectOptions o = server->tcp();
  o.user = aio_test::mysql::kEd25519User;
  o.db = "";
  mysql::Connection c = co_await mysql::connect(o);
  EXPECT_EQ(c.auth_plugin(), "client_ed25519");
  mysql::ResultSet rs = co_await c.query("SELECT CURRENT_USER()");
  EXPECT_EQ(rs.rows()[0][0].as<std::string>(), "aio_ed@%");
  o.password = "not the password";
  std::exception_ptr e = co_await connect_error<mysql::OperationalError>(o);
  EXPECT_EQ(code_of(e), 1045) << aio_test::what_of(e);
}

AIO_TEST(MysqlConnect, TlsVerifiesTheServer) {
  AIO_REQUIRE_MYSQL(server);
  aio::SslContext ctx = aio::SslContext::client();
  ctx.load_verify_locations(server->ca_file());
  mysql::ConnectOptions o = server->tcp();
  o.user = aio_test::mysql::kTlsUser;
  o.ssl = ctx;
  mysql::Connection c = co_await mysql::connect(o);
  EXPECT_TRUE(c.uses_tls());
  mysql::ResultSet rs = co_await c.query("SHOW STATUS LIKE 'Ssl_version'");
  EXPECT_NE(rs.rows()[0][1].as<std::string>().find("TLS"), std::string::npos);
  mysql::ResultSet sleepy = co_await c.query("SELECT SLEEP(0.01), %s", "over TLS");
  EXPECT_EQ(sleepy.rows()[0][1].as<std::string>(), "over TLS");
  co_await c.close();

  // The same user without TLS is refused by the server (REQUIRE SSL).
  mysql::ConnectOptions plain = server->tcp();
  plain.user = aio_test::mysql::kTlsUser;
  std::exception_ptr refused = co_await connect_error<mysql::OperationalError>(plain);
  EXPECT_EQ(code_of(refused), 1045) << aio_test::what_of(refused);

  // A CA that did not sign the server's certificate: the handshake fails, clearly.
  aio::SslContext other = aio::SslContext::client();
  other.load_verify_locations(aio_test::interop::TestPki::get().path("other_ca.pem"));
  mysql::ConnectOptions untrusted = o;
  untrusted.ssl = other;
  std::exception_ptr bad = co_await connect_error<mysql::OperationalError>(untrusted);
  EXPECT_EQ(code_of(bad), 2026) << aio_test::what_of(bad);
  EXPECT_NE(aio_test::what_of(bad).find("certificate"), std::string::npos) << aio_test::what_of(bad);
}

// --- text result sets ------------------------------------------------------------------------

AIO_TEST(MysqlQuery, EveryColumnTypeDecodes) {
  AIO_REQUIRE_MYSQL(server);
  mysql::Connection c = co_await connect_tcp(server);
  co_await c.execute("DROP TABLE IF EXISTS t_types");
  co_await c.execute(
      "CREATE TABLE t_types (ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT, i INT, iu INT UNSIGNED,"
      " bi BIGINT, bu BIGINT UNSIGNED, dec1 DECIMAL(30,10), f FLOAT, d DOUBLE, dt DATE, tm TIME(6),"
      " dtm DATETIME(3), ts TIMESTAMP(6) NULL, yr YEAR, ch CHAR(3), vc VARCHAR(20), tx TEXT, bl BLOB,"
      " js JSON, bt BIT(12), en ENUM('a','b'), st SET('x','y'), n INT NULL)");
  co_await c.execute(
      "INSERT INTO t_types VALUES (-128, 255, -32768, -8388608, -2147483648, 4294967295,"
      " -9223372036854775808, 18446744073709551615, '12345678901234567890.0123456789', 1.5, -2.25e300,"
      " '2024-02-29', '-838:59:58.999999', '2024-01-31 23:59:59.125', '2038-01-19 03:14:07.654321', 2155,"
      " 'abc', 'variable', 'some text', %s, '{\"k\": [1, 2]}', b'101000000011', 'b', 'x,y', NULL)",
      mysql::Blob{std::string_view("\0\x01\xff'\\", 5)});
  mysql::ResultSet rs = co_await c.query("SELECT * FROM t_types");
  AIO_ASSERT_EQ(rs.rows().size(), 1u);
  const mysql::Row& r = rs.rows()[0];
  EXPECT_EQ(rs.columns().size(), 25u);
  EXPECT_EQ(rs.columns()[0].name(), "ti");
  EXPECT_EQ(rs.columns()[1].type(), mysql::FieldType::Tiny);
  EXPECT_TRUE(rs.columns()[1].is_unsigned());
  EXPECT_EQ(r["ti"].as<int>(), -128);
  EXPECT_EQ(r["tu"].as<unsigned>(), 255u);
  EXPECT_EQ(r["si"].as<std::int16_t>(), -32768);
  EXPECT_EQ(r["mi"].as<int>(), -8388608);
  EXPECT_EQ(r["i"].as<std::int32_t>(), std::numeric_limits<std::int32_t>::min());
  EXPECT_EQ(r["iu"].as<std::uint32_t>(), 4294967295u);
  EXPECT_EQ(r["bi"].as<std::int64_t>(), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(r["bu"].as<std::uint64_t>(), std::numeric_limits<std::uint64_t>::max());
  EXPECT_THROW((void)r["bu"].as<std::int64_t>(), mysql::DataError);
  EXPECT_THROW((void)r["iu"].as<std::int16_t>(), mysql::DataError);
  EXPECT_EQ(r["dec1"].as<std::string>(), "12345678901234567890.0123456789");
  EXPECT_EQ(r["f"].as<float>(), 1.5f);
  EXPECT_EQ(r["d"].as<double>(), -2.25e300);
  EXPECT_EQ(r["dt"].as<std::string>(), "2024-02-29");
  EXPECT_EQ(r["tm"].as<std::string>(), "-838:59:58.999999");
  EXPECT_EQ(r["dtm"].as<std::string>(), "2024-01-31 23:59:59.125");
  EXPECT_EQ(r["ts"].as<std::string>(), "2038-01-19 03:14:07.654321");
  EXPECT_EQ(r["yr"].as<int>(), 2155);
  EXPECT_EQ(r["ch"].as<std::string>(), "abc");
  EXPECT_EQ(r["vc"].as<std::string_view>(), "variable");
  EXPECT_EQ(r["tx"].as<std::string>(), "some text");
  EXPECT_EQ(r["bl"].as<std::string>(), std::string("\0\x01\xff'\\", 5));
  EXPECT_EQ(r["js"].as<std::string>(), "{\"k\": [1, 2]}");
  EXPECT_EQ(r["bt"].as<unsigned>(), 0b101000000011u);
  EXPECT_EQ(r["en"].as<std::string>(), "b");
  EXPECT_EQ(r["st"].as<std::string>(), "x,y");
  EXPECT_TRUE(r["n"].is_null());
  EXPECT_THROW((void)r["n"].as<int>(), mysql::DataError);
  EXPECT_EQ(r["n"].as<std::optional<int>>(), std::nullopt);
  EXPECT_EQ(r["i"].as<std::optional<long>>(), std::optional<long>(std::numeric_limits<std::int32_t>::min()));
  EXPECT_THROW((void)r["nope"], mysql::ProgrammingError);

  // The same row through a prepared statement: the binary protocol, numbers as numbers.
  mysql::Statement st = co_await c.prepare("SELECT * FROM t_types WHERE ti = ?");
  EXPECT_EQ(st.param_count(), 1u);
  mysql::ResultSet b = co_await st.query(-128);
  AIO_ASSERT_EQ(b.rows().size(), 1u);
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (r[i].is_null()) {
      EXPECT_TRUE(b.rows()[0][i].is_null()) << rs.columns()[i].name();
    } else if (rs.columns()[i].type() == mysql::FieldType::Double) {
      EXPECT_EQ(b.rows()[0][i].as<double>(), r[i].as<double>());
    } else {
      EXPECT_EQ(b.rows()[0][i].as<std::string>(), r[i].as<std::string>()) << rs.columns()[i].name();
    }
  }
  EXPECT_EQ(b.rows()[0]["bi"].kind(), mysql::Value::Kind::Int);
  EXPECT_EQ(b.rows()[0]["bu"].kind(), mysql::Value::Kind::UInt);
  co_await st.close();
  co_await c.execute("DROP TABLE t_types");
}

AIO_TEST(MysqlQuery, RowIndexByLiteralAndByName) {
  AIO_REQUIRE_MYSQL(server);
  mysql::Connection c = co_await connect_tcp(server);
  mysql::ResultSet rs = co_await c.query("SELECT 7 AS seven, 'x' AS name");
  const mysql::Row& row = rs.rows()[0];
  EXPECT_EQ(row[0].as<int>(), 7);  // a literal 0: the index overload, not the name one
  EXPECT_EQ(row[1].as<std::string>(), "x");
  EXPECT_EQ(row["seven"].as<int>(), 7);
  std::string name = "name";
  EXPECT_EQ(row[name].as<std::string>(), "x");
  int i = 0;
  EXPECT_EQ(row[i].as<long>(), 7);
  EXPECT_EQ(rs.rows().size(), 1u);
  EXPECT_THROW((void)row[2], mysql::ProgrammingError);
}

AIO_TEST(MysqlQuery, ParametersAreEscapedSoInjectionStaysData) {
  AIO_REQUIRE_MYSQL(server);
  mysql::Connection c = co_await connect_tcp(server);
  co_await c.execute("DROP TABLE IF EXISTS t_inject");
  co_await c.execute("CREATE TABLE t_inject (id INT PRIMARY KEY AUTO_INCREMENT, s TEXT)");
  const std::vector<std::string> evil = {"x'); DROP TABLE t_inject; --",
                                         "a\\' OR 1=1 -- ",
                                         std::string("nul\0byte", 8),
                                         "quote\"double",
                                         "back\\slash\\",
                                         "\n\r\x1a",
                                         "😀 utf8mb4 ✓",
                                         "%s %% %d"};
  for (const std::string& s : evil) co_await c.execute("INSERT INTO t_inject (s) VALUES (%s)", s);
  mysql::ResultSet rs = co_await c.query("SELECT s FROM t_inject ORDER BY id");
  AIO_ASSERT_EQ(rs.rows().size(), evil.size());
  for (std::size_t i = 0; i < evil.size(); ++i) EXPECT_EQ(rs.rows()[i][0].as<std::string>(), evil[i]);
  // A parameter in a WHERE clause matches as data only.
  mysql::ResultSet none = co_await c.query("SELECT COUNT(*) FROM t_inject WHERE s = %s", "' OR '1'='1");
  EXPECT_EQ(none.rows()[0][0].as<int>(), 0);
  // Every kind of parameter.
  mysql::ResultSet kinds =
      co_await c.query("SELECT %s, %s, %s, %s, %s, %s, %s", nullptr, true, -5, 18446744073709551615ull, 0.5,
                       std::optional<int>(), std::optional<std::string>("opt"));
  const mysql::Row& k = kinds.rows()[0];
  EXPECT_TRUE(k[0].is_null());
  EXPECT_EQ(k[1].as<int>(), 1);
  EXPECT_EQ(k[2].as<int>(), -5);
  EXPECT_EQ(k[3].as<std::uint64_t>(), 18446744073709551615ull);
  EXPECT_EQ(k[4].as<double>(), 0.5);
  EXPECT_TRUE(k[5].is_null());
  EXPECT_EQ(k[6].as<std::string>(), "opt");
  // Placeholder count mismatches are ProgrammingErrors, raised before anything is sent.
  EXPECT_THROW((void)c.execute("SELECT %s, %s", 1), mysql::ProgrammingError);
  EXPECT_THROW((void)c.execute("SELECT %s", 1, 2), mysql::ProgrammingError);
  // Without parameters a % is just a %.
  mysql::ResultSet pct = co_await c.query("SELECT '100%'");
  EXPECT_EQ(pct.rows()[0][0].as<std::string>(), "100%");
  co_await c.execute("DROP TABLE t_inject");
}

AIO_TEST(MysqlQuery, ServerErrorsMapLikePyMySQL) {
  AIO_REQUIRE_MYSQL(server);
  mysql::Connection c = co_await connect_tcp(server);
  co_await c.execute("DROP TABLE IF EXISTS t_errors");
  co_await c.execute("CREATE TABLE t_errors (id INT PRIMARY KEY)");
  co_await c.execute("INSERT INTO t_errors VALUES (1)");
  std::exception_ptr dup = co_await aio_test::error_of(c.execute("INSERT INTO t_errors VALUES (1)"));
  EXPECT_TRUE(aio_test::holds<mysql::IntegrityError>(dup)) << aio_test::what_of(dup);
  EXPECT_EQ(code_of(dup), 1062);
  EXPECT_EQ(aio_test::exception_as<mysql::Error>(dup)->sqlstate(), "23000");
  std::exception_ptr syntax = co_await aio_test::error_of(c.query("SELEC 1"));
  EXPECT_TRUE(aio_test::holds<mysql::ProgrammingError>(syntax)) << aio_test::what_of(syntax);
  EXPECT_EQ(code_of(syntax), 1064);
  std::exception_ptr missing = co_await aio_test::error_of(c.query("SELECT * FROM no_such_table"));
  EXPECT_TRUE(aio_test::holds<mysql::ProgrammingError>(missing)) << aio_test::what_of(missing);
  EXPECT_EQ(code_of(missing), 1146);
  EXPECT_EQ(aio_test::exception_as<mysql::Error>(missing)->sqlstate(), "42S02");
  EXPECT_TRUE(aio_test::holds<aio::Error>(missing));
  // An error leaves the connection in step: it goes on working.
  EXPECT_FALSE(c.closed());
  mysql::ResultSet rs = co_await c.query("SELECT COUNT(*) FROM t_errors");
  EXPECT_EQ(rs.rows()[0][0].as<int>(), 1);
  co_await c.execute("DROP TABLE t_errors");
}

AIO_TEST(MysqlQuery, InsertIdsAffectedRowsAndTransactions) {
  AIO_REQUIRE_MYSQL(server);
  mysql::Connection c = co_await connect_tcp(server);
  co_await c.execute("DROP TABLE IF EXISTS t_tx");
  co_await c.execute("CREATE TABLE t_tx (id INT PRIMARY KEY AUTO_INCREMENT, v INT) ENGINE=InnoDB");
  EXPECT_EQ(co_await c.execute("INSERT INTO t_tx (v) VALUES (%s), (%s), (%s)", 1, 2, 3), 3u);
  EXPECT_EQ(c.last_insert_id(), 1u);  // the first id of a multi-row insert
  EXPECT_EQ(co_await c.execute("INSERT INTO t_tx (v) VALUES (4)"), 1u);
  EXPECT_EQ(c.last_insert_id(), 4u);
  EXPECT_EQ(co_await c.execute("UPDATE t_tx SET v = v + 1 WHERE v >= %s", 3), 2u);

  co_await c.begin();
  EXPECT_TRUE(c.in_transaction());
  co_await c.execute("DELETE FROM t_tx");
  co_await c.rollback();
  EXPECT_FALSE(c.in_transaction());
  mysql::ResultSet after_rollback = co_await c.query("SELECT COUNT(*) FROM t_tx");
  EXPECT_EQ(after_rollback.rows()[0][0].as<int>(), 4);

  co_await c.begin();
  co_await c.execute("DELETE FROM t_tx WHERE id = 1");
  co_await c.commit();
  mysql::ResultSet after_commit = co_await c.query("SELECT COUNT(*) FROM t_tx");
  EXPECT_EQ(after_commit.rows()[0][0].as<int>(), 3);

  // autocommit = false: changes wait for commit().
  mysql::ConnectOptions o = server->tcp();
  o.autocommit = false;
  mysql::Connection manual = co_await mysql::connect(o);
  co_await manual.execute("DELETE FROM t_tx");
  mysql::ResultSet other_view = co_await c.query("SELECT COUNT(*) FROM t_tx");
  EXPECT_EQ(other_view.rows()[0][0].as<int>(), 3);
  co_await manual.rollback();
  co_await manual.close();
  co_await c.execute("DROP TABLE t_tx");
}

AIO_TEST(MysqlQuery, MultiResultSetsAndProcedures) {
  AIO_REQUIRE_MYSQL(server);
  mysql::ConnectOptions o = server->tcp();
  o.multi_statements = true;
  mysql::Connection c = co_await mysql::connect(o);
  std::vector<mysql::ResultSet> all = co_await c.query_all("SELECT 1; SELECT 'a', 'b' UNION SELECT 'c', 'd'; DO 0");
  AIO_ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].rows()[0][0].as<int>(), 1);
  EXPECT_EQ(all[1].rows().size(), 2u);
  EXPECT_EQ(all[1].rows()[1][1].as<std::string>(), "d");
  EXPECT_TRUE(all[2].columns().empty());
  // query() returns the first and reads the rest, so the connection stays in step.
  mysql::ResultSet first = co_await c.query("SELECT 10; SELECT 20");
  EXPECT_EQ(first.rows()[0][0].as<int>(), 10);
  mysql::ResultSet next = co_await c.query("SELECT 30");
  EXPECT_EQ(next.rows()[0][0].as<int>(), 30);
  // A procedure's results, then its final status.
  co_await c.execute("DROP PROCEDURE IF EXISTS p_two");
  co_await c.execute("CREATE PROCEDURE p_two() BEGIN SELECT 1 AS a; SELECT 2 AS b, 3 AS c; END");
  std::vector<mysql::ResultSet> proc = co_await c.query_all("CALL p_two()");
  AIO_ASSERT_EQ(proc.size(), 3u);
  EXPECT_EQ(proc[1].rows()[0]["c"].as<int>(), 3);
  // An error in a later statement surfaces and the connection stays usable.
  std::exception_ptr e = co_await aio_test::error_of(c.query_all("SELECT 1; SELECT * FROM no_such_table"));
  EXPECT_EQ(code_of(e), 1146);
  mysql::ResultSet still = co_await c.query("SELECT 5");
  EXPECT_EQ(still.rows()[0][0].as<int>(), 5);
  co_await c.execute("DROP PROCEDURE p_two");
}

AIO_TEST(MysqlQuery, PacketsOver16MiBBothWays) {
  AIO_REQUIRE_MYSQL(server);
  mysql::Connection c = co_await connect_tcp(server);
  co_await c.execute("DROP TABLE IF EXISTS t_big");
  co_await c.execute("CREATE TABLE t_big (b LONGBLOB)");
  std::string big = aio_test::net::pattern(17 * 1024 * 1024 + 3);
  co_await c.execute("INSERT INTO t_big VALUES (%s)", mysql::Blob{big});
  mysql::ResultSet rs = co_await c.query("SELECT b, LENGTH(b) FROM t_big");
  EXPECT_EQ(rs.rows()[0][1].as<std::size_t>(), big.size());
  EXPECT_TRUE(rs.rows()[0][0].as<std::string_view>() == big);
  // Exactly 16 MiB - 1 payload bytes: the packet that needs an empty follower.
  std::string edge(0xffffff - 1 - 9, 'e');  // COM_QUERY + "SELECT '" + "'" around it
  mysql::ResultSet e = co_await c.query("SELECT LENGTH('" + edge + "')");
  EXPECT_EQ(e.rows()[0][0].as<std::size_t>(), edge.size());
  mysql::Statement st = co_await c.prepare("SELECT LENGTH(?)");
  mysql::ResultSet p = co_await st.query(mysql::Blob{big});
  EXPECT_EQ(p.rows()[0][0].as<std::size_t>(), big.size());
  co_await c.execute("DROP TABLE t_big");
}

// Bytes glibc's malloc has handed out and not had back: heap chunks and mmapped ones.
[[maybe_unused]] std::size_t malloc_in_use() {
  const struct mallinfo2 m = ::mallinfo2();
  return m.uordblks + m.hblkhd;
}

// A connection's receive buffer grows for a 17 MiB row; once the row has been read out it
// must shrink back, or every pooled connection that ever read a big blob holds 17-34 MiB.
AIO_TEST(MysqlQuery, AHugeRowsBuffersAreGivenBackAfterIt) {
#ifdef AIO_TEST_SANITIZER_ALLOCATOR
  AIO_SKIP_TEST("a sanitizer's allocator does not report through mallinfo2");
#else
  AIO_REQUIRE_MYSQL(server);
  mysql::Connection c = co_await connect_tcp(server);
  co_await c.execute("DROP TABLE IF EXISTS t_huge");
  co_await c.execute("CREATE TABLE t_huge (b LONGBLOB)");
  const std::size_t size = 17 * 1024 * 1024 + 3;
  {
    std::string big = aio_test::net::pattern(size);
    co_await c.execute("INSERT INTO t_huge VALUES (%s)", mysql::Blob{big});
  }
  mysql::ResultSet warm = co_await c.query("SELECT 1");
  const std::size_t before = malloc_in_use();
  {
    mysql::ResultSet rs = co_await c.query("SELECT b FROM t_huge");
    EXPECT_EQ(rs.rows()[0][0].as<std::string_view>().size(), size);
    mysql::RowStream stream = co_await c.query_stream("SELECT b FROM t_huge");
    const mysql::RowView* row = co_await stream.next_view();
    EXPECT_EQ(row ? (*row)[0].as<std::string_view>().size() : 0, size);
    EXPECT_EQ(co_await stream.next_view(), nullptr);
  }
  mysql::ResultSet after = co_await c.query("SELECT 1");
  EXPECT_EQ(after.rows()[0][0].as<int>(), 1);
  const std::size_t now = malloc_in_use();
  EXPECT_LT(now, before + 1024 * 1024) << "still held after the big row: " << (now - before) << " bytes";
  co_await c.execute("DROP TABLE t_huge");
#endif
}

AIO_TEST(MysqlQuery, Utf8mb4RoundTrips) {
  AIO_REQUIRE_MYSQL(server);
  mysql::Connection c = co_await connect_tcp(server);
  const std::string text = "😀 grüße 日本語 𝄞";
  mysql::ResultSet rs = co_await c.query("SELECT %s, CHAR_LENGTH(%s), @@character_set_client", text, text);
  EXPECT_EQ(rs.rows()[0][0].as<std::string>(), text);
  EXPECT_EQ(rs.rows()[0][1].as<int>(), 13);
  EXPECT_EQ(rs.rows()[0][2].as<std::string>(), "utf8mb4");
}

AIO_TEST(MysqlQuery, PingResetAndClose) {
  AIO_REQUIRE_MYSQL(server);
  mysql::Connection c = co_await connect_tcp(server);
  co_await c.ping();
  co_await c.execute("SET @x = 42");
  co_await c.begin();
  co_await c.reset();
  EXPECT_FALSE(c.in_transaction());
  mysql::ResultSet rs = co_await c.query("SELECT @x");
  EXPECT_TRUE(rs.rows()[0][0].is_null());
  co_await c.close();
  std::exception_ptr e = co_await aio_test::error_of(c.ping());
  EXPECT_TRUE(aio_test::holds<mysql::InterfaceError>(e)) << aio_test::what_of(e);
  co_await c.close();  // twice is fine
}

// --- prepared statements ---------------------------------------------------------------------

AIO_TEST(MysqlStatement, BindsEveryParameterKind) {
  AIO_REQUIRE_MYSQL(server);
  mysql::Connection c = co_await connect_tcp(server);
  co_await c.execute("DROP TABLE IF EXISTS t_stmt");
  co_await c.execute(
      "CREATE TABLE t_stmt (id INT PRIMARY KEY AUTO_INCREMENT, i BIGINT, u BIGINT UNSIGNED, d DOUBLE, s VARCHAR(50), b "
      "BLOB, n INT)");
  mysql::Statement ins = co_await c.prepare("INSERT INTO t_stmt (i, u, d, s, b, n) VALUES (?, ?, ?, ?, ?, ?)");
  EXPECT_EQ(ins.param_count(), 6u);
  for (int k = 0; k < 3; ++k) {
    std::uint64_t n = co_await ins.execute(-k, 18446744073709551615ull, k + 0.25, "it's " + std::to_string(k),
                                           mysql::Blob{std::string_view("\0\xff", 2)}, nullptr);
    EXPECT_EQ(n, 1u);
    EXPECT_EQ(c.last_insert_id(), static_cast<std::uint64_t>(k + 1));
  }
  EXPECT_THROW((void)ins.execute(1), mysql::ProgrammingError);
  mysql::Statement sel = co_await c.prepare("SELECT i, u, d, s, b, n FROM t_stmt WHERE id >= ? ORDER BY id");
  AIO_ASSERT_EQ(sel.columns().size(), 6u);
  EXPECT_EQ(sel.columns()[1].name(), "u");
  EXPECT_TRUE(sel.columns()[1].is_unsigned());
  EXPECT_TRUE(ins.columns().empty());
  mysql::ResultSet rs = co_await sel.query(2);
  AIO_ASSERT_EQ(rs.rows().size(), 2u);
  EXPECT_EQ(rs.rows()[0]["i"].as<int>(), -1);
  EXPECT_EQ(rs.rows()[0]["u"].as<std::uint64_t>(), 18446744073709551615ull);
  EXPECT_EQ(rs.rows()[1]["d"].as<double>(), 2.25);
  EXPECT_EQ(rs.rows()[1]["s"].as<std::string>(), "it's 2");
  EXPECT_EQ(rs.rows()[1]["b"].as<std::string>(), std::string("\0\xff", 2));
  EXPECT_TRUE(rs.rows()[1]["n"].is_null());
  // Dropped without close(): closed on the next command, without a round trip.
  { mysql::Statement dropped = co_await c.prepare("SELECT 1"); }
  co_await ins.close();
  co_await sel.close();
  mysql::ResultSet open = co_await c.query("SHOW SESSION STATUS LIKE 'Com_stmt_close'");
  EXPECT_EQ(open.rows()[0][1].as<int>(), 3);
  co_await c.execute("DROP TABLE t_stmt");
}

// --- streaming -------------------------------------------------------------------------------

AIO_TEST(MysqlStream, RowsArriveOneAtATime) {
  AIO_REQUIRE_MYSQL(server);
  mysql::Connection c = co_await connect_tcp(server);
  const int n = 50000;
  mysql::RowStream s =
      co_await c.query_stream("SELECT seq, REPEAT('x', 100) FROM seq_1_to_50000");  // MariaDB's SEQUENCE engine
  EXPECT_EQ(s.columns().size(), 2u);
  long sum = 0;
  int count = 0;
  while (std::optional<mysql::Row> row = co_await s.next()) {
    sum += (*row)[0].as<long>();
    ++count;
  }
  EXPECT_EQ(count, n);
  EXPECT_EQ(sum, static_cast<long>(n) * (n + 1) / 2);
  EXPECT_EQ(co_await s.next(), std::nullopt);
  // A stream left half-read is drained by the next operation, which then sees its own rows.
  mysql::RowStream half = co_await c.query_stream("SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3");
  std::optional<mysql::Row> one = co_await half.next();
  EXPECT_EQ((*one)[0].as<int>(), 1);
  mysql::ResultSet rs = co_await c.query("SELECT 'mine'");
  EXPECT_EQ(rs.rows()[0][0].as<std::string>(), "mine");
  std::exception_ptr e = co_await aio_test::error_of(half.next());
  EXPECT_TRUE(aio_test::holds<mysql::InterfaceError>(e)) << aio_test::what_of(e);
}

// --- bad input and failures -------------------------------------------------------------------

AIO_TEST(MysqlFailure, QueryTimeoutClosesTheConnectionCleanly) {
  AIO_REQUIRE_MYSQL(server);
  mysql::Connection c = co_await connect_tcp(server);
  std::exception_ptr e = co_await aio_test::error_of(aio::wait_for(c.query("SELECT SLEEP(5)"), 0.2));
  EXPECT_TRUE(aio_test::holds<aio::TimeoutError>(e)) << aio_test::what_of(e);
  // Half-way through an exchange, the connection cannot be reused: it says so.
  EXPECT_TRUE(c.closed());
  std::exception_ptr next = co_await aio_test::error_of(c.query("SELECT 1"));
  EXPECT_TRUE(aio_test::holds<mysql::InterfaceError>(next)) << aio_test::what_of(next);
  EXPECT_NE(aio_test::what_of(next).find("cancelled"), std::string::npos) << aio_test::what_of(next);
  EXPECT_TRUE(co_await aio_test::mysql::kills_done());  // the SLEEP is KILLed on the server
}

AIO_TEST(MysqlFailure, OneOperationAtATimePerConnection) {
  AIO_REQUIRE_MYSQL(server);
  mysql::Connection c = co_await connect_tcp(server);
  aio::Task<mysql::ResultSet> slow = aio::create_task(c.query("SELECT SLEEP(0.05), 'first'"));
  co_await aio_test::run_briefly();
  std::exception_ptr e = co_await aio_test::error_of(c.query("SELECT 'second'"));
  EXPECT_TRUE(aio_test::holds<mysql::InterfaceError>(e)) << aio_test::what_of(e);
  mysql::ResultSet rs = co_await slow;
  EXPECT_EQ(rs.rows()[0][1].as<std::string>(), "first");  // the first is unharmed
  mysql::ResultSet again = co_await c.query("SELECT 'third'");
  EXPECT_EQ(again.rows()[0][0].as<std::string>(), "third");
}

AIO_TEST(MysqlFailure, KilledConnectionIsOperationalError) {
  AIO_REQUIRE_MYSQL(server);
  mysql::Connection victim = co_await connect_tcp(server);
  mysql::Connection killer = co_await connect_tcp(server);
  aio::Task<mysql::ResultSet> q = aio::create_task(victim.query("SELECT SLEEP(10)"));
  // Wait until the server runs the query, then kill the connection from the other one.
  for (int i = 0; i < 500; ++i) {
    mysql::ResultSet pl = co_await killer.query(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %s AND INFO LIKE 'SELECT SLEEP%%'",
        victim.thread_id());
    if (pl.rows()[0][0].as<int>() == 1) break;
    co_await aio::sleep(0.01);
  }
  co_await killer.execute("KILL %s", victim.thread_id());
  std::exception_ptr e = co_await aio_test::error_of(std::move(q));
  EXPECT_TRUE(aio_test::holds<mysql::OperationalError>(e)) << aio_test::what_of(e);
  std::exception_ptr after = co_await aio_test::error_of(victim.query("SELECT 1"));
  EXPECT_TRUE(aio_test::holds<mysql::Error>(after)) << aio_test::what_of(after);
}

// How many of the server's threads with this id run a statement starting with `prefix`.
aio::Coro<int> running_on_server(mysql::Connection& observer, std::uint32_t id, std::string prefix) {
  mysql::ResultSet pl = co_await observer.query(
      "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %s AND INFO LIKE %s", id, prefix + "%");
  co_return pl.rows()[0][0].as<int>();
}

// Waits (bounded: 10 s) until the count is `expected`; returns the last count.
aio::Coro<int> settle_running(mysql::Connection& observer, std::uint32_t id, std::string prefix, int expected) {
  int n = -1;
  for (int i = 0; i < 1000; ++i) {
    n = co_await running_on_server(observer, id, prefix);
    if (n == expected) break;
    co_await aio::sleep(0.01);
  }
  co_return n;
}

// A statement abandoned half-way (its task cancelled) is KILLed on the server: a CPU-bound
// one (BENCHMARK: ~45 s here) would otherwise run on after its socket closed, as it does
// with kill_on_cancel off.
AIO_TEST(MysqlCancel, AbandonedStatementIsKilledOnTheServer) {
  AIO_REQUIRE_MYSQL(server);
  mysql::Connection observer = co_await connect_tcp(server);
  const std::string statement = "SELECT BENCHMARK(2000000000, CRC32('aio'))";
  for (bool kill : {true, false}) {
    mysql::ConnectOptions o = server->tcp();
    o.kill_on_cancel = kill;
    mysql::Connection c = co_await mysql::connect(o);
    const std::uint32_t id = c.thread_id();
    aio::Task<mysql::ResultSet> q = aio::create_task(c.query(statement));
    EXPECT_EQ(co_await settle_running(observer, id, "SELECT BENCHMARK", 1), 1);
    q.cancel();
    std::exception_ptr e = co_await aio_test::error_of(q);
    EXPECT_TRUE(aio_test::holds<aio::CancelledError>(e)) << aio_test::what_of(e);
    EXPECT_TRUE(c.closed());
    if (kill) {
      EXPECT_EQ(co_await settle_running(observer, id, "SELECT BENCHMARK", 0), 0) << "still running on the server";
      EXPECT_TRUE(co_await aio_test::mysql::kills_done());
    } else {
      co_await aio::sleep(0.5);
      EXPECT_EQ(co_await running_on_server(observer, id, "SELECT BENCHMARK"), 1) << "kill_on_cancel=false killed it";
      co_await observer.execute("KILL %s", id);  // (not to burn the server's CPU for 45 s)
    }
  }
  // A statement that ends normally, or with a server error, kills nothing.
  mysql::Connection c = co_await connect_tcp(server);
  std::exception_ptr e = co_await aio_test::error_of(c.query("SELECT * FROM no_such_table"));
  EXPECT_TRUE(aio_test::holds<mysql::ProgrammingError>(e)) << aio_test::what_of(e);
  mysql::ResultSet rs = co_await c.query("SELECT 7");
  EXPECT_EQ(rs.rows()[0][0].as<int>(), 7);
}

// The KILL's own connection can fail (here: a user allowed one connection at a time). The
// cancel is not delayed by it, the background task ends quietly, and the statement runs on
// as it would without kill_on_cancel.
AIO_TEST(MysqlCancel, AFailedKillEndsQuietly) {
  AIO_REQUIRE_MYSQL(server);
  mysql::Connection observer = co_await connect_tcp(server);
  co_await observer.execute("DROP USER IF EXISTS 'aio_one'@'%'");
  co_await observer.execute("CREATE USER 'aio_one'@'%' IDENTIFIED BY 'one' WITH MAX_USER_CONNECTIONS 1");
  co_await observer.execute("GRANT USAGE ON *.* TO 'aio_one'@'%'");
  mysql::ConnectOptions o = server->tcp();
  o.user = "aio_one";
  o.password = "one";
  o.db = "";
  mysql::Connection c = co_await mysql::connect(o);
  const std::uint32_t id = c.thread_id();
  aio::Task<mysql::ResultSet> q = aio::create_task(c.query("SELECT BENCHMARK(2000000000, CRC32('one'))"));
  EXPECT_EQ(co_await settle_running(observer, id, "SELECT BENCHMARK", 1), 1);
  aio::get_running_loop().set_debug(true);  // the failure is logged, not thrown
  q.cancel();
  std::exception_ptr e = co_await aio_test::error_of(q);
  EXPECT_TRUE(aio_test::holds<aio::CancelledError>(e)) << aio_test::what_of(e);
  EXPECT_TRUE(co_await aio_test::mysql::kills_done());
  aio::get_running_loop().set_debug(false);
  EXPECT_EQ(co_await running_on_server(observer, id, "SELECT BENCHMARK"), 1) << "the KILL got through after all";
  co_await observer.execute("KILL %s", id);
  co_await observer.execute("DROP USER 'aio_one'@'%'");
}

// --- peers that are not (good) MySQL servers ----------------------------------------------------

aio::Coro<mysql::Connection> connect_with(mysql::ConnectOptions o) { co_return co_await mysql::connect(o); }

// Connects to a local server that sends `reply` (then closes, if `close_after`) and returns
// what connect() threw.
aio::Coro<std::exception_ptr> connect_to_peer(std::string reply, bool close_after, double timeout) {
  aio_test::net::Accepted slot;
  aio::Server peer = co_await aio::start_server(aio_test::net::stash_into(&slot), "127.0.0.1", 0);
  mysql::ConnectOptions o{.host = "127.0.0.1", .port = peer.addresses()[0].port(), .user = "u", .password = "p"};
  o.connect_timeout = timeout;
  aio::Task<mysql::Connection> client = aio::create_task(connect_with(o));
  co_await slot.ready.wait();
  if (!reply.empty()) slot.writer->write(reply);
  if (close_after) slot.writer->close();
  std::exception_ptr e = co_await aio_test::error_of(client);
  slot.writer->close();
  slot.reader.reset();
  slot.writer.reset();
  peer.close();
  co_await peer.wait_closed();
  co_return e;
}

AIO_TEST(MysqlPeer, GarbageInsteadOfAGreetingIsAHandshakeError) {
  std::exception_ptr e = co_await connect_to_peer("HTTP/1.1 400 Bad Request\r\n\r\n", true, 5);
  EXPECT_TRUE(aio_test::holds<mysql::OperationalError>(e)) << aio_test::what_of(e);
  EXPECT_EQ(code_of(e), 2012) << aio_test::what_of(e);
}

AIO_TEST(MysqlPeer, WrongProtocolVersionIsRefused) {
  std::string greeting(
      "\x05\x00\x00\x00\x09"
      "5.0\0",
      9);  // protocol 9
  std::exception_ptr e = co_await connect_to_peer(greeting, true, 5);
  EXPECT_EQ(code_of(e), 2007) << aio_test::what_of(e);
}

AIO_TEST(MysqlPeer, ClosedMidGreetingIsLostConnection) {
  std::string partial(
      "\x4a\x00\x00\x00\x0a"
      "10.11",
      10);  // a greeting cut short
  std::exception_ptr e = co_await connect_to_peer(partial, true, 5);
  EXPECT_TRUE(aio_test::holds<mysql::OperationalError>(e)) << aio_test::what_of(e);
  EXPECT_EQ(code_of(e), 2013) << aio_test::what_of(e);
}

AIO_TEST(MysqlPeer, SilentServerTimesOutWithConnectTimeout) {
  std::exception_ptr e = co_await connect_to_peer("", false, 0.2);
  EXPECT_TRUE(aio_test::holds<mysql::OperationalError>(e)) << aio_test::what_of(e);
  EXPECT_EQ(code_of(e), 2003) << aio_test::what_of(e);
  EXPECT_NE(aio_test::what_of(e).find("timed out"), std::string::npos) << aio_test::what_of(e);
}

// --- the demo --------------------------------------------------------------------------------

AIO_TEST(MysqlDemo, RunsAgainstTheServer) {
#ifndef AIO_MYSQL_DEMO
  AIO_SKIP_TEST("the examples are not built (-DAIO_BUILD_EXAMPLES=OFF)");
#else
  AIO_REQUIRE_MYSQL(server);
  auto demo = aio_test::interop::Child::spawn({AIO_MYSQL_DEMO, "--socket", server->socket_path(), "--user",
                                               aio_test::mysql::kUser, "--password", aio_test::mysql::kPassword, "--db",
                                               aio_test::mysql::kDatabase});
  std::string out = co_await demo.read_all(30);
  std::optional<int> code = co_await demo.wait(30);
  EXPECT_EQ(code, 0) << demo.describe();
  EXPECT_NE(out.find("inserted cherry's as id 3"), std::string::npos) << out;
  EXPECT_NE(out.find("2  banana     0.25"), std::string::npos) << out;
#endif
}

}  // namespace
