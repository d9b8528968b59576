// The shared state of one child process: its pid, how its exit is watched, its return
// code and the parent's ends of its pipes. Process is a handle to it; the exit watcher
// holds a second reference until the child has been reaped, so the child is reaped even
// when the Process is dropped first.
#pragma once

#include <sys/types.h>

#include <optional>

#include "aio/detail/wait_list.hpp"
#include "aio/loop.hpp"
#include "aio/streams.hpp"
#include "io/operation.hpp"

namespace aio::detail {

class ProcessState final : public CloseHook {
 public:
  ProcessState(EventLoop& loop, pid_t pid, int pidfd);
  ProcessState(const ProcessState&) = delete;
  ProcessState& operator=(const ProcessState&) = delete;

  void add_ref() noexcept { ++refs_; }
  void release() noexcept {
    if (--refs_ == 0) delete this;
  }

  /// Starts watching for the child's exit (pidfd, or SIGCHLD without one).
  void watch();
  /// The Process handle is gone: close the pipes and kill a child still running.
  void handle_dropped() noexcept;
  /// Checks (without blocking) whether the child has exited; if so records the return
  /// code, wakes the waiters and stops watching. True once reaped.
  bool try_reap() noexcept;
  void send_signal(int sig);

  pid_t pid() const noexcept { return pid_; }
  const std::optional<int>& returncode() const noexcept { return returncode_; }
  IntrusiveList<WaitEntry>& exit_waiters() noexcept { return exit_waiters_; }

  StreamWriter in;
  StreamReader out;
  StreamReader err;
  bool has_in = false;
  bool has_out = false;
  bool has_err = false;

 private:
  struct WatchOp : IoOp {
    ProcessState* state = nullptr;
  };
  ~ProcessState();
  void on_loop_close() noexcept override;
  static void on_pidfd_readable(IoOp* op) noexcept;
  void stop_watching() noexcept;
  void record_exit(int status) noexcept;

  EventLoop& loop_;
  pid_t pid_;
  IoHandle pidfd_;  // closed once the child is reaped
  WatchOp watch_op_;
  bool watching_ = false;  // holds a reference while true
  bool in_sigchld_list_ = false;
  std::optional<int> returncode_;
  IntrusiveList<WaitEntry> exit_waiters_;
  int refs_ = 1;  // the Process handle's
};

/// Tests only: watch children with SIGCHLD even where pidfds work (the fallback path).
void force_sigchld_child_watcher(bool on) noexcept;

}  // namespace aio::detail
