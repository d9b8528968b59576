// Packets and results on a connection: framing, OK/ERR, column definitions, rows.
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <system_error>

#include "aio/errors.hpp"
#include "connection_core.hpp"

namespace aio::mysql::detail {

// --- Operation -------------------------------------------------------------------------------

Operation::Operation(ConnectionCore& core) : core_(core) {
  core.check_usable();
  must_drain_ = core.state_ == ConnState::Streaming;
  core.state_ = ConnState::Busy;
  core.server_error_ = false;
  core.command_sent_ = false;
  ++core.generation_;
}

Operation::~Operation() {
  if (done_) return;
  if (core_.server_error_ && core_.state_ == ConnState::Busy) {
    core_.state_ = ConnState::Ready;
    core_.command_sent_ = false;
    return;
  }
  if (core_.command_sent_) core_.kill_in_background();
  core_.abort(
      "the connection was closed: an operation on it was cancelled or failed half-way, which left "
      "the protocol out of step; open a new connection (a pool does this by itself)");
}

void Operation::finish() noexcept {
  done_ = true;
  core_.command_sent_ = false;
  if (core_.state_ == ConnState::Busy) core_.state_ = ConnState::Ready;
}

// --- state -----------------------------------------------------------------------------------

void ConnectionCore::check_usable() const {
  if (state_ == ConnState::Closed) throw InterfaceError(0, "08003", closed_reason_);
  if (state_ == ConnState::Busy)
    throw InterfaceError(0, "HY000",
                         "another operation is in progress on this connection: await it first, or use a "
                         "connection per task (a pool)");
}

void ConnectionCore::abort(std::string reason) noexcept {
  if (state_ == ConnState::Closed) return;
  state_ = ConnState::Closed;
  closed_reason_ = std::move(reason);
  stream_columns_.reset();
  writer_.close();
}

// --- packets ---------------------------------------------------------------------------------

Coro<void> ConnectionCore::fill(std::size_t n) {
  if (recv_end_ - recv_pos_ >= n) co_return;
  // Compact: the unparsed bytes (none, or the start of one packet) move to the front. Only
  // they move; the buffer's tail is free space, not data.
  const std::size_t pending = recv_end_ - recv_pos_;
  if (recv_pos_ > 0) {
    if (pending > 0) std::memmove(recv_.data(), recv_.data() + recv_pos_, pending);
    recv_pos_ = 0;
    recv_end_ = pending;
  }
  const std::size_t want = std::max(n, kRecvBufferSize);
  if (want == kRecvBufferSize && recv_.size() > 4 * kRecvBufferSize) {
    // The buffer grew for a large packet that has been read out: give the memory back.
    std::string smaller(kRecvBufferSize, '\0');
    std::memcpy(smaller.data(), recv_.data(), pending);
    recv_.swap(smaller);
  } else if (recv_.size() < want) {
    recv_.resize(want);
  }
  while (recv_end_ < n) {
    std::size_t got = 0;
    try {
      got = co_await reader_.read_into(std::span<char>(recv_.data() + recv_end_, recv_.size() - recv_end_));
    } catch (const std::system_error& e) {
      command_sent_ = false;  // the connection is gone: nothing to KILL through it
      throw OperationalError(2013, "HY000", std::string("Lost connection to server during query: ") + e.what());
    } catch (const aio::SslError& e) {
      command_sent_ = false;
      throw OperationalError(2013, "HY000", std::string("Lost connection to server during query (TLS): ") + e.what());
    }
    if (got == 0) {
      command_sent_ = false;
      throw OperationalError(2013, "HY000", "Lost connection to server during query (the server closed it)");
    }
    recv_end_ += got;
  }
}

Coro<std::string_view> ConnectionCore::read_one_packet() {
  if (recv_end_ - recv_pos_ < 4) co_await fill(4);
  const auto* h = reinterpret_cast<const unsigned char*>(recv_.data() + recv_pos_);
  std::size_t len = h[0] | (h[1] << 8) | (static_cast<std::size_t>(h[2]) << 16);
  std::uint8_t seq = h[3];
  if (seq != seq_)
    throw InterfaceError(2014, "HY000",
                         "packet sequence number wrong: got " + std::to_string(seq) + ", expected " +
                             std::to_string(seq_) + " (commands out of sync)");
  seq_ = static_cast<std::uint8_t>(seq + 1);
  if (recv_end_ - recv_pos_ < 4 + len) co_await fill(4 + len);
  std::string_view payload(recv_.data() + recv_pos_ + 4, len);
  recv_pos_ += 4 + len;
  co_return payload;
}

bool ConnectionCore::peek_buffered_packet(std::string_view& payload) const noexcept {
  if (recv_end_ - recv_pos_ < 4) return false;
  const auto* h = reinterpret_cast<const unsigned char*>(recv_.data() + recv_pos_);
  std::size_t len = h[0] | (h[1] << 8) | (static_cast<std::size_t>(h[2]) << 16);
  // A wrong sequence id or a split payload: read_packet() says what is wrong, or joins them.
  if (h[3] != seq_ || len >= kMaxPacketPayload || recv_end_ - recv_pos_ < 4 + len) return false;
  payload = std::string_view(recv_.data() + recv_pos_ + 4, len);
  return true;
}

void ConnectionCore::consume_peeked(std::string_view payload) noexcept {
  seq_ = static_cast<std::uint8_t>(seq_ + 1);
  recv_pos_ += 4 + payload.size();
}

bool ConnectionCore::take_buffered_packet(std::string_view& payload) noexcept {
  if (!peek_buffered_packet(payload)) return false;
  consume_peeked(payload);
  return true;
}

Coro<std::string_view> ConnectionCore::read_packet() {
  // The last joined payload is no longer referenced (a packet's view lasts until the next
  // read): a 16 MiB one gives its memory back.
  if (joined_.capacity() > 4 * kRecvBufferSize) std::string().swap(joined_);
  std::string_view first;
  if (take_buffered_packet(first)) co_return first;  // whole in the buffer: no more frames
  first = co_await read_one_packet();
  if (first.size() < kMaxPacketPayload) co_return first;
  // A payload of 16 MiB or more comes in several packets; the last is shorter than 16 MiB.
  joined_.assign(first);
  for (;;) {
    std::string_view more = co_await read_one_packet();
    joined_ += more;
    if (more.size() < kMaxPacketPayload) break;
  }
  co_return std::string_view(joined_);
}

void ConnectionCore::write_packet(std::string_view payload) {
  // Payloads of 16 MiB or more are split; one that is an exact multiple ends with an
  // empty packet, so the reader knows it is complete.
  for (;;) {
    std::size_t n = std::min(payload.size(), kMaxPacketPayload);
    char header[4] = {static_cast<char>(n & 0xff), static_cast<char>((n >> 8) & 0xff),
                      static_cast<char>((n >> 16) & 0xff), static_cast<char>(seq_++)};
    if (n <= kCoalesceLimit) {
      // One write, so one send(): write() hands bytes to the kernel at once, and a header
      // sent apart from its payload cost a second syscall (and TCP segment) per command.
      packet_.assign(header, 4);
      packet_.append(payload.substr(0, n));
      writer_.write(packet_);
    } else {  // large: not worth a copy
      writer_.write(std::string_view(header, 4));
      writer_.write(payload.substr(0, n));
    }
    payload.remove_prefix(n);
    if (n < kMaxPacketPayload) break;
  }
}

void ConnectionCore::start_command(std::string_view payload) {
  for (std::uint32_t id : statements_to_close_) {
    seq_ = 0;
    char close[5] = {kComStmtClose, static_cast<char>(id & 0xff), static_cast<char>((id >> 8) & 0xff),
                     static_cast<char>((id >> 16) & 0xff), static_cast<char>((id >> 24) & 0xff)};
    write_packet(std::string_view(close, 5));
  }
  statements_to_close_.clear();
  seq_ = 0;
  write_packet(payload);
  command_sent_ = true;
}

Coro<void> ConnectionCore::flush() {
  try {
    co_await writer_.drain();
  } catch (const std::system_error& e) {
    command_sent_ = false;  // the connection is gone: nothing to KILL through it
    throw OperationalError(2006, "HY000", std::string("server has gone away: ") + e.what());
  } catch (const aio::SslError& e) {
    command_sent_ = false;
    throw OperationalError(2006, "HY000", std::string("server has gone away (TLS): ") + e.what());
  }
}

// --- OK / ERR --------------------------------------------------------------------------------

void ConnectionCore::read_ok(std::string_view payload) {
  PacketParser in(payload);
  in.u8();  // 0x00, or 0xfe for an OK that ends rows
  affected_rows_ = in.lenenc();
  last_insert_id_ = in.lenenc();
  status_ = in.u16();
  warnings_ = in.u16();
}

void ConnectionCore::throw_err(std::string_view payload) {
  PacketParser in(payload);
  in.u8();  // 0xff
  int code = in.u16();
  std::string sqlstate;
  if (!in.at_end() && in.peek() == '#') {
    in.u8();
    sqlstate = std::string(in.bytes(std::min<std::size_t>(5, in.remaining())));
  }
  std::string message(in.rest());
  server_error_ = true;
  throw_server_error(code, std::move(sqlstate), message);
}

// --- results ---------------------------------------------------------------------------------

namespace {
bool is_terminator(std::string_view p) {
  return !p.empty() && static_cast<unsigned char>(p[0]) == 0xfe && p.size() < kMaxPacketPayload;
}
}  // namespace

Column parse_column_definition(std::string_view payload) {
  PacketParser in(payload);
  in.lenenc_bytes();  // catalog
  in.lenenc_bytes();  // schema
  std::string table(in.lenenc_bytes());
  in.lenenc_bytes();  // org_table
  std::string name(in.lenenc_bytes());
  in.lenenc_bytes();  // org_name
  in.lenenc();        // length of the fixed fields (0x0c)
  std::uint16_t charset = in.u16();
  std::uint32_t length = in.u32();
  auto type = static_cast<FieldType>(in.u8());
  std::uint16_t flags = in.u16();
  std::uint8_t decimals = in.u8();
  return Column(std::move(name), std::move(table), type, flags, charset, decimals, length);
}

Coro<std::shared_ptr<const ColumnSet>> ConnectionCore::read_result_head() {
  std::string_view p = co_await read_packet();
  if (p.empty()) throw_malformed("empty result packet");
  auto first = static_cast<unsigned char>(p[0]);
  if (first == 0x00) {
    read_ok(p);
    co_return nullptr;
  }
  if (first == 0xff) throw_err(p);
  if (first == 0xfb)
    throw NotSupportedError(2000, "HY000", "the server asked for LOAD DATA LOCAL INFILE, which aio::mysql does not do");
  PacketParser count_in(p);
  std::uint64_t count = count_in.lenenc();
  auto set = std::make_shared<ColumnSet>();
  set->columns.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i) {
    std::string_view def = co_await read_packet();
    set->columns.push_back(parse_column_definition(def));
  }
  if (!(capabilities_ & kClientDeprecateEof)) {
    std::string_view eof = co_await read_packet();
    if (!is_terminator(eof)) throw_malformed("no EOF after the column definitions");
  }
  co_return set;
}

bool ConnectionCore::row_or_end(std::string_view p) {
  if (p.empty()) throw_malformed("empty row packet");
  if (static_cast<unsigned char>(p[0]) == 0xff) throw_err(p);  // e.g. the query was killed while sending rows
  if (!is_terminator(p)) return true;
  if (capabilities_ & kClientDeprecateEof) {
    read_ok(p);
  } else {
    PacketParser in(p);
    in.u8();
    warnings_ = in.u16();
    status_ = in.u16();
  }
  return false;
}

bool ConnectionCore::is_data_row(std::string_view p) noexcept {
  return !p.empty() && static_cast<unsigned char>(p[0]) != 0xff && !is_terminator(p);
}

void split_text_row(std::string_view payload, std::size_t columns, std::vector<std::string_view>& fields) {
  fields.clear();
  PacketParser in(payload);
  for (std::size_t i = 0; i < columns; ++i) {
    if (in.peek() == 0xfb) {
      in.u8();
      fields.emplace_back();  // NULL: a view without data
    } else {
      fields.push_back(in.lenenc_bytes());
    }
  }
}

void ConnectionCore::decode_row(std::string_view p, const ColumnSet& columns, bool binary, std::vector<Value>& row) {
  const std::vector<Column>& cols = columns.columns;
  row.clear();
  row.reserve(cols.size());
  if (binary) {
    PacketParser in(p);
    in.u8();  // 0x00
    std::string_view null_bitmap = in.bytes((cols.size() + 7 + 2) / 8);
    for (std::size_t i = 0; i < cols.size(); ++i) {
      std::size_t bit = i + 2;
      if (static_cast<unsigned char>(null_bitmap[bit / 8]) & (1u << (bit % 8)))
        row.push_back(Value::null(cols[i].type()));
      else
        row.push_back(decode_binary_value(in, cols[i]));
    }
  } else {
    split_text_row(p, cols.size(), fields_);
    for (std::size_t i = 0; i < cols.size(); ++i)
      row.push_back(fields_[i].data() ? decode_text_value(fields_[i], cols[i]) : Value::null(cols[i].type()));
  }
}

Coro<bool> ConnectionCore::read_row(const ColumnSet& columns, bool binary, std::vector<Value>& row) {
  std::string_view p;
  if (!take_buffered_packet(p)) p = co_await read_packet();
  if (!row_or_end(p)) co_return false;
  decode_row(p, columns, binary, row);
  co_return true;
}

Coro<ResultSet> ConnectionCore::read_result(bool binary, bool keep) {
  ResultSet rs;
  rs.column_set_ = co_await read_result_head();
  if (rs.column_set_) {
    std::vector<Value> values;
    std::uint64_t count = 0;
    while (co_await read_row(*rs.column_set_, binary, values)) {
      ++count;
      if (keep) rs.rows_.emplace_back(rs.column_set_, std::move(values));
    }
    affected_rows_ = count;  // what a SELECT "affected": its row count, as PyMySQL's rowcount
  }
  rs.affected_rows_ = affected_rows_;
  rs.last_insert_id_ = last_insert_id_;
  rs.warnings_ = warnings_;
  co_return rs;
}

Coro<void> ConnectionCore::drain_stream() {
  std::shared_ptr<const ColumnSet> columns = std::move(stream_columns_);
  if (columns) {
    std::vector<Value> row;
    while (co_await read_row(*columns, stream_binary_, row)) {
    }
  }
  while (more_results()) co_await read_result(stream_binary_, false);
}

// --- values ----------------------------------------------------------------------------------

Value decode_text_value(std::string_view bytes, const Column& column) {
  return Value::text(column.type(), std::string(bytes));
}

namespace {
std::string fraction(std::uint32_t micros, std::uint8_t decimals) {
  if (decimals == 0 || decimals > 6) return {};
  char buf[8];
  std::snprintf(buf, sizeof buf, "%06u", micros);
  std::string out(1, '.');
  out.append(buf, decimals);
  return out;
}

std::string date_text(PacketParser& in, std::size_t len, const Column& c) {
  unsigned year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  std::uint32_t micros = 0;
  if (len >= 4) {
    year = in.u16();
    month = in.u8();
    day = in.u8();
  }
  if (len >= 7) {
    hour = in.u8();
    minute = in.u8();
    second = in.u8();
  }
  if (len >= 11) micros = in.u32();
  if (len != 0 && len != 4 && len != 7 && len != 11) throw_malformed("bad date length");
  char buf[40];
  if (c.type() == FieldType::Date || c.type() == FieldType::NewDate) {
    std::snprintf(buf, sizeof buf, "%04u-%02u-%02u", year, month, day);
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%04u-%02u-%02u %02u:%02u:%02u", year, month, day, hour, minute, second);
  std::string out(buf);
  out += fraction(micros, c.decimals());
  return out;
}

std::string time_text(PacketParser& in, std::size_t len, const Column& c) {
  bool negative = false;
  std::uint64_t days = 0;
  unsigned hour = 0, minute = 0, second = 0;
  std::uint32_t micros = 0;
  if (len >= 8) {
    negative = in.u8() != 0;
    days = in.u32();
    hour = in.u8();
    minute = in.u8();
    second = in.u8();
  }
  if (len >= 12) micros = in.u32();
  if (len != 0 && len != 8 && len != 12) throw_malformed("bad time length");
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s%02llu:%02u:%02u", negative ? "-" : "",
                static_cast<unsigned long long>(days * 24 + hour), minute, second);
  std::string out(buf);
  out += fraction(micros, c.decimals());
  return out;
}
}  // namespace

Value decode_binary_value(PacketParser& in, const Column& c) {
  const FieldType t = c.type();
  const bool u = c.is_unsigned();
  switch (t) {
    case FieldType::Tiny: {
      std::uint8_t v = in.u8();
      return u ? Value::unsigned_integer(t, v) : Value::integer(t, static_cast<std::int8_t>(v));
    }
    case FieldType::Short:
    case FieldType::Year: {
      std::uint16_t v = in.u16();
      return u || t == FieldType::Year ? Value::unsigned_integer(t, v)
                                       : Value::integer(t, static_cast<std::int16_t>(v));
    }
    case FieldType::Long:
    case FieldType::Int24: {
      std::uint32_t v = in.u32();
      return u ? Value::unsigned_integer(t, v) : Value::integer(t, static_cast<std::int32_t>(v));
    }
    case FieldType::LongLong: {
      std::uint64_t v = in.fixed(8);
      return u ? Value::unsigned_integer(t, v) : Value::integer(t, static_cast<std::int64_t>(v));
    }
    case FieldType::Float: {
      std::uint32_t bits = in.u32();
      float f;
      std::memcpy(&f, &bits, sizeof f);
      return Value::floating(t, f);
    }
    case FieldType::Double: {
      std::uint64_t bits = in.fixed(8);
      double d;
      std::memcpy(&d, &bits, sizeof d);
      return Value::floating(t, d);
    }
    case FieldType::Date:
    case FieldType::NewDate:
    case FieldType::DateTime:
    case FieldType::Timestamp: {
      std::size_t len = in.u8();
      return Value::text(t, date_text(in, len, c));
    }
    case FieldType::Time: {
      std::size_t len = in.u8();
      return Value::text(t, time_text(in, len, c));
    }
    default:
      return Value::text(t, std::string(in.lenenc_bytes()));
  }
}

}  // namespace aio::mysql::detail
