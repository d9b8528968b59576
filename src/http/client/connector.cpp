#include "http/client/connector.hpp"

#include <algorithm>
#include <cmath>
#include <system_error>

#include "aio/errors.hpp"
#include "aio/loop.hpp"
#include "aio/timeout.hpp"
#include "net/stream_core.hpp"

namespace aio::http::detail {

// --- PooledConnection ----------------------------------------------------------------------

PooledConnection::PooledConnection(std::shared_ptr<Connector> connector,
                                   std::unique_ptr<ClientConnection> connection) noexcept
    : connector_(std::move(connector)), connection_(std::move(connection)) {}

PooledConnection& PooledConnection::operator=(PooledConnection&& o) noexcept {
  if (this != &o) {
    close();
    connector_ = std::move(o.connector_);
    connection_ = std::move(o.connection_);
  }
  return *this;
}

void PooledConnection::give_back() noexcept {
  if (!connection_) return;
  ++connection_->responses;
  connector_->release(std::move(connection_), true);
  connector_.reset();
}

std::unique_ptr<ClientConnection> PooledConnection::detach() noexcept {
  if (!connection_) return nullptr;
  connector_->forget(*connection_);
  connector_.reset();
  return std::move(connection_);
}

void PooledConnection::close() noexcept {
  if (!connection_) return;
  connector_->release(std::move(connection_), false);
  connector_.reset();
}

// --- Connector -----------------------------------------------------------------------------

Connector::Connector(const SessionOptions& options)
    : limit_(options.limit),
      limit_per_host_(options.limit_per_host),
      keepalive_timeout_(options.keepalive_timeout.seconds()),
      ssl_(options.ssl ? std::optional<SslContext>(*options.ssl) : std::nullopt) {}

Connector::~Connector() { close(); }

bool Connector::slot_free(const std::string& key) const noexcept {
  if (limit_ != 0 && in_use_ >= limit_) return false;
  if (limit_per_host_ == 0) return true;
  auto it = in_use_per_host_.find(key);
  return it == in_use_per_host_.end() || it->second < limit_per_host_;
}

void Connector::take_slot(const std::string& key) {
  ++in_use_per_host_[key];
  ++in_use_;
}

void Connector::free_slot(const std::string& key) noexcept {
  auto it = in_use_per_host_.find(key);
  if (it != in_use_per_host_.end() && --it->second == 0) in_use_per_host_.erase(it);
  --in_use_;
  wake_waiter();
}

void Connector::wake_waiter() noexcept {
  for (SlotWaiter* waiter : waiters_) {
    if (waiter->woken) return;  // it will take the slot (or pass the wake-up on)
    if (slot_free(waiter->key)) {
      waiter->woken = true;
      waiter->ready.set();
      return;
    }
  }
}

Coro<void> Connector::wait_for_slot(const std::string& key) {
  // Queued behind earlier waiters: a new request does not overtake one already waiting.
  if (waiters_.empty() && slot_free(key)) {
    take_slot(key);
    co_return;
  }
  SlotWaiter waiter{key, {}, false};
  waiters_.push_back(&waiter);
  auto position = std::prev(waiters_.end());
  // Unlinks on every way out; a waiter woken and then cancelled passes the wake-up on.
  struct Unlink {
    Connector& self;
    std::list<SlotWaiter*>::iterator position;
    SlotWaiter& waiter;
    ~Unlink() {
      self.waiters_.erase(position);
      if (waiter.woken) self.wake_waiter();
    }
  } unlink{*this, position, waiter};
  for (;;) {
    if (closed_) throw ClientError("the session is closed");
    if (position == waiters_.begin() || waiter.woken) {
      if (slot_free(key)) {
        waiter.woken = false;
        take_slot(key);
        co_return;
      }
    }
    waiter.woken = false;
    waiter.ready.clear();
    co_await waiter.ready.wait();
  }
}

std::unique_ptr<ClientConnection> Connector::take_idle(const std::string& key) {
  for (auto it = idle_.rbegin(); it != idle_.rend(); ++it) {
    if ((*it)->key != key) continue;
    std::unique_ptr<ClientConnection> connection = std::move(*it);
    idle_.erase(std::next(it).base());
    return connection;
  }
  return nullptr;
}

void Connector::evict_idle_over_limit() noexcept {
  while (limit_ != 0 && !idle_.empty() && in_use_ + idle_.size() > limit_) idle_.pop_front();
}

Coro<PooledConnection> Connector::acquire(const Url& url, Delay sock_connect, bool fresh) {
  if (closed_) throw ClientError("the session is closed");
  const std::string key = url.pool_key();
  co_await wait_for_slot(key);
  // The slot is ours from here; a PooledConnection owns it once built.
  struct SlotGuard {
    Connector* self;
    const std::string& key;
    ~SlotGuard() {
      if (self) self->free_slot(key);
    }
  } guard{this, key};
  if (!fresh) {
    // The most recently used first: the likeliest still open. One the server closed
    // while it waited (a FIN, a reset, stray bytes) is dropped here, before it is used.
    while (std::unique_ptr<ClientConnection> idle = take_idle(key)) {
      if (!idle->core().idle_usable()) {
        ++stale_;
        continue;
      }
      guard.self = nullptr;
      co_return PooledConnection(shared_from_this(), std::move(idle));
    }
  }
  std::unique_ptr<ClientConnection> connection = co_await open(url, sock_connect);
  guard.self = nullptr;
  co_return PooledConnection(shared_from_this(), std::move(connection));
}

Coro<std::unique_ptr<ClientConnection>> Connector::open(const Url& url, Delay sock_connect) {
  evict_idle_over_limit();
  ConnectOptions options;
  if (url.is_https()) {
    if (!ssl_) ssl_ = SslContext::client();
    options.ssl = *ssl_;
    options.server_hostname = url.host;
  }
  auto connection = std::make_unique<ClientConnection>();
  connection->key = url.pool_key();
  try {
    std::pair<StreamReader, StreamWriter> streams;
    if (sock_connect.infinite()) {
      streams = co_await open_connection(url.host, url.port, options);
    } else {
      streams = co_await aio::timeout(sock_connect, open_connection(url.host, url.port, options));
    }
    connection->reader = std::move(streams.first);
    connection->writer = std::move(streams.second);
  } catch (const TimeoutError&) {
    throw;
  } catch (const ClientError&) {
    throw;
  } catch (const std::exception& e) {
    throw ClientConnectionError(std::string("Cannot connect to host ") + url.authority() + " (" + url.scheme +
                                "): " + e.what());
  }
  ++opened_;
  co_return connection;
}

void Connector::release(std::unique_ptr<ClientConnection> connection, bool reusable) noexcept {
  const std::string key = connection->key;
  EventLoop* loop = nullptr;
  try {
    loop = &get_running_loop();
  } catch (...) {
    reusable = false;  // released after its loop ended: nothing could reuse it
  }
  // Whether the server closed it meanwhile is checked when it is taken again (acquire).
  if (reusable && !closed_) {
    connection->idle_since = loop->time();
    idle_.push_back(std::move(connection));
    schedule_sweep();
  } else {
    connection->writer.close();
    connection.reset();
  }
  free_slot(key);
  evict_idle_over_limit();
}

void Connector::forget(const ClientConnection& connection) noexcept { free_slot(connection.key); }

PoolStats Connector::stats() const noexcept {
  return PoolStats{.acquired = in_use_,
                   .idle = idle_.size(),
                   .waiting = waiters_.size(),
                   .opened = opened_,
                   .stale = stale_,
                   .retried = retried_};
}

void Connector::close() noexcept {
  closed_ = true;
  idle_.clear();
  if (sweep_timer_) sweep_timer_->cancel();
  sweep_timer_.reset();
  for (SlotWaiter* waiter : waiters_) waiter->ready.set();  // they see closed_ and throw
}

void Connector::schedule_sweep() noexcept {
  if (sweep_timer_ || idle_.empty() || std::isinf(keepalive_timeout_)) return;
  try {
    EventLoop& loop = get_running_loop();
    const double due = idle_.front()->idle_since + keepalive_timeout_;
    sweep_timer_ = loop.call_at(due, [this] { sweep(); });
  } catch (...) {
    // No loop (or it is closing): the idle connections are closed with the session.
  }
}

void Connector::sweep() noexcept {
  sweep_timer_.reset();
  const double now = get_running_loop().time();
  while (!idle_.empty() && idle_.front()->idle_since + keepalive_timeout_ <= now) idle_.pop_front();
  schedule_sweep();
}

}  // namespace aio::http::detail
