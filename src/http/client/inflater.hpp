// gzip and deflate response bodies (Content-Encoding), decoded as they arrive with zlib.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace aio::http::detail {

class Inflater {
 public:
  enum class Format : unsigned char { gzip, deflate };
  explicit Inflater(Format format);
  ~Inflater();
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  /// Appends what `input` decodes to. ClientPayloadError for corrupt data, or when `out`
  /// would grow past `max_out` bytes in total (a decompression bomb).
  void feed(std::string_view input, std::string& out, std::uint64_t& total_out, std::uint64_t max_out);
  /// Whether the compressed stream ended properly (its trailer and checksum seen).
  bool finished() const noexcept { return finished_; }

 private:
  void reset_stream(int window_bits);

  struct State;
  std::unique_ptr<State> state_;
  Format format_;
  bool finished_ = false;
  bool any_output_ = false;
  bool tried_raw_ = false;
};

}  // namespace aio::http::detail
