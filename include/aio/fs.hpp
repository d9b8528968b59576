// aio::fs — files without blocking the loop (Python's aiofile / aiofiles).
//
// Every blocking system call (open, read, write, fsync, stat, ...) runs on the running loop's
// default thread pool (loop.run_in_executor(nullptr, ...)), so a slow disk, an NFS mount or a
// FIFO that waits for its peer never stalls the other tasks. Where the loop runs on io_uring,
// reads, writes and sync() of regular files go through the ring instead (no thread hop);
// everything below behaves the same on both paths.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "aio/coro.hpp"

namespace aio::fs {

namespace detail {
class FileCore;
}

/// An open file (Python's `open(path, mode)` in binary mode, made awaitable). Get one with
/// aio::fs::open().
///
///     aio::fs::File f = co_await aio::fs::open("log.txt", "a");
///     co_await f.write("started\n");
///     co_await f.close();
///
/// **Position.** The File keeps its own position: read() and write() run at it (pread/pwrite)
/// and move it, so they never depend on the kernel's file offset; read_at() and write_at() do
/// not move it. In append modes ("a", "a+") every write goes to the end of the file
/// (O_APPEND), even after seek(), and leaves the position there, as in Python.
///
/// **One operation at a time, first come first served.** Several tasks may use one File: its
/// operations (every coroutine below) run one after the other, in the order they were first
/// awaited (FIFO), each seeing the effects of the previous one. Two tasks writing lines to
/// one File therefore never interleave within a write.
///
/// **Cancellation.** A thread cannot be interrupted: when a task awaiting an operation is
/// cancelled, the await throws aio::CancelledError at once, but the system call goes on,
/// and the File accounts for what it really did before the next operation starts:
/// - a cancelled read() consumes nothing: the next read() returns the same bytes (regular
///   files: the position does not move; pipes and other unseekable files: the bytes the
///   system call got are kept for the next read());
/// - a cancelled write(), write_at() or sync() may have been done, entirely or in part:
///   tell() afterwards says how far write() got.
/// The same holds when an operation fails: a failed read() consumes nothing; a failed write
/// may have written a part, which tell() counts.
///
/// **Closing.** close() (or the destructor) waits for the operations awaited before it; the
/// file descriptor is closed only once no system call uses it any more (never under a
/// thread still reading it, where the number could be reused by a new file). Operations
/// awaited after close() throw aio::UsageError. Every descriptor is opened O_CLOEXEC.
///
/// A File is move-only; a moved-from or default-constructed File is not open.
class File {
 public:
  /// A File that is not open (every operation throws UsageError).
  File() noexcept;
  File(File&& other) noexcept;
  /// Closes the current file (as the destructor does), then takes `other`'s.
  File& operator=(File&& other) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  /// Closes the file without waiting: at once if no operation is under way, else as soon as
  /// the last one (already awaited, possibly abandoned by a cancelled task) has finished.
  /// Use close() to learn about errors.
  ~File();

  /// Reads up to n bytes at the position and moves the position past them. Stops early
  /// only at end of file, so it returns fewer than n bytes only there; "" at end of file.
  /// n < 0 (the default) reads to the end of the file (Python's read()). Short reads of the
  /// system call are retried (a pipe: until n bytes or the writer closes it).
  /// std::system_error (with the path) on failure; UsageError if the file is closed or was
  /// not opened for reading. Cancelled or failed: consumes nothing (see the class comment).
  ///
  ///     std::string header = co_await f.read(16);
  Coro<std::string> read(std::int64_t n = -1);

  /// Reads up to n bytes at `offset` (pread), without moving the position; fewer only at
  /// end of file. std::system_error (ESPIPE for a pipe) on failure.
  Coro<std::string> read_at(std::size_t n, std::uint64_t offset);

  /// Reads up to buffer.size() bytes at the position into `buffer` and moves the position
  /// past them; returns how many (Python's readinto). Fewer than buffer.size() only at end
  /// of file; 0 there. Errors as read().
  ///
  /// **No copy:** a regular file's bytes go from the kernel straight into `buffer` — the
  /// ring reads into it, or a pool thread pread()s into it — with no allocation per call.
  /// A pipe's bytes are read as read() reads them, then copied in.
  ///
  /// **Cancellation differs from read()**, because the system call writes into the caller's
  /// memory: for a regular file the await does not end while a system call may still write
  /// into `buffer`. A cancelled read_into stops after the system call under way (the ring
  /// is asked to cancel it; a pool thread finishes its pread()), then throws CancelledError.
  /// That takes as long as one read of the disk, never longer. It consumes nothing: the
  /// position stays, and what `buffer` holds is unspecified. A pipe's read_into is
  /// cancelled at once, as read() is, and the bytes it got are kept for the next read.
  ///
  ///     std::vector<char> block(1 << 20);
  ///     while (std::size_t n = co_await f.read_into(block)) consume(block.data(), n);
  Coro<std::size_t> read_into(std::span<char> buffer);

  /// read_into() at `offset` (pread), without moving the position; fewer bytes only at end
  /// of file. std::system_error ESPIPE for a pipe. Cancellation as read_into().
  Coro<std::size_t> read_at_into(std::span<char> buffer, std::uint64_t offset);

  /// Writes all of `data` at the position (append modes: at the end) and moves the position
  /// past it; returns data.size(). `data` is copied first: the caller's buffer may go away
  /// at once. std::system_error (with the path: ENOSPC, EBADF, ...) on failure, after which
  /// tell() counts the bytes that were written; UsageError if the file is closed or was not
  /// opened for writing.
  ///
  ///     co_await f.write("hello\n");
  Coro<std::size_t> write(std::string_view data);

  /// Writes all of `data` at `offset` (pwrite), without moving the position; returns
  /// data.size(). UsageError in append modes, where Linux would put the bytes at the end
  /// whatever the offset (open with "r+" to write in place).
  Coro<std::size_t> write_at(std::string_view data, std::uint64_t offset);

  /// Flushes the file's data and metadata to the device (fsync). Writes are not buffered
  /// by aio, so there is nothing else to flush. std::system_error on failure.
  Coro<void> sync();

  /// Closes the file after the operations awaited before it have finished, and reports
  /// the error close(2) gives (std::system_error). Closing a closed File does nothing.
  /// The File is closed from the moment close() starts: if the awaiting task is cancelled,
  /// the descriptor is still closed once those operations are done.
  Coro<void> close();

  /// Moves the position (Python's seek): to `offset` (SEEK_SET), the position + offset
  /// (SEEK_CUR) or the file's size + offset (SEEK_END); returns the new position. Moving
  /// past the end is allowed (a later write leaves a hole). std::system_error EINVAL if the
  /// result would be negative, ESPIPE if the file is a pipe or socket.
  ///
  ///     co_await f.seek(0);                      // rewind
  ///     co_await f.seek(-4, SEEK_END);           // the last 4 bytes
  Coro<std::uint64_t> seek(std::int64_t offset, int whence = SEEK_SET);

  /// The position: where the next read() or write() goes, after the operations that have
  /// finished (one still running is not counted yet). std::system_error ESPIPE for a pipe
  /// or socket; UsageError if closed.
  std::uint64_t tell() const;

  /// The file's current size in bytes (fstat). std::system_error on failure.
  Coro<std::uint64_t> size();

  /// Resizes the file to `size` bytes, cutting it or extending it with zeros (Python's
  /// truncate(size)); the position does not move. Returns `size`. std::system_error on
  /// failure; UsageError if the file was not opened for writing.
  Coro<std::uint64_t> truncate(std::uint64_t size);
  /// Resizes the file to the position (Python's truncate()); returns the new size.
  Coro<std::uint64_t> truncate();

  /// False once close() was called (or the File was moved from / never opened).
  bool is_open() const noexcept;
  /// The path it was opened with (empty if it never was).
  const std::filesystem::path& path() const noexcept;
  /// The mode it was opened with, normalized: "r", "w", "a", "x", "r+", "w+", "a+" or "x+".
  std::string_view mode() const noexcept;
  /// The file descriptor, for system calls aio does not wrap (do not close it). UsageError
  /// if the File is closed.
  int fileno() const;

 private:
  friend class detail::FileCore;
  explicit File(std::shared_ptr<detail::FileCore> core) noexcept;
  void release() noexcept;

  std::shared_ptr<detail::FileCore> core_;
};

/// Every function taking a path throws std::invalid_argument (at the call) if it contains a
/// NUL byte, which no system call could be given.

/// Opens `path` (Python's `open(path, mode)`, always binary):
/// - "r": read; the file must exist.
/// - "w": write; created if missing, truncated if not.
/// - "a": append; created if missing; every write goes to the end.
/// - "x": write a new file; std::system_error EEXIST if it exists.
/// - "+" added ("r+", "w+", "a+", "x+"): reading and writing, with the rules above.
/// A "b" anywhere in the mode is accepted and ignored ("rb", "r+b"); anything else (text
/// mode "t", "rw", "") throws std::invalid_argument naming the mode. New files get
/// 0666 & ~umask.
///
///     aio::fs::File f = co_await aio::fs::open("/etc/hostname");
///     std::string name = co_await f.read();
///
/// std::system_error with the errno, naming the path and what for, e.g.
/// "open '/nope/x' for reading: No such file or directory" (ENOENT), EISDIR for a
/// directory (even with "r"), EACCES. The path is copied: the argument may be a temporary.
/// Opening a FIFO waits for its other end, on the thread pool, without blocking the loop.
/// Cancel-safe: if the task is cancelled, a descriptor the thread opened meanwhile is closed.
Coro<File> open(const std::filesystem::path& path, std::string_view mode = "r");

/// Reads the whole file (Python's `pathlib.Path.read_bytes()`), in one trip to the thread
/// pool. std::system_error naming the path, e.g. "open 'x' for reading: No such file or
/// directory".
///
///     std::string config = co_await aio::fs::read_file("/etc/app.conf");
Coro<std::string> read_file(const std::filesystem::path& path);

/// Creates or truncates the file and writes `data` to it (`pathlib.Path.write_bytes()`).
/// `data` is copied first. std::system_error naming the path on failure (the file may then
/// hold a part). Cancelling the awaiting task does not stop the write already under way.
Coro<void> write_file(const std::filesystem::path& path, std::string_view data);

/// Appends `data` to the file, creating it if missing (open "a", write, close).
Coro<void> append_file(const std::filesystem::path& path, std::string_view data);

/// Whether `path` names an existing file, directory or other object (following symbolic
/// links), like Python's os.path.exists: false as well when it cannot be checked (EACCES).
Coro<bool> exists(const std::filesystem::path& path);

/// The size in bytes of the file at `path` (stat, following symbolic links; Python's
/// os.path.getsize). std::system_error naming the path (ENOENT, ...).
Coro<std::uint64_t> file_size(const std::filesystem::path& path);

/// Removes a file (Python's os.remove / unlink(2); not a directory: EISDIR).
/// std::system_error naming the path (ENOENT if it does not exist).
Coro<void> remove(const std::filesystem::path& path);

/// Renames `from` to `to`, replacing `to` if it is a file (Python's os.replace /
/// rename(2)). std::system_error naming both paths.
Coro<void> rename(const std::filesystem::path& from, const std::filesystem::path& to);

/// Options of mkdir() (pathlib.Path.mkdir's). Trivially copyable, so that
/// `co_await aio::fs::mkdir(p, {.parents = true})` is safe with every compiler.
struct MkdirOptions {
  /// Create the missing parent directories too.
  bool parents = false;
  /// No error if the directory exists already (a file there is still EEXIST).
  bool exist_ok = false;
};
static_assert(std::is_trivially_destructible_v<MkdirOptions>);

/// Creates a directory with mode 0777 & ~umask (pathlib.Path.mkdir). std::system_error
/// naming the path: EEXIST if it exists (unless exist_ok), ENOENT if its parent is missing
/// (unless parents).
///
///     co_await aio::fs::mkdir("cache/images", {.parents = true, .exist_ok = true});
Coro<void> mkdir(const std::filesystem::path& path, MkdirOptions options = {});

}  // namespace aio::fs
