// Test hooks of aio::run_workers (not part of the public API).
#pragma once

namespace aio::detail {

/// Makes run_workers supervise as on a kernel without pidfd_open (before 5.3): workers
/// ending are then seen through SIGCHLD and a periodic waitpid re-check.
void force_workers_without_pidfd(bool on) noexcept;

}  // namespace aio::detail
