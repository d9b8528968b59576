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

std::size_t Inflater::feed(std::string_view input, std::string& out, std::uint64_t& total_out, std::uint64_t max_out,
                           std::size_t max_produce) {
  z_stream& z = state_->stream;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  z.avail_in = static_cast<uInt>(input.size());
  char buffer[16 * 1024];
  std::size_t produced_here = 0;
  while (z.avail_in > 0 && !finished_ && produced_here < max_produce) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof buffer;
    const int rc = inflate(&z, Z_NO_FLUSH);
    const std::size_t produced = sizeof buffer - z.avail_out;
    if (rc == Z_DATA_ERROR && format_ == Format::deflate && !any_output_ && !tried_raw_ && z.total_in < 4) {
      // "deflate" is a zlib stream by the RFC, but some servers send raw deflate: retry so.
      tried_raw_ = true;
      reset_stream(kRawDeflate);
      return feed(input, out, total_out, max_out, max_produce);
    }
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
      throw ClientPayloadError(std::string("cannot decode the ") + (format_ == Format::gzip ? "gzip" : "deflate") +
                               " body: " + (z.msg ? z.msg : "corrupt data"));
    total_out += produced;
    if (max_out != 0 && total_out > max_out)
      throw ClientPayloadError("the decoded response body exceeds the session's max_body_size (" +
                               std::to_string(max_out) + " bytes)");
    out.append(buffer, produced);
    produced_here += produced;
    any_output_ = any_output_ || produced > 0;
    if (rc == Z_STREAM_END) finished_ = true;
    if (rc == Z_BUF_ERROR && produced == 0) break;
  }
  return input.size() - z.avail_in;
}

}  // namespace aio::http::detail
