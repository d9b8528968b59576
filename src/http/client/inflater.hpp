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

  /// Appends what `input` decodes to, stopping once about `max_produce` bytes came out (so
  /// that a small compressed read cannot become a huge buffer); returns the input bytes
  /// used — the caller passes the rest again. ClientPayloadError for corrupt data, or when
  /// `total_out` would pass `max_out` (0: no limit).
  std::size_t feed(std::string_view input, std::string& out, std::uint64_t& total_out, std::uint64_t max_out,
                   std::size_t max_produce);
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
