// aio::mysql::Pool — a pool of connections (aiomysql.create_pool).
#pragma once

#include <cstddef>
#include <memory>
#include <type_traits>

#include "aio/coro.hpp"
#include "aio/mysql/connection.hpp"

namespace aio::mysql {

namespace detail {
class PoolCore;
}

/// How big the pool is and how it connects (trivially destructible: see ConnectOptions).
struct PoolOptions {
  /// Connections opened by create_pool and kept ready.
  std::size_t minsize = 1;
  /// At most this many connections at once; acquire() waits (FIFO) beyond.
  std::size_t maxsize = 10;
  /// Seconds a connection may stay idle before acquire() replaces it (-1: never).
  double pool_recycle = -1;
  ConnectOptions connect{};
  /// An idle connection older than this (seconds) is pinged before it is handed out; one
  /// that does not answer is dropped and the next one tried (-1: never ping).
  double ping_after_idle = 30.0;
};
static_assert(std::is_trivially_destructible_v<PoolOptions>, "see the comment on ConnectOptions");

/// A connection lent by the pool: `guard->query(...)`, `(*guard).execute(...)`. It goes
/// back at scope exit (release() earlier). A connection that is broken, closed, left
/// mid-operation by a cancellation, mid-stream, or still in a transaction is closed instead
/// of reused, so the next user always gets a clean, in-sync connection (with autocommit
/// off, commit() or rollback() before letting it go, or it is not reused).
class PooledConnection {
 public:
  PooledConnection() noexcept = default;
  PooledConnection(std::shared_ptr<detail::PoolCore> pool, Connection conn) noexcept;
  PooledConnection(PooledConnection&&) noexcept;
  PooledConnection& operator=(PooledConnection&&) noexcept;
  PooledConnection(const PooledConnection&) = delete;
  PooledConnection& operator=(const PooledConnection&) = delete;
  ~PooledConnection() { release(); }

  Connection& operator*() noexcept { return conn_; }
  Connection* operator->() noexcept { return &conn_; }
  explicit operator bool() const noexcept { return pool_ != nullptr; }
  /// Gives the connection back now (idempotent).
  void release() noexcept;

 private:
  std::shared_ptr<detail::PoolCore> pool_;
  Connection conn_;
};

/// A pool of connections:
///
///     auto pool = co_await aio::mysql::create_pool({.minsize = 2, .maxsize = 10, .connect = {...}});
///     {
///       auto conn = co_await pool.acquire();
///       auto rs = co_await conn->query("SELECT 1");
///     }  // back in the pool
///     pool.close();
///     co_await pool.wait_closed();
class Pool {
 public:
  Pool() noexcept = default;
  explicit Pool(std::shared_ptr<detail::PoolCore> core) noexcept : core_(std::move(core)) {}
  Pool(Pool&&) noexcept = default;
  Pool& operator=(Pool&&) noexcept = default;
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  /// Closes the idle connections; connections still lent close when they come back.
  ~Pool();

  /// A free connection, a new one (below maxsize), or else the next one released (waiters
  /// are served first come, first served). OperationalError if connecting fails,
  /// InterfaceError once the pool is closed. Cancel-safe: a cancelled acquire takes nothing
  /// and loses nothing (a connection handed to it just then goes to the next waiter).
  Coro<PooledConnection> acquire();
  /// Every connection: idle, lent and being opened.
  std::size_t size() const noexcept;
  /// Idle connections.
  std::size_t freesize() const noexcept;
  std::size_t minsize() const noexcept;
  std::size_t maxsize() const noexcept;
  /// Stops lending: idle connections close now, lent ones when released; waiting
  /// acquires fail with InterfaceError.
  void close() noexcept;
  /// Waits until every connection is closed (after close()); size() is 0 then.
  Coro<void> wait_closed();
  bool closed() const noexcept;

 private:
  std::shared_ptr<detail::PoolCore> core_;
};

/// Creates a pool and opens `minsize` connections (OperationalError if one fails).
Coro<Pool> create_pool(PoolOptions options);

}  // namespace aio::mysql
