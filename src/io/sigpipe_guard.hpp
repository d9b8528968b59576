// SigpipeBlocked: a write that may hit a closed pipe or socket without MSG_NOSIGNAL
// (write(2) to a pipe, sendfile(2)) must not end the program with SIGPIPE.
#pragma once

#include <signal.h>

#include <cerrno>
#include <ctime>

namespace aio::detail {

// Writing to a pipe whose reader is gone raises SIGPIPE in the writing thread, and SIGPIPE's
// default action ends the program. Block it around the write and discard the one the write
// raised; the write reports EPIPE instead. (A pending SIGPIPE from elsewhere is left alone.)
class SigpipeBlocked {
 public:
  SigpipeBlocked() noexcept {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    was_pending_ = ::sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_, &previous_);
  }
  ~SigpipeBlocked() {
    if (raised_ && !was_pending_) {
      const timespec no_wait{};
      while (::sigtimedwait(&pipe_, nullptr, &no_wait) < 0 && errno == EINTR) {
      }
    }
    ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  SigpipeBlocked(const SigpipeBlocked&) = delete;
  SigpipeBlocked& operator=(const SigpipeBlocked&) = delete;
  void note_epipe() noexcept { raised_ = true; }

 private:
  sigset_t pipe_{};
  sigset_t previous_{};
  bool was_pending_ = false;
  bool raised_ = false;
};

}  // namespace aio::detail
