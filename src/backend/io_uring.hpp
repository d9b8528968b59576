// The io_uring implementation of the I/O backend seam (see backend.hpp).
#pragma once

#include <liburing.h>
#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "backend/backend.hpp"

namespace aio::detail {

struct UringRegistration;
struct ParkedRing;

class IoUringBackend final : public IoBackend {
 public:
  struct Options {
    unsigned buffer_count = 256;       // provided buffers (a power of two; the ring offers a window of them)
    unsigned buffer_size = 16 * 1024;  // bytes each
  };
  /// Throws std::system_error when the kernel refuses the ring (see unavailable_reason).
  explicit IoUringBackend(Options options);
  IoUringBackend() : IoUringBackend(Options{}) {}
  ~IoUringBackend() override;

  /// Why this kernel (or sandbox) cannot run the backend; empty when it can. Sets up and
  /// tears down a ring with the flags used, and probes the opcodes. Computed once.
  static const std::string& unavailable_reason();

  /// Rings this process has set up for loops (not counting the probe): a loop that finds
  /// its thread's parked ring (see ~IoUringBackend) sets up none. For tests.
  static std::uint64_t rings_set_up() noexcept;
  /// The file descriptors held by the calling thread's parked ring (0 or 2: the ring and
  /// its wake-up eventfd), and releasing it (aio::release_idle_ring).
  static int parked_descriptors() noexcept;
  static int release_parked() noexcept;

  std::string_view name() const noexcept override { return "io_uring"; }
  IoRegistration* attach(int fd) override;
  void detach(IoRegistration* reg) noexcept override;
  bool submit(IoRegistration* reg, IoOp& op) override;
  void cancel(IoOp& op) noexcept override;
  void abandon(IoOp& op) noexcept override;
  void complete_all() noexcept override;
  void poll(std::int64_t timeout_ns) override;
  void wake() noexcept override;
  std::size_t in_flight() const noexcept override { return in_flight_; }
  bool runs_files() const noexcept override { return true; }
  std::size_t bytes_kept(IoRegistration* reg) const noexcept override;

  /// Provided buffers now holding received bytes nobody has taken yet (tests: an idle
  /// connection must hold none).
  unsigned buffers_held() const noexcept { return buffers_held_; }
  /// Times the provided-buffer ring ran dry (ENOBUFS) with every buffer holding bytes
  /// nobody had read, and those bytes were moved out.
  std::uint64_t buffer_shortages() const noexcept { return shortages_; }
  /// Times a socket's receives were found to be a bulk flow (buffer after full buffer)
  /// and turned from the multishot to polls and direct receives.
  std::uint64_t bulk_flows() const noexcept { return bulk_flows_; }
  /// How many buffers the ring offers the kernel at a time (see "the window" in
  /// io_uring.cpp): it starts small and doubles when a batch of receives needs more.
  unsigned ring_window() const noexcept { return window_; }
  /// Buffers the kernel has received into since the loop began: a connection that
  /// echoes keeps reusing the same few (tests).
  std::uint64_t buffers_received_into() const noexcept { return buffers_received_into_; }
  /// Narrows (or widens) the window from now on (tests: a batch of receives beyond it).
  void set_window_for_tests(unsigned n) noexcept { window_ = n; }

 private:
  struct Completion {  // a CQE taken off the ring, not yet dispatched
    std::uint64_t user_data;
    std::int32_t res;
    std::uint32_t flags;
  };

  io_uring_sqe* get_sqe();
  void flush() noexcept;
  /// Sets up the ring, its buffers and the wake-up eventfd (disabled: see start_on_first_use).
  void set_up_ring();
  /// Gives back what set_up_ring made (the kernel drops what is still in flight).
  void tear_down_ring() noexcept;
  /// The first call from the loop's thread: enables the ring for it and arms the wake-up.
  void start_on_first_use();
  /// Cancels everything still with the kernel, waits (briefly) for the last completion,
  /// resets the provided buffers and keeps the ring for this thread's next loop. False
  /// when it cannot (another thread, another process, a slot taken, a request that will
  /// not end soon): the ring is torn down as usual then.
  bool park_for_reuse() noexcept;
  void park(ParkedRing& parked) noexcept;
  /// UsageError when called on another thread than the one that enabled the ring.
  void require_owner_thread() const;
  void take_completions();
  /// Hands what the kernel has finished to the loop: submits, runs deferred task work,
  /// and dispatches every completion.
  void deliver_finished() noexcept;
  void dispatch(const Completion& c) noexcept;
  void dispatch_pending() noexcept;
  /// Waits until every op in `ops` has its completion, taking each out of the batch
  /// into `results` (in `ops` order). Other completions stay queued for dispatch.
  void reap(const std::vector<IoOp*>& ops, std::vector<Completion>& results) noexcept;

  void start_kernel_op(UringRegistration& reg, IoOp& op);
  // Bulk flows (see note_chunk).
  bool submit_polled_receive(UringRegistration& reg, IoOp& op);
  void after_polled_receive(UringRegistration& reg, std::int64_t result) noexcept;
  void note_chunk(UringRegistration& reg, std::int32_t result, bool more, bool behind_kept) noexcept;
  void poll_for_readers(UringRegistration& reg);
  void start_next(UringRegistration& reg, int side) noexcept;
  void request_cancel(IoOp& op) noexcept;
  void finish(IoOp& op, std::int64_t result, std::uint32_t flags) noexcept;

  // Multishot receive and accept, one per registration (see io_uring.cpp).
  bool take_received(UringRegistration& reg, IoOp& op) noexcept;
  void absorb_receives(UringRegistration& reg) noexcept;
  void arm_receive(UringRegistration& reg);
  void on_receive(UringRegistration& reg, const Completion& c) noexcept;
  bool take_accepted(UringRegistration& reg, IoOp& op) noexcept;
  void arm_accept(UringRegistration& reg);
  void on_accept(UringRegistration& reg, const Completion& c) noexcept;
  void stop_multishot(UringRegistration& reg, std::uint64_t tag) noexcept;
  void multishot_ended(UringRegistration& reg) noexcept;
  void relieve_buffer_shortage() noexcept;

  char* buffer(unsigned id) const noexcept { return buffers_ + std::size_t(id) * options_.buffer_size; }
  /// The counts for a buffer ring registered with its first window (register_buffers):
  /// after set_up_ring, and when adopting a parked ring, which always holds exactly that
  /// (park_for_reuse registers it again; a never-enabled ring never took a buffer).
  void reset_window();
  /// Puts buffer `id` in the ring for the kernel to pick.
  void provide(unsigned id) noexcept;
  /// Refills the ring from the spares up to the window.
  void top_up() noexcept;
  /// A receive found no buffer (ENOBUFS): widen the window, or move held bytes out.
  void ring_ran_dry() noexcept;
  void recycle(unsigned id) noexcept;
  void recycle_lent() noexcept;

  void arm_wake();

  Options options_;
  io_uring ring_{};
  pid_t pid_ = 0;                    // the process that set up (or adopted) the ring
  bool enabled_ = false;             // enabled for owner_thread_ (at first use, or adopted enabled)
  bool started_ = false;             // first use done: the wake-up read is armed
  std::uint64_t owner_thread_ = 0;   // the enabling thread's number (see require_owner_thread)
  std::size_t kernel_requests_ = 0;  // SQEs handed out whose last CQE has not been taken
  io_uring_buf_ring* buf_ring_ = nullptr;
  std::size_t buf_ring_bytes_ = 0;
  char* buffers_ = nullptr;
  unsigned buffers_held_ = 0;
  std::uint64_t shortages_ = 0;
  std::uint64_t bulk_flows_ = 0;
  // The window: the ring offers the kernel only window_ buffers, refilled with the most
  // recently used ones, so that receives land in memory still in the cache.
  std::vector<unsigned short> spare_;  // free buffers outside the ring; the last was used last
  unsigned in_ring_ = 0;               // buffers in the ring, not yet picked by the kernel
  unsigned window_ = 0;
  std::uint64_t batches_taken_ = 0;  // take_completions calls: the window grows once per batch
  std::uint64_t grown_at_batch_ = ~std::uint64_t{0};
  std::uint64_t buffers_received_into_ = 0;
  int lent_buffer_ = -1;  // lent by a submit() that completed at once: recycled at the next call
  std::string lent_bytes_;

  int wakefd_ = -1;
  std::uint64_t wake_value_ = 0;

  std::size_t in_flight_ = 0;
  std::vector<Completion> batch_;  // taken off the ring, dispatched in order from batch_pos_
  std::size_t batch_pos_ = 0;
  std::deque<msghdr> flush_msgs_;              // sendv headers: the kernel copies them when it submits
  std::vector<UringRegistration*> holders_;    // registrations holding received buffers
  std::vector<UringRegistration*> detached_;   // detached, waiting for their multishots to end
  IntrusiveList<UringRegistration> attached_;  // every fd attached and not yet detached
};

}  // namespace aio::detail
