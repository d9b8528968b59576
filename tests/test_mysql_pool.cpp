// aio::mysql::Pool against a real MariaDB server: sizes, FIFO waiters, recycling, health
// checks, close/wait_closed, cancellation at every await point, and a server that dies.
#include <aio/mysql.hpp>

#include "mysql_support.hpp"
#include "support.hpp"

namespace {

using aio_test::mysql::Server;
namespace mysql = aio::mysql;

mysql::PoolOptions pool_options(Server* s, std::size_t minsize, std::size_t maxsize) {
  return mysql::PoolOptions{.minsize = minsize, .maxsize = maxsize, .pool_recycle = -1, .connect = s->tcp()};
}

aio::Coro<int> select_value(mysql::Pool& pool, int v) {
  mysql::PooledConnection conn = co_await pool.acquire();
  mysql::ResultSet rs = co_await conn->query("SELECT %s", v);
  co_return rs.rows()[0][0].as<int>();
}

// How many connections of the test user the server has (the process list).
aio::Coro<int> server_connections(mysql::Connection& observer) {
  mysql::ResultSet rs =
      co_await observer.query("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = %s", "aio");
  co_return rs.rows()[0][0].as<int>();
}

// Waits (bounded) until the server's count matches: a closed socket ends its server
// thread a moment later, not at once.
aio::Coro<int> settled_server_connections(mysql::Connection& observer, int expected) {
  int n = -1;
  for (int i = 0; i < 300; ++i) {
    n = co_await server_connections(observer);
    if (n == expected) break;
    co_await aio::sleep(0.01);
  }
  co_return n;
}

AIO_TEST(MysqlPool, SizesFollowMinsizeAndMaxsize) {
  AIO_REQUIRE_MYSQL(server);
  mysql::PoolOptions o = pool_options(server, 2, 3);
  mysql::Pool pool = co_await mysql::create_pool(o);
  EXPECT_EQ(pool.size(), 2u);
  EXPECT_EQ(pool.freesize(), 2u);
  EXPECT_EQ(pool.minsize(), 2u);
  EXPECT_EQ(pool.maxsize(), 3u);
  {
    mysql::PooledConnection a = co_await pool.acquire();
    mysql::PooledConnection b = co_await pool.acquire();
    mysql::PooledConnection c = co_await pool.acquire();
    EXPECT_EQ(pool.size(), 3u);
    EXPECT_EQ(pool.freesize(), 0u);
    mysql::ResultSet rs = co_await (*c).query("SELECT 3");
    EXPECT_EQ(rs.rows()[0][0].as<int>(), 3);
    EXPECT_NE(a->thread_id(), b->thread_id());
    b.release();
    EXPECT_EQ(pool.freesize(), 1u);
  }
  EXPECT_EQ(pool.size(), 3u);
  EXPECT_EQ(pool.freesize(), 3u);
  pool.close();
  co_await pool.wait_closed();
  EXPECT_EQ(pool.size(), 0u);
  std::exception_ptr e = co_await aio_test::error_of(pool.acquire());
  EXPECT_TRUE(aio_test::holds<mysql::InterfaceError>(e)) << aio_test::what_of(e);
}

aio::Coro<void> acquire_and_log(mysql::Pool& pool, std::vector<int>& order, int id) {
  mysql::PooledConnection conn = co_await pool.acquire();
  order.push_back(id);
  co_await conn->ping();
}

AIO_TEST(MysqlPool, WaitersAreServedFirstComeFirstServed) {
  AIO_REQUIRE_MYSQL(server);
  mysql::PoolOptions o = pool_options(server, 1, 1);
  mysql::Pool pool = co_await mysql::create_pool(o);
  std::vector<int> order;
  std::vector<aio::Task<void>> tasks;
  {
    mysql::PooledConnection held = co_await pool.acquire();
    for (int i = 0; i < 5; ++i) {
      tasks.push_back(aio::create_task(acquire_and_log(pool, order, i)));
      co_await aio_test::run_briefly();  // queued in this order
    }
    // One waiter gives up: the others keep their places.
    tasks[2].cancel();
    co_await aio_test::spin();
    EXPECT_TRUE(order.empty());
  }
  for (auto& t : tasks) co_await aio_test::error_of(t);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 3, 4}));
  EXPECT_EQ(pool.size(), 1u);
  EXPECT_EQ(pool.freesize(), 1u);
  pool.close();
  co_await pool.wait_closed();
}

AIO_TEST(MysqlPool, RecycleAndHealthCheckReplaceConnections) {
  AIO_REQUIRE_MYSQL(server);
  mysql::ConnectOptions co = server->tcp();
  mysql::Connection observer = co_await mysql::connect(co);
  // pool_recycle = 0: any idle time is too long, the next acquire gets a new connection.
  mysql::PoolOptions recycle{.minsize = 1, .maxsize = 2, .pool_recycle = 0, .connect = server->tcp()};
  mysql::Pool recycling = co_await mysql::create_pool(recycle);
  std::uint32_t first = 0;
  {
    mysql::PooledConnection c = co_await recycling.acquire();
    first = c->thread_id();
  }
  co_await aio::sleep(0.01);
  {
    mysql::PooledConnection c = co_await recycling.acquire();
    EXPECT_NE(c->thread_id(), first);
    EXPECT_EQ(recycling.size(), 1u);
  }
  recycling.close();
  co_await recycling.wait_closed();

  // ping_after_idle = 0: an idle connection the server killed is found dead and replaced.
  mysql::PoolOptions checked{.minsize = 1, .maxsize = 2, .connect = server->tcp(), .ping_after_idle = 0};
  mysql::Pool pool = co_await mysql::create_pool(checked);
  std::uint32_t killed = 0;
  {
    mysql::PooledConnection c = co_await pool.acquire();
    killed = c->thread_id();
  }
  co_await observer.execute("KILL %s", killed);
  co_await aio::sleep(0.01);
  {
    mysql::PooledConnection c = co_await pool.acquire();
    EXPECT_NE(c->thread_id(), killed);
    mysql::ResultSet rs = co_await c->query("SELECT 1");
    EXPECT_EQ(rs.rows()[0][0].as<int>(), 1);
  }
  EXPECT_EQ(pool.size(), 1u);
  pool.close();
  co_await pool.wait_closed();
}

AIO_TEST(MysqlPool, UnfinishedTransactionIsNotHandedOn) {
  AIO_REQUIRE_MYSQL(server);
  mysql::PoolOptions o = pool_options(server, 1, 1);
  mysql::Pool pool = co_await mysql::create_pool(o);
  std::uint32_t id = 0;
  {
    mysql::PooledConnection c = co_await pool.acquire();
    id = c->thread_id();
    co_await c->begin();
  }
  EXPECT_EQ(pool.size(), 0u);  // closed, not reused
  mysql::PooledConnection c = co_await pool.acquire();
  EXPECT_NE(c->thread_id(), id);
  EXPECT_FALSE(c->in_transaction());
  c.release();
  pool.close();
  co_await pool.wait_closed();
}

// Cancels a pooled query after k loop iterations, for k = 0, 1, 2, ... until it finishes
// uncancelled three times in a row: every await point (acquire, connect, send, each read)
// is hit. After each round the pool must be consistent and the next query must see only
// its own rows. Returns how many rounds were cancelled.
aio::Coro<int> cancel_at_every_await_point(mysql::Pool& pool) {
  int finished_in_a_row = 0;
  int cancelled = 0;
  for (int k = 0; k < 400 && finished_in_a_row < 3; ++k) {
    aio::Task<int> t = aio::create_task(select_value(pool, 1000 + k));
    for (int i = 0; i < k; ++i) co_await aio_test::run_briefly();
    const bool was_cancelled = t.cancel();
    std::exception_ptr e = co_await aio_test::error_of(t);
    if (was_cancelled && aio_test::holds<aio::CancelledError>(e)) {
      ++cancelled;
      finished_in_a_row = 0;
    } else {
      EXPECT_FALSE(e) << aio_test::what_of(e);
      if (!e) {
        EXPECT_EQ(t.result(), 1000 + k);
      }
      ++finished_in_a_row;
    }
    EXPECT_LE(pool.size(), pool.maxsize());
    EXPECT_EQ(pool.size(), pool.freesize()) << "a connection is still lent after round " << k;
    // The next user sees its own result, never the cancelled query's.
    int mine = co_await select_value(pool, -k);
    EXPECT_EQ(mine, -k);
  }
  EXPECT_EQ(finished_in_a_row, 3);
  co_return cancelled;
}

AIO_TEST(MysqlPool, CancellationAtEveryAwaitPointLeavesNothingOutOfSync) {
  AIO_REQUIRE_MYSQL(server);
  mysql::ConnectOptions co = server->tcp();
  mysql::Connection observer = co_await mysql::connect(co);
  // A warm pool: the awaits of acquire, sending and reading.
  mysql::PoolOptions warm_options = pool_options(server, 1, 2);
  mysql::Pool warm = co_await mysql::create_pool(warm_options);
  EXPECT_GE(co_await cancel_at_every_await_point(warm), 2);
  // pool_recycle = 0: every acquire connects anew, so the handshake's awaits are hit too.
  mysql::PoolOptions fresh_options{.minsize = 0, .maxsize = 2, .pool_recycle = 0, .connect = server->tcp()};
  mysql::Pool fresh = co_await mysql::create_pool(fresh_options);
  EXPECT_GE(co_await cancel_at_every_await_point(fresh), 5);
  // The server holds exactly the pools' connections and the observer: nothing leaked.
  int expected = static_cast<int>(warm.size() + fresh.size()) + 1;
  EXPECT_EQ(co_await settled_server_connections(observer, expected), expected);
  warm.close();
  fresh.close();
  co_await warm.wait_closed();
  co_await fresh.wait_closed();
  EXPECT_EQ(co_await settled_server_connections(observer, 1), 1);
}

AIO_TEST(MysqlPool, HalfReadStreamIsNotHandedOn) {
  AIO_REQUIRE_MYSQL(server);
  mysql::PoolOptions o = pool_options(server, 1, 1);
  mysql::Pool pool = co_await mysql::create_pool(o);
  {
    mysql::PooledConnection c = co_await pool.acquire();
    mysql::RowStream s = co_await c->query_stream("SELECT seq FROM seq_1_to_100000");
    std::optional<mysql::Row> first = co_await s.next();
    EXPECT_EQ((*first)[0].as<int>(), 1);
  }  // released mid-stream: closed rather than handed on with rows in flight
  EXPECT_EQ(pool.size(), 0u);
  EXPECT_EQ(co_await select_value(pool, 11), 11);
  pool.close();
  co_await pool.wait_closed();
}

AIO_TEST(MysqlPool, AcquireWaitersFailWhenThePoolCloses) {
  AIO_REQUIRE_MYSQL(server);
  mysql::PoolOptions o = pool_options(server, 1, 1);
  mysql::Pool pool = co_await mysql::create_pool(o);
  mysql::PooledConnection held = co_await pool.acquire();
  aio::Task<mysql::PooledConnection> waiter = aio::create_task(pool.acquire());
  co_await aio_test::spin();
  pool.close();
  std::exception_ptr e = co_await aio_test::error_of(waiter);
  EXPECT_TRUE(aio_test::holds<mysql::InterfaceError>(e)) << aio_test::what_of(e);
  EXPECT_EQ(pool.size(), 1u);  // the lent one, until it comes back
  aio::Task<void> closing = aio::create_task(pool.wait_closed());
  co_await aio_test::spin();
  EXPECT_FALSE(closing.done());
  held.release();
  co_await closing;
  EXPECT_EQ(pool.size(), 0u);
}

AIO_TEST(MysqlPool, QueryTimeoutDropsTheConnectionAndThePoolRecovers) {
  AIO_REQUIRE_MYSQL(server);
  mysql::PoolOptions o = pool_options(server, 1, 1);
  mysql::Pool pool = co_await mysql::create_pool(o);
  {
    mysql::PooledConnection c = co_await pool.acquire();
    std::exception_ptr e = co_await aio_test::error_of(aio::wait_for(c->query("SELECT SLEEP(3)"), 0.1));
    EXPECT_TRUE(aio_test::holds<aio::TimeoutError>(e)) << aio_test::what_of(e);
  }
  EXPECT_EQ(pool.size(), 0u);
  EXPECT_EQ(co_await select_value(pool, 7), 7);
  pool.close();
  co_await pool.wait_closed();
  EXPECT_TRUE(co_await aio_test::mysql::kills_done());  // the SLEEP is KILLed on the server
}

// Last in this file: it kills the server and starts it again.
AIO_TEST(MysqlPool, ServerKilledMidQueryThenThePoolRecovers) {
  AIO_REQUIRE_MYSQL(server);
  mysql::PoolOptions o = pool_options(server, 2, 2);
  mysql::Pool pool = co_await mysql::create_pool(o);
  {
    mysql::PooledConnection c = co_await pool.acquire();
    aio::Task<mysql::ResultSet> q = aio::create_task(c->query("SELECT SLEEP(10)"));
    co_await aio::sleep(0.05);
    server->kill_now();
    std::exception_ptr e = co_await aio_test::error_of(q);
    EXPECT_TRUE(aio_test::holds<mysql::OperationalError>(e)) << aio_test::what_of(e);
    EXPECT_EQ(aio_test::exception_as<mysql::Error>(e)->code(), 2013) << aio_test::what_of(e);
  }
  // While the server is down: a clear error, no hang.
  std::exception_ptr down = co_await aio_test::error_of(select_value(pool, 1));
  EXPECT_TRUE(aio_test::holds<mysql::OperationalError>(down)) << aio_test::what_of(down);
  // On the loop's own thread (it blocks the loop for a moment): the server dies with the
  // thread that started it (PR_SET_PDEATHSIG), and a pool worker thread may exit.
  AIO_ASSERT_TRUE(server->restart());
  // Dead idle connections fail once and are dropped; then the pool works again.
  int value = -1;
  for (int attempt = 0; attempt < 3 && value != 5; ++attempt) {
    try {
      value = co_await select_value(pool, 5);
    } catch (const mysql::OperationalError&) {
    }
  }
  EXPECT_EQ(value, 5);
  pool.close();
  co_await pool.wait_closed();
}

}  // namespace
