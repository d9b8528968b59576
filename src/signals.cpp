// EventLoop::add_signal_handler / remove_signal_handler (asyncio's Unix signal handling).
//
// The OS-level handler does only what is async-signal-safe: it sets the signal's bit in
// the owning loop's pending mask and wakes the loop (an eventfd write). The loop thread
// then schedules the callbacks like any other. A real handler (rather than signalfd)
// works whichever thread the kernel picks to deliver a process-wide signal to — executor
// threads included — and leaves the signal mask of children untouched.
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>

#include "aio/loop.hpp"
#include "backend/backend.hpp"
#include "signal_handlers.hpp"

namespace aio {

namespace detail {
namespace {

// Which loop handles each signal (at most one per process, like the OS handler itself).
std::array<std::atomic<EventLoop*>, SignalHandlers::kMaxSignal + 1> signal_owner{};

extern "C" void on_signal(int sig) {
  int saved_errno = errno;  // the eventfd write may change it
  if (sig > 0 && sig <= SignalHandlers::kMaxSignal) {
    if (EventLoop* loop = signal_owner[static_cast<std::size_t>(sig)].load(std::memory_order_acquire))
      LoopAccess::note_signal(*loop, sig);
  }
  errno = saved_errno;
}

std::string signal_label(int sig) {
  std::string label = "signal ";
  label += std::to_string(sig);
  if (const char* name = ::sigabbrev_np(sig)) {
    label += " (SIG";
    label += name;
    label += ")";
  }
  return label;
}

void check_signal_number(int sig, const char* what) {
  if (sig < 1 || sig > SignalHandlers::kMaxSignal) {
    std::string msg(what);
    msg += ": invalid signal number ";
    msg += std::to_string(sig);
    msg += " (expected 1..64)";
    throw std::invalid_argument(msg);
  }
}

}  // namespace

void LoopAccess::note_signal(EventLoop& loop, int sig) noexcept {
  loop.signals_pending_.fetch_or(std::uint64_t{1} << (sig - 1), std::memory_order_acq_rel);
  loop.threadsafe_pending_.store(true, std::memory_order_release);
  loop.backend_->wake();
}

}  // namespace detail

void EventLoop::add_signal_handler(int sig, std::function<void()> fn) {
  using detail::signal_owner;
  detail::check_signal_number(sig, "add_signal_handler");
  if (sig == SIGKILL || sig == SIGSTOP)
    throw std::invalid_argument("add_signal_handler: " + detail::signal_label(sig) + " cannot be caught");
  if (!fn) throw std::invalid_argument("add_signal_handler: the callback is empty");
  check_open("add_signal_handler");
  if (!signal_handlers_) signal_handlers_ = std::make_unique<detail::SignalHandlers>();
  auto& entry = signal_handlers_->entries[static_cast<std::size_t>(sig)];
  if (entry.fn) {  // already ours: just replace the callback
    entry.fn = std::move(fn);
    return;
  }
  EventLoop* expected = nullptr;
  if (!signal_owner[static_cast<std::size_t>(sig)].compare_exchange_strong(expected, this, std::memory_order_acq_rel))
    throw UsageError("add_signal_handler: " + detail::signal_label(sig) +
                     " is already handled by another event loop; remove it there first");
  struct sigaction action {};
  action.sa_handler = &detail::on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // interrupted syscalls elsewhere go on rather than fail
  if (::sigaction(sig, &action, &entry.previous) != 0) {
    int err = errno;
    signal_owner[static_cast<std::size_t>(sig)].store(nullptr, std::memory_order_release);
    throw std::system_error(err, std::generic_category(),
                            "add_signal_handler: sigaction(" + detail::signal_label(sig) + ")");
  }
  // The signal may be blocked in this thread (inherited mask): deliveries would wait
  // forever. Unblock it here, as asyncio's set_wakeup_fd setup effectively requires.
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  ::pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
  entry.fn = std::move(fn);
}

bool EventLoop::remove_signal_handler(int sig) {
  detail::check_signal_number(sig, "remove_signal_handler");
  if (!signal_handlers_) return false;
  auto& entry = signal_handlers_->entries[static_cast<std::size_t>(sig)];
  if (!entry.fn) return false;
  ::sigaction(sig, &entry.previous, nullptr);  // first: no new delivery names this loop
  detail::signal_owner[static_cast<std::size_t>(sig)].store(nullptr, std::memory_order_release);
  entry.fn = nullptr;
  // A delivery already noted stays in signals_pending_; dispatch_signals skips it.
  return true;
}

void EventLoop::remove_all_signal_handlers() noexcept {
  if (!signal_handlers_) return;
  for (int sig = 1; sig <= detail::SignalHandlers::kMaxSignal; ++sig) {
    if (signal_handlers_->entries[static_cast<std::size_t>(sig)].fn) remove_signal_handler(sig);
  }
}

void EventLoop::dispatch_signals() {
  std::uint64_t bits = signals_pending_.exchange(0, std::memory_order_acq_rel);
  for (int sig = 1; bits != 0; ++sig, bits >>= 1) {
    if ((bits & 1) == 0) continue;
    // The callback is looked up when it runs: one removed (or replaced) meanwhile is not
    // called (or the new one is).
    call_soon([this, sig] {
      if (!signal_handlers_) return;
      auto& entry = signal_handlers_->entries[static_cast<std::size_t>(sig)];
      if (entry.fn) {
        std::function<void()> fn = entry.fn;  // it may remove itself while running
        fn();
      }
    });
  }
}

}  // namespace aio
