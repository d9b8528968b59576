#include "http/client/inflater.hpp"

#include <zlib.h>

#include "aio/http/client_errors.hpp"

namespace aio::http::detail {

struct Inflater::State {
  z_stream stream{};
  bool initialised = false;
  ~State() {
    if (initialised) inflateEnd(&stream);
  }
};

namespace {
// 32 + 15: zlib detects a gzip or zlib header itself; -15: raw deflate without a header.
constexpr int kAutoHeader = 32 + 15;
constexpr int kRawDeflate = -15;
}  // namespace

Inflater::Inflater(Format format) : format_(format) { reset_stream(kAutoHeader); }

Inflater::~Inflater() = default;

void Inflater::reset_stream(int window_bits) {
  state_ = std::make_unique<State>();
  if (inflateInit2(&state_->stream, window_bits) != Z_OK) throw ClientPayloadError("cannot start zlib's inflate");
  state_->initialised = true;
}

void Inflater::feed(std::string_view input, std::string& out, std::uint64_t& total_out, std::uint64_t max_out) {
  z_stream& z = state_->stream;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  z.avail_in = static_cast<uInt>(input.size());
  char buffer[16 * 1024];
  while (z.avail_in > 0 && !finished_) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof buffer;
    const int rc = inflate(&z, Z_NO_FLUSH);
    const std::size_t produced = sizeof buffer - z.avail_out;
    if (rc == Z_DATA_ERROR && format_ == Format::deflate && !any_output_ && !tried_raw_ && z.total_in < 4) {
      // "deflate" is a zlib stream by the RFC, but some servers send raw deflate: retry so.
      tried_raw_ = true;
      const std::string_view rest = input;
      reset_stream(kRawDeflate);
      feed(rest, out, total_out, max_out);
      return;
    }
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
      throw ClientPayloadError(std::string("cannot decode the ") + (format_ == Format::gzip ? "gzip" : "deflate") +
                               " body: " + (z.msg ? z.msg : "corrupt data"));
    total_out += produced;
    if (max_out != 0 && total_out > max_out)
      throw ClientPayloadError("the decoded response body exceeds the session's max_body_size (" +
                               std::to_string(max_out) + " bytes)");
    out.append(buffer, produced);
    any_output_ = any_output_ || produced > 0;
    if (rc == Z_STREAM_END) finished_ = true;
    if (rc == Z_BUF_ERROR && produced == 0) break;
  }
}

}  // namespace aio::http::detail
