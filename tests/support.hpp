// Helpers shared by the test files: exception types, small coroutines, and scoped captures
// of what the loop reports. (AIO_TEST and the AIO_ASSERT_* macros are in <aio/testing.hpp>.)
#pragma once

#include <gtest/gtest.h>

#include <aio/aio.hpp>
#include <aio/testing.hpp>

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

// Sanitizer builds, for the few tests that cannot run there. AIO_TEST_UNDER_TSAN:
// ThreadSanitizer. AIO_TEST_SANITIZER_ALLOCATOR: ASan or TSan, whose allocator replaces
// malloc (mallinfo2 reports nothing; RSS includes its padding).
#if defined(__SANITIZE_THREAD__)
#define AIO_TEST_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define AIO_TEST_UNDER_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(AIO_TEST_UNDER_TSAN)
#define AIO_TEST_SANITIZER_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AIO_TEST_SANITIZER_ALLOCATOR 1
#endif
#endif

namespace aio_test {

// --- exception types -------------------------------------------------------------------------

// A plain error with a message, thrown by test coroutines.
struct Boom : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Python's ZeroDivisionError ("division by zero").
struct ZeroDivisionError : std::runtime_error {
  ZeroDivisionError() : std::runtime_error("division by zero") {}
};

// --- looking into an exception_ptr -----------------------------------------------------------

// The exception e holds, as an E (nullopt when e is null or holds something else).
template <class E>
std::optional<E> exception_as(const std::exception_ptr& e) {
  if (!e) return std::nullopt;
  try {
    std::rethrow_exception(e);
  } catch (const E& x) {
    return x;
  } catch (...) {
  }
  return std::nullopt;
}

// Whether e holds an E.
template <class E>
bool holds(const std::exception_ptr& e) {
  if (!e) return false;
  try {
    std::rethrow_exception(e);
  } catch (const E&) {
    return true;
  } catch (...) {
  }
  return false;
}

// The message of the exception e holds ("<null>", "CancelledError: ...", or "<unknown>" otherwise).
inline std::string what_of(const std::exception_ptr& e) {
  if (!e) return "<null>";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (const aio::CancelledError& c) {
    return std::string("CancelledError: ") + c.what();
  } catch (...) {
  }
  return "<unknown>";
}

// Awaits `aw` (a Task, a Coro, a Future...) and returns what it threw (null if nothing).
template <class Awaitable>
aio::Coro<std::exception_ptr> error_of(Awaitable aw) {
  std::exception_ptr error;
  try {
    co_await std::move(aw);
  } catch (...) {
    error = std::current_exception();
  }
  co_return error;
}

// --- letting the loop run --------------------------------------------------------------------

// One loop iteration for everything that is ready now (CPython's test_utils.run_briefly).
inline aio::Coro<void> run_briefly() { co_await aio::sleep(0); }

// Lets every ready task run `rounds` times.
inline aio::Coro<void> spin(int rounds = 5) {
  for (int i = 0; i < rounds; ++i) co_await aio::sleep(0);
}

// Yields until `t` is done (bounded, so a library bug cannot hang the test).
inline aio::Coro<void> until_done(aio::TaskRef t, int max_iterations = 10000) {
  for (int i = 0; i < max_iterations && !t.done(); ++i) co_await aio::sleep(0);
}

// --- small coroutines ------------------------------------------------------------------------

// Returns 1 at once.
inline aio::Coro<int> one() { co_return 1; }

// Returns v at once.
inline aio::Coro<int> value(int v) { co_return v; }

// Sleeps `delay` seconds, then returns v.
inline aio::Coro<int> value_after(double delay, int v) {
  co_await aio::sleep(delay);
  co_return v;
}

// Sleeps `delay` seconds.
inline aio::Coro<void> nap(double delay) { co_await aio::sleep(delay); }

// Awaits f and returns its result: a future wrapped in a coroutine.
inline aio::Coro<int> await_future(aio::Future<int> f) { co_return co_await f; }

// Awaits `waiter`, then adds 1 to *proof (shows that the waiter completed normally).
inline aio::Coro<void> wait_then_prove(aio::Future<void> waiter, int* proof) {
  co_await waiter;
  *proof += 1;
}

// Whether v holds x.
template <class T, class U>
bool contains(const std::vector<T>& v, const U& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// --- scoped captures -------------------------------------------------------------------------

// Collects what the running loop's exception handler receives (after install()).
struct HandlerLog {
  std::vector<aio::ExceptionContext> contexts;
  void install() {
    aio::get_running_loop().set_exception_handler(
        [this](aio::EventLoop&, const aio::ExceptionContext& c) { contexts.push_back(c); });
  }
};

// Captures aio's log lines for the scope, then restores the default sink.
struct LogCapture {
  std::vector<std::string> lines;
  LogCapture() {
    aio::set_log_sink([this](std::string_view line) { lines.emplace_back(line); });
  }
  ~LogCapture() { aio::set_log_sink({}); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::vector<std::string> matching(const std::string& needle) const {
    std::vector<std::string> out;
    for (const std::string& l : lines)
      if (l.find(needle) != std::string::npos) out.push_back(l);
    return out;
  }
  bool contains(const std::string& needle) const { return !matching(needle).empty(); }
};

// Sets (or unsets, for nullptr) an environment variable for the scope, then restores it.
// GTEST_SKIP for a coroutine test body (GTEST_SKIP returns; a coroutine must co_return).
#define AIO_SKIP_TEST(message)                                 \
  do {                                                         \
    GTEST_MESSAGE_(message, ::testing::TestPartResult::kSkip); \
    co_return;                                                 \
  } while (0)

// Runs the process out of file descriptors, for real: the table is full, as on a server
// under a connection flood. Construct it before the server starts: it lowers
// RLIMIT_NOFILE to a little above the fds open now (io_uring prepares an accept with the
// limit of the moment it is armed, so the limit must not change under a running server).
// exhaust() then fills the table with dups until EMFILE; release() closes them; the
// destructor does both and restores the limit.
class FdExhaustion {
 public:
  explicit FdExhaustion(int headroom = 64) {
    if (::getrlimit(RLIMIT_NOFILE, &saved_) != 0) throw std::runtime_error("getrlimit failed");
    int highest = 2;
    if (DIR* d = ::opendir("/proc/self/fd")) {
      while (dirent* e = ::readdir(d))
        if (e->d_name[0] != '.') highest = std::max(highest, std::atoi(e->d_name));
      ::closedir(d);
    }
    rlimit lowered = saved_;
    lowered.rlim_cur = std::min<rlim_t>(saved_.rlim_cur, static_cast<rlim_t>(highest + 1 + headroom));
    if (::setrlimit(RLIMIT_NOFILE, &lowered) != 0) throw std::runtime_error("setrlimit failed");
  }
  ~FdExhaustion() {
    release();
    ::setrlimit(RLIMIT_NOFILE, &saved_);
  }
  FdExhaustion(const FdExhaustion&) = delete;
  FdExhaustion& operator=(const FdExhaustion&) = delete;

  void exhaust() {
    for (int fd; (fd = ::dup(0)) >= 0;) held_.push_back(fd);
    if (errno != EMFILE) throw std::runtime_error("dup failed before the fd table was full");
  }
  void release() noexcept {
    for (int fd : held_) ::close(fd);
    held_.clear();
  }

 private:
  rlimit saved_{};
  std::vector<int> held_;
};

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_.c_str(), old_->c_str(), 1);
    else
      ::unsetenv(name_.c_str());
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

}  // namespace aio_test
