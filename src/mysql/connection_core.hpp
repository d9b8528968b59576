// The state of one connection and the protocol's exchanges on it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aio/coro.hpp"
#include "aio/ssl.hpp"
#include "aio/mysql/connection.hpp"
#include "aio/streams.hpp"
#include "wire.hpp"

namespace aio::mysql::detail {

/// What the connection is doing; an operation may start only when it is Ready (or
/// Streaming, whose rows it first drains).
enum class ConnState : std::uint8_t { Ready, Busy, Streaming, Closed };

class ConnectionCore;

/// What connect() keeps of ConnectOptions (owned copies of the views).
struct Settings {
  std::string host, user, password, db, unix_socket, charset, server_hostname, init_command, auth_plugin;
  int port = 3306;
  bool autocommit = true;
  bool multi_statements = false;
  bool kill_on_cancel = true;
  double connect_timeout = 10.0;
  std::optional<SslContext> ssl;
  explicit Settings(const ConnectOptions& o)
      : host(o.host),
        user(o.user),
        password(o.password),
        db(o.db),
        unix_socket(o.unix_socket),
        charset(o.charset),
        server_hostname(o.server_hostname.empty() ? o.host : o.server_hostname),
        init_command(o.init_command),
        auth_plugin(o.auth_plugin),
        port(o.port),
        autocommit(o.autocommit),
        multi_statements(o.multi_statements),
        kill_on_cancel(o.kill_on_cancel),
        connect_timeout(o.connect_timeout) {
    if (o.ssl) ssl = *o.ssl;
  }
  std::string where() const {
    return unix_socket.empty() ? "'" + host + ":" + std::to_string(port) + "'" : "'" + unix_socket + "'";
  }
};

/// Marks the connection busy for one operation. An operation that ends without finish()
/// — cancelled, or failed on the network — left the exchange half-done: the connection
/// is closed so that nothing can read the old exchange's bytes as the next one's. A server
/// error (an ERR packet) ends an exchange cleanly and keeps the connection.
class Operation {
 public:
  explicit Operation(ConnectionCore& core);
  Operation(const Operation&) = delete;
  Operation& operator=(const Operation&) = delete;
  ~Operation();
  void finish() noexcept;
  bool must_drain() const noexcept { return must_drain_; }

 private:
  ConnectionCore& core_;
  bool done_ = false;
  bool must_drain_ = false;
};

/// One result's header as read: the column count (0: an OK packet).
struct ResultHead {
  std::shared_ptr<const ColumnSet> columns;
};

class ConnectionCore {
 public:
  ConnectionCore(StreamReader r, StreamWriter w) : reader_(std::move(r)), writer_(std::move(w)) {}

  // --- packets -------------------------------------------------------------------------------
  /// The next packet's payload (several packets joined when over 16 MiB); valid until the
  /// next read. OperationalError 2013 if the connection is lost.
  Coro<std::string_view> read_packet();
  /// The next packet when it is already whole in the receive buffer (the common case while
  /// rows stream in): no coroutine frames per row. False: use read_packet().
  bool take_buffered_packet(std::string_view& payload) noexcept;
  /// The same without taking it; consume_peeked() then takes it.
  bool peek_buffered_packet(std::string_view& payload) const noexcept;
  void consume_peeked(std::string_view payload) noexcept;
  /// Queues a payload (split into 16 MiB packets) with the next sequence ids.
  void write_packet(std::string_view payload);
  /// Sends what is queued (OperationalError 2006 if the server is gone).
  Coro<void> flush();
  /// Starts a command: sequence id 0, and the COM_STMT_CLOSEs of dropped statements first.
  void start_command(std::string_view payload);

  // --- results -------------------------------------------------------------------------------
  /// Reads an OK packet's fields into the connection's state.
  void read_ok(std::string_view payload);
  /// Throws the server's error from an ERR packet (the exchange is over: in sync).
  [[noreturn]] void throw_err(std::string_view payload);
  /// Reads a result's start: OK (no columns) or the column definitions.
  Coro<std::shared_ptr<const ColumnSet>> read_result_head();
  /// Reads one row into `row`; false at the end of the rows (the terminator is read).
  Coro<bool> read_row(const ColumnSet& columns, bool binary, std::vector<Value>& row);
  /// A packet read where a row may come: true for a row; false at the end of the rows (the
  /// terminator's status is read). Throws the server's error for an ERR packet.
  bool row_or_end(std::string_view p);
  /// Whether a packet is a row (not an ERR packet, not the end): what may be taken at once.
  static bool is_data_row(std::string_view p) noexcept;
  /// Decodes a row packet into owning values.
  void decode_row(std::string_view p, const ColumnSet& columns, bool binary, std::vector<Value>& row);
  /// Reads one whole result (head and rows); rows are dropped unless `keep`.
  Coro<ResultSet> read_result(bool binary, bool keep);
  bool more_results() const noexcept { return (status_ & kMoreResultsFlag) != 0; }
  /// Reads and drops the rest of an unfinished stream and any further results.
  Coro<void> drain_stream();

  // --- state ---------------------------------------------------------------------------------
  void check_usable() const;
  /// Closes the socket now (no goodbye): the connection is unusable from here on.
  void abort(std::string reason) noexcept;
  bool closed() const noexcept { return state_ == ConnState::Closed; }

  static constexpr std::uint16_t kMoreResultsFlag = 8;

  StreamReader reader_;
  StreamWriter writer_;
  /// A small packet's header and payload, joined for one write (capacity kept).
  std::string packet_;
  static constexpr std::size_t kCoalesceLimit = 16 * 1024;
  ConnState state_ = ConnState::Ready;
  std::string closed_reason_ = "the connection is closed";
  bool server_error_ = false;  // the operation ended with an ERR packet (still in sync)
  std::uint8_t seq_ = 0;
  std::uint32_t capabilities_ = 0;
  std::uint16_t status_ = 0;
  std::uint64_t affected_rows_ = 0;
  std::uint64_t last_insert_id_ = 0;
  std::uint16_t warnings_ = 0;
  std::uint32_t thread_id_ = 0;
  std::string server_version_;
  std::string auth_plugin_;
  bool tls_ = false;
  bool unix_socket_ = false;
  /// Bumped whenever an operation starts: a RowStream from an older generation is over.
  std::uint64_t generation_ = 0;
  /// The open stream's columns and protocol (while state_ is Streaming).
  std::shared_ptr<const ColumnSet> stream_columns_;
  bool stream_binary_ = false;
  /// Statements dropped without close(): closed before the next command.
  std::vector<std::uint32_t> statements_to_close_;
  /// Loop time when the connection was last handed back to a pool.
  double idle_since_ = 0;
  /// A command went to the server and its answer has not been read to the end.
  bool command_sent_ = false;
  /// Where kill_in_background() connects (null: ConnectOptions::kill_on_cancel is off).
  std::shared_ptr<const Settings> kill_route_;
  /// An operation was abandoned while the server may still run its statement (a CPU-bound
  /// one runs to its end: the server notices the closed socket only when it next writes).
  /// Starts a task that opens a second connection and KILLs this one on the server.
  void kill_in_background() noexcept;

 private:
  Coro<void> fill(std::size_t n);
  Coro<std::string_view> read_one_packet();

  /// The receive buffer's usual size; it grows for a larger packet and shrinks back after.
  static constexpr std::size_t kRecvBufferSize = 16 * 1024;
  std::string recv_;  // received bytes: [recv_pos_, recv_end_) not yet parsed
  std::size_t recv_pos_ = 0;
  std::size_t recv_end_ = 0;
  std::vector<std::string_view> fields_;  // decode_row's split of a text row (capacity kept)
  std::string joined_;                    // a payload of several packets, joined
  std::string send_;                      // a packet being built
};

/// Reads a column definition packet (Protocol::ColumnDefinition41).
Column parse_column_definition(std::string_view payload);
/// Decodes a binary-protocol value of this column (prepared statements' rows).
Value decode_binary_value(PacketParser& in, const Column& column);
/// Splits a text-protocol row into its fields, as views into `payload` (a NULL field is a
/// view whose data() is nullptr). `fields` is reused: no allocation once it has grown.
void split_text_row(std::string_view payload, std::size_t columns, std::vector<std::string_view>& fields);
/// Decodes a text-protocol value of this column (COM_QUERY rows).
Value decode_text_value(std::string_view bytes, const Column& column);

}  // namespace aio::mysql::detail
