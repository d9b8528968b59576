// The io_uring backend: completion-based, on liburing.
//
// - One ring per loop, IORING_SETUP_SINGLE_ISSUER + DEFER_TASKRUN (COOP_TASKRUN where
//   DEFER is missing): completions are only produced while the loop waits in poll(), so
//   no callback ever runs behind the loop's back. The ring is created disabled and
//   enabled by the first call from the loop's thread (a loop may be built on another).
// - Submissions are queued and flushed once per loop iteration, with the wait
//   (io_uring_submit_and_wait_timeout: the loop's timer heap gives the timeout).
// - Stream receives are one multishot recv per socket into a provided-buffer ring, armed
//   by the first read: a socket with nothing to read holds no buffer. Bytes that arrive
//   while nobody reads wait in their buffer (at most kHoldLimit per socket: beyond it the
//   multishot is stopped, and TCP pushes back on the peer as with epoll).
// - The window: the provided-buffer ring offers the kernel only a window of the buffers
//   (32 at first), refilled with the buffers used last. A ring that offered all 256 would
//   cycle every receive through 4 MiB of cold memory; the copy into it and out of it then
//   cost 1.2x an epoll loop's server CPU at 16 KiB echoes. When a batch of receives finds
//   the ring dry (ENOBUFS), the window doubles; when every buffer holds bytes nobody has
//   read, those bytes are copied out of the ring so that it refills.
// - A server's accepts are one multishot accept per listening socket.
// - Everything else (sends, connects, datagrams, pipes, polls) is one SQE per operation,
//   user_data = the IoOp. The kernel may write into an op's memory until its CQE: an op
//   that is abandoned or detached is cancelled and its CQE reaped before the call returns
//   (immediate for sockets and pipes), so the caller's memory is free again afterwards.
// - Operations that must not wait (IoOp::no_wait) run their syscall directly.
// - The cross-thread wake-up is an eventfd with a read always queued on the ring.
// - A ring outlives its loop: destroyed on its thread, the backend drains the ring and
//   parks it for that thread's next loop (park_for_reuse, ParkedRing).
#include "backend/io_uring.hpp"

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include "aio/errors.hpp"
#include "backend/syscall_ops.hpp"

namespace aio::detail {

struct UringRegistration : ListNode {
  int fd = -1;
  bool detached = false;
  bool is_socket = false;
  int kernel_requests = 0;  // multishots still to report their last completion
  // Single-shot ops per direction (0: read side, 1: write side), in FIFO order. Only the
  // front one is with the kernel, so that ops on one fd complete in order (as with epoll)
  // and two receives never write into one buffer at once.
  IntrusiveList<IoOp> queue[2];

  // Multishot receive.
  struct Chunk {
    std::int32_t result;  // > 0: bytes in buffer `id` (or in `spilled` when id < 0); <= 0: EOF / -errno
    std::int32_t id;
  };
  IntrusiveList<IoOp> readers;  // waiting for bytes
  bool receiving = false;       // the multishot is armed
  bool receive_stopping = false;
  bool holding = false;  // listed in the backend's holders_
  bool saw_eof = false;  // EOF was delivered: later receives get 0 at once, as recv() does
  // A bulk flow (note_chunk; docs/architecture.md, "bulk flows"): the multishot is
  // stopped, and a read waits with a poll, then receives with a syscall.
  bool bulk = false;
  unsigned full_chunks = 0;     // consecutive chunks that filled a whole buffer
  unsigned small_receives = 0;  // bulk: consecutive receives of less than a buffer
  std::vector<Chunk> received;
  std::size_t received_head = 0;
  std::size_t held_bytes = 0;
  std::string spilled;  // bytes moved out of the ring in a shortage (they come first)

  // Multishot accept.
  IntrusiveList<IoOp> acceptors;
  bool accepting = false;
  bool accept_stopping = false;
  std::vector<std::int64_t> accepted;  // fds (or -errno) nobody has taken yet

  bool has_received() const noexcept { return received_head < received.size() || !spilled.empty(); }
};

namespace {

// user_data of a CQE: an IoOp* (8-byte aligned, so tag 0), or a registration plus a tag.
constexpr std::uint64_t kIgnored = 0;  // cancel requests
constexpr std::uint64_t kWake = 1;
constexpr std::uint64_t kTagReceive = 1;
constexpr std::uint64_t kTagAccept = 2;
constexpr std::uint64_t kTagMask = 7;
constexpr unsigned kBufferGroup = 0;
constexpr unsigned kFirstWindow = 32;          // buffers the ring offers at first (see the window, above)
constexpr std::size_t kHoldLimit = 64 * 1024;  // received bytes kept per socket while nobody reads
constexpr std::size_t kAcceptHoldLimit = 64;   // connections accepted ahead of the server
constexpr unsigned kBulkAfterFullChunks = 8;   // a flow is bulk after this many full buffers in a row
constexpr unsigned kSmallReceivesEndBulk = 2;  // ... and no longer after this many small receives in a row

std::uint64_t tagged(UringRegistration* reg, std::uint64_t tag) noexcept {
  return reinterpret_cast<std::uint64_t>(reg) | tag;
}
UringRegistration* as_registration(IoRegistration* reg) noexcept { return reinterpret_cast<UringRegistration*>(reg); }

int side_of(const IoOp& op) noexcept {
  switch (op.kind) {
    case IoKind::accept:
    case IoKind::recv:
    case IoKind::read:
    case IoKind::recvmsg:
    case IoKind::poll_readable:
      return 0;
    default:
      return 1;
  }
}

bool is_multishot_receive(const IoOp& op) noexcept { return op.kind == IoKind::recv && op.select_buffer; }
// A receive parked on the registration's multishot (not in its queue).
bool waits_on_multishot(const IoOp& op) noexcept { return is_multishot_receive(op) && !op.polled_receive; }
bool is_multishot_accept(const IoOp& op) noexcept { return op.kind == IoKind::accept && op.addr == nullptr; }

unsigned setup_flags(bool defer) noexcept {
  unsigned f = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_CQSIZE | IORING_SETUP_R_DISABLED;
  return f | (defer ? IORING_SETUP_DEFER_TASKRUN : IORING_SETUP_COOP_TASKRUN);
}

// Sets up `ring` with DEFER_TASKRUN, or COOP_TASKRUN where the kernel lacks it. -errno.
int init_ring(io_uring& ring) noexcept {
  io_uring_params p{};
  p.flags = setup_flags(true);
  p.cq_entries = 4096;
  int r = io_uring_queue_init_params(1024, &ring, &p);
  if (r == -EINVAL) {
    p = io_uring_params{};
    p.flags = setup_flags(false);
    p.cq_entries = 4096;
    r = io_uring_queue_init_params(1024, &ring, &p);
  }
  return r;
}

// io_uring_enable_rings, which Debian's liburing 2.3 declares but does not export.
int enable_rings(io_uring& ring) noexcept {
  long r = ::syscall(__NR_io_uring_register, ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
  return r < 0 ? -errno : 0;
}

unsigned first_window(const IoUringBackend::Options& options) noexcept {
  return std::min(kFirstWindow, options.buffer_count);
}

// Registers `buf_ring` as the ring's provided buffers, offering the first window of them
// (buffers 0 .. first_window - 1; IoUringBackend::reset_window agrees). -errno.
int register_buffers(io_uring& ring, io_uring_buf_ring* buf_ring, char* buffers,
                     const IoUringBackend::Options& options) noexcept {
  io_uring_buf_ring_init(buf_ring);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uint64_t>(buf_ring);
  reg.ring_entries = options.buffer_count;
  reg.bgid = kBufferGroup;
  if (int r = io_uring_register_buf_ring(&ring, &reg, 0); r < 0) return r;
  const int mask = io_uring_buf_ring_mask(options.buffer_count);
  const unsigned window = first_window(options);
  for (unsigned i = 0; i < window; ++i)
    io_uring_buf_ring_add(buf_ring, buffers + std::size_t(i) * options.buffer_size, options.buffer_size,
                          static_cast<unsigned short>(i), mask, static_cast<int>(i));
  io_uring_buf_ring_advance(buf_ring, static_cast<int>(window));
  return 0;
}

std::string errno_text(int err) { return std::generic_category().message(err); }

std::string probe_kernel() {
  {
    std::ifstream f("/proc/sys/kernel/io_uring_disabled");
    int disabled = 0;
    if (f >> disabled && disabled == 2) return "io_uring is disabled (kernel.io_uring_disabled = 2)";
  }
  io_uring ring{};
  int r = init_ring(ring);
  if (r == -ENOSYS) return "the kernel has no io_uring (ENOSYS)";
  if (r == -EPERM || r == -EACCES)
    return "io_uring is not permitted here (" + errno_text(-r) +
           "): kernel.io_uring_disabled, or a seccomp profile (containers) refuses it";
  if (r == -EINVAL) return "the kernel is too old for IORING_SETUP_SINGLE_ISSUER (needs Linux 6.0)";
  if (r < 0) return "io_uring_queue_init: " + errno_text(-r);
  std::string why;
  if (int e = enable_rings(ring); e < 0) why = "io_uring_enable_rings: " + errno_text(-e);
  if (why.empty()) {
    io_uring_probe* probe = io_uring_get_probe_ring(&ring);
    static constexpr int kUsed[] = {IORING_OP_RECV,   IORING_OP_SEND,     IORING_OP_ACCEPT,      IORING_OP_CONNECT,
                                    IORING_OP_READ,   IORING_OP_WRITE,    IORING_OP_RECVMSG,     IORING_OP_SENDMSG,
                                    IORING_OP_WRITEV, IORING_OP_POLL_ADD, IORING_OP_ASYNC_CANCEL};
    if (!probe) {
      why = "the kernel cannot list its io_uring opcodes (too old)";
    } else {
      for (int op : kUsed)
        if (!io_uring_opcode_supported(probe, op)) why = "the kernel lacks io_uring opcode " + std::to_string(op);
      io_uring_free_probe(probe);
    }
  }
  if (why.empty()) {  // provided-buffer rings (Linux 5.19)
    void* mem = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uint64_t>(mem);
    reg.ring_entries = 8;
    reg.bgid = kBufferGroup;
    if (mem == MAP_FAILED) {
      why = "mmap: " + errno_text(errno);
    } else {
      if (int e = io_uring_register_buf_ring(&ring, &reg, 0); e < 0)
        why = "the kernel lacks provided-buffer rings (" + errno_text(-e) + ")";
      else
        io_uring_unregister_buf_ring(&ring, kBufferGroup);
      ::munmap(mem, 4096);
    }
  }
  io_uring_queue_exit(&ring);
  return why;
}

}  // namespace

const std::string& IoUringBackend::unavailable_reason() {
  static const std::string reason = probe_kernel();
  return reason;
}

namespace {

// A number for each thread, never reused (a thread_local's address can be: a new thread
// may get a finished one's memory). Tells threads apart without a syscall.
std::atomic<std::uint64_t> threads_numbered{0};
thread_local const std::uint64_t this_thread_number = threads_numbered.fetch_add(1, std::memory_order_relaxed) + 1;

std::atomic<std::uint64_t> rings_made{0};

}  // namespace

// A drained ring kept by a thread for its next loop (see ~IoUringBackend). Setting up a
// ring and tearing it down cost 25x what a whole epoll loop's life does, and closing one
// sends the thread task work that the kernel delivers like a signal (README, "Backends").
// A ring parked here stays enabled for this thread (SINGLE_ISSUER), with every buffer
// back in its provided-buffer ring and nothing with the kernel; or it was never enabled.
struct ParkedRing {
  bool present = false;
  bool enabled = false;  // enabled for this thread (else still disabled: any thread may enable it)
  pid_t pid = 0;
  IoUringBackend::Options options{};
  io_uring ring{};
  io_uring_buf_ring* buf_ring = nullptr;
  std::size_t buf_ring_bytes = 0;
  char* buffers = nullptr;
  int wakefd = -1;

  void release() noexcept {
    if (!present) return;
    // In a forked child this is the parent's ring: closing our copy of the fd and
    // unmapping leave the parent's ring as it was.
    io_uring_queue_exit(&ring);
    ::close(wakefd);
    ::munmap(buffers, std::size_t(options.buffer_count) * options.buffer_size);
    ::munmap(buf_ring, buf_ring_bytes);
    present = false;
  }
  ~ParkedRing();
};

namespace {
thread_local ParkedRing parked_ring;
// Set when the thread's slot is destroyed (at thread exit; on the main thread before the
// static objects): a loop closed later, a static one say, closes its ring as before. A
// bool without a destructor, so it stays readable until the thread is gone.
thread_local bool parked_ring_gone = false;

// The calling thread's slot, or null once it is destroyed.
ParkedRing* parked_slot() noexcept { return parked_ring_gone ? nullptr : &parked_ring; }
}  // namespace

ParkedRing::~ParkedRing() {
  release();
  parked_ring_gone = true;
}

std::uint64_t IoUringBackend::rings_set_up() noexcept { return rings_made.load(std::memory_order_relaxed); }

int IoUringBackend::parked_descriptors() noexcept {
  const ParkedRing* parked = parked_slot();
  return parked && parked->present ? 2 : 0;
}

int IoUringBackend::release_parked() noexcept {
  const int n = parked_descriptors();
  if (ParkedRing* parked = parked_slot()) parked->release();
  return n;
}

IoUringBackend::IoUringBackend(Options options) : options_(options) {
  if (options_.buffer_count == 0 || (options_.buffer_count & (options_.buffer_count - 1)) != 0 ||
      options_.buffer_count > 32768)
    throw std::invalid_argument("IoUringBackend: buffer_count must be a power of two up to 32768");
  batch_.reserve(256);
  ParkedRing* parked = parked_slot();
  if (parked && parked->present && parked->pid != ::getpid()) parked->release();  // inherited through fork()
  if (parked && parked->present && parked->options.buffer_count == options_.buffer_count &&
      parked->options.buffer_size == options_.buffer_size) {
    ring_ = parked->ring;
    buf_ring_ = parked->buf_ring;
    buf_ring_bytes_ = parked->buf_ring_bytes;
    buffers_ = parked->buffers;
    wakefd_ = parked->wakefd;
    parked->present = false;
    pid_ = ::getpid();
    // Enabled for this thread: start_on_first_use replaces it if the loop runs elsewhere.
    enabled_ = parked->enabled;
    owner_thread_ = enabled_ ? this_thread_number : 0;
    reset_window();  // (parked with its first window registered)
    return;
  }
  set_up_ring();
}

void IoUringBackend::set_up_ring() {
  if (int r = init_ring(ring_); r < 0) throw std::system_error(-r, std::generic_category(), "io_uring_queue_init");
  rings_made.fetch_add(1, std::memory_order_relaxed);
  pid_ = ::getpid();
  enabled_ = false;
  kernel_requests_ = 0;
  auto fail = [&](int err, const char* what) {
    tear_down_ring();
    throw std::system_error(err, std::generic_category(), what);
  };
  // The buffers are mapped, not allocated: a page costs memory only once a receive lands in it.
  const std::size_t bytes = std::size_t(options_.buffer_count) * options_.buffer_size;
  void* mem = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) fail(errno, "mmap (provided buffers)");
  buffers_ = static_cast<char*>(mem);
  buf_ring_bytes_ = (options_.buffer_count * sizeof(io_uring_buf) + 4095) & ~std::size_t(4095);
  mem = ::mmap(nullptr, buf_ring_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) fail(errno, "mmap (buffer ring)");
  buf_ring_ = static_cast<io_uring_buf_ring*>(mem);
  if (int r = register_buffers(ring_, buf_ring_, buffers_, options_); r < 0) fail(-r, "io_uring_register_buf_ring");
  reset_window();
  wakefd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wakefd_ < 0) fail(errno, "eventfd");
}

void IoUringBackend::tear_down_ring() noexcept {
  io_uring_queue_exit(&ring_);
  if (wakefd_ >= 0) ::close(wakefd_);
  if (buffers_) ::munmap(buffers_, std::size_t(options_.buffer_count) * options_.buffer_size);
  if (buf_ring_) ::munmap(buf_ring_, buf_ring_bytes_);
  wakefd_ = -1;
  buffers_ = nullptr;
  buf_ring_ = nullptr;
}

IoUringBackend::~IoUringBackend() {
  // A copy of the loop in a forked child must not touch the ring: its queues are shared
  // with the parent. Close the child's fd and unmap, nothing more.
  const bool in_child = pid_ != ::getpid();
  if (started_ && !in_child) {
    flush();
    take_completions();
  }
  // Connections a multishot accept took that nobody will see are closed.
  auto close_accepted = [this] {
    for (const Completion& c : batch_) {
      if ((c.user_data & kTagMask) == kTagAccept && c.user_data != kWake && c.res >= 0) ::close(c.res);
    }
    batch_.clear();
  };
  close_accepted();
  if (!in_child && park_for_reuse()) {
    for (UringRegistration* reg : detached_) delete reg;
    return;
  }
  // Closing the ring cancels what is still in flight: the kernel finishes with any op's
  // memory and the buffers before it lets go of the mappings.
  tear_down_ring();
  for (UringRegistration* reg : detached_) delete reg;
}

bool IoUringBackend::park_for_reuse() noexcept {
  ParkedRing* parked = parked_slot();
  if (!parked || parked->present) return false;
  if (!enabled_) {  // never used: nothing was submitted, nothing to drain
    park(*parked);
    return true;
  }
  if (owner_thread_ != this_thread_number) return false;
  // One cancel for everything (the wake-up read, multishots, ops abandoned with the
  // kernel); then every request's last completion, so that no CQE of this loop can reach
  // the next one. Sockets and pipes end at once; a request that does not end within a
  // few milliseconds (a regular file on a slow disk) makes the ring go as usual.
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (!sqe) {
    flush();
    sqe = io_uring_get_sqe(&ring_);
    if (!sqe) return false;
  }
  io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(sqe, kIgnored);
  ++kernel_requests_;
  for (int round = 0; kernel_requests_ > 0; ++round) {
    if (round == 20) return false;
    __kernel_timespec ts{};
    ts.tv_nsec = 1'000'000;
    io_uring_cqe* cqe = nullptr;
    int r = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    flush_msgs_.clear();
    if (r < 0 && r != -ETIME && r != -EINTR && r != -EBUSY && r != -EAGAIN) return false;
    take_completions();
    for (const Completion& c : batch_) {
      if ((c.user_data & kTagMask) == kTagAccept && c.user_data != kWake && c.res >= 0) ::close(c.res);
    }
    batch_.clear();
  }
  // Every buffer back: a fresh provided-buffer ring (the kernel's head restarts with it).
  if (io_uring_unregister_buf_ring(&ring_, kBufferGroup) < 0) return false;
  if (register_buffers(ring_, buf_ring_, buffers_, options_) < 0) return false;
  // The bytes received into them are not kept: a parked ring holds no memory for them.
  ::madvise(buffers_, std::size_t(options_.buffer_count) * options_.buffer_size, MADV_DONTNEED);
  std::uint64_t stale;
  [[maybe_unused]] ssize_t n = ::read(wakefd_, &stale, sizeof stale);  // wake-ups for this loop
  park(*parked);
  return true;
}

void IoUringBackend::park(ParkedRing& parked) noexcept {
  parked.ring = ring_;
  parked.buf_ring = buf_ring_;
  parked.buf_ring_bytes = buf_ring_bytes_;
  parked.buffers = buffers_;
  parked.wakefd = wakefd_;
  parked.options = options_;
  parked.pid = pid_;
  parked.enabled = enabled_;
  parked.present = true;
}

// --- submission --------------------------------------------------------------------------

void IoUringBackend::start_on_first_use() {
  if (enabled_ && owner_thread_ != this_thread_number) {
    // A parked ring adopted by a loop built on its thread, but run on another one.
    tear_down_ring();
    set_up_ring();
  }
  if (!enabled_) {
    // SINGLE_ISSUER binds the ring to the thread that enables it: the loop's own.
    if (int r = enable_rings(ring_); r < 0)
      throw std::system_error(-r, std::generic_category(), "io_uring_enable_rings");
    enabled_ = true;
    owner_thread_ = this_thread_number;
  }
  started_ = true;
  arm_wake();
}

void IoUringBackend::require_owner_thread() const {
  if (owner_thread_ == this_thread_number) return;
  throw UsageError(
      "this event loop runs on io_uring, whose ring belongs to the thread that first ran the loop "
      "(IORING_SETUP_SINGLE_ISSUER): run the loop on that thread, or create it with Backend::epoll "
      "(LoopOptions{.backend} or AIO_BACKEND=epoll) to run it on different threads one after another");
}

io_uring_sqe* IoUringBackend::get_sqe() {
  if (!started_) start_on_first_use();
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (!sqe) {  // the submission queue is full: hand it to the kernel now
    flush();
    sqe = io_uring_get_sqe(&ring_);
    if (!sqe) throw std::system_error(EBUSY, std::generic_category(), "io_uring: no submission queue entry");
  }
  ++kernel_requests_;  // (every SQE handed out is submitted and ends with one last CQE)
  return sqe;
}

void IoUringBackend::flush() noexcept {
  if (io_uring_sq_ready(&ring_) > 0) {
    int r;
    do r = io_uring_submit(&ring_);
    while (r == -EINTR);
  }
  flush_msgs_.clear();
}

void IoUringBackend::arm_wake() {
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_read(sqe, wakefd_, &wake_value_, sizeof wake_value_, 0);
  io_uring_sqe_set_data64(sqe, kWake);
}

void IoUringBackend::wake() noexcept {
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t r = ::write(wakefd_, &one, sizeof one);
}

IoRegistration* IoUringBackend::attach(int fd) {
  auto* reg = new UringRegistration;
  reg->fd = fd;
  struct stat st {};
  reg->is_socket = ::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
  attached_.push_back(reg);
  return reinterpret_cast<IoRegistration*>(reg);
}

bool IoUringBackend::submit(IoRegistration* r, IoOp& op) {
  recycle_lent();
  UringRegistration& reg = *as_registration(r);
  op.fd = reg.fd;
  op.more = false;
  op.buffer_id = -1;
  op.cqe_flags = 0;
  op.polled_receive = false;
  if (is_multishot_receive(op)) {
    if (op.wait_only) {
      if (reg.has_received() || reg.saw_eof) {
        op.result = 0;  // there is something to take
        return true;
      }
    } else if (take_received(reg, op)) {
      return true;
    }
    if (reg.bulk && !reg.receiving && !reg.receive_stopping) return submit_polled_receive(reg, op);
    if (op.wait_only && op.no_wait) {
      op.result = -EAGAIN;
      return true;
    }
    if (op.no_wait) {
      // With the multishot armed, bytes on their way go to it (a direct recv could
      // reorder them): let the kernel post what has arrived, and take that.
      if (!reg.receiving && !reg.receive_stopping) {
        op.result = attempt_now(op);
        return true;
      }
      absorb_receives(reg);
      if (!take_received(reg, op)) op.result = -EAGAIN;
      return true;
    }
    reg.readers.push_back(&op);
    op.in_flight = true;
    ++in_flight_;
    if (!reg.receiving && !reg.receive_stopping) arm_receive(reg);
    return false;
  }
  if (is_multishot_accept(op)) {
    if (take_accepted(reg, op)) return true;
    if (op.no_wait) {
      op.result = reg.accepting ? -EAGAIN : attempt_now(op);
      return true;
    }
    reg.acceptors.push_back(&op);
    op.in_flight = true;
    ++in_flight_;
    if (!reg.accepting && !reg.accept_stopping) arm_accept(reg);
    return false;
  }
  IntrusiveList<IoOp>& queue = reg.queue[side_of(op)];
  if (op.no_wait) {
    // (Others go first. A wait_only op may answer "look" spuriously: it takes nothing.)
    op.result = !queue.empty() ? -EAGAIN : op.wait_only ? 0 : attempt_now(op);
    return true;
  }
  if (queue.empty()) start_kernel_op(reg, op);
  queue.push_back(&op);
  op.reg = r;
  op.in_flight = true;
  ++in_flight_;
  return false;
}

bool IoUringBackend::submit_polled_receive(UringRegistration& reg, IoOp& op) {
  // A bulk flow: nothing is kept and the multishot is off, so a recv now cannot overtake
  // bytes. The op goes through the fd's read queue as a poll (start_kernel_op), and the
  // bytes are received when it runs (or at the poll's completion, in dispatch).
  op.polled_receive = true;
  IntrusiveList<IoOp>& queue = reg.queue[0];
  if (op.no_wait) {
    op.result = !queue.empty() ? -EAGAIN : op.wait_only ? 0 : attempt_now(op);
    if (!op.wait_only) after_polled_receive(reg, op.result);
    return true;
  }
  if (queue.empty()) start_kernel_op(reg, op);
  queue.push_back(&op);
  op.reg = reinterpret_cast<IoRegistration*>(&reg);
  op.in_flight = true;
  ++in_flight_;
  return false;
}

void IoUringBackend::after_polled_receive(UringRegistration& reg, std::int64_t result) noexcept {
  // Less than a buffer's worth was waiting, twice in a row: the flow is no longer bulk,
  // and the next read arms the multishot again. (Once may be a reader that caught up
  // with a bulk sender for a moment.)
  if (result == -EAGAIN) return;
  if (result >= static_cast<std::int64_t>(options_.buffer_size)) {
    reg.small_receives = 0;
  } else if (++reg.small_receives >= kSmallReceivesEndBulk) {
    reg.bulk = false;
    reg.small_receives = 0;
  }
}

void IoUringBackend::poll_for_readers(UringRegistration& reg) {
  // The multishot of a flow found bulk has ended: its waiting reader waits with a poll.
  while (IoOp* op = reg.readers.front()) {
    IntrusiveList<IoOp>& queue = reg.queue[0];
    if (queue.empty()) start_kernel_op(reg, *op);  // (may throw: the op stays a reader)
    IntrusiveList<IoOp>::erase(op);
    op->polled_receive = true;
    op->reg = reinterpret_cast<IoRegistration*>(&reg);
    queue.push_back(op);
  }
}

void IoUringBackend::note_chunk(UringRegistration& reg, std::int32_t result, bool more, bool behind_kept) noexcept {
  // Chunks that fill their whole buffer behind bytes still kept, again and again: the
  // socket always had more than a buffer waiting (a bulk transfer). The multishot copies
  // such a flow into buffers long before its reader runs, so every byte crosses the cache
  // twice; reads of a bulk flow receive with a syscall instead, when the reader is ready
  // (as on epoll). A full chunk with nothing kept ahead of it may be a whole message that
  // happens to fill a buffer (16 KiB requests): it neither counts nor breaks the run.
  if (result != static_cast<std::int32_t>(options_.buffer_size)) {
    reg.full_chunks = 0;
    return;
  }
  if (!behind_kept) return;
  if (++reg.full_chunks < kBulkAfterFullChunks || reg.bulk) return;
  reg.bulk = true;
  ++bulk_flows_;
  if (more) stop_multishot(reg, kTagReceive);
}

void IoUringBackend::start_next(UringRegistration& reg, int side) noexcept {
  IoOp* next = reg.queue[side].front();
  if (!next) return;
  try {
    start_kernel_op(reg, *next);
  } catch (...) {
    IntrusiveList<IoOp>::erase(next);
    finish(*next, -ENOMEM, 0);
  }
}

void IoUringBackend::start_kernel_op(UringRegistration& reg, IoOp& op) {
  io_uring_sqe* sqe = get_sqe();
  const int fd = reg.fd;
  switch (op.kind) {
    case IoKind::accept:
      io_uring_prep_accept(sqe, fd, op.addr, &op.addrlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
      break;
    case IoKind::connect:
      io_uring_prep_connect(sqe, fd, op.addr, op.addrlen);
      break;
    case IoKind::recv:
      if (op.select_buffer) {  // (a bulk flow's read: wait, then receive in dispatch)
        io_uring_prep_poll_add(sqe, fd, POLLIN | POLLRDHUP);
      } else {
        io_uring_prep_recv(sqe, fd, op.buffer, op.length, op.flags);
      }
      break;
    case IoKind::send:
      io_uring_prep_send(sqe, fd, op.buffer, op.length, op.flags | MSG_NOSIGNAL);
      break;
    case IoKind::read:
      if (op.select_buffer) {
        // (pipes) Wait for readability, then read into the loop's shared buffer: a pipe
        // with nothing to read holds no buffer, and a single-shot read into the
        // provided-buffer ring could not be retried when the ring is dry.
        io_uring_prep_poll_add(sqe, fd, POLLIN | POLLRDHUP);
      } else {
        io_uring_prep_read(sqe, fd, op.buffer, static_cast<unsigned>(op.length), static_cast<std::uint64_t>(op.offset));
      }
      break;
    case IoKind::write:
      io_uring_prep_write(sqe, fd, op.buffer, static_cast<unsigned>(op.length), static_cast<std::uint64_t>(op.offset));
      break;
    case IoKind::fsync:
      io_uring_prep_fsync(sqe, fd, 0);
      break;
    case IoKind::recvmsg:
      io_uring_prep_recvmsg(sqe, fd, op.msg, static_cast<unsigned>(op.flags));
      break;
    case IoKind::sendmsg:
      io_uring_prep_sendmsg(sqe, fd, op.msg, static_cast<unsigned>(op.flags | MSG_NOSIGNAL));
      break;
    case IoKind::sendv:
      if (reg.is_socket) {
        msghdr& msg = flush_msgs_.emplace_back();
        msg.msg_iov = op.iov;
        msg.msg_iovlen = static_cast<std::size_t>(op.iovcnt);
        io_uring_prep_sendmsg(sqe, fd, &msg, static_cast<unsigned>(op.flags | MSG_NOSIGNAL));
      } else {
        io_uring_prep_writev(sqe, fd, op.iov, static_cast<unsigned>(op.iovcnt), static_cast<std::uint64_t>(-1));
      }
      break;
    case IoKind::poll_readable:
      io_uring_prep_poll_add(sqe, fd, POLLIN | POLLRDHUP);
      break;
    case IoKind::poll_writable:
      io_uring_prep_poll_add(sqe, fd, POLLOUT);
      break;
  }
  io_uring_sqe_set_data(sqe, &op);
}

void IoUringBackend::finish(IoOp& op, std::int64_t result, std::uint32_t flags) noexcept {
  op.in_flight = false;
  --in_flight_;
  op.result = result;
  op.cqe_flags = flags;
  op.on_complete(&op);
}

// --- multishot receive -------------------------------------------------------------------

void IoUringBackend::arm_receive(UringRegistration& reg) {
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_recv_multishot(sqe, reg.fd, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = kBufferGroup;
  io_uring_sqe_set_data64(sqe, tagged(&reg, kTagReceive));
  reg.receiving = true;
  ++reg.kernel_requests;
}

void IoUringBackend::absorb_receives(UringRegistration& reg) noexcept {
  int r;
  do r = io_uring_submit_and_get_events(&ring_);
  while (r == -EINTR);
  flush_msgs_.clear();
  take_completions();
  const std::uint64_t mine = tagged(&reg, kTagReceive);
  for (std::size_t i = batch_pos_; i < batch_.size(); ++i) {
    if (batch_[i].user_data != mine) continue;
    const Completion c = batch_[i];
    batch_[i].user_data = kIgnored;
    on_receive(reg, c);  // (nobody is parked: the bytes are kept, in order)
  }
}

std::size_t IoUringBackend::bytes_kept(IoRegistration* r) const noexcept {
  // (Chunks are in order and an EOF or error chunk is the last: while bytes are kept,
  // the next take returns bytes.)
  return as_registration(r)->held_bytes;
}

bool IoUringBackend::take_received(UringRegistration& reg, IoOp& op) noexcept {
  if (!reg.spilled.empty()) {
    const std::size_t n = std::min(reg.spilled.size(), op.length);
    lent_bytes_.assign(reg.spilled, 0, n);
    reg.spilled.erase(0, n);
    reg.held_bytes -= std::min(reg.held_bytes, n);
    op.buffer = lent_bytes_.data();
    op.result = static_cast<std::int64_t>(n);
    return true;
  }
  if (reg.received_head == reg.received.size()) {
    if (!reg.saw_eof) return false;
    op.result = 0;
    return true;
  }
  UringRegistration::Chunk c = reg.received[reg.received_head++];
  if (reg.received_head == reg.received.size()) {
    reg.received.clear();
    reg.received_head = 0;
  }
  op.result = c.result;
  if (c.result > 0) {
    op.buffer = buffer(static_cast<unsigned>(c.id));
    op.buffer_id = c.id;
    lent_buffer_ = c.id;  // (the multishot never hands out more than one buffer's size)
    reg.held_bytes -= static_cast<std::size_t>(c.result);
  } else if (c.result == 0) {
    reg.saw_eof = true;
  }
  return true;
}

void IoUringBackend::on_receive(UringRegistration& reg, const Completion& c) noexcept {
  const bool more = (c.flags & IORING_CQE_F_MORE) != 0;
  const bool has_buffer = (c.flags & IORING_CQE_F_BUFFER) != 0;
  const int id = has_buffer ? static_cast<int>(c.flags >> IORING_CQE_BUFFER_SHIFT) : -1;
  if (has_buffer) {
    --in_ring_;  // (the kernel picked it)
    ++buffers_received_into_;
  }
  if (!more) {
    reg.receiving = false;
    reg.receive_stopping = false;
  }
  if (reg.detached) {
    if (has_buffer) recycle(static_cast<unsigned>(id));
    if (!more) multishot_ended(reg);
    return;
  }
  bool deliver = c.res > 0 || c.res == 0 || (c.res != -ENOBUFS && c.res != -ECANCELED);
  if (deliver) {
    if (c.res > 0) note_chunk(reg, c.res, more, reg.has_received());
    // (A reader only waits while nothing is kept, so the order of the bytes holds.)
    IoOp* reader = reg.has_received() ? nullptr : reg.readers.pop_front();
    if (reader && !reader->wait_only) {
      reader->buffer = has_buffer ? buffer(static_cast<unsigned>(id)) : nullptr;
      reader->buffer_id = id;
      reader->more = more;
      if (c.res == 0) reg.saw_eof = true;
      finish(*reader, c.res, c.flags);
      if (has_buffer) recycle(static_cast<unsigned>(id));
    } else {
      if (has_buffer) {
        ++buffers_held_;
        reg.held_bytes += static_cast<std::size_t>(c.res);
        if (!reg.holding) {
          reg.holding = true;
          holders_.push_back(&reg);
        }
        top_up();  // (a spare takes its place in the ring)
      }
      reg.received.push_back({c.res, id});
      // Nobody is reading: past the limit, stop receiving and let TCP push back.
      if (more && reg.held_bytes >= kHoldLimit) stop_multishot(reg, kTagReceive);
      // A wait_only reader takes the kept bytes itself when it runs.
      if (reader) finish(*reader, 0, c.flags);
    }
  }
  if (!more) {
    if (c.res == -ENOBUFS) ring_ran_dry();
    // Rearm for readers still waiting (after a shortage, a stop or a final chunk). An EOF
    // or an error ends receiving: the reader gets it and the next read starts afresh.
    const bool ended_by_peer = c.res <= 0 && c.res != -ENOBUFS && c.res != -ECANCELED;
    multishot_ended(reg);
    if (!ended_by_peer && !reg.readers.empty() && !reg.receiving) {
      try {
        if (reg.bulk) {
          poll_for_readers(reg);
        } else {
          arm_receive(reg);
        }
      } catch (...) {
        while (IoOp* r = reg.readers.pop_front()) finish(*r, -ENOMEM, 0);
      }
    }
  }
}

void IoUringBackend::ring_ran_dry() noexcept {
  // One batch of completions can bring many sockets' ENOBUFS for one shortfall: the
  // window doubles once per batch (a receive rearmed meanwhile finds the new buffers).
  if (grown_at_batch_ != batches_taken_ && window_ < options_.buffer_count) {
    window_ = std::min(window_ * 2, options_.buffer_count);
    grown_at_batch_ = batches_taken_;
    top_up();
    return;
  }
  if (in_ring_ == 0 && spare_.empty()) relieve_buffer_shortage();
}

void IoUringBackend::relieve_buffer_shortage() noexcept {
  // Every buffer is lent to bytes nobody has read. Copy them out (each socket holds at
  // most kHoldLimit) and give the buffers back, so that sockets being read get data.
  ++shortages_;
  for (UringRegistration* reg : holders_) {
    reg->holding = false;
    std::vector<UringRegistration::Chunk> kept;
    for (std::size_t i = reg->received_head; i < reg->received.size(); ++i) {
      UringRegistration::Chunk c = reg->received[i];
      if (c.result > 0 && c.id >= 0) {
        reg->spilled.append(buffer(static_cast<unsigned>(c.id)), static_cast<std::size_t>(c.result));
        recycle(static_cast<unsigned>(c.id));
        --buffers_held_;
      } else {
        kept.push_back(c);  // (an EOF or error: it stays after the bytes)
      }
    }
    reg->received = std::move(kept);
    reg->received_head = 0;
  }
  holders_.clear();
}

// --- multishot accept --------------------------------------------------------------------

void IoUringBackend::arm_accept(UringRegistration& reg) {
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_multishot_accept(sqe, reg.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, tagged(&reg, kTagAccept));
  reg.accepting = true;
  ++reg.kernel_requests;
}

bool IoUringBackend::take_accepted(UringRegistration& reg, IoOp& op) noexcept {
  if (reg.accepted.empty()) return false;
  op.result = reg.accepted.front();
  reg.accepted.erase(reg.accepted.begin());
  return true;
}

void IoUringBackend::on_accept(UringRegistration& reg, const Completion& c) noexcept {
  const bool more = (c.flags & IORING_CQE_F_MORE) != 0;
  if (!more) {
    reg.accepting = false;
    reg.accept_stopping = false;
  }
  if (reg.detached) {
    if (c.res >= 0) ::close(c.res);
    if (!more) multishot_ended(reg);
    return;
  }
  if (c.res != -ECANCELED) {  // a connection, or an error the server must hear of
    if (IoOp* acceptor = reg.acceptors.pop_front()) {
      acceptor->more = more;
      finish(*acceptor, c.res, c.flags);
    } else {
      reg.accepted.push_back(c.res);
      if (more && reg.accepted.size() >= kAcceptHoldLimit) stop_multishot(reg, kTagAccept);
    }
  }
  if (more) return;
  multishot_ended(reg);
  if (!reg.acceptors.empty() && !reg.accepting) {
    try {
      arm_accept(reg);
    } catch (...) {
      while (IoOp* a = reg.acceptors.pop_front()) finish(*a, -ENOMEM, 0);
    }
  }
}

void IoUringBackend::stop_multishot(UringRegistration& reg, std::uint64_t tag) noexcept {
  bool& stopping = tag == kTagReceive ? reg.receive_stopping : reg.accept_stopping;
  if (stopping) return;
  io_uring_sqe* sqe;
  try {
    sqe = get_sqe();
  } catch (...) {
    return;  // (it stays armed: only the push-back is lost)
  }
  io_uring_prep_cancel64(sqe, tagged(&reg, tag), 0);
  io_uring_sqe_set_data64(sqe, kIgnored);
  stopping = true;
}

void IoUringBackend::multishot_ended(UringRegistration& reg) noexcept {
  if (--reg.kernel_requests > 0 || !reg.detached) return;
  std::erase(detached_, &reg);
  delete &reg;
}

// --- buffers -----------------------------------------------------------------------------

void IoUringBackend::reset_window() {
  window_ = in_ring_ = first_window(options_);
  spare_.clear();
  spare_.reserve(options_.buffer_count);
  for (unsigned id = options_.buffer_count; id-- > window_;) spare_.push_back(static_cast<unsigned short>(id));
}

void IoUringBackend::provide(unsigned id) noexcept {
  io_uring_buf_ring_add(buf_ring_, buffer(id), options_.buffer_size, static_cast<unsigned short>(id),
                        io_uring_buf_ring_mask(options_.buffer_count), 0);
  io_uring_buf_ring_advance(buf_ring_, 1);
  ++in_ring_;
}

void IoUringBackend::top_up() noexcept {
  while (in_ring_ < window_ && !spare_.empty()) {
    provide(spare_.back());
    spare_.pop_back();
  }
}

void IoUringBackend::recycle(unsigned id) noexcept {
  // Into the ring while it is short of its window (the kernel picks the oldest entries
  // first, so this buffer comes round again after window_ receives), else kept spare.
  if (in_ring_ < window_) {
    provide(id);
  } else {
    spare_.push_back(static_cast<unsigned short>(id));
  }
}

void IoUringBackend::recycle_lent() noexcept {
  if (lent_buffer_ < 0) return;
  recycle(static_cast<unsigned>(lent_buffer_));
  --buffers_held_;
  lent_buffer_ = -1;
}

// --- cancelling, abandoning, detaching ---------------------------------------------------

void IoUringBackend::cancel(IoOp& op) noexcept {
  if (!op.in_flight) return;
  if (waits_on_multishot(op) || is_multishot_accept(op)) {
    // Parked on the registration, not with the kernel: bytes or connections that come
    // later stay for the next receive or accept.
    IntrusiveList<IoOp>::erase(&op);
    finish(op, -ECANCELED, 0);
    return;
  }
  IntrusiveList<IoOp>& queue = as_registration(op.reg)->queue[side_of(op)];
  if (queue.front() != &op) {  // still waiting for its turn
    IntrusiveList<IoOp>::erase(&op);
    finish(op, -ECANCELED, 0);
    return;
  }
  request_cancel(op);
}

void IoUringBackend::request_cancel(IoOp& op) noexcept {
  try {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_cancel(sqe, &op, 0);
    io_uring_sqe_set_data64(sqe, kIgnored);
  } catch (...) {
    // No room to ask: the op completes by itself (the contract allows its real result).
  }
}

void IoUringBackend::reap(const std::vector<IoOp*>& ops, std::vector<Completion>& results) noexcept {
  results.assign(ops.size(), Completion{0, 0, 0});
  std::size_t missing = ops.size();
  for (;;) {
    for (std::size_t i = batch_pos_; i < batch_.size() && missing > 0; ++i) {
      Completion& c = batch_[i];
      for (std::size_t k = 0; k < ops.size(); ++k) {
        if (c.user_data != reinterpret_cast<std::uint64_t>(ops[k]) || results[k].user_data != 0) continue;
        results[k] = c;
        c.user_data = kIgnored;  // taken: dispatch skips it
        --missing;
        break;
      }
    }
    if (missing == 0) return;
    int r;
    do r = io_uring_submit_and_wait(&ring_, 1);
    while (r == -EINTR);
    flush_msgs_.clear();
    if (r < 0 && r != -ETIME && r != -EAGAIN && r != -EBUSY) {
      // This thread may not wait on the ring (not its owner): report the ops cancelled
      // rather than spin. Only io_uring_queue_exit() can end them for sure now.
      for (Completion& c : results)
        if (c.user_data == 0) c.res = -ECANCELED;
      return;
    }
    take_completions();
  }
}

void IoUringBackend::abandon(IoOp& op) noexcept {
  if (!op.in_flight) return;
  op.in_flight = false;
  --in_flight_;
  if (waits_on_multishot(op) || is_multishot_accept(op)) {
    IntrusiveList<IoOp>::erase(&op);  // nothing of it is with the kernel
    return;
  }
  UringRegistration& reg = *as_registration(op.reg);
  const int side = side_of(op);
  if (reg.queue[side].front() != &op) {  // not with the kernel yet
    IntrusiveList<IoOp>::erase(&op);
    return;
  }
  // The kernel may still write into the op's memory: cancel it and wait for its CQE.
  recycle_lent();
  request_cancel(op);
  std::vector<IoOp*> ops{&op};
  std::vector<Completion> results;
  reap(ops, results);
  IntrusiveList<IoOp>::erase(&op);
  if (op.kind == IoKind::accept && results[0].res >= 0) ::close(results[0].res);
  start_next(reg, side);
}

void IoUringBackend::detach(IoRegistration* r) noexcept {
  if (!r) return;
  recycle_lent();
  UringRegistration& reg = *as_registration(r);
  reg.detached = true;
  IntrusiveList<UringRegistration>::erase(&reg);
  while (IoOp* op = reg.readers.pop_front()) finish(*op, -EBADF, 0);
  while (IoOp* op = reg.acceptors.pop_front()) finish(*op, -EBADF, 0);
  for (std::size_t i = reg.received_head; i < reg.received.size(); ++i) {
    if (reg.received[i].result > 0 && reg.received[i].id >= 0) {
      recycle(static_cast<unsigned>(reg.received[i].id));
      --buffers_held_;
    }
  }
  reg.received.clear();
  reg.spilled.clear();
  if (reg.holding) std::erase(holders_, &reg);
  for (std::int64_t fd : reg.accepted)
    if (fd >= 0) ::close(static_cast<int>(fd));
  reg.accepted.clear();
  if (reg.receiving) stop_multishot(reg, kTagReceive);
  if (reg.accepting) stop_multishot(reg, kTagAccept);
  // The ops at the front have the caller's memory with the kernel: cancel them and take
  // their completions now, so that the caller may free it (and the fd be closed and
  // reused) at once. The ones behind them never started.
  std::vector<IoOp*> fronts;
  for (IntrusiveList<IoOp>& queue : reg.queue) {
    if (IoOp* front = queue.front()) {
      IntrusiveList<IoOp>::erase(front);
      fronts.push_back(front);
      request_cancel(*front);
    }
  }
  std::vector<Completion> results;
  if (!fronts.empty()) reap(fronts, results);
  // Without a cancel to wait for, the multishots' cancels still go now: their requests
  // hold the socket open (a listener would go on accepting) until the kernel drops them.
  if (io_uring_sq_ready(&ring_) > 0 || reg.kernel_requests > 0) {
    flush();
    io_uring_get_events(&ring_);
  }
  for (std::size_t i = 0; i < fronts.size(); ++i)
    finish(*fronts[i], results[i].res == -ECANCELED ? -EBADF : results[i].res, results[i].flags);
  for (IntrusiveList<IoOp>& queue : reg.queue)
    while (IoOp* op = queue.pop_front()) finish(*op, -EBADF, 0);
  if (reg.kernel_requests == 0) {
    delete &reg;
  } else {
    detached_.push_back(&reg);  // freed when its multishots have ended
  }
}

void IoUringBackend::complete_all() noexcept {
  // Only the ring's thread may wait on it: closed elsewhere, the ops stay in flight (and
  // their owners with them) rather than hang; the ring's exit still frees the memory.
  if (started_ && owner_thread_ != this_thread_number) return;
  for (int round = 0; round < 16 && in_flight_ > 0; ++round) {
    // What has finished keeps its real result (a write to a dead child's pipe: EPIPE).
    deliver_finished();
    // The rest is taken off the registrations first, so that a callback that closes a
    // registration (or starts new ops, which the next round ends) cannot disturb the
    // walk. Ops with the kernel are cancelled and reaped; ops queued behind them never
    // started. Each fd's ops still complete in FIFO order.
    std::vector<IoOp*> ops;
    std::vector<IoOp*> with_kernel;
    attached_.for_each([&](UringRegistration* reg) {
      while (IoOp* op = reg->readers.pop_front()) ops.push_back(op);
      while (IoOp* op = reg->acceptors.pop_front()) ops.push_back(op);
      for (IntrusiveList<IoOp>& queue : reg->queue) {
        if (IoOp* front = queue.pop_front()) {
          with_kernel.push_back(front);
          ops.push_back(front);
          request_cancel(*front);
        }
        while (IoOp* op = queue.pop_front()) ops.push_back(op);
      }
    });
    std::vector<Completion> results;
    if (!with_kernel.empty()) reap(with_kernel, results);
    std::size_t next_result = 0;
    for (IoOp* op : ops) {
      if (next_result < with_kernel.size() && with_kernel[next_result] == op) {
        const Completion& c = results[next_result++];
        finish(*op, c.res, c.flags);
      } else {
        finish(*op, -ECANCELED, 0);
      }
    }
  }
}

void IoUringBackend::deliver_finished() noexcept {
  if (!started_) return;
  recycle_lent();
  int r;
  do r = io_uring_submit_and_get_events(&ring_);
  while (r == -EINTR);
  flush_msgs_.clear();
  take_completions();
  dispatch_pending();
}

// --- waiting and dispatching -------------------------------------------------------------

void IoUringBackend::take_completions() {
  io_uring_cqe* cqe;
  unsigned head;
  unsigned n = 0;
  ++batches_taken_;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    batch_.push_back({cqe->user_data, cqe->res, cqe->flags});
    if (!(cqe->flags & IORING_CQE_F_MORE)) --kernel_requests_;
    ++n;
  }
  io_uring_cq_advance(&ring_, n);
}

void IoUringBackend::poll(std::int64_t timeout_ns) {
  if (!started_) start_on_first_use();
  require_owner_thread();
  recycle_lent();
  const bool have_pending = batch_pos_ < batch_.size();
  int r;
  if (timeout_ns == 0 || have_pending) {
    r = io_uring_submit_and_get_events(&ring_);
  } else if (timeout_ns < 0) {
    r = io_uring_submit_and_wait(&ring_, 1);
  } else {
    __kernel_timespec ts{};
    ts.tv_sec = timeout_ns / 1'000'000'000;
    ts.tv_nsec = timeout_ns % 1'000'000'000;
    io_uring_cqe* cqe = nullptr;
    r = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
  }
  flush_msgs_.clear();
  if (r < 0 && r != -ETIME && r != -EINTR && r != -EBUSY && r != -EAGAIN)
    throw std::system_error(-r, std::generic_category(), "io_uring_enter");
  take_completions();
  dispatch_pending();
}

void IoUringBackend::dispatch_pending() noexcept {
  while (batch_pos_ < batch_.size()) {
    Completion c = batch_[batch_pos_++];
    dispatch(c);
  }
  batch_.clear();
  batch_pos_ = 0;
}

void IoUringBackend::dispatch(const Completion& c) noexcept {
  if (c.user_data == kIgnored) return;
  if (c.user_data == kWake) {
    try {
      arm_wake();
    } catch (...) {
    }
    return;
  }
  const std::uint64_t tag = c.user_data & kTagMask;
  if (tag != 0) {
    auto* reg = reinterpret_cast<UringRegistration*>(c.user_data & ~kTagMask);
    if (tag == kTagReceive)
      on_receive(*reg, c);
    else
      on_accept(*reg, c);
    return;
  }
  auto* op = reinterpret_cast<IoOp*>(c.user_data);
  UringRegistration& reg = *as_registration(op->reg);
  std::int64_t result = c.res;
  if (op->kind == IoKind::poll_readable || op->kind == IoKind::poll_writable || op->wait_only)
    result = result > 0 ? 0 : result;  // (a poll's mask)
  if ((op->kind == IoKind::read || op->kind == IoKind::recv) && op->select_buffer && result >= 0 && !op->wait_only) {
    result = attempt_now(*op);  // readable: read now, into the shared buffer
    if (op->kind == IoKind::recv) after_polled_receive(reg, result);
    if (result == -EAGAIN) {  // (nothing after all): wait again
      try {
        start_kernel_op(reg, *op);
        return;
      } catch (...) {
        result = -ENOMEM;
      }
    }
  }
  const int side = side_of(*op);
  IntrusiveList<IoOp>::erase(op);
  start_next(reg, side);
  finish(*op, result, c.flags);
}

}  // namespace aio::detail
