// The state behind a Site: the listening aio::Server, the open connections, the timeouts
// sweeper, the cached Date header, and graceful shutdown.
#pragma once

#include <cstddef>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aio/event.hpp"
#include "aio/http/application.hpp"
#include "aio/http/server.hpp"
#include "aio/server.hpp"
#include "aio/ssl.hpp"
#include "aio/task.hpp"
#include "http/parser.hpp"

namespace aio::http::detail {

class Connection;

class HttpServer : public std::enable_shared_from_this<HttpServer> {
 public:
  HttpServer(Application& app, const RunOptions& options);
  ~HttpServer();

  Coro<void> listen(std::string host, int port);
  int port() const;
  void close();
  Coro<void> wait_closed();
  std::size_t connection_count() const noexcept { return connections_.size(); }

  Application& app() noexcept { return app_; }
  const RunOptions& options() const noexcept { return options_; }
  const ParseLimits& limits() const noexcept { return limits_; }
  bool secure() const noexcept { return ssl_.has_value(); }
  bool closing() const noexcept { return closing_; }
  const std::string& server_header() const noexcept { return server_header_; }
  /// "Sun, 06 Nov 1994 08:49:37 GMT" for now, formatted at most once a second.
  std::string_view date() noexcept;

  void add(Connection* c);
  void remove(Connection* c) noexcept;

 private:
  Coro<void> sweep_timeouts();

  Application& app_;
  RunOptions options_;
  std::string host_;
  std::string server_header_;
  std::optional<SslContext> ssl_;
  ParseLimits limits_;
  Server server_;
  std::vector<Connection*> connections_;
  std::optional<Task<void>> sweeper_;
  bool closing_ = false;
  bool cleaned_up_ = false;
  Event all_closed_;
  char date_[29] = {};
  std::time_t date_second_ = -1;
};

}  // namespace aio::http::detail
