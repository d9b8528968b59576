// aio::fs: files on the loop's default thread pool — or, where the loop runs on io_uring,
// reads, writes and fsync of regular files through the ring (see RingJob below).
//
// Each operation is one job on the pool. The job gets plain values (fd, offset, bytes) and
// writes what it did into a JobResult shared with the loop; the loop side — the File's
// position, its queue of operations, when its descriptor may close — lives in FileCore and
// is only touched on the loop's thread. An operation holds an OpTicket from the moment it
// starts until its job has finished (handed to the job future's done callback if the
// awaiting task is cancelled first): the ticket is the File's turn (one operation at a time,
// FIFO) and the count that keeps the descriptor open while a thread may still use it.
#include "aio/fs.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <limits>
#include <new>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "aio/detail/done_awaiter.hpp"
#include "aio/errors.hpp"
#include "aio/executor.hpp"
#include "aio/future.hpp"
#include "aio/lock.hpp"
#include "aio/task.hpp"
#include "aio/loop.hpp"
#include "backend/backend.hpp"
#include "io/owned_fd.hpp"
#include "io/sigpipe_guard.hpp"

namespace aio::fs {

namespace detail {

namespace {

constexpr std::size_t kReadChunk = 64 * 1024;

// --- modes -------------------------------------------------------------------------------

struct OpenMode {
  int flags = 0;
  bool readable = false;
  bool writable = false;
  bool append = false;
  char name[3] = {};         // normalized: "r", "w+", ...
  const char* purpose = "";  // for error messages: "open 'x' for <purpose>"
};

OpenMode parse_mode(std::string_view mode) {
  auto invalid = [&](const char* why) {
    std::string msg = "aio::fs::open: invalid mode '";
    msg.append(mode).append("': ").append(why);
    return std::invalid_argument(msg);
  };
  char kind = 0;
  bool plus = false, binary = false;
  for (char c : mode) {
    switch (c) {
      case 'r':
      case 'w':
      case 'a':
      case 'x':
        if (kind) throw invalid("it must have exactly one of 'r', 'w', 'a', 'x'");
        kind = c;
        break;
      case '+':
        if (plus) throw invalid("'+' appears twice");
        plus = true;
        break;
      case 'b':
        if (binary) throw invalid("'b' appears twice");
        binary = true;
        break;
      case 't':
        throw invalid("aio::fs files are always binary (no text mode 't')");
      default:
        throw invalid("expected 'r', 'w', 'a' or 'x', optionally with '+' and 'b'");
    }
  }
  if (!kind) throw invalid("it must have exactly one of 'r', 'w', 'a', 'x'");

  OpenMode m;
  m.name[0] = kind;
  m.name[1] = plus ? '+' : '\0';
  m.readable = kind == 'r' || plus;
  m.writable = kind != 'r' || plus;
  m.append = kind == 'a';
  m.flags = (m.readable && m.writable) ? O_RDWR : m.readable ? O_RDONLY : O_WRONLY;
  switch (kind) {
    case 'w':
      m.flags |= O_CREAT | O_TRUNC;
      break;
    case 'a':
      m.flags |= O_CREAT | O_APPEND;
      break;
    case 'x':
      m.flags |= O_CREAT | O_EXCL;
      break;
    default:
      break;
  }
  m.flags |= O_CLOEXEC;
  if (plus)
    m.purpose = kind == 'a' ? "reading and appending" : "reading and writing";
  else
    m.purpose = kind == 'r' ? "reading" : kind == 'a' ? "appending" : kind == 'x' ? "exclusive creation" : "writing";
  return m;
}

// --- errors ------------------------------------------------------------------------------

std::string quoted(const std::filesystem::path& path) {
  std::string s = "'";
  s.append(path.native()).append("'");
  return s;
}

// "<what> '<path>'<suffix>: <strerror>", e.g. "open '/x' for reading: No such file or directory".
[[noreturn]] void throw_os_error(int err, std::string_view what, const std::filesystem::path& path,
                                 std::string_view suffix = {}) {
  std::string msg(what);
  msg.append(" ").append(quoted(path)).append(suffix);
  throw std::system_error(err, std::generic_category(), msg);
}

// --- the thread side ---------------------------------------------------------------------

using OwnedFd = aio::detail::OwnedFd;

// What one job did, written by the pool thread and read by the loop once the job's future
// is done (the future's completion orders the two). Holds nothing of the loop's, so the
// thread may drop the last reference.
struct JobResult {
  std::string data;          // read: the bytes
  std::size_t count = 0;     // bytes read or written before `error`
  std::int64_t offset = -1;  // open: the initial position; append write: the offset after it
  std::uint64_t size = 0;    // stat: the size
  bool flag = false;         // open: seekable; exists: exists
  int error = 0;             // errno of the failed step, 0 if all went well
  const char* failed_step = "";
  std::filesystem::path failed_path;  // mkdir with parents: the directory that failed
  OwnedFd fd;                         // open: the new descriptor (closed here if nobody took it)
  // read_into on the pool, whose job writes into the caller's memory: `stop` asks it to
  // stop after the system call under way; `into_state` says whether it may still touch
  // that memory (kIntoNotStarted → kIntoRunning → kIntoOver, or straight to kIntoOver
  // when the caller gives up before the job ran).
  std::atomic<bool> stop{false};
  std::atomic<int> into_state{0};
};

constexpr int kIntoNotStarted = 0, kIntoRunning = 1, kIntoOver = 2;

int open_retrying(const char* path, int flags) {
  int fd;
  do fd = ::open(path, flags, 0666);
  while (fd < 0 && errno == EINTR);
  return fd;
}

bool is_directory(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
}

// The first buffer for a read of up to `limit` bytes at `offset` (-1: unseekable): a regular
// file's remaining size + 1, so that the short read that finds the end needs no second
// buffer (CPython does the same); else one chunk.
std::size_t first_read_size(int fd, std::int64_t offset, std::size_t limit) {
  std::size_t guess = kReadChunk;
  struct stat st {};
  if (offset >= 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
    guess = st.st_size > offset ? static_cast<std::size_t>(st.st_size - offset) + 1 : 1;
  return std::min(limit, guess);
}

// One read(2) (offset -1) or pread(2), retried on EINTR: the bytes read, or -errno.
ssize_t read_once(int fd, char* at, std::size_t want, std::int64_t offset) {
  for (;;) {
    const ssize_t got = offset >= 0 ? ::pread(fd, at, want, offset) : ::read(fd, at, want);
    if (got >= 0 || errno != EINTR) return got >= 0 ? got : -errno;
  }
}

// Reads up to `limit` bytes (SIZE_MAX: to the end) at `offset` (pread), or with read(2) when
// offset is -1, retrying short reads until the limit or the end of the file.
void read_loop(int fd, std::int64_t offset, std::size_t limit, JobResult& r) {
  std::string& out = r.data;
  std::size_t filled = 0;
  try {
    out.resize(first_read_size(fd, offset, limit));
    for (;;) {
      if (filled == out.size()) {
        if (filled >= limit) break;
        out.resize(std::min(limit, std::max(filled * 2, kReadChunk)));
      }
      const ssize_t got = read_once(fd, out.data() + filled, out.size() - filled,
                                    offset < 0 ? -1 : offset + static_cast<std::int64_t>(filled));
      if (got < 0) {
        r.error = static_cast<int>(-got);
        break;
      }
      if (got == 0) break;
      filled += static_cast<std::size_t>(got);
    }
  } catch (const std::bad_alloc&) {
    r.error = ENOMEM;
  }
  out.resize(filled);
  r.count = filled;
  r.failed_step = "read";
}

// read_into's job on a thread: up to into.size() bytes at `offset` straight into the
// caller's memory, retrying short reads, until it is full, the end of the file, or r.stop.
void read_into_loop(int fd, std::int64_t offset, std::span<char> into, JobResult& r) {
  int expected = kIntoNotStarted;
  if (!r.into_state.compare_exchange_strong(expected, kIntoRunning)) return;  // given up on
  std::size_t filled = 0;
  while (filled < into.size() && !r.stop.load(std::memory_order_acquire)) {
    const ssize_t got =
        read_once(fd, into.data() + filled, into.size() - filled, offset + static_cast<std::int64_t>(filled));
    if (got < 0) {
      r.error = static_cast<int>(-got);
      break;
    }
    if (got == 0) break;
    filled += static_cast<std::size_t>(got);
  }
  r.count = filled;
  r.failed_step = "read";
  r.into_state.store(kIntoOver, std::memory_order_release);
  r.into_state.notify_all();
}

using aio::detail::SigpipeBlocked;

// Writes all of `data` at `offset` (pwrite), or with write(2) when offset is -1 (append mode,
// pipes), retrying short writes.
void write_loop(int fd, std::int64_t offset, std::string_view data, JobResult& r) {
  std::size_t done = 0;
  while (done < data.size()) {
    const char* from = data.data() + done;
    const std::size_t left = data.size() - done;
    const ssize_t n =
        offset >= 0 ? ::pwrite(fd, from, left, offset + static_cast<std::int64_t>(done)) : ::write(fd, from, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      r.error = errno;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  r.count = done;
  r.failed_step = "write";
}

void write_loop_guarded(int fd, std::int64_t offset, std::string_view data, JobResult& r) {
  if (offset >= 0) {  // a regular file: no SIGPIPE possible
    write_loop(fd, offset, data, r);
    return;
  }
  SigpipeBlocked guard;
  write_loop(fd, offset, data, r);
  if (r.error == EPIPE) guard.note_epipe();
}

// open(2) for aio::fs::open: the descriptor, whether it is seekable, the initial position
// (the end in append modes).
void open_job(const std::string& path, const OpenMode& mode, JobResult& r) {
  r.failed_step = "open";
  const int fd = open_retrying(path.c_str(), mode.flags);
  if (fd < 0) {
    r.error = errno;
    return;
  }
  r.fd.reset(fd);
  if (is_directory(fd)) {  // open(2) lets O_RDONLY open a directory; Python does not
    r.fd.reset();
    r.error = EISDIR;
    return;
  }
  const off_t at = ::lseek(fd, 0, mode.append ? SEEK_END : SEEK_CUR);
  r.flag = at >= 0;  // pipes, sockets and ttys answer ESPIPE
  r.offset = at >= 0 ? at : 0;
}

void read_file_job(const std::string& path, JobResult& r) {
  r.failed_step = "open";
  OwnedFd fd(open_retrying(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    r.error = errno;
    return;
  }
  if (is_directory(fd.get())) {
    r.error = EISDIR;
    return;
  }
  const bool seekable = ::lseek(fd.get(), 0, SEEK_CUR) >= 0;
  read_loop(fd.get(), seekable ? 0 : -1, std::numeric_limits<std::size_t>::max(), r);
}

void write_file_job(const std::string& path, int flags, std::string_view data, JobResult& r) {
  r.failed_step = "open";
  OwnedFd fd(open_retrying(path.c_str(), flags | O_CLOEXEC));
  if (fd.get() < 0) {
    r.error = errno;
    return;
  }
  write_loop_guarded(fd.get(), -1, data, r);
  if (r.error) return;
  // close(2) reports the errors of delayed writes (NFS, quota): they are the write's.
  if (::close(fd.release()) != 0 && errno != EINTR) {
    r.error = errno;
    r.failed_step = "close";
  }
}

void mkdir_job(std::filesystem::path path, MkdirOptions options, JobResult& r) {
  if (path.filename().empty() && path.has_parent_path() && path.parent_path() != path)
    path = path.parent_path();  // "a/b/" is "a/b"
  if (::mkdir(path.c_str(), 0777) == 0) return;
  int err = errno;
  if (err == ENOENT && options.parents && path.has_parent_path() && path.parent_path() != path) {
    mkdir_job(path.parent_path(), {.parents = true, .exist_ok = true}, r);
    if (r.error) return;
    err = ::mkdir(path.c_str(), 0777) == 0 ? 0 : errno;
  }
  struct stat st {};
  if (err == 0 || (err == EEXIST && options.exist_ok && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))) return;
  r.error = err;
  r.failed_path = path;
}

}  // namespace

// --- the loop side -----------------------------------------------------------------------

/// An open file's state on the loop's side (loop thread only).
class FileCore {
 public:
  FileCore(std::filesystem::path path_, const OpenMode& mode_, int fd_, bool seekable_, std::uint64_t position_)
      : path(std::move(path_)), mode(mode_), fd(fd_), seekable(seekable_), position(position_) {}
  FileCore(const FileCore&) = delete;
  FileCore& operator=(const FileCore&) = delete;
  ~FileCore() { close_fd_now(); }

  static File make_file(std::shared_ptr<FileCore> core) noexcept { return File(std::move(core)); }

  /// No operation will start any more; the descriptor closes once the last one has finished.
  void mark_closed() noexcept {
    closed = true;
    if (active_ops == 0) close_fd_now();
  }
  /// An operation (counted in active_ops, holding the turn or not) has finished.
  void op_finished(bool had_turn) noexcept {
    if (had_turn) turn.release();
    if (--active_ops == 0 && closed) close_fd_now();
  }
  void close_fd_now() noexcept {
    forget_ring();
    if (fd >= 0) ::close(std::exchange(fd, -1));
  }

  /// The registration through which this file's reads, writes and fsync go to the running
  /// loop's ring, or null where they go to the thread pool: the backend cannot run files
  /// (epoll), the file is a pipe or socket (they may wait forever: the pool's cancellation
  /// rules fit them), or another loop's ring has it already.
  aio::detail::IoRegistration* ring_registration() {
    if (!seekable || fd < 0) return nullptr;
    aio::detail::IoBackend& backend = aio::detail::LoopAccess::backend(get_running_loop());
    if (ring_reg_) return ring_ == &backend ? ring_reg_ : nullptr;
    if (!backend.runs_files()) return nullptr;
    try {
      ring_reg_ = backend.attach(fd);
    } catch (...) {
      return nullptr;  // (the pool still can)
    }
    ring_ = &backend;
    return ring_reg_;
  }
  /// Before the descriptor is closed or handed away (no operation is in flight then).
  void forget_ring() noexcept {
    if (ring_reg_) ring_->detach(std::exchange(ring_reg_, nullptr));
  }

  [[noreturn]] void throw_error(int err, std::string_view what) const { throw_os_error(err, what, path); }

  const std::filesystem::path path;
  const OpenMode mode;
  int fd;
  const bool seekable;
  std::uint64_t position;
  // Unseekable files: bytes that a cancelled or failed read() got, returned first next time.
  std::string unread;
  bool closed = false;
  // Operations started and not finished: waiting for the turn, or their job still running.
  int active_ops = 0;
  // One operation at a time, FIFO (aio::Lock is FIFO-fair and cancel-safe).
  Lock turn;

 private:
  aio::detail::IoBackend* ring_ = nullptr;
  aio::detail::IoRegistration* ring_reg_ = nullptr;
};

namespace {

const std::filesystem::path kNoPath;

// A path is handed to the system as a C string: a NUL byte would silently cut it short.
const std::filesystem::path& without_nul(const std::filesystem::path& path, const char* function) {
  if (path.native().find('\0') != std::string::npos) {
    std::string msg = "aio::fs::";
    msg.append(function).append(": the path contains a NUL byte");
    throw std::invalid_argument(msg);
  }
  return path;
}

FileCore& require_open(const std::shared_ptr<FileCore>& core, const char* op) {
  if (!core) {
    std::string msg = "aio::fs::File::";
    msg.append(op).append(": the File is not open (default-constructed or moved from)");
    throw UsageError(msg);
  }
  if (core->closed) {
    std::string msg = "aio::fs::File::";
    msg.append(op).append(": the file ").append(quoted(core->path)).append(" is closed");
    throw UsageError(msg);
  }
  return *core;
}

[[noreturn]] void throw_wrong_mode(const FileCore& f, const char* op, const char* ability, const char* advice) {
  std::string msg = "aio::fs::File::";
  msg.append(op).append(": the file ").append(quoted(f.path)).append(" was opened with mode '").append(f.mode.name);
  msg.append("', which does not allow ").append(ability).append(" (").append(advice).append(")");
  throw UsageError(msg);
}

void require_readable(const FileCore& f, const char* op) {
  if (!f.mode.readable) throw_wrong_mode(f, op, "reading", "open it with 'r', 'r+', 'w+' or 'a+'");
}

void require_writable(const FileCore& f, const char* op) {
  if (!f.mode.writable) throw_wrong_mode(f, op, "writing", "open it with 'w', 'a', 'x' or a '+' mode");
}

/// One operation's place on a File: counted in active_ops from construction, and the File's
/// turn once taken. Finishing it (or destroying it) gives both back.
class OpTicket {
 public:
  OpTicket() noexcept = default;
  explicit OpTicket(std::shared_ptr<FileCore> core) noexcept : core_(std::move(core)) { ++core_->active_ops; }
  OpTicket(OpTicket&& o) noexcept : core_(std::move(o.core_)), has_turn_(std::exchange(o.has_turn_, false)) {}
  OpTicket& operator=(OpTicket&&) = delete;
  ~OpTicket() { finish(); }

  void finish() noexcept {
    if (std::shared_ptr<FileCore> core = std::move(core_)) core->op_finished(std::exchange(has_turn_, false));
  }

  /// `co_await ticket.turn()`: waits until the operations started before this one are done.
  class TurnAwaiter : public Lock::Acquire {
   public:
    explicit TurnAwaiter(OpTicket& t) noexcept : Lock::Acquire(t.core_->turn), ticket_(t) {}
    void await_resume() {
      Lock::Acquire::await_resume();
      ticket_.has_turn_ = true;
    }

   private:
    OpTicket& ticket_;
  };
  TurnAwaiter turn() noexcept { return TurnAwaiter(*this); }

 private:
  std::shared_ptr<FileCore> core_;
  bool has_turn_ = false;
};

template <class Settle>
struct LateSettlement {
  OpTicket ticket;
  std::shared_ptr<JobResult> result;
  Settle settle;
};

struct NothingToSettle {
  void operator()(JobResult&) const noexcept {}
};

/// Runs job(*result) on the running loop's default thread pool and returns once it has run.
/// If the awaiting task is cancelled before that, the await throws CancelledError at once,
/// but the job goes on: `settle_late(*result)` then runs on the loop thread once it has
/// finished, and `ticket` (if any: the File's turn) is held until then, so that the next
/// operation sees what the job really did.
template <class Settle>
Coro<void> await_job(std::shared_ptr<JobResult> result, Future<void> done, OpTicket* ticket, Settle settle_late);

template <class Job, class Settle>
Coro<void> run_job(std::shared_ptr<JobResult> result, Job job, OpTicket* ticket, Settle settle_late) {
  auto call = [result, job = std::move(job)]() mutable { job(*result); };
  Future<void> done = get_running_loop().run_in_executor(nullptr, std::move(call));
  co_await await_job(std::move(result), std::move(done), ticket, std::move(settle_late));
}

/// Waits for a job that `done` completes (on the pool or the ring), with run_job's rules.
template <class Settle>
Coro<void> await_job(std::shared_ptr<JobResult> result, Future<void> done, OpTicket* ticket, Settle settle_late) {
  try {
    // Unlike awaiting the future, DoneAwaiter leaves it alone when the task is cancelled,
    // so it still completes (and runs its done callbacks) when the job is done.
    co_await aio::detail::DoneAwaiter(done.core());
  } catch (const CancelledError&) {
    if (done.done()) {
      settle_late(*result);
    } else {
      OpTicket held = ticket ? std::move(*ticket) : OpTicket();
      auto late = std::make_shared<LateSettlement<Settle>>(
          LateSettlement<Settle>{std::move(held), result, std::move(settle_late)});
      done.add_done_callback([late](Future<void>&) {
        late->settle(*late->result);
        late->ticket.finish();
      });
    }
    throw;
  }
  done.result();  // CancelledError if the executor was shut down before it ran the job
}

// --- the ring side ------------------------------------------------------------------------
//
// Where the loop runs on io_uring, reads, writes and fsync of regular files go through the
// ring instead of the pool: no thread hop, and the kernel's own workers wait for the disk.
// A RingJob takes the steps read_loop, write_loop or fsync take on a thread — one
// submission per system call, the same JobResult — and completes `finished_` when it is
// done. It owns itself, and the bytes it writes, until its last completion: a cancelled
// task lets go of the await, never of memory the kernel may still write into.

class RingJob {
 public:
  enum class What { read, read_into, write, sync };

  /// Starts the job; the future completes when it has finished (also if nobody awaits it
  /// any more). read: up to `limit` bytes at `offset`; write: `data` at `offset` (-1: at
  /// the fd's position, O_APPEND's end; then JobResult::offset is where it left it).
  static Future<void> start(FileCore& f, aio::detail::IoRegistration& reg, What what, std::int64_t offset,
                            std::size_t limit, std::string data, std::shared_ptr<JobResult> result) {
    auto* job = new RingJob(f, reg, what, offset, limit, std::move(data), std::move(result));
    Future<void> finished = job->finished_;
    job->run();
    return finished;
  }

  /// Starts a read of up to into.size() bytes at `offset` straight into `into`. `job` is
  /// the job while the future is not done (and dangles after): stop() or abandon() it.
  static Future<void> start_into(FileCore& f, aio::detail::IoRegistration& reg, std::int64_t offset,
                                 std::span<char> into, std::shared_ptr<JobResult> result, RingJob*& job) {
    job = new RingJob(f, reg, What::read_into, offset, into.size(), {}, std::move(result));
    job->into_ = into;
    Future<void> finished = job->finished_;
    job->run();
    return finished;
  }

  /// Stops after the step in flight: asks the ring to cancel it; the job then finishes
  /// with the step's completion (perhaps inside this call: touch nothing of it after).
  void stop() noexcept {
    stopped_ = true;
    if (step_.in_flight) backend_.cancel(step_);
  }

  /// The caller's frame is going away: when this returns, neither the ring nor the job
  /// touches the caller's memory any more (the job is gone).
  void abandon() noexcept {
    stopped_ = true;
    if (step_.in_flight) backend_.abandon(step_);
    finish();
  }

 private:
  RingJob(FileCore& f, aio::detail::IoRegistration& reg, What what, std::int64_t offset, std::size_t limit,
          std::string data, std::shared_ptr<JobResult> result)
      : backend_(aio::detail::LoopAccess::backend(get_running_loop())),
        reg_(reg),
        what_(what),
        base_(offset),
        limit_(limit),
        data_(std::move(data)),
        result_(std::move(result)),
        finished_(get_running_loop().create_future<void>()) {
    step_.job = this;
    step_.fd = f.fd;
    step_.on_complete = &RingJob::on_step_done;
    if (what == What::read) {
      try {
        result_->data.resize(first_read_size(f.fd, offset, limit));
      } catch (const std::bad_alloc&) {
        result_->error = ENOMEM;
      }
    }
  }

  /// Submits steps until one is in flight (on_step_done goes on from there) or the job is over.
  void run() noexcept {
    while (!stopped_ && result_->error == 0 && next_step()) {
      bool at_once;
      try {
        at_once = backend_.submit(&reg_, step_);
      } catch (...) {
        result_->error = ENOMEM;
        break;
      }
      if (!at_once) return;
      if (!take(step_.result)) break;
    }
    finish();
  }

  static void on_step_done(aio::detail::IoOp* op) noexcept {
    RingJob* job = static_cast<Step*>(op)->job;
    if (job->take(op->result))
      job->run();
    else
      job->finish();
  }

  /// Sets up the next system call; false when there is nothing left to do.
  bool next_step() noexcept {
    constexpr std::size_t kMostPerStep = std::size_t(1) << 30;  // (the ring's lengths are 32-bit)
    std::string& bytes = result_->data;
    switch (what_) {
      case What::read:
        if (done_ == bytes.size()) {
          if (done_ >= limit_) return false;
          try {
            bytes.resize(std::min(limit_, std::max(done_ * 2, kReadChunk)));
          } catch (const std::bad_alloc&) {
            result_->error = ENOMEM;
            return false;
          }
        }
        step_.kind = aio::detail::IoKind::read;
        step_.buffer = bytes.data() + done_;
        step_.length = std::min(bytes.size() - done_, kMostPerStep);
        step_.offset = base_ + static_cast<std::int64_t>(done_);
        return true;
      case What::read_into:
        if (done_ == into_.size()) return false;
        step_.kind = aio::detail::IoKind::read;
        step_.buffer = into_.data() + done_;
        step_.length = std::min(into_.size() - done_, kMostPerStep);
        step_.offset = base_ + static_cast<std::int64_t>(done_);
        return true;
      case What::write:
        if (done_ == data_.size()) return false;
        step_.kind = aio::detail::IoKind::write;
        step_.buffer = data_.data() + done_;
        step_.length = std::min(data_.size() - done_, kMostPerStep);
        step_.offset = base_ < 0 ? -1 : base_ + static_cast<std::int64_t>(done_);
        return true;
      case What::sync:
        if (synced_) return false;
        step_.kind = aio::detail::IoKind::fsync;
        return true;
    }
    return false;
  }

  /// Accounts for one step's result; false when the job is over (end of file, an error).
  bool take(std::int64_t r) noexcept {
    if (r == -EINTR || r == -EAGAIN) return true;  // the same step again
    if (r < 0) {
      result_->error = static_cast<int>(-r);
      return false;
    }
    if (what_ == What::sync) {
      synced_ = true;
      return true;
    }
    if (r == 0) {  // a read at the end of the file; a write that wrote nothing
      if (what_ == What::write) result_->error = EIO;
      return false;
    }
    done_ += static_cast<std::size_t>(r);
    return true;
  }

  void finish() noexcept {
    JobResult& r = *result_;
    if (what_ == What::read || what_ == What::read_into) {
      if (what_ == What::read) r.data.resize(done_);
      r.count = done_;
      r.failed_step = "read";
    } else if (what_ == What::write) {
      r.count = done_;
      r.failed_step = "write";
      if (base_ < 0) r.offset = ::lseek(step_.fd, 0, SEEK_CUR);  // append mode: where O_APPEND left it
    }
    Future<void> finished = std::move(finished_);
    delete this;
    finished.set_result();
  }

  struct Step : aio::detail::IoOp {  // the system call in flight
    RingJob* job = nullptr;
  };

  Step step_;
  aio::detail::IoBackend& backend_;
  aio::detail::IoRegistration& reg_;
  const What what_;
  const std::int64_t base_;
  const std::size_t limit_;
  std::size_t done_ = 0;  // bytes read or written so far
  bool synced_ = false;
  bool stopped_ = false;
  std::span<char> into_;  // read_into: the caller's memory
  std::string data_;
  std::shared_ptr<JobResult> result_;
  Future<void> finished_;
};

// --- File operations (each: check, wait for the turn, one job, account for it) ------------

// A read that did not complete consumes nothing: a regular file's position stays (the bytes
// will be read again); the bytes taken from a pipe are kept for the next read().
void keep_unread_bytes(FileCore& f, const JobResult& r) {
  if (!f.seekable) f.unread.append(r.data);
}

void advance_after_write(FileCore& f, const JobResult& r) noexcept {
  if (r.offset >= 0)
    f.position = static_cast<std::uint64_t>(r.offset);  // append mode: where O_APPEND left it
  else
    f.position += r.count;
}

std::int64_t checked_offset(const FileCore& f, std::uint64_t offset, const char* op) {
  if (offset > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) f.throw_error(EINVAL, op);
  return static_cast<std::int64_t>(offset);
}

Coro<std::string> read_op(std::shared_ptr<FileCore> core, std::int64_t n) {
  FileCore& f = require_open(core, "read");
  require_readable(f, "read");
  if (n == 0) co_return std::string();
  OpTicket ticket(core);
  co_await ticket.turn();
  const std::size_t wanted = n < 0 ? std::numeric_limits<std::size_t>::max() : static_cast<std::size_t>(n);
  if (f.unread.size() >= wanted) {  // an unseekable file: a cancelled read got enough already
    std::string out = f.unread.substr(0, wanted);
    f.unread.erase(0, wanted);
    co_return out;
  }
  const std::size_t limit = n < 0 ? wanted : wanted - f.unread.size();
  const int fd = f.fd;
  const std::int64_t offset = f.seekable ? static_cast<std::int64_t>(f.position) : -1;
  auto result = std::make_shared<JobResult>();
  auto keep_unread = [core](JobResult& r) { keep_unread_bytes(*core, r); };
  if (aio::detail::IoRegistration* ring = f.ring_registration()) {
    Future<void> done = RingJob::start(f, *ring, RingJob::What::read, offset, limit, {}, result);
    co_await await_job(result, std::move(done), &ticket, std::move(keep_unread));
  } else {
    auto job = [fd, offset, limit](JobResult& r) { read_loop(fd, offset, limit, r); };
    co_await run_job(result, std::move(job), &ticket, std::move(keep_unread));
  }
  JobResult& r = *result;
  if (r.error) {
    keep_unread_bytes(f, r);
    f.throw_error(r.error, "read");
  }
  f.position += r.count;
  if (f.unread.empty()) co_return std::move(r.data);
  std::string out = std::exchange(f.unread, std::string());
  out.append(r.data);
  co_return out;
}

Coro<std::string> read_at_op(std::shared_ptr<FileCore> core, std::size_t n, std::uint64_t offset) {
  FileCore& f = require_open(core, "read_at");
  require_readable(f, "read_at");
  const std::int64_t at = checked_offset(f, offset, "read");
  if (n == 0) co_return std::string();
  OpTicket ticket(core);
  co_await ticket.turn();
  const int fd = f.fd;
  auto result = std::make_shared<JobResult>();
  if (aio::detail::IoRegistration* ring = f.ring_registration()) {
    Future<void> done = RingJob::start(f, *ring, RingJob::What::read, at, n, {}, result);
    co_await await_job(result, std::move(done), &ticket, NothingToSettle{});
  } else {
    auto job = [fd, at, n](JobResult& r) { read_loop(fd, at, n, r); };
    co_await run_job(result, std::move(job), &ticket, NothingToSettle{});
  }
  if (result->error) f.throw_error(result->error, "read");
  co_return std::move(result->data);
}

// While a read_into's job may write into the caller's buffer, its frame holds this. stop():
// the task was cancelled, the job is to stop after its system call. The destructor runs
// before the job is over only when the frame is destroyed without being resumed (its loop
// went away): it returns once nothing can write into the buffer any more.
class IntoJob {
 public:
  IntoJob(std::shared_ptr<JobResult> result, Future<void> done, RingJob* ring_job) noexcept
      : result_(std::move(result)), done_(std::move(done)), ring_job_(ring_job) {}
  IntoJob(const IntoJob&) = delete;
  IntoJob& operator=(const IntoJob&) = delete;
  ~IntoJob() {
    if (done_.done()) return;
    if (ring_job_) {
      ring_job_->abandon();
      return;
    }
    result_->stop.store(true, std::memory_order_release);
    int expected = kIntoNotStarted;
    if (result_->into_state.compare_exchange_strong(expected, kIntoOver)) return;  // it will not start
    while (result_->into_state.load(std::memory_order_acquire) != kIntoOver) result_->into_state.wait(kIntoRunning);
  }

  const Future<void>& done() const noexcept { return done_; }

  void stop() noexcept {
    if (done_.done()) return;
    if (ring_job_)
      ring_job_->stop();
    else
      result_->stop.store(true, std::memory_order_release);
  }

 private:
  std::shared_ptr<JobResult> result_;
  Future<void> done_;
  RingJob* ring_job_;  // valid while done_ is not done
};

// Starts read_into's job: through the ring where the file has one, else on the pool.
IntoJob start_read_into(FileCore& f, std::int64_t offset, std::span<char> into, std::shared_ptr<JobResult> result) {
  if (aio::detail::IoRegistration* ring = f.ring_registration()) {
    RingJob* job = nullptr;
    Future<void> done = RingJob::start_into(f, *ring, offset, into, result, job);
    return IntoJob(std::move(result), std::move(done), job);
  }
  const int fd = f.fd;
  auto call = [fd, offset, into, result] { read_into_loop(fd, offset, into, *result); };
  Future<void> done = get_running_loop().run_in_executor(nullptr, std::move(call));
  return IntoJob(std::move(result), std::move(done), nullptr);
}

// read_into and read_at_into (at_offset set). Unlike the other operations, a cancelled
// one waits for its job: the job writes into the caller's memory.
Coro<std::size_t> read_into_op(std::shared_ptr<FileCore> core, std::span<char> buffer,
                               std::optional<std::uint64_t> at_offset) {
  const char* op = at_offset ? "read_at_into" : "read_into";
  FileCore& f = require_open(core, op);
  require_readable(f, op);
  const std::int64_t at = at_offset ? checked_offset(f, *at_offset, "read") : -1;
  if (buffer.empty()) co_return 0;
  if (!f.seekable) {
    if (at_offset) f.throw_error(ESPIPE, "read");
    // A pipe may wait forever: read() keeps its cancellation (at once, bytes kept).
    std::string got = co_await read_op(core, static_cast<std::int64_t>(buffer.size()));
    std::memcpy(buffer.data(), got.data(), got.size());
    co_return got.size();
  }
  OpTicket ticket(core);
  co_await ticket.turn();
  const std::int64_t offset = at_offset ? at : static_cast<std::int64_t>(f.position);
  auto result = std::make_shared<JobResult>();
  IntoJob job = start_read_into(f, offset, buffer, result);
  std::exception_ptr cancelled;
  while (!job.done().done()) {
    try {
      co_await aio::detail::DoneAwaiter(job.done().core());
    } catch (const CancelledError&) {
      if (!cancelled) {
        cancelled = std::current_exception();
        job.stop();
      }
    }
  }
  if (cancelled) std::rethrow_exception(cancelled);  // consumes nothing: the position stays
  job.done().result();  // CancelledError if the executor was shut down before it ran the job
  if (result->error) f.throw_error(result->error, "read");
  if (!at_offset) f.position += result->count;
  co_return result->count;
}

Coro<std::size_t> write_op(std::shared_ptr<FileCore> core, std::string data) {
  FileCore& f = require_open(core, "write");
  require_writable(f, "write");
  if (data.empty()) co_return 0;
  OpTicket ticket(core);
  co_await ticket.turn();
  const std::size_t size = data.size();
  const int fd = f.fd;
  const bool pipe = !f.seekable;
  // Append mode: O_APPEND puts every write(2) at the end, and the position follows it there.
  const bool append = f.seekable && f.mode.append;
  const std::int64_t offset = f.seekable && !append ? static_cast<std::int64_t>(f.position) : -1;
  auto result = std::make_shared<JobResult>();
  // Cancelled: what the thread (or the ring) wrote is written; the position counts it.
  auto advance = [core](JobResult& r) { advance_after_write(*core, r); };
  if (aio::detail::IoRegistration* ring = f.ring_registration()) {
    Future<void> done = RingJob::start(f, *ring, RingJob::What::write, offset, 0, std::move(data), result);
    co_await await_job(result, std::move(done), &ticket, std::move(advance));
  } else {
    auto job = [fd, offset, pipe, append, data = std::move(data)](JobResult& r) {
      if (pipe)
        write_loop_guarded(fd, offset, data, r);
      else
        write_loop(fd, offset, data, r);
      if (append) r.offset = ::lseek(fd, 0, SEEK_CUR);
    };
    co_await run_job(result, std::move(job), &ticket, std::move(advance));
  }
  advance_after_write(f, *result);
  if (result->error) f.throw_error(result->error, "write");
  co_return size;
}

Coro<std::size_t> write_at_op(std::shared_ptr<FileCore> core, std::string data, std::uint64_t offset) {
  FileCore& f = require_open(core, "write_at");
  require_writable(f, "write_at");
  if (f.mode.append) {
    std::string msg = "aio::fs::File::write_at: the file ";
    msg.append(quoted(f.path)).append(" was opened in append mode ('").append(f.mode.name);
    msg.append("'), where every write goes to the end; open it with 'r+' to write at an offset");
    throw UsageError(msg);
  }
  const std::int64_t at = checked_offset(f, offset, "write");
  if (data.empty()) co_return 0;
  OpTicket ticket(core);
  co_await ticket.turn();
  const std::size_t size = data.size();
  const int fd = f.fd;
  auto result = std::make_shared<JobResult>();
  if (aio::detail::IoRegistration* ring = f.ring_registration()) {
    Future<void> done = RingJob::start(f, *ring, RingJob::What::write, at, 0, std::move(data), result);
    co_await await_job(result, std::move(done), &ticket, NothingToSettle{});
  } else {
    auto job = [fd, at, data = std::move(data)](JobResult& r) { write_loop(fd, at, data, r); };
    co_await run_job(result, std::move(job), &ticket, NothingToSettle{});
  }
  if (result->error) f.throw_error(result->error, "write");
  co_return size;
}

Coro<void> sync_op(std::shared_ptr<FileCore> core) {
  FileCore& f = require_open(core, "sync");
  OpTicket ticket(core);
  co_await ticket.turn();
  const int fd = f.fd;
  auto result = std::make_shared<JobResult>();
  if (aio::detail::IoRegistration* ring = f.ring_registration()) {
    Future<void> done = RingJob::start(f, *ring, RingJob::What::sync, -1, 0, {}, result);
    co_await await_job(result, std::move(done), &ticket, NothingToSettle{});
  } else {
    auto job = [fd](JobResult& r) {
      if (::fsync(fd) != 0) r.error = errno;
    };
    co_await run_job(result, std::move(job), &ticket, NothingToSettle{});
  }
  if (result->error) f.throw_error(result->error, "fsync");
}

// fstat's size, for a caller holding the turn.
Coro<std::uint64_t> stat_size(std::shared_ptr<FileCore> core, OpTicket& ticket) {
  const int fd = core->fd;
  auto result = std::make_shared<JobResult>();
  auto job = [fd](JobResult& r) {
    struct stat st {};
    if (::fstat(fd, &st) != 0)
      r.error = errno;
    else
      r.size = static_cast<std::uint64_t>(st.st_size);
  };
  co_await run_job(result, std::move(job), &ticket, NothingToSettle{});
  if (result->error) core->throw_error(result->error, "stat");
  co_return result->size;
}

Coro<std::uint64_t> size_op(std::shared_ptr<FileCore> core) {
  require_open(core, "size");
  OpTicket ticket(core);
  co_await ticket.turn();
  std::uint64_t size = co_await stat_size(core, ticket);
  co_return size;
}

Coro<std::uint64_t> truncate_op(std::shared_ptr<FileCore> core, std::optional<std::uint64_t> size) {
  FileCore& f = require_open(core, "truncate");
  require_writable(f, "truncate");
  OpTicket ticket(core);
  co_await ticket.turn();
  const std::uint64_t new_size = size.value_or(f.position);  // Python: the position when it runs
  const std::int64_t length = checked_offset(f, new_size, "truncate");
  const int fd = f.fd;
  auto result = std::make_shared<JobResult>();
  auto job = [fd, length](JobResult& r) {
    while (::ftruncate(fd, length) != 0) {
      if (errno != EINTR) {
        r.error = errno;
        break;
      }
    }
  };
  co_await run_job(result, std::move(job), &ticket, NothingToSettle{});
  if (result->error) f.throw_error(result->error, "truncate");
  co_return new_size;
}

Coro<std::uint64_t> seek_op(std::shared_ptr<FileCore> core, std::int64_t offset, int whence) {
  FileCore& f = require_open(core, "seek");
  if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END) {
    std::string msg = "aio::fs::File::seek: whence must be SEEK_SET, SEEK_CUR or SEEK_END, not ";
    msg.append(std::to_string(whence));
    throw std::invalid_argument(msg);
  }
  if (!f.seekable) f.throw_error(ESPIPE, "seek");
  OpTicket ticket(core);
  co_await ticket.turn();
  std::int64_t base = 0;
  if (whence == SEEK_CUR) {
    base = static_cast<std::int64_t>(f.position);
  } else if (whence == SEEK_END) {
    const std::uint64_t size = co_await stat_size(core, ticket);
    base = static_cast<std::int64_t>(size);
  }
  std::int64_t target = 0;
  if (__builtin_add_overflow(base, offset, &target)) f.throw_error(EOVERFLOW, "seek");
  if (target < 0) f.throw_error(EINVAL, "seek");
  f.position = static_cast<std::uint64_t>(target);
  co_return f.position;
}

Coro<void> close_op(std::shared_ptr<FileCore> core) {
  if (!core || core->closed) co_return;
  core->closed = true;  // later operations are refused; earlier ones still run, in order
  OpTicket ticket(core);
  // Cancelled here: the descriptor closes when the last earlier operation finishes.
  co_await ticket.turn();
  auto result = std::make_shared<JobResult>();
  core->forget_ring();
  result->fd.reset(std::exchange(core->fd, -1));  // closed by JobResult if the job never runs
  ticket.finish();
  // close(2) may block (NFS writes back), so it runs on the pool too; cancelling the
  // awaiting task does not stop it.
  auto job = [](JobResult& r) {
    const int fd = r.fd.release();
    if (fd >= 0 && ::close(fd) != 0 && errno != EINTR) r.error = errno;
  };
  co_await run_job(result, std::move(job), nullptr, NothingToSettle{});
  if (result->error) core->throw_error(result->error, "close");
}

// --- whole files and paths ---------------------------------------------------------------

Coro<File> open_op(std::filesystem::path path, OpenMode mode) {
  auto result = std::make_shared<JobResult>();
  auto job = [native = path.native(), mode](JobResult& r) { open_job(native, mode, r); };
  // Cancelled: the descriptor the thread opened is closed with the last JobResult reference.
  co_await run_job(result, std::move(job), nullptr, NothingToSettle{});
  JobResult& r = *result;
  if (r.error) {
    std::string suffix = " for ";
    suffix.append(mode.purpose);
    throw_os_error(r.error, "open", path, suffix);
  }
  auto core =
      std::make_shared<FileCore>(std::move(path), mode, r.fd.release(), r.flag, static_cast<std::uint64_t>(r.offset));
  co_return FileCore::make_file(std::move(core));
}

Coro<std::string> read_file_op(std::filesystem::path path) {
  auto result = std::make_shared<JobResult>();
  auto job = [native = path.native()](JobResult& r) { read_file_job(native, r); };
  co_await run_job(result, std::move(job), nullptr, NothingToSettle{});
  JobResult& r = *result;
  if (r.error)
    throw_os_error(r.error, r.failed_step, path, std::string_view(r.failed_step) == "open" ? " for reading" : "");
  co_return std::move(r.data);
}

Coro<void> write_file_op(std::filesystem::path path, std::string data, int flags, const char* purpose) {
  auto result = std::make_shared<JobResult>();
  auto job = [native = path.native(), flags, data = std::move(data)](JobResult& r) {
    write_file_job(native, flags, data, r);
  };
  co_await run_job(result, std::move(job), nullptr, NothingToSettle{});
  JobResult& r = *result;
  if (r.error) {
    std::string suffix;
    if (std::string_view(r.failed_step) == "open") suffix.append(" for ").append(purpose);
    throw_os_error(r.error, r.failed_step, path, suffix);
  }
}

Coro<bool> exists_op(std::filesystem::path path) {
  auto result = std::make_shared<JobResult>();
  auto job = [native = path.native()](JobResult& r) {
    struct stat st {};
    r.flag = ::stat(native.c_str(), &st) == 0;
  };
  co_await run_job(result, std::move(job), nullptr, NothingToSettle{});
  co_return result->flag;
}

Coro<std::uint64_t> file_size_op(std::filesystem::path path) {
  auto result = std::make_shared<JobResult>();
  auto job = [native = path.native()](JobResult& r) {
    struct stat st {};
    if (::stat(native.c_str(), &st) != 0)
      r.error = errno;
    else
      r.size = static_cast<std::uint64_t>(st.st_size);
  };
  co_await run_job(result, std::move(job), nullptr, NothingToSettle{});
  if (result->error) throw_os_error(result->error, "stat", path);
  co_return result->size;
}

Coro<void> remove_op(std::filesystem::path path) {
  auto result = std::make_shared<JobResult>();
  auto job = [native = path.native()](JobResult& r) {
    if (::unlink(native.c_str()) != 0) r.error = errno;
  };
  co_await run_job(result, std::move(job), nullptr, NothingToSettle{});
  if (result->error) throw_os_error(result->error, "remove", path);
}

Coro<void> rename_op(std::filesystem::path from, std::filesystem::path to) {
  auto result = std::make_shared<JobResult>();
  auto job = [from_native = from.native(), to_native = to.native()](JobResult& r) {
    if (::rename(from_native.c_str(), to_native.c_str()) != 0) r.error = errno;
  };
  co_await run_job(result, std::move(job), nullptr, NothingToSettle{});
  if (result->error) {
    std::string suffix = " to ";
    suffix.append(quoted(to));
    throw_os_error(result->error, "rename", from, suffix);
  }
}

Coro<void> mkdir_op(std::filesystem::path path, MkdirOptions options) {
  auto result = std::make_shared<JobResult>();
  auto job = [path, options](JobResult& r) { mkdir_job(path, options, r); };
  co_await run_job(result, std::move(job), nullptr, NothingToSettle{});
  if (result->error) throw_os_error(result->error, "mkdir", result->failed_path);
}

}  // namespace
}  // namespace detail

// --- File ---------------------------------------------------------------------------------

File::File() noexcept = default;
File::File(std::shared_ptr<detail::FileCore> core) noexcept : core_(std::move(core)) {}
File::File(File&& other) noexcept = default;

File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    release();
    core_ = std::move(other.core_);
  }
  return *this;
}

File::~File() { release(); }

void File::release() noexcept {
  if (std::shared_ptr<detail::FileCore> core = std::move(core_)) core->mark_closed();
}

Coro<std::string> File::read(std::int64_t n) { return detail::read_op(core_, n); }
Coro<std::string> File::read_at(std::size_t n, std::uint64_t offset) { return detail::read_at_op(core_, n, offset); }
Coro<std::size_t> File::read_into(std::span<char> buffer) { return detail::read_into_op(core_, buffer, std::nullopt); }
Coro<std::size_t> File::read_at_into(std::span<char> buffer, std::uint64_t offset) {
  return detail::read_into_op(core_, buffer, offset);
}
Coro<std::size_t> File::write(std::string_view data) { return detail::write_op(core_, std::string(data)); }
Coro<std::size_t> File::write_at(std::string_view data, std::uint64_t offset) {
  return detail::write_at_op(core_, std::string(data), offset);
}
Coro<void> File::sync() { return detail::sync_op(core_); }
Coro<void> File::close() { return detail::close_op(core_); }
Coro<std::uint64_t> File::seek(std::int64_t offset, int whence) { return detail::seek_op(core_, offset, whence); }
Coro<std::uint64_t> File::size() { return detail::size_op(core_); }
Coro<std::uint64_t> File::truncate(std::uint64_t size) { return detail::truncate_op(core_, size); }
Coro<std::uint64_t> File::truncate() { return detail::truncate_op(core_, std::nullopt); }

std::uint64_t File::tell() const {
  const detail::FileCore& f = detail::require_open(core_, "tell");
  if (!f.seekable) f.throw_error(ESPIPE, "tell");
  return f.position;
}

bool File::is_open() const noexcept { return core_ && !core_->closed; }
const std::filesystem::path& File::path() const noexcept { return core_ ? core_->path : detail::kNoPath; }
std::string_view File::mode() const noexcept { return core_ ? std::string_view(core_->mode.name) : std::string_view(); }
int File::fileno() const { return detail::require_open(core_, "fileno").fd; }

// --- free functions: copy the arguments, then hand them to the coroutines ----------------

using detail::without_nul;

Coro<File> open(const std::filesystem::path& path, std::string_view mode) {
  return detail::open_op(without_nul(path, "open"), detail::parse_mode(mode));
}
Coro<std::string> read_file(const std::filesystem::path& path) {
  return detail::read_file_op(without_nul(path, "read_file"));
}
Coro<void> write_file(const std::filesystem::path& path, std::string_view data) {
  return detail::write_file_op(without_nul(path, "write_file"), std::string(data), O_WRONLY | O_CREAT | O_TRUNC,
                               "writing");
}
Coro<void> append_file(const std::filesystem::path& path, std::string_view data) {
  return detail::write_file_op(without_nul(path, "append_file"), std::string(data), O_WRONLY | O_CREAT | O_APPEND,
                               "appending");
}
Coro<bool> exists(const std::filesystem::path& path) { return detail::exists_op(without_nul(path, "exists")); }
Coro<std::uint64_t> file_size(const std::filesystem::path& path) {
  return detail::file_size_op(without_nul(path, "file_size"));
}
Coro<void> remove(const std::filesystem::path& path) { return detail::remove_op(without_nul(path, "remove")); }
Coro<void> rename(const std::filesystem::path& from, const std::filesystem::path& to) {
  return detail::rename_op(without_nul(from, "rename"), without_nul(to, "rename"));
}
Coro<void> mkdir(const std::filesystem::path& path, MkdirOptions options) {
  return detail::mkdir_op(without_nul(path, "mkdir"), options);
}

}  // namespace aio::fs
