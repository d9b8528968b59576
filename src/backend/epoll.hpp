// The epoll implementation of the I/O backend seam (see backend.hpp).
#pragma once

#include <vector>

#include "backend/backend.hpp"

namespace aio::detail {

class EpollBackend final : public IoBackend {
 public:
  EpollBackend();
  ~EpollBackend() override;

  std::string_view name() const noexcept override { return "epoll"; }
  IoRegistration* attach(int fd) override;
  void detach(IoRegistration* reg) noexcept override;
  bool submit(IoRegistration* reg, IoOp& op) override;
  void cancel(IoOp& op) noexcept override;
  void abandon(IoOp& op) noexcept override;
  void complete_all() noexcept override;
  void poll(std::int64_t timeout_ns) override;
  void wake() noexcept override;
  std::size_t in_flight() const noexcept override { return in_flight_; }

 private:
  static constexpr int kMaxEvents = 256;
  void retry(IoRegistration* reg, IntrusiveList<IoOp>& queue, const bool& ready) noexcept;
  void finish(IoOp& op, std::int64_t result) noexcept;

  int epfd_ = -1;
  int wakefd_ = -1;
  std::size_t in_flight_ = 0;
  bool polling_ = false;                    // inside poll()'s event loop (or complete_all())
  std::vector<IoRegistration*> graveyard_;  // detached during poll(); freed at its end
  IntrusiveList<IoRegistration> attached_;  // every fd attached and not yet detached
};

}  // namespace aio::detail
