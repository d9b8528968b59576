// aio::Delay — every delay and timeout parameter, in seconds as in asyncio — and aio::None.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <ratio>
#include <stdexcept>
#include <variant>

namespace aio {

/// The value that stands for a `void` result inside a tuple or vector.
using None = std::monostate;

/// A span of time. Implicitly built from a `double` number of seconds (as asyncio takes
/// them) or from any `std::chrono::duration`. Negative delays mean "now"; an infinite
/// delay means "never". NaN is rejected with std::invalid_argument.
class Delay {
 public:
  static constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

  Delay(double seconds) : ns_(from_seconds(seconds)) {}  // NOLINT: implicit by design

  template <class Rep, class Period>
  Delay(std::chrono::duration<Rep, Period> d)  // NOLINT: implicit by design
      : ns_(from_duration(d)) {}

  /// Nanoseconds, saturated at kNever; never negative.
  std::int64_t nanoseconds() const noexcept { return ns_; }
  double seconds() const noexcept { return infinite() ? INFINITY : static_cast<double>(ns_) / 1e9; }
  bool infinite() const noexcept { return ns_ == kNever; }

 private:
  static std::int64_t from_seconds(double s) {
    if (std::isnan(s)) throw std::invalid_argument("aio::Delay: delay is NaN");
    if (s <= 0) return 0;
    if (s >= 9.2e9) return kNever;  // past ~292 years: treat as never
    return static_cast<std::int64_t>(s * 1e9);
  }
  template <class Rep, class Period>
  static std::int64_t from_duration(std::chrono::duration<Rep, Period> d) {
    if constexpr (std::is_floating_point_v<Rep>) {
      return from_seconds(std::chrono::duration<double>(d).count());
    } else {
      using Ns = std::chrono::duration<long double, std::nano>;
      long double ns = std::chrono::duration_cast<Ns>(d).count();
      if (ns <= 0) return 0;
      if (ns >= static_cast<long double>(kNever)) return kNever;
      return static_cast<std::int64_t>(ns);
    }
  }

  std::int64_t ns_;
};

}  // namespace aio
