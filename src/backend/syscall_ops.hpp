// An operation's plain syscall, tried once without waiting: what the epoll backend does
// for every op, and the io_uring backend for an op that must not wait (IoOp::no_wait).
#pragma once

#include <cstdint>

#include "backend/backend.hpp"

namespace aio::detail {

/// Runs op's syscall once (retrying EINTR). -EAGAIN: it would have to wait. A connect's
/// first attempt starts the connection and clears op.addr; later ones collect the outcome.
std::int64_t attempt_now(IoOp& op) noexcept;

/// The memory a select_buffer receive lands in when its syscall runs on the loop's
/// thread: one per thread (one loop per thread), used only until the bytes are copied out.
char* shared_receive_buffer();

}  // namespace aio::detail
