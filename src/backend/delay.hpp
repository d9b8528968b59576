// A test backend: a decorator over another backend (epoll) that makes completions
// arrive the way a completion-based kernel interface may deliver them, so that the seam's
// contract is tested by the whole suite independently of io_uring:
//   - an operation that could complete at once is usually reported later instead;
//   - every completion is delivered one loop iteration later, or more;
//   - a cancel races the completion: the real result wins whenever the operation can
//     still finish at that moment (data waiting is delivered, not dropped);
//   - detaching an fd completes its operations later, not inside detach().
// The choices come from a seeded generator (AIO_TEST_SEED; the same seed and the same
// program give the same run). Selected with AIO_BACKEND=test_delay.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <deque>

#include "backend/backend.hpp"

namespace aio::detail {

class DelayBackend final : public IoBackend {
 public:
  DelayBackend(std::unique_ptr<IoBackend> inner, std::uint64_t seed);
  ~DelayBackend() override;

  std::string_view name() const noexcept override { return "test_delay"; }
  IoRegistration* attach(int fd) override { return inner_->attach(fd); }
  void detach(IoRegistration* reg) noexcept override { inner_->detach(reg); }
  bool submit(IoRegistration* reg, IoOp& op) override;
  void cancel(IoOp& op) noexcept override;
  void abandon(IoOp& op) noexcept override;
  void complete_all() noexcept override;
  void poll(std::int64_t timeout_ns) override;
  void wake() noexcept override { inner_->wake(); }
  std::size_t in_flight() const noexcept override { return shadows_.size(); }

 private:
  struct Shadow;
  struct InnerOp : IoOp {
    Shadow* shadow = nullptr;
  };
  // The op the inner backend runs for one of ours, and what it ended with.
  struct Shadow {
    DelayBackend* backend = nullptr;
    IoOp* outer = nullptr;
    IoRegistration* reg = nullptr;
    InnerOp inner;
    bool done = false;      // the inner op completed; `result` and `bytes` hold it
    std::uint64_t due = 0;  // the iteration from which the completion may be delivered
    std::string bytes;      // received bytes: the kernel's copy, written into the caller's memory on delivery
    msghdr msg{};           // recvmsg: the header the inner op fills (its name and one iovec are ours)
    iovec iov{};
    sockaddr_storage name{};
  };
  /// Receives into the shadow's own memory, as a kernel would hold it until the
  /// completion: the caller's buffer is written only when the completion is delivered.
  static void redirect_receive(Shadow& s);
  static void copy_out(Shadow& s) noexcept;

  static void on_inner_complete(IoOp* op) noexcept;
  /// Keeps the inner op's outcome (copying lent bytes) and queues it for delivery.
  void record(Shadow& s) noexcept;
  void deliver(Shadow& s) noexcept;
  bool chance(unsigned percent) noexcept { return rng_() % 100 < percent; }

  std::unique_ptr<IoBackend> inner_;
  std::mt19937_64 rng_;
  std::uint64_t iteration_ = 0;
  std::unordered_map<IoOp*, std::unique_ptr<Shadow>> shadows_;  // ours in flight
  std::deque<Shadow*> completed_;                               // in completion order
  std::unique_ptr<Shadow> lent_;                                // completed at once: its bytes live until the next call
};

}  // namespace aio::detail
