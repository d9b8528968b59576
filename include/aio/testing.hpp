// <aio/testing.hpp> — AIO_TEST: GoogleTest tests whose body is a coroutine
// (pytest-asyncio's `@pytest.mark.asyncio`).
#pragma once

#include <dirent.h>
#include <gtest/gtest.h>

#include <exception>
#include <string>
#include <vector>

#include "aio/aio.hpp"

namespace aio::testing {

/// The number of open file descriptors of this process, not counting the two that the
/// calling thread's kept io_uring ring holds (no leak: see aio::release_idle_ring).
inline int count_open_fds() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
    --n;  // the directory stream itself
  }
  return n - idle_ring_descriptors();
}

/// Runs a test body on a fresh loop in debug mode. The test fails if the body throws,
/// if it leaves tasks running, if it leaks file descriptors, or if the loop reports an
/// error nobody received (a callback that threw, a task exception never retrieved).
/// A test that expects such reports installs its own handler with
/// get_running_loop().set_exception_handler(). `options` configure the loop (AIO_TEST uses
/// the defaults, AIO_TEST_VIRTUAL_TIME sets virtual_time).
inline void run_test(Coro<void> body, LoopOptions options = {}) {
  const int fds_before = count_open_fds();
  std::vector<std::string> loop_errors;
  {
    EventLoop loop(options);
    loop.set_debug(true);
    loop.set_exception_handler([&](EventLoop&, const ExceptionContext& ctx) {
      std::string line = ctx.message;
      if (!ctx.task_name.empty()) line += " [task '" + ctx.task_name + "']";
      if (ctx.exception) line += ": " + describe(ctx.exception);
      loop_errors.push_back(line);
    });
    Task<void> main = loop.create_task(std::move(body), "test body");
    std::exception_ptr error;
    try {
      loop.run_until_complete(main);
    } catch (...) {
      error = std::current_exception();
    }
    std::string leftovers;
    detail::LoopAccess::for_each_task(loop, [&](detail::TaskBase* t) {
      if (!t->done()) leftovers += (leftovers.empty() ? "" : ", ") + t->describe();
    });
    if (!leftovers.empty()) ADD_FAILURE() << "the test left tasks running: " << leftovers;
    detail::shutdown_loop(loop);
    if (error) ADD_FAILURE() << "the test body threw " << describe(error);
  }
  for (const std::string& e : loop_errors) ADD_FAILURE() << "unhandled error reported by the loop: " << e;
  const int fds_after = count_open_fds();
  if (fds_after > fds_before) ADD_FAILURE() << "the test leaked " << (fds_after - fds_before) << " file descriptor(s)";
}

}  // namespace aio::testing

/// Defines a GoogleTest test whose body is a coroutine run on a fresh event loop:
///
///     AIO_TEST(Sleep, ReturnsAfterDelay) {
///       co_await aio::sleep(0.01);
///       EXPECT_TRUE(true);
///     }
///
/// The test fails if the body throws or leaves tasks or file descriptors behind.
#define AIO_TEST(Suite, Name) AIO_TEST_ON_LOOP_(Suite, Name, ::aio::LoopOptions{})

/// AIO_TEST on a loop with virtual time (LoopOptions::virtual_time): where the loop would
/// block and nothing is in flight, its clock jumps to the next timer, so a test of a
/// 30-second timeout takes microseconds and sees loop.time() advance by exactly 30:
///
///     AIO_TEST_VIRTUAL_TIME(Retry, GivesUpAfterAMinute) {
///       const double start = aio::get_running_loop().time();
///       co_await aio::sleep(60);
///       EXPECT_EQ(aio::get_running_loop().time() - start, 60.0);
///     }
#define AIO_TEST_VIRTUAL_TIME(Suite, Name) AIO_TEST_ON_LOOP_(Suite, Name, ::aio::LoopOptions{.virtual_time = true})

#define AIO_TEST_ON_LOOP_(Suite, Name, loop_options)                                              \
  static ::aio::Coro<void> aio_test_body_##Suite##_##Name();                                      \
  TEST(Suite, Name) { ::aio::testing::run_test(aio_test_body_##Suite##_##Name(), loop_options); } \
  static ::aio::Coro<void> aio_test_body_##Suite##_##Name()

// GoogleTest's ASSERT_* macros `return` on failure, which a coroutine cannot do. These
// variants stop an AIO_TEST body (or any Coro<void>) with `co_return` instead.
#define AIO_ASSERT_(assertion)                         \
  do {                                                 \
    [&]() { assertion; }();                            \
    if (::testing::Test::HasFatalFailure()) co_return; \
  } while (0)
#define AIO_ASSERT_TRUE(c) AIO_ASSERT_(ASSERT_TRUE(c))
#define AIO_ASSERT_FALSE(c) AIO_ASSERT_(ASSERT_FALSE(c))
#define AIO_ASSERT_EQ(a, b) AIO_ASSERT_(ASSERT_EQ(a, b))
#define AIO_ASSERT_NE(a, b) AIO_ASSERT_(ASSERT_NE(a, b))
#define AIO_ASSERT_LT(a, b) AIO_ASSERT_(ASSERT_LT(a, b))
#define AIO_ASSERT_LE(a, b) AIO_ASSERT_(ASSERT_LE(a, b))
#define AIO_ASSERT_GT(a, b) AIO_ASSERT_(ASSERT_GT(a, b))
#define AIO_ASSERT_GE(a, b) AIO_ASSERT_(ASSERT_GE(a, b))
// AIO_ASSERT_TRUE(co_await x) cannot be written (the assertion runs in a lambda, where
// co_await is not allowed): this awaits first, then asserts.
//     AIO_ASSERT_AWAITS_TRUE(server_is_ready());
#define AIO_ASSERT_AWAITS_TRUE(...)                \
  do {                                             \
    const bool awaited_ok_ = co_await __VA_ARGS__; \
    AIO_ASSERT_TRUE(awaited_ok_);                  \
  } while (0)
