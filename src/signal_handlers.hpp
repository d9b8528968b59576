// The loop's table of add_signal_handler callbacks (see src/signals.cpp).
#pragma once

#include <signal.h>

#include <array>
#include <functional>

namespace aio::detail {

/// The signals one loop handles: the callback, and the disposition it replaced (put back
/// by remove_signal_handler or the loop's close()).
struct SignalHandlers {
  static constexpr int kMaxSignal = 64;  // signal numbers 1..64 (SIGRTMAX on Linux)
  struct Entry {
    std::function<void()> fn;  // empty: no handler for this signal
    struct sigaction previous {};
  };
  std::array<Entry, kMaxSignal + 1> entries{};  // indexed by signal number
};

}  // namespace aio::detail
