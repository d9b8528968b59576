// Awaiting one backend operation from a task: the bridge between the backend seam and
// the coroutine layers above it (streams, servers, datagrams, pipes).
#pragma once

#include <cerrno>
#include <coroutine>
#include <cstdint>
#include <iterator>
#include <string>
#include <type_traits>
#include <unistd.h>

#include "aio/detail/task_base.hpp"
#include "aio/loop.hpp"
#include "backend/backend.hpp"

namespace aio::detail {

/// An fd registered with the running loop's backend for its lifetime (RAII).
class IoHandle {
 public:
  IoHandle() = default;
  /// Takes ownership of a non-blocking fd and registers it.
  IoHandle(EventLoop& loop, int fd) : backend_(&LoopAccess::backend(loop)), fd_(fd) {
    try {
      reg_ = backend_->attach(fd);
    } catch (...) {
      ::close(fd);
      throw;
    }
  }
  IoHandle(IoHandle&& o) noexcept
      : backend_(o.backend_), reg_(std::exchange(o.reg_, nullptr)), fd_(std::exchange(o.fd_, -1)) {}
  IoHandle& operator=(IoHandle&& o) noexcept {
    if (this != &o) {
      close();
      backend_ = o.backend_;
      reg_ = std::exchange(o.reg_, nullptr);
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~IoHandle() { close(); }

  int fd() const noexcept { return fd_; }
  bool is_open() const noexcept { return fd_ >= 0; }
  IoBackend& backend() const noexcept { return *backend_; }
  IoRegistration* registration() const noexcept { return reg_; }

  void close() noexcept {
    if (fd_ < 0) return;
    backend_->detach(reg_);
    reg_ = nullptr;
    ::close(std::exchange(fd_, -1));
  }

 private:
  IoBackend* backend_ = nullptr;
  IoRegistration* reg_ = nullptr;
  int fd_ = -1;
};

/// "recv on fd 7": what a task parked on an I/O operation waits for (call graphs).
inline std::string describe_io(const IoOp& op) {
  static constexpr const char* kNames[] = {"accept",  "connect", "recv",          "send",          "read", "write",
                                           "recvmsg", "sendmsg", "wait readable", "wait writable", "send", "fsync"};
  static_assert(std::size(kNames) == static_cast<std::size_t>(IoKind::fsync) + 1, "a name per IoKind");
  auto k = static_cast<std::size_t>(op.kind);
  std::string name = k < std::size(kNames) ? kNames[k] : "I/O";
  return name + " on fd " + std::to_string(op.fd);
}

/// `co_await IoAwaiter(handle, op)` runs op and returns its result (bytes, fd, or
/// -errno). Cancel-safe: cancelling the task cancels the operation; if the backend
/// reports that the operation finished anyway, its result is returned (no byte is lost)
/// and the cancellation is delivered at the task's next suspension.
///
/// An awaiter that must take the result out during the completion (select_buffer bytes
/// are only valid then) derives from IoAwaiter<Itself> and defines
///
///     bool store_result(IoOp& op) noexcept;
///
/// It runs as soon as the operation completes (also when submit() completes it at once)
/// and may turn op.result into -errno if it cannot store the result. It returns true
/// when the result is now kept where the next operation finds it (a stream's buffer):
/// then a cancellation that arrived with the result wins, and the await throws
/// CancelledError, since nothing is lost. A compile-time hook: no indirection is added
/// to the completion.
template <class Derived = void>
class IoAwaiter : public Suspension {
 public:
  IoAwaiter(IoHandle& handle, const IoOp& op) noexcept : handle_(&handle), backend_(&handle.backend()) {
    static_cast<IoOp&>(op_) = op;
    op_.owner = this;
  }
  IoAwaiter(const IoAwaiter&) = delete;
  ~IoAwaiter() {
    // The frame is being destroyed with the op in flight: hand it to the backend, which
    // keeps what the kernel still holds of it until the kernel lets go. (The handle may
    // be gone already — a detached op can complete late — so the backend is our own copy.)
    if (op_.in_flight) backend_->abandon(op_);
  }

  bool await_ready() const noexcept { return false; }

  bool await_suspend(std::coroutine_handle<> h) {
    task_ = &require_task("an I/O operation");
    op_.on_complete = &on_complete;
    if (backend_->submit(handle_->registration(), op_)) {  // done at once
      after_completion();
      return false;
    }
    task_->suspend(h, this);
    return true;
  }

  std::int64_t await_resume() {
    if ((op_.result == -ECANCELED || result_stored_) && task_->cancel_pending()) task_->throw_cancelled();
    return op_.result;
  }

  bool cancel_wait(const std::string&) noexcept override {
    backend_->cancel(op_);
    return false;
  }
  std::string describe_wait() const override { return describe_io(op_); }

 private:
  struct OwnedOp : IoOp {
    IoAwaiter* owner = nullptr;
  };

  void after_completion() noexcept {
    if constexpr (!std::is_void_v<Derived>) result_stored_ = static_cast<Derived*>(this)->store_result(op_);
  }
  static void on_complete(IoOp* op) noexcept {
    IoAwaiter* self = static_cast<OwnedOp*>(op)->owner;
    self->after_completion();
    self->task_->wake();
  }
  IoHandle* handle_;
  IoBackend* backend_;
  TaskBase* task_ = nullptr;
  OwnedOp op_;
  bool result_stored_ = false;  // store_result() kept the result: a cancellation may win
};

}  // namespace aio::detail
