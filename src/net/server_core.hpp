// The shared state of a Server: its listening sockets, accept loops and connections.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aio/detail/wait_list.hpp"
#include "aio/server.hpp"
#include "io/operation.hpp"

namespace aio::detail {

class StreamCore;

class ServerCore {
 public:
  ServerCore(EventLoop& loop, ConnectionHandler handler, ServerOptions options, std::optional<SslContext> ssl);
  ServerCore(const ServerCore&) = delete;
  ServerCore& operator=(const ServerCore&) = delete;

  void add_ref() noexcept { ++refs_; }
  void release() noexcept {
    if (--refs_ == 0) delete this;
  }

  /// The socket file this server created: removed on close if it is still the same file.
  void own_socket_file(std::string path);
  /// Takes a bound, listening socket and starts accepting on it.
  void listen_on(IoHandle socket, SocketAddress address);
  std::vector<SocketAddress> addresses() const;
  bool is_serving() const noexcept { return serving_; }
  void close() noexcept;
  Coro<void> wait_closed();
  Coro<void> serve_forever();
  void close_clients() noexcept;
  void abort_clients() noexcept;
  std::size_t connection_count() const noexcept { return connections_.size(); }

  void connection_opened(StreamCore* c);
  void connection_closed(StreamCore* c) noexcept;

 private:
  struct Listener {
    IoHandle socket;
    SocketAddress address;
  };
  ~ServerCore();
  static Coro<void> accept_loop(ServerCore* self, std::size_t index);
  static Coro<void> run_connection(ServerCore* self, StreamCore* core);
  void wake_if_done() noexcept;

  EventLoop& loop_;
  int refs_ = 0;
  ConnectionHandler handler_;
  ServerOptions options_;  // (its `ssl` view is cleared: ssl_ holds the copy)
  std::optional<SslContext> ssl_;
  std::string unix_path_;  // removed on close (if still ours: same device and inode)
  unsigned long long unix_dev_ = 0, unix_ino_ = 0;
  std::vector<std::unique_ptr<Listener>> listeners_;  // (stable: accept loops hold references)
  std::vector<StreamCore*> connections_;
  int accept_loops_ = 0;  // running; wait_closed() also waits for them to end
  bool serving_ = false;
  bool closed_ = false;
  bool serving_forever_ = false;
  IntrusiveList<WaitEntry> closed_waiters_;  // wait_closed()
  IntrusiveList<WaitEntry> stop_waiters_;    // serve_forever()
};

}  // namespace aio::detail
