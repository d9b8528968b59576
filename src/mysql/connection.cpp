// Connection, Statement, RowStream and connect(): the handshake and the commands.
#include <algorithm>
#include <cstring>
#include <system_error>

#include "aio/errors.hpp"
#include "aio/loop.hpp"
#include "aio/timeout.hpp"
#include "auth.hpp"
#include "connection_core.hpp"

namespace aio::mysql {

using detail::ConnectionCore;
using detail::ConnState;
using detail::Operation;
using detail::PacketParser;
using detail::Settings;

namespace {

// The collation ids the handshake can name; any other charset is set with SET NAMES.
std::uint8_t collation_for(std::string_view charset) {
  if (charset == "utf8mb4") return 45;  // utf8mb4_general_ci
  if (charset == "utf8" || charset == "utf8mb3") return 33;
  if (charset == "latin1") return 8;
  if (charset == "ascii") return 11;
  if (charset == "binary") return 63;
  return 0;
}

struct Handshake {
  std::uint32_t capabilities = 0;
  std::string scramble;
  std::string plugin;
};

Handshake parse_handshake(ConnectionCore& c, std::string_view p) {
  PacketParser in(p);
  std::uint8_t version = in.u8();
  if (version == 0xff) c.throw_err(p);
  if (version != 10)
    throw OperationalError(2007, "HY000",
                           "the server speaks protocol version " + std::to_string(version) + "; only 10 is supported");
  std::string server_version(in.null_terminated());
  // MariaDB prefixes its version with "5.5.5-" for old replication clients.
  if (server_version.rfind("5.5.5-", 0) == 0) server_version.erase(0, 6);
  c.server_version_ = std::move(server_version);
  c.thread_id_ = in.u32();
  Handshake h;
  h.scramble = std::string(in.bytes(8));
  in.u8();  // filler
  h.capabilities = in.u16();
  if (in.at_end()) return h;
  in.u8();  // default collation
  c.status_ = in.u16();
  h.capabilities |= static_cast<std::uint32_t>(in.u16()) << 16;
  std::size_t scramble_len = in.u8();
  in.skip(10);  // reserved (MariaDB: 6 bytes + its extended capabilities)
  if (h.capabilities & detail::kClientSecureConnection) {
    std::size_t part2 = std::max<std::size_t>(13, scramble_len > 8 ? scramble_len - 8 : 0);
    std::string_view rest = in.bytes(std::min(part2, in.remaining()));
    if (!rest.empty() && rest.back() == '\0') rest.remove_suffix(1);
    h.scramble += rest;
  }
  if (h.capabilities & detail::kClientPluginAuth) h.plugin = std::string(in.at_end() ? "" : in.null_terminated());
  if (h.plugin.empty()) h.plugin = "mysql_native_password";
  return h;
}

/// The first answer of an authentication plugin to the server's scramble.
std::string auth_response(const std::string& plugin, const Settings& s, std::string_view scramble, bool secure) {
  if (plugin == "mysql_native_password") return detail::native_password_scramble(s.password, scramble);
  if (plugin == "caching_sha2_password") return detail::caching_sha2_scramble(s.password, scramble);
  if (plugin == "client_ed25519") return detail::ed25519_signature(s.password, scramble);
  if (plugin == "mysql_clear_password") {
    if (!secure)
      throw OperationalError(2059, "HY000",
                             "the server wants the password in clear text (mysql_clear_password); aio::mysql sends it "
                             "only over TLS or a unix socket");
    return s.password + '\0';
  }
  throw OperationalError(
      2059, "HY000",
      "authentication plugin '" + plugin +
          "' is not supported by aio::mysql (it speaks mysql_native_password, "
          "caching_sha2_password, client_ed25519 and mysql_clear_password); give the user one of these");
}

Coro<void> send_and_flush(ConnectionCore& c, std::string_view payload) {
  c.write_packet(payload);
  co_await c.flush();
}

/// The authentication exchange after the handshake response, until the server's OK.
Coro<void> authenticate(ConnectionCore& c, const Settings& s, Handshake h) {
  const bool secure = c.tls_ || c.unix_socket_;
  for (;;) {
    std::string_view p = co_await c.read_packet();
    if (p.empty()) detail::throw_malformed("empty authentication packet");
    auto first = static_cast<unsigned char>(p[0]);
    if (first == 0x00) {
      c.read_ok(p);
      co_return;
    }
    if (first == 0xff) c.throw_err(p);
    if (first == 0xfe) {  // auth switch: another plugin, a new scramble
      PacketParser in(p);
      in.u8();
      if (in.at_end())
        throw OperationalError(
            2059, "HY000",
            "the server asked for the old (pre-4.1) password hashing, which is insecure and not supported");
      h.plugin = std::string(in.null_terminated());
      std::string_view data = in.rest();
      // The password plugins' 20-byte scramble comes with a NUL; ed25519's 32 random bytes
      // have none (and may end in a zero byte).
      if (h.plugin != "client_ed25519" && !data.empty() && data.back() == '\0') data.remove_suffix(1);
      h.scramble = std::string(data);
      c.auth_plugin_ = h.plugin;
      std::string answer = auth_response(h.plugin, s, h.scramble, secure);
      co_await send_and_flush(c, answer);
      continue;
    }
    if (first == 0x01 && h.plugin == "caching_sha2_password" && p.size() >= 2) {
      if (p[1] == 3) continue;  // fast path: the server's cache knew the password; OK follows
      if (p[1] == 4) {          // full authentication
        if (secure) {
          co_await send_and_flush(c, s.password + '\0');
        } else {
          co_await send_and_flush(c, std::string_view("\x02", 1));  // ask for the public key
          std::string_view key = co_await c.read_packet();
          if (key.empty() || key[0] != 0x01) detail::throw_malformed("no RSA public key from the server");
          std::string pem(key.substr(1));
          std::string encrypted = detail::caching_sha2_rsa_encrypt(s.password, h.scramble, pem);
          co_await send_and_flush(c, encrypted);
        }
        continue;
      }
    }
    detail::throw_malformed("unexpected packet during authentication");
  }
}

Coro<std::shared_ptr<ConnectionCore>> open_core(const Settings& s) {
  std::pair<StreamReader, StreamWriter> rw;
  try {
    if (s.unix_socket.empty())
      rw = co_await open_connection(s.host, s.port);
    else
      rw = co_await open_unix_connection(s.unix_socket);
  } catch (const std::system_error& e) {
    throw OperationalError(s.unix_socket.empty() ? 2003 : 2002, "HY000",
                           "Can't connect to MySQL server on " + s.where() + ": " + e.what());
  }
  auto core = std::make_shared<ConnectionCore>(std::move(rw.first), std::move(rw.second));
  core->unix_socket_ = !s.unix_socket.empty();
  co_return core;
}

Coro<void> handshake(ConnectionCore& c, const Settings& s) {
  c.seq_ = 0;
  std::string_view greeting = co_await c.read_packet();
  Handshake h = parse_handshake(c, greeting);
  if (!(h.capabilities & detail::kClientProtocol41))
    throw OperationalError(2007, "HY000", "the server does not speak protocol 4.1, which aio::mysql needs");
  std::uint32_t wanted = detail::kClientLongPassword | detail::kClientLongFlag | detail::kClientProtocol41 |
                         detail::kClientTransactions | detail::kClientSecureConnection | detail::kClientMultiResults |
                         detail::kClientPsMultiResults | detail::kClientPluginAuth |
                         detail::kClientPluginAuthLenencData | detail::kClientDeprecateEof;
  if (!s.db.empty()) wanted |= detail::kClientConnectWithDb;
  if (s.multi_statements) wanted |= detail::kClientMultiStatements;
  if (s.ssl) wanted |= detail::kClientSsl;
  c.capabilities_ = wanted & (h.capabilities | detail::kClientLongPassword);
  std::uint8_t collation = collation_for(s.charset);

  std::string fixed;  // capabilities, max packet, collation, 23 zero bytes: shared by SSLRequest and the response
  detail::put_fixed(fixed, c.capabilities_, 4);
  detail::put_fixed(fixed, 1u << 30, 4);
  fixed += static_cast<char>(collation ? collation : 45);
  fixed.append(23, '\0');

  if (s.ssl) {
    if (!(h.capabilities & detail::kClientSsl))
      throw OperationalError(2026, "HY000",
                             "TLS was asked for (options.ssl) but the server at " + s.where() +
                                 " does not offer it: start it with --ssl-cert/--ssl-key");
    co_await send_and_flush(c, fixed);
    try {
      co_await c.writer_.start_tls(*s.ssl, s.server_hostname);
    } catch (const aio::SslError& e) {
      throw OperationalError(2026, "HY000", std::string("TLS handshake with the server failed: ") + e.what());
    }
    c.tls_ = true;
  }
  const bool secure = c.tls_ || c.unix_socket_;
  if (!s.auth_plugin.empty()) h.plugin = s.auth_plugin;
  c.auth_plugin_ = h.plugin;
  std::string answer = auth_response(h.plugin, s, h.scramble, secure);

  std::string response = fixed;
  response += s.user;
  response += '\0';
  detail::put_lenenc_bytes(response, answer);
  if (c.capabilities_ & detail::kClientConnectWithDb) {
    response += s.db;
    response += '\0';
  }
  response += h.plugin;
  response += '\0';
  co_await send_and_flush(c, response);
  co_await authenticate(c, s, std::move(h));
}

Coro<void> simple_command(ConnectionCore& c, std::string_view payload) {
  c.start_command(payload);
  co_await c.flush();
  std::string_view p = co_await c.read_packet();
  if (!p.empty() && static_cast<unsigned char>(p[0]) == 0xff) c.throw_err(p);
  if (p.empty() || p[0] != 0x00) detail::throw_malformed("expected an OK packet");
  c.read_ok(p);
}

Coro<void> run_sql(ConnectionCore& c, std::string sql) {
  std::string payload(1, detail::kComQuery);
  payload += sql;
  c.start_command(payload);
  co_await c.flush();
  co_await c.read_result(false, false);
  while (c.more_results()) co_await c.read_result(false, false);
}

Coro<Connection> connect_settings(Settings s) {
  std::shared_ptr<ConnectionCore> core = co_await open_core(s);
  core->state_ = ConnState::Busy;
  try {
    co_await handshake(*core, s);
    std::uint8_t collation = collation_for(s.charset);
    if (!collation) co_await run_sql(*core, "SET NAMES " + s.charset);
    bool server_autocommit = (core->status_ & detail::kStatusAutocommit) != 0;
    if (server_autocommit != s.autocommit)
      co_await run_sql(*core, s.autocommit ? "SET autocommit=1" : "SET autocommit=0");
    if (!s.init_command.empty()) co_await run_sql(*core, s.init_command);
  } catch (const InterfaceError& e) {
    // Bytes that are not a MySQL handshake: not a MySQL server, or not one we understand.
    core->abort("the connection failed while connecting");
    throw OperationalError(2012, "08S01", std::string("Error in server handshake with ") + s.where() + ": " + e.what());
  } catch (const Error&) {
    core->abort("the connection failed while connecting");
    throw;
  } catch (...) {
    core->abort("connecting was cancelled");
    throw;
  }
  core->state_ = ConnState::Ready;
  core->command_sent_ = false;
  if (s.kill_on_cancel) core->kill_route_ = std::make_shared<const Settings>(std::move(s));
  co_return Connection(std::move(core));
}

Coro<Connection> connect_with_timeout(Settings s, double timeout) {
  std::string where = s.where();
  try {
    Coro<Connection> attempt = connect_settings(std::move(s));
    co_return co_await aio::wait_for(std::move(attempt), timeout);
  } catch (const aio::TimeoutError&) {
    throw OperationalError(2003, "HY000",
                           "Can't connect to MySQL server on " + where + ": timed out after " +
                               std::to_string(timeout) + " s (ConnectOptions::connect_timeout)");
  }
}

// kill_in_background's task: a second connection (no database, no init command) that
// KILLs the abandoned one. 1094 "Unknown thread id": the statement and its connection had
// ended already. Other failures are only logged in debug mode: the server notices the
// closed socket by itself, later.
Coro<void> kill_on_server(std::shared_ptr<const Settings> route, std::uint32_t thread_id) {
  Settings s = *route;
  s.db.clear();
  s.init_command.clear();
  s.kill_on_cancel = false;
  const double timeout = s.connect_timeout;
  try {
    Connection killer;
    if (timeout > 0)
      killer = co_await connect_with_timeout(std::move(s), timeout);
    else
      killer = co_await connect_settings(std::move(s));
    const std::string kill = "KILL " + std::to_string(thread_id);
    co_await killer.execute(kill);
    co_await killer.close();
  } catch (const std::exception& e) {  // (not CancelledError: that one ends the task as usual)
    const auto* server = dynamic_cast<const Error*>(&e);
    if ((server == nullptr || server->code() != 1094) && get_running_loop().get_debug())
      log_line("aio::mysql: could not KILL the abandoned connection " + std::to_string(thread_id) + ": " + e.what());
  }
}

}  // namespace

void detail::ConnectionCore::kill_in_background() noexcept {
  if (!kill_route_ || thread_id_ == 0) return;
  try {
    aio::create_task(kill_on_server(kill_route_, thread_id_), "aio::mysql KILL " + std::to_string(thread_id_));
  } catch (...) {
    // No running loop (or no memory): the server notices the closed socket by itself.
  }
}

Coro<Connection> connect(ConnectOptions options) {
  Settings s(options);
  if (options.connect_timeout > 0) return connect_with_timeout(std::move(s), options.connect_timeout);
  return connect_settings(std::move(s));
}

// --- Connection ------------------------------------------------------------------------------

Connection::Connection() noexcept = default;
Connection::Connection(std::shared_ptr<ConnectionCore> core) noexcept : core_(std::move(core)) {}
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&& o) noexcept {
  if (this != &o) {
    if (core_) core_->abort("the connection was replaced");
    core_ = std::move(o.core_);
  }
  return *this;
}
Connection::~Connection() {
  if (core_ && core_.use_count() == 1) core_->abort("the connection was dropped");
}

namespace {
ConnectionCore& usable(const std::shared_ptr<ConnectionCore>& core) {
  if (!core) throw InterfaceError(0, "08003", "this Connection is empty (moved from, or never connected)");
  return *core;
}
}  // namespace

bool Connection::no_backslash_escapes() const noexcept {
  return core_ && (core_->status_ & detail::kStatusNoBackslashEscapes) != 0;
}

std::string Connection::literal(const Param& p) const {
  std::string out;
  append_literal(out, p, no_backslash_escapes());
  return out;
}

namespace {
Coro<void> send_query(ConnectionCore& c, Operation& op, const std::string& sql) {
  if (op.must_drain()) co_await c.drain_stream();
  std::string payload;
  payload.reserve(sql.size() + 1);
  payload += detail::kComQuery;
  payload += sql;
  c.start_command(payload);
  co_await c.flush();
}
}  // namespace

Coro<std::uint64_t> Connection::execute_sql(std::string sql) {
  ConnectionCore& c = usable(core_);
  Operation op(c);
  co_await send_query(c, op, sql);
  ResultSet first = co_await c.read_result(false, false);
  while (c.more_results()) co_await c.read_result(false, false);
  op.finish();
  co_return first.affected_rows();
}

Coro<ResultSet> Connection::query_sql(std::string sql) {
  ConnectionCore& c = usable(core_);
  Operation op(c);
  co_await send_query(c, op, sql);
  ResultSet first = co_await c.read_result(false, true);
  while (c.more_results()) co_await c.read_result(false, false);
  op.finish();
  co_return first;
}

Coro<std::vector<ResultSet>> Connection::query_all_sql(std::string sql) {
  ConnectionCore& c = usable(core_);
  Operation op(c);
  co_await send_query(c, op, sql);
  std::vector<ResultSet> all;
  all.push_back(co_await c.read_result(false, true));
  while (c.more_results()) all.push_back(co_await c.read_result(false, true));
  op.finish();
  co_return all;
}

Coro<RowStream> Connection::query_stream_sql(std::string sql) {
  ConnectionCore& c = usable(core_);
  Operation op(c);
  co_await send_query(c, op, sql);
  std::shared_ptr<const detail::ColumnSet> columns = co_await c.read_result_head();
  if (!columns) {
    // No rows (an INSERT ...): the stream is empty; drop any further results now.
    while (c.more_results()) co_await c.read_result(false, false);
    op.finish();
    co_return RowStream(core_, nullptr, c.generation_);
  }
  op.finish();
  c.state_ = ConnState::Streaming;
  c.stream_columns_ = columns;
  c.stream_binary_ = false;
  co_return RowStream(core_, std::move(columns), c.generation_);
}

Coro<Statement> Connection::prepare_sql(std::string sql) {
  std::string payload(1, detail::kComStmtPrepare);
  payload += sql;
  std::shared_ptr<ConnectionCore> keep = core_;
  ConnectionCore& c = usable(keep);
  Operation op(c);
  if (op.must_drain()) co_await c.drain_stream();
  c.start_command(payload);
  co_await c.flush();
  std::string_view p = co_await c.read_packet();
  if (!p.empty() && static_cast<unsigned char>(p[0]) == 0xff) c.throw_err(p);
  PacketParser in(p);
  if (in.u8() != 0x00) detail::throw_malformed("bad COM_STMT_PREPARE answer");
  std::uint32_t id = in.u32();
  std::uint16_t column_count = in.u16();
  std::uint16_t param_count = in.u16();
  // The parameter and column definitions follow (each list ends with EOF unless
  // CLIENT_DEPRECATE_EOF). The parameters' say nothing useful; the columns are kept.
  const bool eof = !(c.capabilities_ & detail::kClientDeprecateEof);
  for (std::size_t i = 0; i < param_count; ++i) co_await c.read_packet();
  if (param_count > 0 && eof) co_await c.read_packet();
  std::shared_ptr<detail::ColumnSet> columns;
  if (column_count > 0) {
    columns = std::make_shared<detail::ColumnSet>();
    for (std::size_t i = 0; i < column_count; ++i) {
      std::string_view def = co_await c.read_packet();
      columns->columns.push_back(detail::parse_column_definition(def));
    }
    if (eof) co_await c.read_packet();
  }
  op.finish();
  co_return Statement(keep, id, param_count, std::move(columns));
}

Coro<void> Connection::begin() { co_await execute_sql("BEGIN"); }
Coro<void> Connection::commit() { co_await execute_sql("COMMIT"); }
Coro<void> Connection::rollback() { co_await execute_sql("ROLLBACK"); }

Coro<void> Connection::ping() {
  ConnectionCore& c = usable(core_);
  Operation op(c);
  if (op.must_drain()) co_await c.drain_stream();
  co_await simple_command(c, std::string_view(&detail::kComPing, 1));
  op.finish();
}

Coro<void> Connection::reset() {
  ConnectionCore& c = usable(core_);
  Operation op(c);
  if (op.must_drain()) co_await c.drain_stream();
  c.statements_to_close_.clear();  // the reset closes every statement itself
  co_await simple_command(c, std::string_view(&detail::kComResetConnection, 1));
  op.finish();
}

Coro<void> Connection::close() {
  if (!core_ || core_->closed()) co_return;
  ConnectionCore& c = *core_;
  if (c.state_ == ConnState::Busy) {
    c.abort("the connection was closed while an operation was in progress");
    co_return;
  }
  c.state_ = ConnState::Busy;
  c.start_command(std::string_view(&detail::kComQuit, 1));
  c.abort("the connection is closed (close() was called)");
  try {
    co_await c.writer_.wait_closed();
  } catch (const std::exception&) {
    // The server may reset rather than close: the connection is closed either way.
  }
}

std::uint64_t Connection::last_insert_id() const noexcept { return core_ ? core_->last_insert_id_ : 0; }
std::uint64_t Connection::affected_rows() const noexcept { return core_ ? core_->affected_rows_ : 0; }
bool Connection::in_transaction() const noexcept { return core_ && (core_->status_ & detail::kStatusInTrans); }
bool Connection::closed() const noexcept { return !core_ || core_->closed(); }
std::uint32_t Connection::thread_id() const noexcept { return core_ ? core_->thread_id_ : 0; }
const std::string& Connection::server_version() const noexcept {
  static const std::string none;
  return core_ ? core_->server_version_ : none;
}
const std::string& Connection::auth_plugin() const noexcept {
  static const std::string none;
  return core_ ? core_->auth_plugin_ : none;
}
bool Connection::uses_tls() const noexcept { return core_ && core_->tls_; }

// --- Statement -------------------------------------------------------------------------------

Statement::Statement() noexcept = default;
Statement::Statement(std::shared_ptr<ConnectionCore> core, std::uint32_t id, std::size_t param_count,
                     std::shared_ptr<const detail::ColumnSet> columns) noexcept
    : core_(std::move(core)), id_(id), param_count_(param_count), columns_(std::move(columns)) {}
Statement::Statement(Statement&&) noexcept = default;
Statement& Statement::operator=(Statement&& o) noexcept {
  if (this != &o) {
    if (core_ && !core_->closed()) core_->statements_to_close_.push_back(id_);
    core_ = std::move(o.core_);
    id_ = o.id_;
    param_count_ = o.param_count_;
    columns_ = std::move(o.columns_);
  }
  return *this;
}
Statement::~Statement() {
  if (core_ && !core_->closed()) core_->statements_to_close_.push_back(id_);
}

const std::vector<Column>& Statement::columns() const {
  static const std::vector<Column> none;
  return columns_ ? columns_->columns : none;
}

std::string Statement::encode(std::span<const Param> params) const {
  if (!core_) throw InterfaceError(0, "HY000", "this Statement is empty (moved from, or closed)");
  if (params.size() != param_count_)
    throw ProgrammingError(0, "HY000",
                           "the statement has " + std::to_string(param_count_) + " ? placeholders, " +
                               std::to_string(params.size()) + " parameters were given");
  // One buffer, sized first: header, NULL bitmap, "types bound" flag, 2 bytes of type per
  // parameter, then the values.
  const std::size_t bitmap = (params.size() + 7) / 8;
  std::size_t values = 0;
  for (const Param& p : params) {
    if (p.kind() == Param::Kind::Text || p.kind() == Param::Kind::Blob)
      values += detail::lenenc_size(p.text().size()) + p.text().size();
    else if (p.kind() != Param::Kind::Null)
      values += 8;
  }
  std::string out;
  out.reserve(10 + bitmap + 1 + 2 * params.size() + values);
  out += detail::kComStmtExecute;
  detail::put_fixed(out, id_, 4);
  out += '\0';                   // no cursor
  detail::put_fixed(out, 1, 4);  // iteration count
  if (params.empty()) return out;
  const std::size_t nulls_at = out.size();
  out.append(bitmap, '\0');
  out += '\x01';  // new parameter types bound
  const std::size_t types_at = out.size();
  out.append(2 * params.size(), '\0');
  auto set_type = [&](std::size_t i, FieldType type, bool is_unsigned) {
    out[types_at + 2 * i] = static_cast<char>(type);
    out[types_at + 2 * i + 1] = is_unsigned ? static_cast<char>(0x80) : '\0';
  };
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Param& p = params[i];
    switch (p.kind()) {
      case Param::Kind::Null:
        out[nulls_at + i / 8] = static_cast<char>(out[nulls_at + i / 8] | (1 << (i % 8)));
        set_type(i, FieldType::Null, false);
        break;
      case Param::Kind::Int:
        set_type(i, FieldType::LongLong, false);
        detail::put_fixed(out, static_cast<std::uint64_t>(p.int_value()), 8);
        break;
      case Param::Kind::UInt:
        set_type(i, FieldType::LongLong, true);
        detail::put_fixed(out, p.uint_value(), 8);
        break;
      case Param::Kind::Double: {
        set_type(i, FieldType::Double, false);
        std::uint64_t bits;
        double d = p.double_value();
        std::memcpy(&bits, &d, sizeof bits);
        detail::put_fixed(out, bits, 8);
        break;
      }
      case Param::Kind::Text:
      case Param::Kind::Blob:
        set_type(i, p.kind() == Param::Kind::Text ? FieldType::String : FieldType::Blob, false);
        detail::put_lenenc_bytes(out, p.text());
        break;
    }
  }
  return out;
}

namespace {
Coro<ResultSet> run_statement(ConnectionCore& c, const std::string& packet, bool keep) {
  Operation op(c);
  if (op.must_drain()) co_await c.drain_stream();
  c.start_command(packet);
  co_await c.flush();
  ResultSet first = co_await c.read_result(true, keep);
  while (c.more_results()) co_await c.read_result(true, false);
  op.finish();
  co_return first;
}
}  // namespace

Coro<std::uint64_t> Statement::execute_packet(std::string packet) {
  std::shared_ptr<ConnectionCore> keep = core_;
  ResultSet rs = co_await run_statement(usable(keep), packet, false);
  co_return rs.affected_rows();
}

Coro<ResultSet> Statement::query_packet(std::string packet) {
  std::shared_ptr<ConnectionCore> keep = core_;
  co_return co_await run_statement(usable(keep), packet, true);
}

Coro<void> Statement::close() {
  std::shared_ptr<ConnectionCore> keep = std::move(core_);
  if (!keep || keep->closed()) co_return;
  ConnectionCore& c = *keep;
  Operation op(c);
  if (op.must_drain()) co_await c.drain_stream();
  char payload[5] = {detail::kComStmtClose, static_cast<char>(id_ & 0xff), static_cast<char>((id_ >> 8) & 0xff),
                     static_cast<char>((id_ >> 16) & 0xff), static_cast<char>((id_ >> 24) & 0xff)};
  c.start_command(std::string_view(payload, 5));
  co_await c.flush();  // COM_STMT_CLOSE has no answer
  op.finish();
}

// --- RowStream -------------------------------------------------------------------------------

RowStream::RowStream() noexcept = default;
RowStream::RowStream(std::shared_ptr<ConnectionCore> core, std::shared_ptr<const detail::ColumnSet> columns,
                     std::uint64_t generation) noexcept
    : core_(std::move(core)), columns_(std::move(columns)), generation_(generation) {
  view_.columns_ = columns_;
  view_.live_generation_ = core_ ? &core_->generation_ : nullptr;
  view_.generation_ = generation_;
}
RowStream::RowStream(RowStream&&) noexcept = default;
RowStream& RowStream::operator=(RowStream&&) noexcept = default;
RowStream::~RowStream() = default;  // rows left are drained by the connection's next operation

const std::vector<Column>& RowStream::columns() const {
  static const std::vector<Column> none;
  return columns_ ? columns_->columns : none;
}

bool RowStream::stream_open() const {
  if (!core_ || !columns_) return false;
  const ConnectionCore& c = *core_;
  if (c.generation_ != generation_ || c.state_ != ConnState::Streaming) {
    if (c.state_ == ConnState::Closed) throw InterfaceError(0, "08003", c.closed_reason_);
    throw InterfaceError(0, "HY000",
                         "this RowStream is over: another operation ran on its connection and discarded the rows "
                         "left; read a stream to its end before using the connection again");
  }
  return true;
}

namespace {
constexpr const char* kStreamBroken = "the connection was closed: reading a RowStream was cancelled or failed half-way";
}

Coro<std::optional<Row>> RowStream::next() {
  if (!stream_open()) co_return std::nullopt;
  std::vector<Value> values;
  const bool more = co_await read_next(&values);
  if (!more) co_return std::nullopt;
  co_return Row(columns_, std::move(values));
}

bool RowStream::take_buffered_view(const RowView*& row) {
  view_.fields_.clear();
  row = nullptr;
  if (!stream_open()) return true;
  ConnectionCore& c = *core_;
  std::string_view p;
  // Only a row is taken here; the end of the rows and errors go the awaited way.
  if (!c.peek_buffered_packet(p) || !ConnectionCore::is_data_row(p)) return false;
  c.consume_peeked(p);
  try {
    detail::split_text_row(p, columns_->columns.size(), view_.fields_);
  } catch (...) {
    c.abort(kStreamBroken);  // a malformed row: the connection can't be trusted
    throw;
  }
  row = &view_;
  return true;
}

Coro<bool> RowStream::read_next(std::vector<Value>* values) {
  view_.fields_.clear();  // next() replaces what a view showed, too
  ConnectionCore& c = *core_;
  std::shared_ptr<ConnectionCore> keep = core_;
  c.state_ = ConnState::Busy;
  bool finished = false;
  struct Guard {  // a cancelled or failed read leaves the connection mid-result: close it
    ConnectionCore& c;
    bool& finished;
    ~Guard() {
      if (!finished && !c.server_error_) c.abort(kStreamBroken);
    }
  } guard{c, finished};
  c.server_error_ = false;
  std::string_view p;
  if (!c.take_buffered_packet(p)) p = co_await c.read_packet();
  bool row = false;
  try {
    row = c.row_or_end(p);
  } catch (const Error&) {
    if (c.server_error_) {
      c.state_ = ConnState::Ready;
      c.stream_columns_.reset();
      columns_.reset();
    }
    throw;
  }
  if (!row) {
    columns_.reset();
    c.stream_columns_.reset();
    while (c.more_results()) co_await c.read_result(false, false);
    finished = true;
    c.state_ = ConnState::Ready;
    co_return false;
  }
  if (values)
    c.decode_row(p, *columns_, false, *values);
  else
    detail::split_text_row(p, columns_->columns.size(), view_.fields_);
  finished = true;
  c.state_ = ConnState::Streaming;
  co_return true;
}

}  // namespace aio::mysql
