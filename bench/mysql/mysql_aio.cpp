// MySQL client benchmark, the aio side (bench/run_mysql.py). Every client in bench/mysql/
// takes the same arguments and prints one JSON line {"ops": N, "seconds": S}, S timing only
// the measured loop; the runner measures the process's CPU time.
//
//   bench_mysql_aio HOST PORT USER PASSWORD DB SCENARIO N
//
// Scenarios: connect (connect and quit: the runner's start-up baseline), select1 (N
// sequential SELECT 1 on one connection), pool (N SELECT 1 from 100 tasks through a pool of
// 10), rows (stream every row of bench_rows through RowStream::next_view(): rows read in
// place), rows-owned (the same through RowStream::next(): an owning Row per row), insert (N
// prepared INSERTs in one transaction).
#include <aio/aio.hpp>
#include <aio/mysql.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace mysql = aio::mysql;

namespace {

struct Args {
  std::string host, user, password, db, scenario;
  int port = 0;
  long n = 0;
};

mysql::ConnectOptions connect_options(const Args& a) {
  return {.host = a.host, .port = a.port, .user = a.user, .password = a.password, .db = a.db};
}

aio::Coro<void> select1_task(mysql::Pool& pool, long queries, long& done) {
  for (long i = 0; i < queries; ++i) {
    mysql::PooledConnection conn = co_await pool.acquire();
    mysql::ResultSet rs = co_await conn->query("SELECT 1");
    done += static_cast<long>(rs.rows().size());
  }
}

aio::Coro<long> run_pool(const Args& a) {
  const mysql::PoolOptions options{.minsize = 10, .maxsize = 10, .connect = connect_options(a)};
  mysql::Pool pool = co_await mysql::create_pool(options);
  long done = 0;
  std::vector<aio::Coro<void>> tasks;
  for (int t = 0; t < 100; ++t) tasks.push_back(select1_task(pool, a.n / 100, done));
  co_await aio::gather(std::move(tasks));
  pool.close();
  co_await pool.wait_closed();
  co_return done;
}

aio::Coro<long> run_on_connection(mysql::Connection& conn, const Args& a) {
  long ops = 0;
  if (a.scenario == "select1") {
    for (long i = 0; i < a.n; ++i) {
      mysql::ResultSet rs = co_await conn.query("SELECT 1");
      ops += static_cast<long>(rs.rows().size());
    }
  } else if (a.scenario == "rows") {
    mysql::RowStream rows = co_await conn.query_stream("SELECT id, k, name, amount FROM bench_rows");
    std::int64_t sum = 0;
    while (const mysql::RowView* row = co_await rows.next_view()) {
      sum += (*row)[0].as<std::int64_t>();
      ++ops;
    }
    if (sum <= 0) std::fprintf(stderr, "bench_mysql_aio: no rows?\n");
  } else if (a.scenario == "rows-owned") {
    mysql::RowStream rows = co_await conn.query_stream("SELECT id, k, name, amount FROM bench_rows");
    std::int64_t sum = 0;
    while (std::optional<mysql::Row> row = co_await rows.next()) {
      sum += (*row)[0].as<std::int64_t>();
      ++ops;
    }
    if (sum <= 0) std::fprintf(stderr, "bench_mysql_aio: no rows?\n");
  } else if (a.scenario == "insert") {
    mysql::Statement insert = co_await conn.prepare("INSERT INTO bench_insert (id, name, amount) VALUES (?, ?, ?)");
    co_await conn.begin();
    for (long i = 0; i < a.n; ++i) {
      const std::string name = std::string("name-") + std::to_string(i);
      co_await insert.execute(i, name, static_cast<double>(i) / 3.0);
      ++ops;
    }
    co_await conn.commit();
    co_await insert.close();
  }
  co_return ops;
}

aio::Coro<int> run(Args a) {
  aio::EventLoop& loop = aio::get_running_loop();
  if (a.scenario == "pool") {
    const double start = loop.time();
    const long ops = co_await run_pool(a);
    std::printf("{\"ops\": %ld, \"seconds\": %.6f}\n", ops, loop.time() - start);
    co_return 0;
  }
  mysql::Connection conn = co_await mysql::connect(connect_options(a));
  if (a.scenario == "insert") co_await conn.execute("TRUNCATE TABLE bench_insert");
  const double start = loop.time();
  const long ops = co_await run_on_connection(conn, a);
  const double seconds = loop.time() - start;
  co_await conn.close();
  std::printf("{\"ops\": %ld, \"seconds\": %.6f}\n", ops, seconds);
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 8) {
    std::fprintf(stderr, "usage: %s HOST PORT USER PASSWORD DB SCENARIO N\n", argv[0]);
    return 2;
  }
  Args a{argv[1], argv[3], argv[4], argv[5], argv[6], std::atoi(argv[2]), std::atol(argv[7])};
  return aio::run(run(std::move(a)));
}
