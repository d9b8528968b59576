// aio::mysql in one page: a pool, a table, inserts with parameters, a query, a rollback.
//
//   mysql_demo [--socket PATH | --host H --port P] [--user U] [--password PW] [--db DB]
//
// Without a reachable server it says so and exits 0 (a demo, not a test).
#include <aio/aio.hpp>
#include <aio/mysql.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <string_view>

namespace mysql = aio::mysql;

struct Args {
  std::string host = "127.0.0.1", socket, user = "root", password, db = "test";
  int port = 3306;
};

aio::Coro<int> demo(Args args) {
  mysql::PoolOptions options{.minsize = 1,
                             .maxsize = 4,
                             .connect = {.host = args.host,
                                         .port = args.port,
                                         .user = args.user,
                                         .password = args.password,
                                         .db = args.db,
                                         .unix_socket = args.socket}};
  mysql::Pool pool;
  try {
    pool = co_await mysql::create_pool(options);
  } catch (const mysql::OperationalError& e) {
    std::printf("mysql_demo: skipped, no server to talk to: %s\n", e.what());
    co_return 0;
  }
  {
    mysql::PooledConnection conn = co_await pool.acquire();
    co_await conn->execute("DROP TABLE IF EXISTS aio_demo_fruit");
    co_await conn->execute(
        "CREATE TABLE aio_demo_fruit (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(40), price DECIMAL(6,2))");
    const std::pair<const char*, double> fruit[] = {{"apple", 0.5}, {"banana", 0.25}, {"cherry's", 4.0}};
    for (auto [name, price] : fruit) {
      co_await conn->execute("INSERT INTO aio_demo_fruit (name, price) VALUES (%s, %s)", name, price);
      std::printf("inserted %s as id %llu\n", name, static_cast<unsigned long long>(conn->last_insert_id()));
    }
    // A transaction rolled back leaves nothing behind.
    co_await conn->begin();
    co_await conn->execute("DELETE FROM aio_demo_fruit");
    co_await conn->rollback();

    mysql::ResultSet rs =
        co_await conn->query("SELECT id, name, price FROM aio_demo_fruit WHERE price < %s ORDER BY id", 5);
    for (const mysql::Row& row : rs.rows())
      std::printf("%d  %-10s %s\n", row["id"].as<int>(), row["name"].as<std::string>().c_str(),
                  row["price"].as<std::string>().c_str());
    co_await conn->execute("DROP TABLE aio_demo_fruit");
  }
  pool.close();
  co_await pool.wait_closed();
  co_return 0;
}

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view flag = argv[i];
    std::string value = argv[i + 1];
    if (flag == "--host")
      args.host = value;
    else if (flag == "--port")
      args.port = std::atoi(value.c_str());
    else if (flag == "--socket")
      args.socket = value;
    else if (flag == "--user")
      args.user = value;
    else if (flag == "--password")
      args.password = value;
    else if (flag == "--db")
      args.db = value;
  }
  return aio::run(demo(std::move(args)));
}
