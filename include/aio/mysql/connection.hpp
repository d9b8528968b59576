// aio::mysql::Connection — one connection to a MySQL/MariaDB server (aiomysql.Connection).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "aio/coro.hpp"
#include "aio/mysql/params.hpp"
#include "aio/mysql/row_view.hpp"
#include "aio/mysql/value.hpp"
#include "aio/ssl.hpp"

namespace aio::mysql {

namespace detail {
class ConnectionCore;
}

/// Where and how to connect. Every member is trivially destructible (views, not strings)
/// because GCC 12 miscompiles aggregate temporaries with destructors inside co_await
/// expressions; connect() and create_pool() copy what the views refer to.
struct ConnectOptions {
  /// TCP host (name or address); ignored when unix_socket is set.
  std::string_view host = "localhost";
  int port = 3306;
  std::string_view user{};
  std::string_view password{};
  /// The default database (empty: none).
  std::string_view db{};
  /// A Unix-domain socket path: connects there instead of host:port.
  std::string_view unix_socket{};
  /// TLS, required when set: `{.ssl = ctx}` with a client SslContext (verify the server
  /// with `ctx.load_verify_locations(ca)`). The server must have TLS on.
  SslContextRef ssl{};
  /// The connection's character set: utf8mb4 (the default), utf8mb3, latin1, binary, ...
  std::string_view charset = "utf8mb4";
  /// The session's autocommit mode (`SET autocommit=0` is sent when false).
  bool autocommit = true;
  /// Seconds the TCP connect, TLS and authentication may take (OperationalError 2003 after).
  double connect_timeout = 10.0;
  /// Lets one query text hold several statements separated by ';' (CLIENT_MULTI_STATEMENTS);
  /// off by default, as in PyMySQL. Read every result with query_all().
  bool multi_statements = false;
  /// The name to check the server's certificate against (default: host).
  std::string_view server_hostname{};
  /// SQL run once after connecting (e.g. "SET time_zone = '+00:00'").
  std::string_view init_command{};
  /// The authentication plugin to answer the server's greeting with (default: the one the
  /// server names). The server switches to the user's own plugin when it differs.
  std::string_view auth_plugin{};
  /// When an operation is abandoned half-way (its task cancelled, say by wait_for) while the
  /// server may still run its statement, the connection is closed — and, with this on, a
  /// second short-lived connection sends `KILL <thread_id>` so that the server stops the
  /// statement now: on its own it notices the closed socket only when it next writes, so a
  /// CPU-bound query would run to its end. Costs a connect and a login per abandoned
  /// statement, in a background task named "aio::mysql KILL <thread_id>" (see
  /// aio::all_tasks()); its failures are ignored (debug mode logs them). Not done when the
  /// connection itself failed (nothing runs there any more).
  bool kill_on_cancel = true;
};
static_assert(std::is_trivially_destructible_v<ConnectOptions>, "see the comment on ConnectOptions");

class Statement;
class RowStream;

/// A connection. Move-only; one operation at a time (InterfaceError if a
/// second starts while one runs). Every method that talks to the server is awaited.
///
///     auto conn = co_await aio::mysql::connect({.host = "127.0.0.1", .user = "app", .password = pw, .db = "shop"});
///     co_await conn.execute("INSERT INTO item (name, price) VALUES (%s, %s)", name, 9.5);
///     auto rs = co_await conn.query("SELECT id, name FROM item WHERE price < %s", 10);
///     for (const auto& row : rs.rows()) use(row["id"].as<int>(), row["name"].as<std::string>());
///
/// Cancellation: an operation cancelled while it waits for the server leaves the protocol
/// mid-exchange, so the connection closes itself at once; later calls throw
/// InterfaceError, and a pool drops it. The next query can never see an old query's rows.
class Connection {
 public:
  Connection() noexcept;
  explicit Connection(std::shared_ptr<detail::ConnectionCore> core) noexcept;
  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  /// Closes the socket without a goodbye (await close() for a polite one).
  ~Connection();

  /// Runs a statement; returns the affected rows (for a SELECT: the rows it returned, which
  /// are read and dropped). `%s` placeholders take `params` as escaped literals; without
  /// params the SQL is sent as it is (a `%` stays a `%`).
  template <class... P>
  Coro<std::uint64_t> execute(std::string_view sql, const P&... params) {
    return execute_sql(format(sql, params...));
  }
  /// Runs a query and reads its whole result. With several results (a CALL, or several
  /// statements with multi_statements), the first is returned and the rest read and dropped.
  template <class... P>
  Coro<ResultSet> query(std::string_view sql, const P&... params) {
    return query_sql(format(sql, params...));
  }
  /// Every result of a multi-statement query or a CALL, in order.
  template <class... P>
  Coro<std::vector<ResultSet>> query_all(std::string_view sql, const P&... params) {
    return query_all_sql(format(sql, params...));
  }
  /// Runs a query and returns its rows as they arrive, without buffering them (aiomysql's
  /// SSCursor / the C API's mysql_use_result): `while (auto row = co_await s.next())`.
  /// Until the stream ends, the connection is busy with it; starting another operation
  /// (or dropping the stream) first reads and discards the rows left.
  template <class... P>
  Coro<RowStream> query_stream(std::string_view sql, const P&... params);

  /// Prepares a statement (`?` placeholders) for the binary protocol. ProgrammingError for
  /// bad SQL. The Statement keeps the connection's state alive; close() it (or drop it: it is
  /// closed on the connection's next command).
  Coro<Statement> prepare(std::string_view sql) { return prepare_sql(std::string(sql)); }

  /// BEGIN / COMMIT / ROLLBACK.
  Coro<void> begin();
  Coro<void> commit();
  Coro<void> rollback();
  /// COM_PING: OperationalError if the server is gone.
  Coro<void> ping();
  /// COM_RESET_CONNECTION: ends the transaction, drops temporary tables, user variables
  /// and prepared statements, and restores the session's settings (autocommit included).
  Coro<void> reset();
  /// Says goodbye (COM_QUIT) and closes. Never throws for a connection already broken.
  Coro<void> close();

  /// The AUTO_INCREMENT id of the last INSERT (from its OK packet; no round trip).
  std::uint64_t last_insert_id() const noexcept;
  /// The rows the last statement changed.
  std::uint64_t affected_rows() const noexcept;
  /// Whether the server says a transaction is open.
  bool in_transaction() const noexcept;
  /// True after close(), after a failure of the connection, and after a cancelled operation.
  bool closed() const noexcept;
  /// The server's id for this connection (what KILL and the process list use).
  std::uint32_t thread_id() const noexcept;
  /// "10.11.6-MariaDB-0+deb12u1".
  const std::string& server_version() const noexcept;
  /// The authentication plugin the server finally used ("mysql_native_password", ...).
  const std::string& auth_plugin() const noexcept;
  /// Whether the connection is encrypted.
  bool uses_tls() const noexcept;
  /// A literal for `p`, escaped as this connection's server expects.
  std::string literal(const Param& p) const;

  detail::ConnectionCore* core() const noexcept { return core_.get(); }

 private:
  template <class... P>
  std::string format(std::string_view sql, const P&... params) const {
    if constexpr (sizeof...(P) == 0) {
      return std::string(sql);
    } else {
      const std::array<Param, sizeof...(P)> bound{Param(params)...};
      return format_query(sql, bound, no_backslash_escapes());
    }
  }
  bool no_backslash_escapes() const noexcept;
  Coro<std::uint64_t> execute_sql(std::string sql);
  Coro<ResultSet> query_sql(std::string sql);
  Coro<std::vector<ResultSet>> query_all_sql(std::string sql);
  Coro<RowStream> query_stream_sql(std::string sql);
  Coro<Statement> prepare_sql(std::string sql);

  std::shared_ptr<detail::ConnectionCore> core_;
};

/// A prepared statement (COM_STMT_PREPARE): `?` placeholders, the binary row protocol.
/// Closing is COM_STMT_CLOSE; a Statement dropped without close() is closed on the
/// connection's next command (it has no reply, so it costs no round trip).
class Statement {
 public:
  Statement() noexcept;
  Statement(std::shared_ptr<detail::ConnectionCore> core, std::uint32_t id, std::size_t param_count,
            std::shared_ptr<const detail::ColumnSet> columns) noexcept;
  Statement(Statement&&) noexcept;
  Statement& operator=(Statement&&) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  /// Runs the statement; the affected rows (the row count for a SELECT).
  template <class... P>
  Coro<std::uint64_t> execute(const P&... params) {
    const std::array<Param, sizeof...(P)> bound{Param(params)...};
    return execute_packet(encode(bound));
  }
  /// Runs the statement and reads its rows (numbers arrive as numbers).
  template <class... P>
  Coro<ResultSet> query(const P&... params) {
    const std::array<Param, sizeof...(P)> bound{Param(params)...};
    return query_packet(encode(bound));
  }
  std::size_t param_count() const noexcept { return param_count_; }
  /// The result's columns (empty for a statement without rows).
  const std::vector<Column>& columns() const;
  std::uint32_t id() const noexcept { return id_; }
  /// COM_STMT_CLOSE.
  Coro<void> close();

 private:
  std::string encode(std::span<const Param> params) const;
  Coro<std::uint64_t> execute_packet(std::string packet);
  Coro<ResultSet> query_packet(std::string packet);

  std::shared_ptr<detail::ConnectionCore> core_;
  std::uint32_t id_ = 0;
  std::size_t param_count_ = 0;
  std::shared_ptr<const detail::ColumnSet> columns_;
};

/// Rows read one at a time from the server (Connection::query_stream): memory stays
/// bounded by one row however large the result. Two ways to read them:
///
///     while (std::optional<Row> row = co_await s.next()) keep(std::move(*row));    // owning rows
///     while (const RowView* row = co_await s.next_view()) sum += (*row)[0].as<std::int64_t>();
///
/// next_view() is the cheap one (mysql_fetch_row's way): no allocation, no copy and no
/// coroutine frame for a row already whole in the receive buffer.
class RowStream {
 public:
  RowStream() noexcept;
  RowStream(std::shared_ptr<detail::ConnectionCore> core, std::shared_ptr<const detail::ColumnSet> columns,
            std::uint64_t generation) noexcept;
  RowStream(RowStream&&) noexcept;
  RowStream& operator=(RowStream&&) noexcept;
  RowStream(const RowStream&) = delete;
  RowStream& operator=(const RowStream&) = delete;
  ~RowStream();

  const std::vector<Column>& columns() const;
  /// The next row; std::nullopt at the end (and ever after). InterfaceError if the
  /// connection went on to another operation, which discarded the rows left.
  Coro<std::optional<Row>> next();

  class NextView;
  /// The next row as a view into the receive buffer: `co_await s.next_view()` gives a
  /// `const RowView*`, nullptr at the end (and ever after). The view is valid until the
  /// next call on this stream (next_view(), next(), moving or dropping it) — each call
  /// reuses the same RowView — and only while the connection is on this stream (after
  /// another operation starts, reading it throws InterfaceError); RowView::to_row() keeps
  /// a row. Errors, and cancellation while it waits for the server, are as for next().
  NextView next_view() noexcept;

 private:
  bool stream_open() const;
  bool take_buffered_view(const RowView*& row);
  Coro<bool> read_next(std::vector<Value>* values);

  std::shared_ptr<detail::ConnectionCore> core_;
  std::shared_ptr<const detail::ColumnSet> columns_;
  std::uint64_t generation_ = 0;
  RowView view_;
};

/// What RowStream::next_view() returns: awaited, it takes a row already whole in the
/// receive buffer at once (no coroutine frame) and reads from the server otherwise.
class [[nodiscard]] RowStream::NextView {
 public:
  using aio_awaitable = void;
  explicit NextView(RowStream& stream) noexcept : stream_(&stream) {}

  bool await_ready() { return stream_->take_buffered_view(row_); }
  void await_suspend(std::coroutine_handle<> awaiting) {
    read_ = stream_->read_next(nullptr);
    read_.operator co_await().await_suspend(awaiting);
  }
  const RowView* await_resume() {
    if (read_) return read_.operator co_await().await_resume() ? &stream_->view_ : nullptr;
    return row_;
  }

 private:
  RowStream* stream_;
  const RowView* row_ = nullptr;
  Coro<bool> read_;  // only when the row was not already buffered
};

inline RowStream::NextView RowStream::next_view() noexcept { return NextView(*this); }

template <class... P>
Coro<RowStream> Connection::query_stream(std::string_view sql, const P&... params) {
  return query_stream_sql(format(sql, params...));
}

/// Opens a connection: TCP (or the unix socket), TLS when options.ssl is set, then
/// authentication (mysql_native_password, caching_sha2_password, client_ed25519, with
/// the server's auth switch). OperationalError with the server's code (1045 access
/// denied, 1049 unknown database) or 2002/2003 (can't connect) on failure.
Coro<Connection> connect(ConnectOptions options);

}  // namespace aio::mysql
