// The connection pool: idle connections, FIFO waiters, and cancel-safe hand-offs.
#include <deque>
#include <optional>

#include "aio/event.hpp"
#include "aio/loop.hpp"
#include "aio/mysql/pool.hpp"
#include "connection_core.hpp"

namespace aio::mysql {

namespace detail {

/// One acquire() waiting its turn. It is woken with a connection, with a permit to open
/// one (capacity reserved for it), or with an error (the pool closed).
struct PoolWaiter {
  aio::Event woken;
  std::optional<Connection> conn;
  bool permit = false;
  bool pool_closed = false;
};

class PoolCore {
 public:
  explicit PoolCore(const PoolOptions& o)
      : host_(o.connect.host),
        user_(o.connect.user),
        password_(o.connect.password),
        db_(o.connect.db),
        unix_socket_(o.connect.unix_socket),
        charset_(o.connect.charset),
        server_hostname_(o.connect.server_hostname),
        init_command_(o.connect.init_command),
        auth_plugin_(o.connect.auth_plugin),
        connect_(o.connect),
        minsize_(o.minsize),
        maxsize_(std::max<std::size_t>(o.maxsize, 1)),
        recycle_(o.pool_recycle),
        ping_after_idle_(o.ping_after_idle) {
    if (o.connect.ssl) ssl_ = *o.connect.ssl;
    // The options' views now point at this pool's own copies.
    connect_.host = host_;
    connect_.user = user_;
    connect_.password = password_;
    connect_.db = db_;
    connect_.unix_socket = unix_socket_;
    connect_.charset = charset_;
    connect_.server_hostname = server_hostname_;
    connect_.init_command = init_command_;
    connect_.auth_plugin = auth_plugin_;
    connect_.ssl = ssl_ ? SslContextRef(*ssl_) : SslContextRef();
  }

  std::size_t size() const noexcept { return free_.size() + lent_ + opening_; }
  std::size_t freesize() const noexcept { return free_.size(); }

  /// Opens a connection whose capacity is already counted in opening_.
  Coro<PooledConnection> open_reserved(std::shared_ptr<PoolCore> self) {
    Connection conn;
    try {
      conn = co_await connect(connect_);
    } catch (...) {
      --opening_;
      wake_for_capacity();
      notify_if_closed();
      throw;
    }
    --opening_;
    if (closing_) {
      close_now(conn);
      notify_if_closed();
      throw InterfaceError(0, "HY000", "the pool was closed while a connection was being opened for it");
    }
    ++lent_;
    co_return PooledConnection(std::move(self), std::move(conn));
  }

  /// A connection comes back from a guard (or from an acquire cancelled after the
  /// hand-off): reused if it is clean, closed otherwise.
  void release(Connection conn) noexcept {
    --lent_;
    route(std::move(conn));
    notify_if_closed();
  }

  void route(Connection conn) noexcept {
    ConnectionCore* c = conn.core();
    const bool clean = c && !closing_ && c->state_ == ConnState::Ready && !(c->status_ & kStatusInTrans);
    if (!clean) {
      // Out of step (a cancelled query), broken, mid-stream, or in a transaction nobody
      // finished: never hand it on. Its capacity goes to the next waiter.
      close_now(conn);
      wake_for_capacity();
      return;
    }
    if (!waiters_.empty()) {
      PoolWaiter* w = waiters_.front();
      waiters_.pop_front();
      ++lent_;  // in transit to the waiter
      w->conn = std::move(conn);
      w->woken.set();
      return;
    }
    c->idle_since_ = now();
    free_.push_back(std::move(conn));
  }

  void wake_for_capacity() noexcept {
    if (closing_ || waiters_.empty() || size() >= maxsize_) return;
    PoolWaiter* w = waiters_.front();
    waiters_.pop_front();
    ++opening_;
    w->permit = true;
    w->woken.set();
  }

  void forget(PoolWaiter* w) noexcept {
    for (auto it = waiters_.begin(); it != waiters_.end(); ++it)
      if (*it == w) {
        waiters_.erase(it);
        return;
      }
  }

  static void close_now(Connection& conn) noexcept {
    ConnectionCore* c = conn.core();
    if (c && c->state_ == ConnState::Ready) {
      c->start_command(std::string_view(&kComQuit, 1));  // a polite goodbye, unawaited
    }
    if (c) c->abort("the pool closed this connection");
  }

  void close() noexcept {
    closing_ = true;
    for (Connection& c : free_) close_now(c);
    free_.clear();
    while (!waiters_.empty()) {
      PoolWaiter* w = waiters_.front();
      waiters_.pop_front();
      w->pool_closed = true;
      w->woken.set();
    }
    notify_if_closed();
  }

  void notify_if_closed() noexcept {
    if (closing_ && size() == 0) all_closed_.set();
  }

  static double now() { return get_running_loop().time(); }

  std::string host_, user_, password_, db_, unix_socket_, charset_, server_hostname_, init_command_, auth_plugin_;
  std::optional<SslContext> ssl_;
  ConnectOptions connect_;
  std::size_t minsize_, maxsize_;
  double recycle_, ping_after_idle_;
  std::deque<Connection> free_;
  std::deque<PoolWaiter*> waiters_;
  std::size_t lent_ = 0;     // in guards, or handed to a waiter that has not resumed yet
  std::size_t opening_ = 0;  // being connected (capacity reserved)
  bool closing_ = false;
  aio::Event all_closed_;
};

}  // namespace detail

using detail::PoolCore;
using detail::PoolWaiter;

// --- PooledConnection ------------------------------------------------------------------------

PooledConnection::PooledConnection(std::shared_ptr<PoolCore> pool, Connection conn) noexcept
    : pool_(std::move(pool)), conn_(std::move(conn)) {}
PooledConnection::PooledConnection(PooledConnection&& o) noexcept
    : pool_(std::move(o.pool_)), conn_(std::move(o.conn_)) {}
PooledConnection& PooledConnection::operator=(PooledConnection&& o) noexcept {
  if (this != &o) {
    release();
    pool_ = std::move(o.pool_);
    conn_ = std::move(o.conn_);
  }
  return *this;
}
void PooledConnection::release() noexcept {
  if (!pool_) return;
  std::shared_ptr<PoolCore> pool = std::move(pool_);
  pool->release(std::move(conn_));
}

// --- Pool ------------------------------------------------------------------------------------

namespace {
/// Undoes what a waiter holds when its acquire() ends without taking it (cancelled).
struct WaiterScope {
  PoolCore& pool;
  PoolWaiter& w;
  ~WaiterScope() {
    pool.forget(&w);
    if (w.conn) pool.release(std::move(*w.conn));
    if (w.permit) {
      --pool.opening_;
      pool.wake_for_capacity();
      pool.notify_if_closed();
    }
  }
};

[[noreturn]] void throw_pool_closed() {
  throw InterfaceError(0, "HY000", "the pool is closed: acquire() from a pool that is open");
}
}  // namespace

Pool::~Pool() {
  if (core_) core_->close();
}

Coro<PooledConnection> Pool::acquire() {
  if (!core_) throw InterfaceError(0, "HY000", "this Pool is empty (moved from)");
  std::shared_ptr<PoolCore> p = core_;
  for (;;) {
    if (p->closing_) throw_pool_closed();
    if (p->waiters_.empty()) {
      while (!p->free_.empty()) {
        Connection conn = std::move(p->free_.front());
        p->free_.pop_front();
        const double idle = PoolCore::now() - conn.core()->idle_since_;
        if (conn.closed() || (p->recycle_ >= 0 && idle > p->recycle_)) {
          PoolCore::close_now(conn);
          continue;
        }
        ++p->lent_;
        if (p->ping_after_idle_ >= 0 && idle > p->ping_after_idle_) {
          // Health check: a connection idle this long may have been closed by the server
          // (wait_timeout) or a middlebox. A failed ping drops it and tries the next.
          bool alive = false;
          try {
            co_await conn.ping();
            alive = true;
          } catch (const Error&) {
          } catch (...) {
            p->release(std::move(conn));  // cancelled mid-ping: the connection is closed, not reused
            throw;
          }
          if (!alive) {
            p->release(std::move(conn));
            continue;
          }
          if (p->closing_) {
            p->release(std::move(conn));
            throw_pool_closed();
          }
        }
        co_return PooledConnection(p, std::move(conn));
      }
      if (p->size() < p->maxsize_) {
        ++p->opening_;
        co_return co_await p->open_reserved(p);
      }
    }
    PoolWaiter w;
    p->waiters_.push_back(&w);
    WaiterScope scope{*p, w};
    co_await w.woken.wait();
    if (w.pool_closed) throw_pool_closed();
    if (w.conn) {
      Connection conn = std::move(*w.conn);
      w.conn.reset();
      co_return PooledConnection(p, std::move(conn));
    }
    if (w.permit) {
      w.permit = false;
      co_return co_await p->open_reserved(p);
    }
  }
}

std::size_t Pool::size() const noexcept { return core_ ? core_->size() : 0; }
std::size_t Pool::freesize() const noexcept { return core_ ? core_->freesize() : 0; }
std::size_t Pool::minsize() const noexcept { return core_ ? core_->minsize_ : 0; }
std::size_t Pool::maxsize() const noexcept { return core_ ? core_->maxsize_ : 0; }
bool Pool::closed() const noexcept { return !core_ || core_->closing_; }

void Pool::close() noexcept {
  if (core_) core_->close();
}

Coro<void> Pool::wait_closed() {
  if (!core_) co_return;
  std::shared_ptr<PoolCore> p = core_;
  if (!p->closing_) throw InterfaceError(0, "HY000", "wait_closed() before close(): call pool.close() first");
  co_await p->all_closed_.wait();
}

Coro<Pool> create_pool(PoolOptions options) {
  if (options.minsize > options.maxsize)
    throw ProgrammingError(0, "HY000",
                           "PoolOptions: minsize (" + std::to_string(options.minsize) + ") is above maxsize (" +
                               std::to_string(options.maxsize) + ")");
  auto core = std::make_shared<PoolCore>(options);
  Pool pool(core);
  for (std::size_t i = 0; i < options.minsize; ++i) {
    ++core->opening_;
    PooledConnection guard = co_await core->open_reserved(core);
  }  // each guard's release puts its connection in the free list
  co_return pool;
}

}  // namespace aio::mysql
