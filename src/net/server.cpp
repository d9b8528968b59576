// Servers: listening sockets, one accept loop per socket, one task per connection.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "aio/dns.hpp"
#include "aio/errors.hpp"
#include "aio/sleep.hpp"
#include "aio/task.hpp"
#include "net/server_core.hpp"
#include "net/socket_ops.hpp"
#include "net/stream_core.hpp"

namespace aio::detail {

ServerCore::ServerCore(EventLoop& loop, ConnectionHandler handler, ServerOptions options, std::optional<SslContext> ssl)
    : loop_(loop), handler_(std::move(handler)), options_(options), ssl_(std::move(ssl)) {
  options_.ssl = {};
}

void ServerCore::own_socket_file(std::string path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return;
  unix_path_ = std::move(path);
  unix_dev_ = st.st_dev;
  unix_ino_ = st.st_ino;
}

ServerCore::~ServerCore() = default;

void ServerCore::listen_on(IoHandle socket, SocketAddress address) {
  listeners_.push_back(std::make_unique<Listener>(Listener{std::move(socket), std::move(address)}));
  serving_ = true;
  add_ref();  // the accept loop's reference
  ++accept_loops_;
  create_task(accept_loop(this, listeners_.size() - 1));
}

std::vector<SocketAddress> ServerCore::addresses() const {
  std::vector<SocketAddress> out;
  if (closed_) return out;  // asyncio: a closed server has no sockets
  for (const auto& l : listeners_) out.push_back(l->address);
  return out;
}

namespace {
bool out_of_resources(int err) { return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM; }
}  // namespace

Coro<void> ServerCore::accept_loop(ServerCore* self, std::size_t index) {
  struct Release {
    ServerCore* s;
    ~Release() {
      --s->accept_loops_;
      s->wake_if_done();
      s->release();
    }
  } release{self};
  while (!self->closed_) {
    Listener& l = *self->listeners_[index];
    IoOp op;
    op.kind = IoKind::accept;
    std::int64_t r = co_await IoAwaiter(l.socket, op);
    if (self->closed_) {
      if (r >= 0) ::close(static_cast<int>(r));
      break;
    }
    if (r < 0) {
      int err = static_cast<int>(-r);
      if (out_of_resources(err)) {
        // Keep serving the connections we have; try again later rather than spin.
        self->loop_.call_exception_handler(
            {"Server: accept() on " + l.address.to_string() + " failed (" + std::generic_category().message(err) +
                 "); open connections are still served, accepting again in " +
                 std::to_string(self->options_.accept_retry_delay.seconds()) + " s",
             std::make_exception_ptr(std::system_error(err, std::generic_category(), "accept")),
             {}});
        co_await sleep(self->options_.accept_retry_delay);
        continue;
      }
      if (err == EBADF || err == EINVAL) break;  // the socket was closed under us
      continue;                                  // ECONNABORTED, EPROTO, EPERM...: that one connection failed
    }
    try {
      IoHandle io(self->loop_, static_cast<int>(r));
      auto* core = new StreamCore(self->loop_, std::move(io), self->options_.limit,
                                  l.address.is_unix() ? StreamTransport::unix_socket : StreamTransport::tcp);
      core->add_ref();  // held until run_connection takes its own
      core->attach_to_server(self);
      create_task(run_connection(self, core));
    } catch (const std::exception& e) {
      self->loop_.call_exception_handler(
          {std::string("Server: could not set up an accepted connection: ") + e.what(), std::current_exception(), {}});
    }
  }
}

Coro<void> ServerCore::run_connection(ServerCore* self, StreamCore* core) {
  struct Hold {  // our reference to the connection (the first, taken by accept_loop)
    StreamCore* c;
    ~Hold() { c->release(); }
  } hold{core};
  std::exception_ptr error;
  bool cancelled = false;
  if (self->ssl_) {
    try {
      co_await core->start_tls(*self->ssl_, {});
    } catch (const CancelledError&) {
      throw;
    } catch (const std::exception& e) {
      // A client that fails the handshake is the client's problem (asyncio logs it only
      // in debug mode too); the connection is already closed.
      if (self->loop_.get_debug()) log_line(std::string("Server: ") + e.what());
      co_return;
    }
  }
  try {
    co_await self->handler_(StreamReader(core), StreamWriter(core));
  } catch (const CancelledError&) {
    cancelled = true;
    error = std::current_exception();
  } catch (...) {
    error = std::current_exception();
  }
  if (!error) co_return;
  // asyncio: a handler that failed or was cancelled gets its transport closed; a failure
  // goes to the loop's exception handler rather than a task nobody awaits.
  core->close();
  if (cancelled) std::rethrow_exception(error);
  self->loop_.call_exception_handler(
      {"Unhandled exception in the connection handler for " + core->peername().to_string(), error, {}});
}

void ServerCore::connection_opened(StreamCore* c) {
  c->server_slot = connections_.size();
  connections_.push_back(c);
}

void ServerCore::connection_closed(StreamCore* c) noexcept {
  std::size_t i = c->server_slot;
  StreamCore* last = connections_.back();
  connections_[i] = last;
  last->server_slot = i;
  connections_.pop_back();
  wake_if_done();
}

void ServerCore::close() noexcept {
  if (closed_) return;
  closed_ = true;
  serving_ = false;
  for (auto& l : listeners_) l->socket.close();  // the accept loops end (EBADF)
  if (!unix_path_.empty()) {
    // asyncio 3.13: remove the socket file only if it is still the one we bound (someone
    // may have replaced it since).
    struct stat st {};
    if (::stat(unix_path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == unix_dev_ &&
        st.st_ino == unix_ino_)
      ::unlink(unix_path_.c_str());
  }
  wake_all(stop_waiters_);
  wake_if_done();
}

void ServerCore::wake_if_done() noexcept {
  if (closed_ && connections_.empty() && accept_loops_ == 0) wake_all(closed_waiters_);
}

Coro<void> ServerCore::wait_closed() {
  add_ref();
  struct Release {
    ServerCore* s;
    ~Release() { s->release(); }
  } release{this};
  while (!(closed_ && connections_.empty() && accept_loops_ == 0))
    co_await WaitOn(closed_waiters_, "Server.wait_closed");
}

Coro<void> ServerCore::serve_forever() {
  if (serving_forever_) throw UsageError("Server.serve_forever: already serving forever (from another task)");
  if (closed_) throw UsageError("Server.serve_forever: the server is closed");
  add_ref();
  struct Release {
    ServerCore* s;
    ~Release() {
      s->serving_forever_ = false;
      s->release();
    }
  } release{this};
  serving_forever_ = true;
  std::exception_ptr error;
  try {
    while (!closed_) co_await WaitOn(stop_waiters_, "Server.serve_forever");
  } catch (...) {
    error = std::current_exception();  // cancelled: close, wait, then let it propagate
  }
  close();
  co_await wait_closed();
  if (error) std::rethrow_exception(error);
}

void ServerCore::close_clients() noexcept {
  std::vector<StreamCore*> all = connections_;
  for (StreamCore* c : all) c->close();
}

void ServerCore::abort_clients() noexcept {
  std::vector<StreamCore*> all = connections_;
  for (StreamCore* c : all) c->abort();
}

}  // namespace aio::detail

namespace aio {

using detail::ServerCore;

Server::Server(ServerCore* core) noexcept : core_(core) {
  if (core_) core_->add_ref();
}
Server::Server(Server&& o) noexcept : core_(std::exchange(o.core_, nullptr)) {}
Server& Server::operator=(Server&& o) noexcept {
  if (this != &o) {
    if (core_) {
      core_->close();
      core_->release();
    }
    core_ = std::exchange(o.core_, nullptr);
  }
  return *this;
}
Server::~Server() {
  if (core_) {
    core_->close();
    core_->release();
  }
}

namespace {
ServerCore& require(ServerCore* c, const char* what) {
  if (!c) throw UsageError(std::string(what) + ": this Server is empty (moved from or default-constructed)");
  return *c;
}
}  // namespace

std::vector<SocketAddress> Server::addresses() const {
  return core_ ? core_->addresses() : std::vector<SocketAddress>{};
}
bool Server::is_serving() const noexcept { return core_ && core_->is_serving(); }
void Server::close() noexcept {
  if (core_) core_->close();
}
Coro<void> Server::wait_closed() { return require(core_, "Server.wait_closed").wait_closed(); }
Coro<void> Server::serve_forever() { return require(core_, "Server.serve_forever").serve_forever(); }
void Server::close_clients() noexcept {
  if (core_) core_->close_clients();
}
void Server::abort_clients() noexcept {
  if (core_) core_->abort_clients();
}
std::size_t Server::connection_count() const noexcept { return core_ ? core_->connection_count() : 0; }

namespace {
Coro<Server> start_server_impl(ConnectionHandler handler, std::string host, int port, ServerOptions options,
                               std::optional<SslContext> ssl) {
  if (!handler) throw std::invalid_argument("start_server: the connection handler is empty");
  if (port < 0 || port > 65535)
    throw std::invalid_argument("start_server: port " + std::to_string(port) + " is out of range");
  if (options.backlog < 0) throw std::invalid_argument("start_server: backlog must be >= 0");
  std::vector<SocketAddress> addrs;
  if (host.empty()) {
    addrs = {SocketAddress("0.0.0.0", port), SocketAddress("::", port)};  // every interface, v4 and v6
  } else {
    addrs = co_await getaddrinfo(host, port, {.passive = true, .stream = true});
  }
  EventLoop& loop = get_running_loop();
  auto* core = new ServerCore(loop, std::move(handler), options, std::move(ssl));
  Server server(core);
  int bound_port = port;
  for (SocketAddress& addr : addrs) {
    // Port 0 with several addresses ("localhost"): every socket gets the first one's port.
    if (port == 0 && bound_port != 0) addr = SocketAddress(addr.host(), bound_port);
    detail::ListenOptions lo{options.backlog, options.reuse_address, options.reuse_port};
    detail::IoHandle io = detail::listen_socket(loop, addr, lo);
    SocketAddress actual = detail::local_address(io.fd());
    if (bound_port == 0) bound_port = actual.port();
    core->listen_on(std::move(io), actual);
  }
  co_return server;
}

Coro<Server> start_unix_server_impl(ConnectionHandler handler, std::string path, ServerOptions options,
                                    std::optional<SslContext> ssl) {
  if (!handler) throw std::invalid_argument("start_unix_server: the connection handler is empty");
  SocketAddress addr = SocketAddress::unix_path(path);
  EventLoop& loop = get_running_loop();
  if (!path.empty() && path[0] != '\0') {
    // asyncio removes a stale socket file left by a previous run (only a socket).
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
  }
  auto* core = new ServerCore(loop, std::move(handler), options, std::move(ssl));
  Server server(core);
  detail::ListenOptions lo{options.backlog, false, false};
  detail::IoHandle io = detail::listen_socket(loop, addr, lo);
  if (path[0] != '\0') core->own_socket_file(path);  // (only once bound: a failure removes nothing)
  core->listen_on(std::move(io), addr);
  co_return server;
}

}  // namespace

// Plain functions: they copy the TLS context the options refer to at the call (see
// SslContextRef).
namespace {
std::optional<SslContext> copy_ssl(const ServerOptions& options) {
  if (options.limit == 0) throw std::invalid_argument("start_server: limit must be > 0");
  if (!options.ssl) return std::nullopt;
  if (!options.ssl->is_server())
    throw std::invalid_argument(
        "start_server: options.ssl is a client context; use aio::SslContext::server(cert, key)");
  return *options.ssl;
}
}  // namespace

Coro<Server> start_server(ConnectionHandler handler, std::string host, int port, ServerOptions options) {
  std::optional<SslContext> ssl = copy_ssl(options);
  options.ssl = {};
  return start_server_impl(std::move(handler), std::move(host), port, options, std::move(ssl));
}

Coro<Server> start_unix_server(ConnectionHandler handler, std::string path, ServerOptions options) {
  std::optional<SslContext> ssl = copy_ssl(options);
  options.ssl = {};
  return start_unix_server_impl(std::move(handler), std::move(path), options, std::move(ssl));
}

}  // namespace aio
