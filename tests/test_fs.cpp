// aio::fs: files on the thread pool (Python's aiofile / aiofiles).
//
// The modes and the File methods are checked against Python's open() in binary mode; the
// cases marked "test_fileio.py" are ports of CPython's Lib/test/test_fileio.py
// (AutoFileTests.testSeekTell, testErrors, testMethods, testOpendir / testOpenDirFD;
// OtherFileTests.testInvalidModeStrings, testModeStrings, testBadModeArgument, testAppend,
// testTruncate, testConstructorHandlesNULChars). Not ported: readinto / readline /
// writelines (aio::fs::File has none: bytes in, bytes out), repr and weakref tests, the
// closefd / fd-number constructors (aio opens by path only), /dev/tty tests (no tty in CI)
// and the strace test. asyncio itself has no file API; the cancellation, concurrency and
// fd-lifetime cases are aio's own, for the guarantees documented in <aio/fs.hpp>.
//
// Every test works in its own mkdtemp directory under /tmp, removed at the end. The tests
// whose names contain "Thread" hold the thread pool with a gate to order a cancellation
// before or during a job: they are the thread-crossing ones (scripts/test.sh runs such
// names under TSan).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <aio/fs.hpp>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "support.hpp"

namespace {

using namespace aio_test;
namespace fs = aio::fs;
using std::filesystem::path;

// --- helpers -------------------------------------------------------------------------------

// A fresh directory under /tmp, removed with everything in it at the end of the scope.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/aio-test-fs-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::system_error(errno, std::generic_category(), "mkdtemp");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ignored);
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  path operator/(std::string_view name) const { return path_ / name; }
  const path& get() const { return path_; }

 private:
  path path_;
};

// Blocking helpers for the test's side of a check (not under test).
void put(const path& p, std::string_view content) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

std::string slurp(const path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream all;
  all << in.rdbuf();
  return all.str();
}

void make_fifo(const path& p) {
  if (::mkfifo(p.c_str(), 0600) != 0) throw std::system_error(errno, std::generic_category(), "mkfifo");
}

// `size` bytes of a pattern that no shift of itself matches (catches misplaced chunks).
// Writes the file's pages to disk and drops them from the page cache, so that the next read
// of it waits for the device (POSIX_FADV_DONTNEED on clean pages; a no-op on tmpfs).
void drop_from_page_cache(const path& p) {
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + p.string());
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

std::string pattern_bytes(std::size_t size) {
  std::string s(size, '\0');
  std::uint32_t x = 2463534242u;
  for (char& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return s;
}

// Whether fd is an open descriptor.
bool fd_is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

// The std::system_error in e (or nothing), with its errno and message.
struct OsError {
  int code = 0;
  std::string message;
};
std::optional<OsError> os_error(const std::exception_ptr& e) {
  auto se = exception_as<std::system_error>(e);
  if (!se) return std::nullopt;
  return OsError{se->code().value(), se->what()};
}

// The errno of the std::system_error in e (0 if e holds something else).
int errno_of(const std::exception_ptr& e) {
  std::optional<OsError> got = os_error(e);
  return got ? got->code : 0;
}

// Expects e to be std::system_error(err) whose what() is exactly `message`.
void expect_os_error(const std::exception_ptr& e, int err, const std::string& message) {
  std::optional<OsError> got = os_error(e);
  if (!got) {
    ADD_FAILURE() << "expected std::system_error(" << err << "), got " << what_of(e);
    return;
  }
  EXPECT_EQ(got->code, err) << got->message;
  EXPECT_EQ(got->message, message);
}

std::string strerror_of(int err) { return std::generic_category().message(err); }

aio::Coro<std::string> read_n(fs::File& f, std::int64_t n) {
  std::string data = co_await f.read(n);
  co_return data;
}

aio::Coro<void> write_data(fs::File& f, std::string data) { co_await f.write(data); }

aio::Coro<void> close_file(fs::File& f) { co_await f.close(); }

aio::Coro<fs::File> open_file(path p, std::string mode) {
  fs::File f = co_await fs::open(p, mode);
  co_return f;
}

// Makes a FIFO at p and opens both of its ends (each open waits for the other).
aio::Coro<void> open_fifo(path p, fs::File& reader, fs::File& writer) {
  make_fifo(p);
  aio::Task<fs::File> opening = aio::create_task(open_file(p, "r"));
  writer = co_await fs::open(p, "w");
  reader = co_await opening;
}

// A one-shot gate a pool thread waits on, with a bounded wait (a bug fails, not hangs).
class Gate {
 public:
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    cv_.notify_all();
  }
  bool wait() {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [this] { return open_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Makes the running loop's default pool a single thread and keeps it busy until release():
// the jobs of file operations started meanwhile wait in the pool's queue, so a test can
// cancel the awaiting task before the job runs, then let it run.
class HeldPool {
 public:
  HeldPool() {
    aio::EventLoop& loop = aio::get_running_loop();
    loop.set_default_executor(std::make_unique<aio::ThreadPoolExecutor>(1));
    blocker_ = loop.run_in_executor(nullptr, [gate = gate_] { gate->wait(); });
  }
  ~HeldPool() { gate_->open(); }
  HeldPool(const HeldPool&) = delete;
  HeldPool& operator=(const HeldPool&) = delete;

  // Lets the queued jobs run, and returns once the blocker is gone.
  aio::Coro<void> release() {
    gate_->open();
    co_await blocker_;
  }
  // Returns once every job queued so far has run (the pool has one thread, in FIFO order).
  static aio::Coro<void> drain() {
    co_await aio::to_thread([] {});
  }

 private:
  std::shared_ptr<Gate> gate_ = std::make_shared<Gate>();
  aio::Future<void> blocker_;
};

// --- modes ---------------------------------------------------------------------------------

// test_fileio.py testInvalidModeStrings + testBadModeArgument: ValueError, with the mode
// (not the path) in the message.
AIO_TEST(FsOpen, InvalidModeStringsThrowInvalidArgument) {
  TempDir dir;
  const std::vector<std::string> bad = {"", "aU", "wU+", "rw", "rt", "qwerty", "r++", "rbb", "b", "+", "wt"};
  for (const std::string& mode : bad) {
    try {
      fs::File f = co_await fs::open(dir / "f", mode);
      ADD_FAILURE() << "mode '" << mode << "' was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("'" + mode + "'"), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find(dir.get().native()), std::string::npos) << e.what();
    }
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "f"));  // nothing was opened
}

// test_fileio.py testModeStrings: "b" is accepted anywhere and ignored.
AIO_TEST(FsOpen, ModeStringsAreNormalized) {
  TempDir dir;
  const std::vector<std::pair<std::string, std::string>> modes = {
      {"w", "w"},    {"wb", "w"}, {"wb+", "w+"}, {"w+b", "w+"}, {"a", "a"},    {"ab", "a"},   {"ab+", "a+"},
      {"a+b", "a+"}, {"r", "r"},  {"rb", "r"},   {"br", "r"},   {"rb+", "r+"}, {"r+b", "r+"}, {"+r", "r+"}};
  for (const auto& [given, normalized] : modes) {
    fs::File f = co_await fs::open(dir / "f", given);
    EXPECT_EQ(f.mode(), normalized) << given;
    EXPECT_TRUE(f.is_open());
    EXPECT_EQ(f.path(), dir / "f");
  }
  co_await fs::remove(dir / "f");
  fs::File x = co_await fs::open(dir / "f", "xb+");
  EXPECT_EQ(x.mode(), "x+");
}

// open(p, 'w'): creates, or truncates what is there.
AIO_TEST(FsOpen, WriteModeCreatesAndTruncates) {
  TempDir dir;
  {
    fs::File f = co_await fs::open(dir / "new", "w");
    EXPECT_EQ(co_await f.write("spam"), 4u);
    co_await f.close();
  }
  EXPECT_EQ(slurp(dir / "new"), "spam");
  put(dir / "old", "a long old content");
  fs::File f = co_await fs::open(dir / "old", "w");
  EXPECT_EQ(co_await f.size(), 0u);  // truncated at open
  co_await f.write("new");
  co_await f.close();
  EXPECT_EQ(slurp(dir / "old"), "new");
}

// test_fileio.py testAppend, and Python's 'a': every write goes to the end, even after a
// seek; tell() starts at the end and follows the writes.
AIO_TEST(FsOpen, AppendModeWritesAtTheEndEvenAfterSeek) {
  TempDir dir;
  put(dir / "f", "spam");
  fs::File f = co_await fs::open(dir / "f", "ab");
  EXPECT_EQ(f.tell(), 4u);
  co_await f.write("eggs");
  EXPECT_EQ(f.tell(), 8u);
  EXPECT_EQ(co_await f.seek(0), 0u);
  co_await f.write("!");
  EXPECT_EQ(f.tell(), 9u);
  co_await f.close();
  EXPECT_EQ(slurp(dir / "f"), "spameggs!");
  co_await fs::append_file(dir / "missing", "created");  // 'a' creates
  EXPECT_EQ(slurp(dir / "missing"), "created");
}

// Python's 'x': exclusive creation, FileExistsError if the file exists.
AIO_TEST(FsOpen, ExclusiveModeFailsIfTheFileExists) {
  TempDir dir;
  fs::File f = co_await fs::open(dir / "f", "x");
  co_await f.write("first");
  co_await f.close();
  EXPECT_EQ(slurp(dir / "f"), "first");
  std::exception_ptr e = co_await error_of(fs::open(dir / "f", "x"));
  expect_os_error(e, EEXIST, "open '" + (dir / "f").native() + "' for exclusive creation: " + strerror_of(EEXIST));
  EXPECT_EQ(slurp(dir / "f"), "first");  // untouched
}

// Python's 'r+': keeps the content; reads and writes share the position.
AIO_TEST(FsOpen, ReadPlusKeepsTheContent) {
  TempDir dir;
  put(dir / "f", "hello world");
  fs::File f = co_await fs::open(dir / "f", "r+");
  co_await f.write("J");
  EXPECT_EQ(co_await f.read(4), "ello");
  co_await f.write("!");
  EXPECT_EQ(co_await f.read(), "world");
  EXPECT_EQ(f.tell(), 11u);
  co_await f.close();
  EXPECT_EQ(slurp(dir / "f"), "Jello!world");
}

// Python's 'w+': truncates, then what was written reads back after a seek.
AIO_TEST(FsOpen, WritePlusTruncatesAndReadsBack) {
  TempDir dir;
  put(dir / "f", "old old old");
  fs::File f = co_await fs::open(dir / "f", "w+");
  co_await f.write("abc");
  EXPECT_EQ(co_await f.read(), "");  // at the end
  co_await f.seek(0);
  EXPECT_EQ(co_await f.read(), "abc");
}

// Python's 'a+': starts at the end, reads anywhere after a seek, writes at the end.
AIO_TEST(FsOpen, AppendPlusReadsAnywhereAndWritesAtTheEnd) {
  TempDir dir;
  put(dir / "f", "12345");
  fs::File f = co_await fs::open(dir / "f", "a+");
  EXPECT_EQ(f.tell(), 5u);
  EXPECT_EQ(co_await f.read(), "");
  co_await f.seek(1);
  EXPECT_EQ(co_await f.read(2), "23");
  co_await f.write("6");
  EXPECT_EQ(f.tell(), 6u);
  co_await f.seek(0);
  EXPECT_EQ(co_await f.read(), "123456");
}

// test_fileio.py testErrors: reading a file opened for writing (and the reverse) is
// refused (Python: io.UnsupportedOperation; aio: UsageError, naming the mode).
AIO_TEST(FsOpen, OperationsTheModeDoesNotAllowAreUsageErrors) {
  TempDir dir;
  put(dir / "f", "data");
  fs::File w = co_await fs::open(dir / "f", "a");
  std::exception_ptr e = co_await error_of(w.read(1));
  AIO_ASSERT_TRUE(holds<aio::UsageError>(e));
  EXPECT_NE(what_of(e).find("mode 'a'"), std::string::npos) << what_of(e);
  EXPECT_TRUE(holds<aio::UsageError>(co_await error_of(w.read_at(1, 0))));
  // 'a': write_at would go to the end anyway (O_APPEND), so it is refused.
  e = co_await error_of(w.write_at("x", 0));
  EXPECT_TRUE(holds<aio::UsageError>(e));
  EXPECT_NE(what_of(e).find("append"), std::string::npos) << what_of(e);
  fs::File r = co_await fs::open(dir / "f");
  EXPECT_TRUE(holds<aio::UsageError>(co_await error_of(r.write("x"))));
  EXPECT_TRUE(holds<aio::UsageError>(co_await error_of(r.write_at("x", 0))));
  EXPECT_TRUE(holds<aio::UsageError>(co_await error_of(r.truncate(0))));
  EXPECT_EQ(co_await r.read(), "data");  // r still works
  EXPECT_EQ(slurp(dir / "f"), "data");
}

// --- errors carry the errno and the path ----------------------------------------------

AIO_TEST(FsErrors, MissingFileIsENOENTNamingThePath) {
  const std::string missing = "/nope-aio-test/x";
  expect_os_error(co_await error_of(fs::open(missing)), ENOENT,
                  "open '" + missing + "' for reading: " + strerror_of(ENOENT));
  expect_os_error(co_await error_of(fs::open(missing, "w")), ENOENT,
                  "open '" + missing + "' for writing: " + strerror_of(ENOENT));
  expect_os_error(co_await error_of(fs::read_file(missing)), ENOENT,
                  "open '" + missing + "' for reading: " + strerror_of(ENOENT));
  expect_os_error(co_await error_of(fs::write_file(missing, "x")), ENOENT,
                  "open '" + missing + "' for writing: " + strerror_of(ENOENT));
  expect_os_error(co_await error_of(fs::append_file(missing, "x")), ENOENT,
                  "open '" + missing + "' for appending: " + strerror_of(ENOENT));
  expect_os_error(co_await error_of(fs::file_size(missing)), ENOENT, "stat '" + missing + "': " + strerror_of(ENOENT));
  expect_os_error(co_await error_of(fs::remove(missing)), ENOENT, "remove '" + missing + "': " + strerror_of(ENOENT));
  // The system_error compares equal to the portable condition too.
  std::exception_ptr e = co_await error_of(fs::open(missing));
  auto se = exception_as<std::system_error>(e);
  AIO_ASSERT_TRUE(se.has_value());
  EXPECT_EQ(se->code(), std::errc::no_such_file_or_directory);
}

// test_fileio.py testOpendir / testOpenDirFD: a directory is EISDIR, even opened with "r"
// (where open(2) itself would succeed).
AIO_TEST(FsErrors, DirectoryIsEISDIR) {
  TempDir dir;
  const std::string d = dir.get().native();
  expect_os_error(co_await error_of(fs::open(dir.get())), EISDIR,
                  "open '" + d + "' for reading: " + strerror_of(EISDIR));
  expect_os_error(co_await error_of(fs::open(dir.get(), "r+")), EISDIR,
                  "open '" + d + "' for reading and writing: " + strerror_of(EISDIR));
  expect_os_error(co_await error_of(fs::open(dir.get(), "w")), EISDIR,
                  "open '" + d + "' for writing: " + strerror_of(EISDIR));
  expect_os_error(co_await error_of(fs::read_file(dir.get())), EISDIR,
                  "open '" + d + "' for reading: " + strerror_of(EISDIR));
}

aio::Coro<void> permission_denied_is_eacces() {
  TempDir dir;
  put(dir / "secret", "x");
  std::filesystem::permissions(dir / "secret", std::filesystem::perms::none);
  const std::string p = (dir / "secret").native();
  expect_os_error(co_await error_of(fs::open(dir / "secret")), EACCES,
                  "open '" + p + "' for reading: " + strerror_of(EACCES));
  expect_os_error(co_await error_of(fs::write_file(dir / "secret", "y")), EACCES,
                  "open '" + p + "' for writing: " + strerror_of(EACCES));
}

TEST(FsErrors, PermissionDeniedIsEACCES) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads every file: no EACCES to provoke";
  aio::testing::run_test(permission_denied_is_eacces());
}

// test_fileio.py testConstructorHandlesNULChars: ValueError, not a file named "foo".
AIO_TEST(FsErrors, PathWithNulIsInvalidArgument) {
  TempDir dir;
  const path with_nul = (dir.get() / "foo").native() + std::string("\0bar", 4);
  EXPECT_THROW((void)fs::open(with_nul, "w"), std::invalid_argument);
  EXPECT_THROW((void)fs::write_file(with_nul, "x"), std::invalid_argument);
  EXPECT_THROW((void)fs::read_file(with_nul), std::invalid_argument);
  EXPECT_THROW((void)fs::mkdir(with_nul), std::invalid_argument);
  EXPECT_FALSE(co_await fs::exists(dir / "foo"));
}

// Every descriptor aio opens is close-on-exec (a child process must not inherit it).
AIO_TEST(FsErrors, EveryDescriptorIsCloseOnExec) {
  TempDir dir;
  for (const char* mode : {"w", "r", "a", "r+", "w+", "a+"}) {
    fs::File f = co_await fs::open(dir / "f", mode);
    const int flags = ::fcntl(f.fileno(), F_GETFD);
    EXPECT_TRUE(flags != -1 && (flags & FD_CLOEXEC)) << mode;
  }
}

// --- File methods --------------------------------------------------------------------------

// test_fileio.py testSeekTell.
AIO_TEST(FsFile, SeekTell) {
  TempDir dir;
  fs::File f = co_await fs::open(dir / "f", "w");
  co_await f.write(pattern_bytes(20));
  EXPECT_EQ(f.tell(), 20u);
  EXPECT_EQ(co_await f.seek(0), 0u);
  EXPECT_EQ(f.tell(), 0u);
  EXPECT_EQ(co_await f.seek(10), 10u);
  EXPECT_EQ(co_await f.seek(5, SEEK_CUR), 15u);
  EXPECT_EQ(co_await f.seek(-5, SEEK_CUR), 10u);
  EXPECT_EQ(co_await f.seek(-5, SEEK_END), 15u);
  EXPECT_EQ(f.tell(), 15u);
  // Before the start: EINVAL, and the position stays.
  expect_os_error(co_await error_of(f.seek(-1)), EINVAL, "seek '" + (dir / "f").native() + "': " + strerror_of(EINVAL));
  EXPECT_EQ(f.tell(), 15u);
  EXPECT_TRUE(holds<std::invalid_argument>(co_await error_of(f.seek(0, 42))));
  // Past the end: allowed; the write leaves a hole of zeros.
  co_await f.seek(25);
  co_await f.write("end");
  co_await f.close();
  const std::string content = slurp(dir / "f");
  AIO_ASSERT_EQ(content.size(), 28u);
  EXPECT_EQ(content.substr(20, 5), std::string(5, '\0'));
}

AIO_TEST(FsFile, ReadSizesAndEndOfFile) {
  TempDir dir;
  put(dir / "f", "0123456789");
  fs::File f = co_await fs::open(dir / "f");
  EXPECT_EQ(co_await f.read(0), "");
  EXPECT_EQ(co_await f.read(3), "012");
  EXPECT_EQ(co_await f.read(4), "3456");
  EXPECT_EQ(co_await f.read(100), "789");  // short only at the end
  EXPECT_EQ(co_await f.read(5), "");       // "" at the end
  EXPECT_EQ(co_await f.read(), "");
  co_await f.seek(2);
  EXPECT_EQ(co_await f.read(), "23456789");  // n < 0: to the end
  EXPECT_EQ(f.tell(), 10u);
  // A huge n allocates for what is there, not for n.
  co_await f.seek(0);
  EXPECT_EQ(co_await f.read(std::int64_t{1} << 50), "0123456789");
}

// read_at / write_at (os.pread / os.pwrite) leave the position alone.
AIO_TEST(FsFile, ReadAtWriteAtDoNotMoveThePosition) {
  TempDir dir;
  put(dir / "f", "0123456789");
  fs::File f = co_await fs::open(dir / "f", "r+");
  EXPECT_EQ(co_await f.read(2), "01");
  EXPECT_EQ(co_await f.read_at(3, 5), "567");
  EXPECT_EQ(co_await f.read_at(10, 8), "89");
  EXPECT_EQ(co_await f.read_at(4, 10), "");
  EXPECT_EQ(co_await f.write_at("AB", 4), 2u);
  EXPECT_EQ(f.tell(), 2u);
  EXPECT_EQ(co_await f.read(), "23AB6789");
  EXPECT_EQ(co_await f.write_at("Z", 12), 1u);  // past the end: a hole
  EXPECT_EQ(co_await f.size(), 13u);
  co_await f.close();
  EXPECT_EQ(slurp(dir / "f"), std::string("0123AB6789\0\0Z", 13));
}

// sync() (fsync) works on a written file; size() follows the writes.
AIO_TEST(FsFile, SyncAndSize) {
  TempDir dir;
  fs::File f = co_await fs::open(dir / "f", "w");
  EXPECT_EQ(co_await f.size(), 0u);
  co_await f.write("durable");
  co_await f.sync();
  EXPECT_EQ(co_await f.size(), 7u);
  EXPECT_EQ(co_await fs::file_size(dir / "f"), 7u);
}

// test_fileio.py testTruncate: the position does not move.
AIO_TEST(FsFile, Truncate) {
  TempDir dir;
  fs::File f = co_await fs::open(dir / "f", "w");
  co_await f.write(pattern_bytes(10));
  EXPECT_EQ(f.tell(), 10u);
  EXPECT_EQ(co_await f.truncate(5), 5u);
  EXPECT_EQ(f.tell(), 10u);
  EXPECT_EQ(co_await f.seek(0, SEEK_END), 5u);
  EXPECT_EQ(co_await f.truncate(15), 15u);
  EXPECT_EQ(f.tell(), 5u);
  EXPECT_EQ(co_await f.seek(0, SEEK_END), 15u);
  co_await f.seek(3);
  EXPECT_EQ(co_await f.truncate(), 3u);  // at the position
  EXPECT_EQ(co_await fs::file_size(dir / "f"), 3u);
}

// test_fileio.py testMethods: every operation on a closed file is refused; close() again is
// fine. Python raises ValueError; aio::UsageError.
AIO_TEST(FsFile, ClosedFileRefusesEveryOperation) {
  TempDir dir;
  fs::File f = co_await fs::open(dir / "f", "w+");
  const int fd = f.fileno();
  co_await f.close();
  EXPECT_FALSE(f.is_open());
  EXPECT_FALSE(fd_is_open(fd));
  EXPECT_EQ(f.path(), dir / "f");  // still known
  std::exception_ptr e = co_await error_of(f.read(1));
  EXPECT_TRUE(holds<aio::UsageError>(e));
  EXPECT_NE(what_of(e).find("is closed"), std::string::npos) << what_of(e);
  EXPECT_TRUE(holds<aio::UsageError>(co_await error_of(f.write("x"))));
  EXPECT_TRUE(holds<aio::UsageError>(co_await error_of(f.read_at(1, 0))));
  EXPECT_TRUE(holds<aio::UsageError>(co_await error_of(f.write_at("x", 0))));
  EXPECT_TRUE(holds<aio::UsageError>(co_await error_of(f.seek(0))));
  EXPECT_TRUE(holds<aio::UsageError>(co_await error_of(f.sync())));
  EXPECT_TRUE(holds<aio::UsageError>(co_await error_of(f.size())));
  EXPECT_TRUE(holds<aio::UsageError>(co_await error_of(f.truncate(0))));
  EXPECT_THROW((void)f.tell(), aio::UsageError);
  EXPECT_THROW((void)f.fileno(), aio::UsageError);
  co_await f.close();  // idempotent
  // A File that never was open, or was moved from, refuses them too.
  fs::File never;
  EXPECT_FALSE(never.is_open());
  EXPECT_TRUE(never.path().empty());
  EXPECT_TRUE(holds<aio::UsageError>(co_await error_of(never.read())));
  co_await never.close();
  fs::File a = co_await fs::open(dir / "f");
  fs::File b = std::move(a);
  EXPECT_FALSE(a.is_open());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_TRUE(b.is_open());
  EXPECT_TRUE(holds<aio::UsageError>(co_await error_of(a.read())));
}

// test_fileio.py ClosedFDRaises: testErrnoOnClosedRead / Write / Close (the descriptor
// closed behind the File's back): EBADF naming the path. A failed read consumes nothing.
AIO_TEST(FsFile, DescriptorClosedBehindItsBackIsEBADF) {
  TempDir dir;
  put(dir / "f", "0123456789");
  fs::File f = co_await fs::open(dir / "f", "r+");
  EXPECT_EQ(co_await f.read(2), "01");
  AIO_ASSERT_EQ(::close(f.fileno()), 0);
  const std::string p = (dir / "f").native();
  expect_os_error(co_await error_of(f.read(3)), EBADF, "read '" + p + "': " + strerror_of(EBADF));
  EXPECT_EQ(f.tell(), 2u);
  expect_os_error(co_await error_of(f.write("x")), EBADF, "write '" + p + "': " + strerror_of(EBADF));
  EXPECT_EQ(f.tell(), 2u);  // nothing was written
  expect_os_error(co_await error_of(f.sync()), EBADF, "fsync '" + p + "': " + strerror_of(EBADF));
  expect_os_error(co_await error_of(f.size()), EBADF, "stat '" + p + "': " + strerror_of(EBADF));
  expect_os_error(co_await error_of(f.close()), EBADF, "close '" + p + "': " + strerror_of(EBADF));
  EXPECT_FALSE(f.is_open());
}

// Dropping a File closes its descriptor; move-assigning over one closes the old one.
AIO_TEST(FsFile, DestructorAndMoveAssignmentClose) {
  TempDir dir;
  put(dir / "a", "a");
  put(dir / "b", "b");
  int fd_a = -1;
  {
    fs::File f = co_await fs::open(dir / "a");
    fd_a = f.fileno();
    EXPECT_TRUE(fd_is_open(fd_a));
  }
  EXPECT_FALSE(fd_is_open(fd_a));
  fs::File f = co_await fs::open(dir / "a");
  fd_a = f.fileno();
  f = co_await fs::open(dir / "b");
  EXPECT_NE(fd_a, f.fileno());
  EXPECT_FALSE(fd_is_open(fd_a));
  EXPECT_EQ(co_await f.read(), "b");
}

// 10 MB in one read_file / write_file, and through a File with read() to the end and a big
// read(n): short reads and writes of the system calls are looped.
AIO_TEST(FsFile, TenMegabyteRoundTrip) {
  TempDir dir;
  const std::string big = pattern_bytes(10 * 1024 * 1024 + 7);
  co_await fs::write_file(dir / "big", big);
  EXPECT_EQ(co_await fs::file_size(dir / "big"), big.size());
  const std::string back = co_await fs::read_file(dir / "big");
  EXPECT_TRUE(back == big);
  fs::File f = co_await fs::open(dir / "big", "r+");
  const std::string head = co_await f.read(static_cast<std::int64_t>(big.size() - 1000));
  EXPECT_TRUE(head == big.substr(0, big.size() - 1000));
  const std::string rest = co_await f.read();
  EXPECT_TRUE(rest == big.substr(big.size() - 1000));
  co_await f.seek(0);
  const std::string all = co_await f.read(std::int64_t{1} << 40);
  EXPECT_TRUE(all == big);
  co_await f.seek(0);
  std::string reversed(big.rbegin(), big.rend());
  EXPECT_EQ(co_await f.write(reversed), big.size());
  co_await f.close();
  EXPECT_TRUE(slurp(dir / "big") == reversed);
}

// --- whole files and paths -----------------------------------------------------------------

AIO_TEST(FsPaths, ReadWriteAppendFile) {
  TempDir dir;
  co_await fs::write_file(dir / "f", "one\n");
  co_await fs::append_file(dir / "f", "two\n");
  EXPECT_EQ(co_await fs::read_file(dir / "f"), "one\ntwo\n");
  co_await fs::write_file(dir / "f", "three\n");  // truncates
  EXPECT_EQ(co_await fs::read_file(dir / "f"), "three\n");
  co_await fs::write_file(dir / "empty", "");
  EXPECT_EQ(co_await fs::read_file(dir / "empty"), "");
  // std::string_view paths and temporaries: the path is copied before the first suspension.
  std::string name = (dir / "f").native();
  aio::Coro<std::string> later = fs::read_file(std::string_view(name));
  name.assign(name.size(), 'x');
  EXPECT_EQ(co_await std::move(later), "three\n");
  // Files the kernel makes up as they are read (size 0 in stat) read to their end.
  const std::string status = co_await fs::read_file("/proc/self/status");
  EXPECT_NE(status.find("Name:"), std::string::npos);
}

AIO_TEST(FsPaths, ExistsSizeRemoveRename) {
  TempDir dir;
  EXPECT_TRUE(co_await fs::exists(dir.get()));
  EXPECT_FALSE(co_await fs::exists(dir / "f"));
  co_await fs::write_file(dir / "f", "12345");
  EXPECT_TRUE(co_await fs::exists(dir / "f"));
  EXPECT_EQ(co_await fs::file_size(dir / "f"), 5u);
  co_await fs::rename(dir / "f", dir / "g");
  EXPECT_FALSE(co_await fs::exists(dir / "f"));
  EXPECT_EQ(co_await fs::read_file(dir / "g"), "12345");
  const std::string f = (dir / "f").native(), g = (dir / "g").native();
  expect_os_error(co_await error_of(fs::rename(dir / "f", dir / "g")), ENOENT,
                  "rename '" + f + "' to '" + g + "': " + strerror_of(ENOENT));
  co_await fs::remove(dir / "g");
  EXPECT_FALSE(co_await fs::exists(dir / "g"));
  // os.remove does not remove directories.
  std::exception_ptr e = co_await error_of(fs::remove(dir.get()));
  auto err = os_error(e);
  AIO_ASSERT_TRUE(err.has_value());
  EXPECT_TRUE(err->code == EISDIR || err->code == EPERM) << err->message;
}

// pathlib.Path.mkdir(parents=, exist_ok=).
AIO_TEST(FsPaths, Mkdir) {
  TempDir dir;
  co_await fs::mkdir(dir / "a");
  EXPECT_TRUE(std::filesystem::is_directory(dir / "a"));
  const std::string a = (dir / "a").native();
  expect_os_error(co_await error_of(fs::mkdir(dir / "a")), EEXIST, "mkdir '" + a + "': " + strerror_of(EEXIST));
  co_await fs::mkdir(dir / "a", {.exist_ok = true});
  const std::string deep = (dir / "b" / "c").native();
  expect_os_error(co_await error_of(fs::mkdir(dir / "b" / "c")), ENOENT,
                  "mkdir '" + deep + "': " + strerror_of(ENOENT));
  co_await fs::mkdir(dir / "b" / "c" / "d/", {.parents = true});
  EXPECT_TRUE(std::filesystem::is_directory(dir / "b" / "c" / "d"));
  co_await fs::mkdir(dir / "b" / "c", {.parents = true, .exist_ok = true});
  // exist_ok does not excuse a file in the way.
  put(dir / "file", "x");
  const std::exception_ptr file_in_the_way = co_await error_of(fs::mkdir(dir / "file", {.exist_ok = true}));
  EXPECT_EQ(errno_of(file_in_the_way), EEXIST);
}

// --- never blocking the loop ---------------------------------------------------------------

aio::Coro<void> tick_until(const bool* stop, int* ticks) {
  while (!*stop) {
    ++*ticks;
    co_await aio::sleep(0);
  }
}

// Opening a FIFO for reading blocks until a writer opens it: on the thread pool, so the loop
// goes on (a ticker keeps ticking) until the writer comes.
AIO_TEST(FsLoop, LoopRunsWhileOpenBlocksOnAFifo) {
  TempDir dir;
  make_fifo(dir / "fifo");
  bool stop = false;
  int ticks = 0;
  aio::Task<void> ticker = aio::create_task(tick_until(&stop, &ticks));
  aio::Task<fs::File> reader = aio::create_task(open_file(dir / "fifo", "r"));
  co_await spin(200);
  EXPECT_FALSE(reader.done());  // no writer: it cannot have opened
  EXPECT_GE(ticks, 150);        // and the loop was not blocked meanwhile
  fs::File writer = co_await fs::open(dir / "fifo", "w");
  fs::File r = co_await reader;
  stop = true;
  co_await ticker;
  // A read on the FIFO waits for data on the pool too.
  aio::Task<std::string> got = aio::create_task(read_n(r, 4));
  co_await spin(20);
  EXPECT_FALSE(got.done());
  co_await writer.write("ping");
  EXPECT_EQ(co_await got, "ping");
  // Pipes have no position.
  expect_os_error(co_await error_of(r.seek(0)), ESPIPE,
                  "seek '" + (dir / "fifo").native() + "': " + strerror_of(ESPIPE));
  EXPECT_THROW((void)r.tell(), std::system_error);
  const std::exception_ptr read_at_error = co_await error_of(r.read_at(1, 0));
  EXPECT_EQ(errno_of(read_at_error), ESPIPE);
  // read() to the end: until the writer closes.
  co_await writer.write("pong");
  co_await writer.close();
  EXPECT_EQ(co_await r.read(), "pong");
}

// Writing to a pipe whose reader is gone: EPIPE, not a SIGPIPE that ends the program.
AIO_TEST(FsLoop, WriteToAFifoWithoutReaderIsEPIPE) {
  TempDir dir;
  make_fifo(dir / "fifo");
  aio::Task<fs::File> reader = aio::create_task(open_file(dir / "fifo", "r"));
  fs::File writer = co_await fs::open(dir / "fifo", "w");
  { fs::File r = co_await reader; }
  expect_os_error(co_await error_of(writer.write("lost")), EPIPE,
                  "write '" + (dir / "fifo").native() + "': " + strerror_of(EPIPE));
}

// --- cancellation: the thread cannot be stopped, the File accounts for what it did ------

// A cancelled read() of a regular file consumes nothing: the position stays, and the next
// read returns the same bytes — though the job ran after the task was cancelled.
AIO_TEST(FsCancel, CancelledReadWhoseJobRunsOnThreadLaterConsumesNothing) {
  TempDir dir;
  put(dir / "f", "0123456789");
  fs::File f = co_await fs::open(dir / "f");
  EXPECT_EQ(co_await f.read(4), "0123");
  HeldPool pool;
  aio::Task<std::string> reader = aio::create_task(read_n(f, 3));
  co_await run_briefly();  // the read has the turn; its job waits behind the blocker
  reader.cancel();
  EXPECT_TRUE(holds<aio::CancelledError>(co_await error_of(reader)));
  EXPECT_EQ(f.tell(), 4u);
  co_await pool.release();
  EXPECT_EQ(co_await f.read(3), "456");  // after the cancelled read's job: nothing lost
  EXPECT_EQ(f.tell(), 7u);
}

// A cancelled write() may be done anyway: the position counts it, so the next write goes
// after it instead of over it.
AIO_TEST(FsCancel, CancelledWriteWhoseJobRunsOnThreadLaterIsCounted) {
  TempDir dir;
  fs::File f = co_await fs::open(dir / "f", "w");
  HeldPool pool;
  aio::Task<void> writer = aio::create_task(write_data(f, "hello"));
  co_await run_briefly();
  writer.cancel();
  EXPECT_TRUE(holds<aio::CancelledError>(co_await error_of(writer)));
  EXPECT_EQ(f.tell(), 0u);  // not done yet
  aio::Task<void> next = aio::create_task(write_data(f, " world"));
  co_await run_briefly();
  EXPECT_FALSE(next.done());  // waits for the cancelled write's job
  co_await pool.release();
  co_await next;
  EXPECT_EQ(f.tell(), 11u);
  co_await f.close();
  EXPECT_EQ(slurp(dir / "f"), "hello world");
}

// A cancelled read() of a pipe: the bytes the thread got later are kept for the next read().
AIO_TEST(FsCancel, CancelledPipeReadOnThreadKeepsTheBytes) {
  TempDir dir;
  fs::File r, writer;
  co_await open_fifo(dir / "fifo", r, writer);
  aio::Task<std::string> reader = aio::create_task(read_n(r, 5));
  co_await spin(5);  // its job is now blocked in read(2) on a pool thread
  reader.cancel();
  EXPECT_TRUE(holds<aio::CancelledError>(co_await error_of(reader)));
  co_await writer.write("hello world");  // the abandoned read(2) takes 5 of these
  co_await writer.close();
  EXPECT_EQ(co_await r.read(8), "hello wo");
  EXPECT_EQ(co_await r.read(), "rld");
}

// A cancelled open(): the descriptor the thread opened afterwards is closed, not leaked.
AIO_TEST(FsCancel, CancelledOpenOnThreadLeaksNoDescriptor) {
  TempDir dir;
  put(dir / "f", "x");
  const int fds_before = aio::testing::count_open_fds();
  HeldPool pool;
  aio::Task<fs::File> opening = aio::create_task(open_file(dir / "f", "r"));
  co_await run_briefly();
  opening.cancel();
  EXPECT_TRUE(holds<aio::CancelledError>(co_await error_of(opening)));
  co_await pool.release();
  co_await HeldPool::drain();  // the open job has run
  EXPECT_EQ(aio::testing::count_open_fds(), fds_before);
}

// close() while a job still uses the descriptor (a read cancelled while blocked on a pipe):
// close() waits for the job; the descriptor stays open until then (closing it under the
// thread would let a new file reuse its number), and closes once the job is done.
AIO_TEST(FsCancel, CloseWaitsForTheJobStillOnThread) {
  TempDir dir;
  fs::File r, writer;
  co_await open_fifo(dir / "fifo", r, writer);
  const int fd = r.fileno();
  aio::Task<std::string> reader = aio::create_task(read_n(r, 5));
  co_await spin(5);
  reader.cancel();
  EXPECT_TRUE(holds<aio::CancelledError>(co_await error_of(reader)));
  aio::Task<void> closing = aio::create_task(close_file(r));
  co_await spin(5);
  EXPECT_FALSE(r.is_open());  // closed for new operations at once
  EXPECT_TRUE(holds<aio::UsageError>(co_await error_of(r.read(1))));
  EXPECT_FALSE(closing.done());  // but the descriptor is still in use
  EXPECT_TRUE(fd_is_open(fd));
  co_await writer.write("12345");  // ends the read(2)
  co_await closing;
  EXPECT_FALSE(fd_is_open(fd));
}

// Dropping the File while its job still runs: the descriptor is closed by the job's end.
AIO_TEST(FsCancel, DroppedFileClosesAfterTheJobOnThread) {
  TempDir dir;
  make_fifo(dir / "fifo");
  aio::Task<fs::File> opening = aio::create_task(open_file(dir / "fifo", "r"));
  fs::File writer = co_await fs::open(dir / "fifo", "w");
  int fd = -1;
  {
    fs::File r = co_await opening;
    fd = r.fileno();
    aio::Task<std::string> reader = aio::create_task(read_n(r, 5));
    co_await spin(5);
    reader.cancel();
    EXPECT_TRUE(holds<aio::CancelledError>(co_await error_of(reader)));
  }
  EXPECT_TRUE(fd_is_open(fd));  // the read(2) still has it
  co_await writer.write("12345");
  for (int i = 0; i < 500 && fd_is_open(fd); ++i) co_await aio::sleep(0.01);  // bounded: the job's end is posted
  EXPECT_FALSE(fd_is_open(fd));
}

// --- several tasks, one File -----------------------------------------------------------

// Writes from several tasks run one at a time, in the order they were awaited: each lands
// whole, after the previous one.
AIO_TEST(FsShared, WritesFromSeveralTasksAreSerializedInOrder) {
  TempDir dir;
  fs::File f = co_await fs::open(dir / "f", "w");
  const std::size_t n = 1 << 20;
  co_await aio::gather(write_data(f, std::string(n, 'A')), write_data(f, std::string(n, 'B')),
                       write_data(f, std::string(n, 'C')));
  EXPECT_EQ(f.tell(), 3 * n);
  co_await f.close();
  const std::string content = slurp(dir / "f");
  EXPECT_TRUE(content == std::string(n, 'A') + std::string(n, 'B') + std::string(n, 'C'));
}

// Reads from two tasks get consecutive chunks, in the order they started.
AIO_TEST(FsShared, ReadsFromTwoTasksGetConsecutiveChunks) {
  TempDir dir;
  put(dir / "f", "0123456789abc");
  fs::File f = co_await fs::open(dir / "f");
  auto [first, second, third] = co_await aio::gather(read_n(f, 5), read_n(f, 5), read_n(f, 5));
  EXPECT_EQ(first, "01234");
  EXPECT_EQ(second, "56789");
  EXPECT_EQ(third, "abc");
}

// close() waits for the operations awaited before it; those awaited after it are refused.
AIO_TEST(FsShared, CloseRunsAfterEarlierOperationsAndRefusesLaterOnes) {
  TempDir dir;
  fs::File f = co_await fs::open(dir / "f", "w");
  aio::Task<void> w1 = aio::create_task(write_data(f, "first "));
  aio::Task<void> w2 = aio::create_task(write_data(f, "second"));
  aio::Task<void> closing = aio::create_task(close_file(f));
  co_await run_briefly();  // all three have started, in this order
  EXPECT_TRUE(holds<aio::UsageError>(co_await error_of(f.write("late"))));
  co_await closing;
  co_await w1;
  co_await w2;
  EXPECT_EQ(slurp(dir / "f"), "first second");
}

// --- through the ring (io_uring) ------------------------------------------------------------

// --- read_into: the caller's memory ---------------------------------------------------------

aio::Coro<std::size_t> read_into_span(fs::File& f, std::span<char> into) {
  const std::size_t n = co_await f.read_into(into);
  co_return n;
}

aio::Coro<void> cancel_after(aio::Task<std::size_t>& task, int iterations) {
  for (int i = 0; i < iterations; ++i) co_await aio::sleep(0);
  task.cancel();
}

// readinto(): the bytes land in the caller's buffer, the position moves, fewer only at the
// end, 0 there; read_at_into leaves the position alone.
AIO_TEST(FsReadInto, FillsTheCallersBufferAndMovesThePosition) {
  TempDir dir;
  put(dir / "f", "0123456789");
  fs::File f = co_await fs::open(dir / "f");
  char buf[4];
  std::span<char> four(buf, 4);
  EXPECT_EQ(co_await f.read_into(four), 4u);
  EXPECT_EQ(std::string_view(buf, 4), "0123");
  EXPECT_EQ(f.tell(), 4u);
  EXPECT_EQ(co_await f.read_into(four), 4u);
  EXPECT_EQ(std::string_view(buf, 4), "4567");
  EXPECT_EQ(co_await f.read_into(four), 2u);  // short only at the end
  EXPECT_EQ(std::string_view(buf, 2), "89");
  EXPECT_EQ(co_await f.read_into(four), 0u);  // 0 at the end
  EXPECT_EQ(f.tell(), 10u);
  EXPECT_EQ(co_await f.read_into(std::span<char>()), 0u);
  EXPECT_EQ(co_await f.read_at_into(std::span<char>(buf, 3), 5), 3u);
  EXPECT_EQ(std::string_view(buf, 3), "567");
  EXPECT_EQ(co_await f.read_at_into(four, 8), 2u);
  EXPECT_EQ(co_await f.read_at_into(four, 10), 0u);
  EXPECT_EQ(co_await f.read_at_into(four, 1000), 0u);
  EXPECT_EQ(f.tell(), 10u);

  // A file larger than the buffer, read block by block, comes back whole.
  const std::string big = pattern_bytes(3 * 1024 * 1024 + 5);
  put(dir / "big", big);
  fs::File g = co_await fs::open(dir / "big");
  std::vector<char> block(1024 * 1024);
  std::string back;
  while (std::size_t n = co_await g.read_into(block)) back.append(block.data(), n);
  EXPECT_EQ(back.size(), big.size());
  EXPECT_TRUE(back == big);
  EXPECT_EQ(g.tell(), big.size());
  // One call reads all it is asked for (short system calls are retried).
  std::vector<char> whole(big.size() + 10);
  EXPECT_EQ(co_await g.read_at_into(whole, 0), big.size());
  EXPECT_TRUE(std::string_view(whole.data(), big.size()) == big);
}

// Modes and closed files: UsageError, as read(); a pipe has no offsets (ESPIPE).
AIO_TEST(FsReadInto, RefusesWhatReadRefuses) {
  TempDir dir;
  char buf[8];
  fs::File w = co_await fs::open(dir / "f", "w");
  std::exception_ptr e = co_await error_of(w.read_into(buf));
  EXPECT_TRUE(holds<aio::UsageError>(e)) << what_of(e);
  EXPECT_NE(what_of(e).find("read_into"), std::string::npos) << what_of(e);
  co_await w.close();
  e = co_await error_of(w.read_into(buf));
  EXPECT_TRUE(holds<aio::UsageError>(e)) << what_of(e);
  fs::File none;
  e = co_await error_of(none.read_at_into(buf, 0));
  EXPECT_TRUE(holds<aio::UsageError>(e)) << what_of(e);

  fs::File r, writer;
  co_await open_fifo(dir / "fifo", r, writer);
  e = co_await error_of(r.read_at_into(buf, 0));
  EXPECT_EQ(errno_of(e), ESPIPE) << what_of(e);
}

// A pipe's read_into reads as read() does (until the buffer is full or the writer closes).
AIO_TEST(FsReadInto, PipeReadsAsReadDoes) {
  TempDir dir;
  fs::File r, writer;
  co_await open_fifo(dir / "fifo", r, writer);
  co_await writer.write("hello world");
  co_await writer.close();
  char buf[8];
  EXPECT_EQ(co_await r.read_into(buf), 8u);
  EXPECT_EQ(std::string_view(buf, 8), "hello wo");
  EXPECT_EQ(co_await r.read_into(buf), 3u);
  EXPECT_EQ(std::string_view(buf, 3), "rld");
  EXPECT_EQ(co_await r.read_into(buf), 0u);
}

// Cancelled while its job waits for a pool thread: unlike read(), the await does not end
// while the job may still write into the caller's buffer; once the job has stopped (here
// before its first system call) it throws CancelledError and consumes nothing.
AIO_TEST(FsReadInto, CancelledWaitsUntilTheThreadStopsWritingIntoTheBuffer) {
  if (aio::get_running_loop().backend_name() == "io_uring")
    AIO_SKIP_TEST("regular files go through the ring on io_uring (the next test covers it)");
  TempDir dir;
  put(dir / "f", "0123456789");
  fs::File f = co_await fs::open(dir / "f");
  EXPECT_EQ(co_await f.read(4), "0123");
  HeldPool pool;
  std::string buf(3, 'x');
  aio::Task<std::size_t> reader = aio::create_task(read_into_span(f, buf));
  co_await run_briefly();  // it has the turn; its job waits behind the blocker
  reader.cancel();
  co_await run_briefly();
  EXPECT_FALSE(reader.done());  // its job has not run yet: the buffer is still lent to it
  reader.cancel();              // a second cancel changes nothing
  co_await run_briefly();
  EXPECT_FALSE(reader.done());
  co_await pool.release();
  std::exception_ptr e = co_await error_of(reader);
  EXPECT_TRUE(holds<aio::CancelledError>(e)) << what_of(e);
  EXPECT_EQ(buf, "xxx");  // the job saw the stop before its first pread
  EXPECT_EQ(f.tell(), 4u);
  EXPECT_EQ(co_await f.read(3), "456");
}

// Cancelled at every point of its first step, on every backend (the ring, the pool, the
// test backend's delayed completions): once the await has ended, nothing writes into the
// buffer any more, and the File is where the outcome says. The file's pages are dropped
// from the page cache first, so that the read waits for the disk (on the ring too).
AIO_TEST(FsReadInto, NothingWritesIntoTheBufferAfterTheAwaitEnds) {
  TempDir dir;
  const std::string big = pattern_bytes(4 * 1024 * 1024);
  put(dir / "f", big);
  fs::File f = co_await fs::open(dir / "f");
  const std::size_t block = 1024 * 1024;
  for (int delay = 0; delay < 6; ++delay) {
    drop_from_page_cache(dir / "f");
    std::string buf(block, 'x');
    aio::Task<std::size_t> reader = aio::create_task(read_into_span(f, buf));
    aio::Task<void> canceller = aio::create_task(cancel_after(reader, delay));
    std::exception_ptr e = co_await error_of(reader);
    co_await canceller;
    const std::string seen = buf;
    for (int i = 0; i < 5; ++i) co_await aio::sleep(0.002);  // a late write would land now
    EXPECT_TRUE(buf == seen) << "the buffer changed after the await ended (delay " << delay << ")";
    if (e) {
      EXPECT_TRUE(holds<aio::CancelledError>(e)) << what_of(e);
      EXPECT_EQ(f.tell(), 0u);
    } else {
      EXPECT_EQ(f.tell(), block);
      EXPECT_TRUE(buf == big.substr(0, block));
    }
    const std::uint64_t at = f.tell();
    EXPECT_EQ(co_await f.read(8), big.substr(at, 8));
    co_await f.seek(0);
  }
}

// Where the loop runs on io_uring, reads, writes and fsync of regular files go through the
// ring: they complete while every thread of the pool is busy.
AIO_TEST(FsRing, FileIoDoesNotWaitForThePoolOnIoUring) {
  const std::string_view backend = aio::get_running_loop().backend_name();
  if (backend != "io_uring") AIO_SKIP_TEST("files go through the thread pool on this backend (io_uring only)");
  TempDir dir;
  const std::string big = pattern_bytes(3 * 1024 * 1024 + 5);
  fs::File f = co_await fs::open(dir / "f", "w+");  // (open itself is a pool job)
  HeldPool pool;
  EXPECT_EQ(co_await aio::wait_for(f.write(big), 10), big.size());
  co_await aio::wait_for(f.sync(), 10);
  EXPECT_EQ(co_await aio::wait_for(f.write_at("XY", 1), 10), 2u);
  co_await f.seek(0);
  const std::string back = co_await aio::wait_for(f.read(), 10);
  EXPECT_EQ(back.size(), big.size());
  EXPECT_TRUE(back.substr(3) == big.substr(3));
  EXPECT_EQ(back.substr(0, 3), big.substr(0, 1) + "XY");
  EXPECT_EQ(co_await aio::wait_for(f.read_at(4, big.size() - 4), 10), big.substr(big.size() - 4));
  EXPECT_EQ(co_await aio::wait_for(f.read(10), 10), "");  // at the end
  co_await pool.release();
}

// Appending through the ring: every write lands at the end, and the position follows it.
AIO_TEST(FsRing, AppendModeWritesLandAtTheEnd) {
  TempDir dir;
  put(dir / "log", "start\n");
  fs::File f = co_await fs::open(dir / "log", "a+");
  EXPECT_EQ(f.tell(), 6u);
  co_await f.seek(0);
  co_await f.write("one\n");
  EXPECT_EQ(f.tell(), 10u);
  co_await f.write("two\n");
  EXPECT_EQ(f.tell(), 14u);
  co_await f.close();
  EXPECT_EQ(slurp(dir / "log"), "start\none\ntwo\n");
}

// A read or write cancelled while its system call is with the kernel (or queued for it):
// the await ends at once, and the File accounts for what the call really did before the
// next operation starts — on every backend, whatever the order of the cancel and the
// completion.
AIO_TEST(FsRing, CancelledReadsConsumeNothingAndCancelledWritesCount) {
  TempDir dir;
  const std::string big = pattern_bytes(4 * 1024 * 1024);
  put(dir / "f", big);
  fs::File f = co_await fs::open(dir / "f", "r+");
  for (int i = 0; i < 4; ++i) {
    aio::Task<std::string> reader = aio::create_task(read_n(f, 1024 * 1024));
    aio::get_running_loop().call_soon([&reader] { reader.cancel(); });  // after its first step
    std::exception_ptr e = co_await error_of(reader);
    if (e) {
      EXPECT_TRUE(holds<aio::CancelledError>(e)) << what_of(e);
    }
    const std::uint64_t at = f.tell();
    EXPECT_EQ(at, e ? 0u : 1024u * 1024u);
    const std::string next = co_await f.read(8);
    EXPECT_EQ(next, big.substr(at, 8));
    co_await f.seek(0);
  }
  aio::Task<void> writer = aio::create_task(write_data(f, std::string(1000, 'w')));
  aio::get_running_loop().call_soon([&writer] { writer.cancel(); });
  co_await error_of(writer);
  aio::Task<void> next = aio::create_task(write_data(f, "after"));
  co_await next;  // runs once the cancelled write is done, after it
  EXPECT_EQ(f.tell(), 1005u);
  EXPECT_EQ(co_await f.read_at(1006, 0), std::string(1000, 'w') + "after" + big.substr(1005, 1));
}

// aio::run's main returns while another task is in the middle of a read: aio::run cancels
// that task (the await ends at once; the read's system call goes on) and closes the loop,
// which completes whatever is still in flight. Nothing leaks: ASan checks the job's
// memory, the count the descriptors.
// (read_into: the reads go into a buffer in the task's own frame, which goes away only after
// the read has stopped writing into it.)
aio::Coro<void> read_forever(std::filesystem::path p, aio::Event* started, bool into) {
  fs::File f = co_await fs::open(p);
  std::vector<char> buf(1024 * 1024);
  for (bool first = true;; first = false) {
    if (into)
      co_await f.read_at_into(buf, 0);
    else
      co_await f.read_at(buf.size(), 0);
    if (first) started->set();  // (its last use: the Event's owner may return once it is set)
  }
}

aio::Coro<void> leave_a_read_running(std::filesystem::path p, bool into) {
  aio::Event started;
  aio::Task<void> reading = aio::create_task(read_forever(p, &started, into));
  co_await started.wait();
}

void run_returns_with_a_read_in_flight(bool into) {
  TempDir dir;
  put(dir / "f", pattern_bytes(8 * 1024 * 1024));
  const int fds_before = aio::testing::count_open_fds();
  for (int i = 0; i < 5; ++i) aio::run(leave_a_read_running(dir / "f", into));
  EXPECT_EQ(aio::testing::count_open_fds(), fds_before);
}

TEST(FsRing, RunReturnsWithAFileReadInFlight) { run_returns_with_a_read_in_flight(false); }
TEST(FsReadInto, RunReturnsWithAReadIntoInFlight) { run_returns_with_a_read_in_flight(true); }

}  // namespace
