// EventLoop::add_signal_handler / remove_signal_handler (asyncio's Unix signal handling).
//
// The OS-level handler does only what is async-signal-safe: it sets the signal's bit in
// the owning loop's pending mask and wakes the loop (an eventfd write). The loop thread
// then schedules the callbacks like any other. A real handler (rather than signalfd)
// works whichever thread the kernel picks to deliver a process-wide signal to — executor
// threads included — and leaves the signal mask of children untouched.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <mutex>
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

// The child watchers' SIGCHLD channel (see LoopAccess::watch_sigchld): any number of loops,
// beside the one loop that may own SIGCHLD through add_signal_handler. Changes are made
// under sigchld_mutex; the OS handler only reads the slots.
constexpr std::size_t kMaxChildWatchers = 64;
std::array<std::atomic<EventLoop*>, kMaxChildWatchers> sigchld_watchers{};
std::mutex sigchld_mutex;
int sigchld_watcher_count = 0;          // guarded by sigchld_mutex
bool holding_sigchld_previous = false;  // guarded: `sigchld_previous` is what to restore
struct sigaction sigchld_previous {};   // guarded

extern "C" void on_signal(int sig) {
  int saved_errno = errno;  // the eventfd write may change it
  if (sig > 0 && sig <= SignalHandlers::kMaxSignal) {
    if (EventLoop* loop = signal_owner[static_cast<std::size_t>(sig)].load(std::memory_order_acquire))
      LoopAccess::note_signal(*loop, sig);
  }
  if (sig == SIGCHLD) {
    for (auto& slot : sigchld_watchers)
      if (EventLoop* loop = slot.load(std::memory_order_acquire)) LoopAccess::note_child_signal(*loop);
  }
  errno = saved_errno;
}

void unblock(int sig) {
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  ::pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
}

struct sigaction catching_action() {
  struct sigaction action {};
  action.sa_handler = &on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // interrupted syscalls elsewhere go on rather than fail
  return action;
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

void LoopAccess::note_child_signal(EventLoop& loop) noexcept {
  loop.child_signal_pending_.store(true, std::memory_order_release);
  loop.threadsafe_pending_.store(true, std::memory_order_release);
  loop.backend_->wake();
}

void LoopAccess::watch_sigchld(EventLoop& loop, void (*on_sigchld)()) {
  std::lock_guard lock(sigchld_mutex);
  auto free_slot = std::find_if(sigchld_watchers.begin(), sigchld_watchers.end(),
                                [](const std::atomic<EventLoop*>& s) { return s.load() == nullptr; });
  if (free_slot == sigchld_watchers.end())
    throw UsageError("child processes: more than 64 event loops watch children through SIGCHLD");
  if (sigchld_watcher_count == 0 && signal_owner[SIGCHLD].load() == nullptr) {
    // Nobody catches SIGCHLD yet: catch it, and keep what to put back.
    struct sigaction action = catching_action();
    if (::sigaction(SIGCHLD, &action, &sigchld_previous) != 0)
      throw std::system_error(errno, std::generic_category(), "child processes: sigaction(SIGCHLD)");
    holding_sigchld_previous = true;
  }
  ++sigchld_watcher_count;
  loop.on_child_signal_ = on_sigchld;
  free_slot->store(&loop, std::memory_order_release);
  unblock(SIGCHLD);
}

void LoopAccess::unwatch_sigchld(EventLoop& loop) noexcept {
  std::lock_guard lock(sigchld_mutex);
  auto slot = std::find_if(sigchld_watchers.begin(), sigchld_watchers.end(),
                           [&](const std::atomic<EventLoop*>& s) { return s.load() == &loop; });
  if (slot == sigchld_watchers.end()) return;
  slot->store(nullptr, std::memory_order_release);
  loop.on_child_signal_ = nullptr;
  if (--sigchld_watcher_count == 0 && signal_owner[SIGCHLD].load() == nullptr && holding_sigchld_previous) {
    ::sigaction(SIGCHLD, &sigchld_previous, nullptr);
    holding_sigchld_previous = false;
  }
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
  std::unique_lock sigchld_lock(detail::sigchld_mutex, std::defer_lock);
  if (sig == SIGCHLD) sigchld_lock.lock();  // the child watchers share SIGCHLD
  struct sigaction action = detail::catching_action();
  if (::sigaction(sig, &action, &entry.previous) != 0) {
    int err = errno;
    signal_owner[static_cast<std::size_t>(sig)].store(nullptr, std::memory_order_release);
    throw std::system_error(err, std::generic_category(),
                            "add_signal_handler: sigaction(" + detail::signal_label(sig) + ")");
  }
  // The signal may be blocked in this thread (inherited mask): deliveries would wait
  // forever. Unblock it here, as asyncio's set_wakeup_fd setup effectively requires.
  detail::unblock(sig);
  entry.fn = std::move(fn);
}

bool EventLoop::remove_signal_handler(int sig) {
  detail::check_signal_number(sig, "remove_signal_handler");
  if (!signal_handlers_) return false;
  auto& entry = signal_handlers_->entries[static_cast<std::size_t>(sig)];
  if (!entry.fn) return false;
  if (sig == SIGCHLD) {
    std::lock_guard lock(detail::sigchld_mutex);
    if (detail::sigchld_watcher_count > 0) {
      // The child watchers still need SIGCHLD caught: keep catching it, and keep what to
      // put back once they are done (unless they already hold the original).
      if (!detail::holding_sigchld_previous) {
        detail::sigchld_previous = entry.previous;
        detail::holding_sigchld_previous = true;
      }
    } else if (detail::holding_sigchld_previous) {
      ::sigaction(SIGCHLD, &detail::sigchld_previous, nullptr);
      detail::holding_sigchld_previous = false;
    } else {
      ::sigaction(SIGCHLD, &entry.previous, nullptr);
    }
    detail::signal_owner[SIGCHLD].store(nullptr, std::memory_order_release);
  } else {
    ::sigaction(sig, &entry.previous, nullptr);  // first: no new delivery names this loop
    detail::signal_owner[static_cast<std::size_t>(sig)].store(nullptr, std::memory_order_release);
  }
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
