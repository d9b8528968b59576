// The client's connection pool: one per ClientSession. Connections are keyed by scheme,
// host and port; a slot is taken for every connection in use (or being opened), so that
// `limit` and `limit_per_host` bound what one session asks of servers.
//
// A connection goes back to the pool only through PooledConnection::give_back(), which
// the response calls when its body was read to the end and the server allowed keep-alive.
// Every other way out (an error, a timeout, a cancellation at any await, a response dropped
// half-read) destroys the PooledConnection, which closes the connection: a half-read
// response can never be handed to the next request.
#pragma once

#include <cstddef>
#include <deque>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "aio/coro.hpp"
#include "aio/delay.hpp"
#include "aio/event.hpp"
#include "aio/handle.hpp"
#include "aio/http/client.hpp"
#include "aio/ssl.hpp"
#include "aio/streams.hpp"
#include "http/client/url.hpp"

namespace aio::detail {
class StreamCore;
}

namespace aio::http::detail {

struct ClientConnection {
  StreamReader reader;
  StreamWriter writer;
  std::string key;            // Url::pool_key()
  double idle_since = 0;      // loop time it went idle
  std::size_t responses = 0;  // responses it carried: > 0 means a reused connection

  aio::detail::StreamCore& core() const noexcept { return *reader.native_core(); }
};

class Connector;

/// A connection lent by the pool, with its slot. Destroyed without give_back(): closed.
class PooledConnection {
 public:
  PooledConnection() noexcept = default;
  PooledConnection(std::shared_ptr<Connector> connector, std::unique_ptr<ClientConnection> connection) noexcept;
  PooledConnection(PooledConnection&&) noexcept = default;
  PooledConnection& operator=(PooledConnection&& o) noexcept;
  ~PooledConnection() { close(); }

  explicit operator bool() const noexcept { return connection_ != nullptr; }
  ClientConnection* operator->() const noexcept { return connection_.get(); }
  ClientConnection& operator*() const noexcept { return *connection_; }
  bool reused() const noexcept { return connection_ && connection_->responses > 0; }
  /// Returns the connection to the pool for the next request (the response is complete).
  void give_back() noexcept;
  /// Closes the connection and frees its slot.
  void close() noexcept;
  /// Takes the connection out of the pool for good (an upgraded connection, a WebSocket):
  /// its slot is freed and the caller owns the streams.
  std::unique_ptr<ClientConnection> detach() noexcept;

 private:
  std::shared_ptr<Connector> connector_;
  std::unique_ptr<ClientConnection> connection_;
};

class Connector : public std::enable_shared_from_this<Connector> {
 public:
  explicit Connector(const SessionOptions& options);
  ~Connector();
  Connector(const Connector&) = delete;
  Connector& operator=(const Connector&) = delete;

  /// A connection to url's origin: the most recently used idle one that is still alive,
  /// or a new one (`fresh` skips the idle ones). Waits for a slot first. `sock_connect`
  /// bounds opening a new connection (DNS, TCP, TLS). The caller bounds the whole call
  /// (ClientTimeout::connect). Cancel-safe: a cancelled wait leaves no slot taken.
  Coro<PooledConnection> acquire(const Url& url, Delay sock_connect, bool fresh);
  /// From PooledConnection: back to the idle list, or closed.
  void release(std::unique_ptr<ClientConnection> connection, bool reusable) noexcept;
  /// From PooledConnection::detach(): the connection leaves the pool; its slot is free.
  void forget(const ClientConnection& connection) noexcept;
  PoolStats stats() const noexcept;
  /// A request is sent again because its reused connection failed before any answer.
  void note_retry() noexcept { ++retried_; }
  /// Closes the idle connections and refuses new acquisitions; lent ones close when their
  /// responses release them.
  void close() noexcept;
  bool closed() const noexcept { return closed_; }

 private:
  struct SlotWaiter {
    std::string key;
    Event ready;
    bool woken = false;
  };

  bool slot_free(const std::string& key) const noexcept;
  void take_slot(const std::string& key);
  void free_slot(const std::string& key) noexcept;
  /// Wakes the first waiter whose host has a free slot.
  void wake_waiter() noexcept;
  Coro<void> wait_for_slot(const std::string& key);
  Coro<std::unique_ptr<ClientConnection>> open(const Url& url, Delay sock_connect);
  std::unique_ptr<ClientConnection> take_idle(const std::string& key);
  /// Makes room under `limit` for a new connection by closing the oldest idle one.
  void evict_idle_over_limit() noexcept;
  void schedule_sweep() noexcept;
  void sweep() noexcept;

  std::size_t limit_;
  std::size_t limit_per_host_;
  double keepalive_timeout_;
  /// The session's TLS context; made on the first https connection when the session was
  /// given none (loading the system's CAs costs ~0.1 s: plain-HTTP sessions skip it).
  std::optional<SslContext> ssl_;
  std::size_t in_use_ = 0;
  std::unordered_map<std::string, std::size_t> in_use_per_host_;
  std::deque<std::unique_ptr<ClientConnection>> idle_;  // oldest first
  std::list<SlotWaiter*> waiters_;
  std::optional<TimerHandle> sweep_timer_;
  std::size_t opened_ = 0;
  std::size_t stale_ = 0;
  std::size_t retried_ = 0;
  bool closed_ = false;
};

}  // namespace aio::http::detail
