// Debug mode — the diagnostics asyncio's debug mode gives (see the asyncio docs,
// "Developing with asyncio", and test_tasks.py / test_base_events.py cases such as
// test_task_exception_never_retrieved... / test_log_slow_callbacks):
// coroutines never awaited, task exceptions never retrieved, slow callbacks and steps.
//
// Skipped (Python-only): the warnings module (RuntimeWarning), source tracebacks of
// where a coroutine or task was created (set_coroutine_origin_tracking_depth), GC-driven
// reporting (aio reports when the last reference goes), and PYTHONASYNCIODEBUG handling of
// the threadsafe-call checks (aio never allows cross-thread loop calls besides
// call_soon_threadsafe).
#include <gtest/gtest.h>

#include <aio/aio.hpp>
#include <aio/testing.hpp>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace aio_test;

// External linkage on purpose: gives the "never awaited" report its best chance to find a
// symbol name (names of functions in an executable resolve only if it exports them).
aio::Coro<int> aio_debug_test_forgotten_coroutine(int x);
aio::Coro<int> aio_debug_test_forgotten_coroutine(int x) {
  co_await aio::sleep(0);
  co_return x;
}

namespace {

using namespace std::chrono_literals;

// --- coroutine never awaited ------------------------------------------------------------------

aio::Coro<void> drop_a_coroutine() {
  { aio::Coro<int> forgotten = aio_debug_test_forgotten_coroutine(1); }  // destroyed without ever running
  co_return;
}

aio::Coro<void> use_coroutines_properly() {
  int v = co_await aio_debug_test_forgotten_coroutine(2);  // awaited
  EXPECT_EQ(v, 2);
  aio::Task<int> t = aio::create_task(aio_debug_test_forgotten_coroutine(3));  // handed to a task
  int w = co_await t;
  EXPECT_EQ(w, 3);
  aio::Coro<int> moved_from = aio_debug_test_forgotten_coroutine(4);
  aio::Coro<int> target = std::move(moved_from);
  int x = co_await target;  // the moved-from one is empty: nothing to report
  EXPECT_EQ(x, 4);
}

TEST(DebugNeverAwaited, LoggedInDebugMode) {
  LogCapture log;
  {
    aio::EventLoop loop;
    loop.set_debug(true);
    loop.run_until_complete(drop_a_coroutine());
  }
  std::vector<std::string> reports = log.matching("was never awaited");
  ASSERT_EQ(reports.size(), 1u) << ::testing::PrintToString(log.lines);
  const std::string& line = reports[0];
  EXPECT_EQ(line.rfind("coroutine '", 0), 0u) << line;
  // The name comes from dladdr(): it resolves only for symbols the binary exports.
  bool name_resolved = line.find("<coroutine at") == std::string::npos;
  RecordProperty("never_awaited_name_resolved", name_resolved ? "yes" : "no");
  std::printf("[ info     ] never-awaited report: %s (name %s)\n", line.c_str(),
              name_resolved ? "resolved" : "not resolved");
  if (name_resolved) {
    EXPECT_NE(line.find("aio_debug_test_forgotten_coroutine"), std::string::npos) << line;
  }
}

TEST(DebugNeverAwaited, NotLoggedForAwaitedOrScheduledCoroutines) {
  LogCapture log;
  {
    aio::EventLoop loop;
    loop.set_debug(true);
    loop.run_until_complete(use_coroutines_properly());
  }
  EXPECT_TRUE(log.matching("never awaited").empty()) << ::testing::PrintToString(log.lines);
}

// Always on, as asyncio's RuntimeWarning is: a forgotten co_await is the usual cause.
TEST(DebugNeverAwaited, LoggedWhenDebugIsOffToo) {
  ScopedEnv no_env("AIO_DEBUG", nullptr);
  LogCapture log;
  {
    aio::EventLoop loop;
    ASSERT_FALSE(loop.get_debug());
    loop.run_until_complete(drop_a_coroutine());
  }
  EXPECT_EQ(log.matching("was never awaited").size(), 1u) << ::testing::PrintToString(log.lines);
}

TEST(DebugNeverAwaited, LoggedOutsideAnyLoop) {
  LogCapture log;
  { aio::Coro<int> forgotten = aio_debug_test_forgotten_coroutine(5); }
  EXPECT_EQ(log.matching("was never awaited").size(), 1u) << ::testing::PrintToString(log.lines);
}

TEST(DebugNeverAwaited, AioRunWithAndWithoutDebug) {
  ScopedEnv no_env("AIO_DEBUG", nullptr);
  LogCapture log;
  aio::run(drop_a_coroutine(), aio::RunOptions{.debug = true});
  EXPECT_EQ(log.matching("was never awaited").size(), 1u) << ::testing::PrintToString(log.lines);
  aio::run(drop_a_coroutine());
  EXPECT_EQ(log.matching("was never awaited").size(), 2u) << ::testing::PrintToString(log.lines);
}

// --- task exception never retrieved --------------------------------------------------------

aio::Coro<void> fail_now() {
  throw std::runtime_error("nobody looks at me");
  co_return;
}

AIO_TEST(DebugNeverRetrieved, ReportedWithTheTaskName) {
  HandlerLog h;
  h.install();
  {
    aio::Task<void> t = aio::create_task(fail_now(), "doomed-task");
  }  // every handle dropped while it is still pending: the loop keeps it alive
  for (int i = 0; i < 3; ++i) co_await aio::sleep(0);
  AIO_ASSERT_TRUE(h.contexts.size() == 1u);
  const aio::ExceptionContext& c = h.contexts[0];
  EXPECT_NE(c.message.find("never retrieved"), std::string::npos) << c.message;
  EXPECT_EQ(c.task_name, "doomed-task");
  EXPECT_NE((c.message + " " + c.task_name).find("doomed-task"), std::string::npos);
  AIO_ASSERT_TRUE(c.exception != nullptr);
  EXPECT_THROW(std::rethrow_exception(c.exception), std::runtime_error);
}

AIO_TEST(DebugNeverRetrieved, ReportedWhenTheLastHandleGoes) {
  HandlerLog h;
  h.install();
  aio::Task<void> t = aio::create_task(fail_now(), "kept-task");
  for (int i = 0; i < 3; ++i) co_await aio::sleep(0);
  EXPECT_TRUE(t.done());
  EXPECT_TRUE(h.contexts.empty());  // someone may still look at it
  t = aio::Task<void>();            // ... now nobody can
  AIO_ASSERT_TRUE(h.contexts.size() == 1u);
  EXPECT_EQ(h.contexts[0].task_name, "kept-task");
}

aio::Coro<void> fail_later() {
  co_await aio::sleep(0);
  throw std::runtime_error("awaited");
}

AIO_TEST(DebugNeverRetrieved, NotReportedOnceRetrieved) {
  HandlerLog h;
  h.install();
  {
    aio::Task<void> awaited = aio::create_task(fail_later(), "awaited");
    bool threw = false;
    try {
      co_await awaited;
    } catch (const std::runtime_error&) {
      threw = true;
    }
    EXPECT_TRUE(threw);

    aio::Task<void> inspected = aio::create_task(fail_now(), "inspected");
    for (int i = 0; i < 3; ++i) co_await aio::sleep(0);
    EXPECT_TRUE(inspected.exception() != nullptr);

    aio::Task<void> asked = aio::create_task(fail_now(), "asked");
    for (int i = 0; i < 3; ++i) co_await aio::sleep(0);
    EXPECT_THROW(asked.result(), std::runtime_error);

    aio::Task<void> cancelled = aio::create_task(fail_later(), "cancelled");
    cancelled.cancel();
    for (int i = 0; i < 3; ++i) co_await aio::sleep(0);
    EXPECT_TRUE(cancelled.cancelled());
  }
  co_await aio::sleep(0);
  EXPECT_TRUE(h.contexts.empty()) << h.contexts.size()
                                  << " report(s), first: " << (h.contexts.empty() ? "" : h.contexts[0].message);
}

// --- slow callbacks and steps ------------------------------------------------------------------

aio::Coro<void> sluggish_step() {
  co_await aio::sleep(0);
  std::this_thread::sleep_for(50ms);  // blocks the loop: a slow step
  co_await aio::sleep(0);
}

void run_slow_things(aio::EventLoop& loop) {
  loop.slow_callback_duration = 0.01;
  loop.call_soon([] { std::this_thread::sleep_for(50ms); });  // a slow plain callback
  loop.run_until_complete(loop.create_task(sluggish_step(), "sluggish"));
}

TEST(DebugSlowCallback, SlowTaskStepIsLoggedWithTheTaskName) {
  LogCapture log;
  aio::EventLoop loop;
  loop.set_debug(true);
  run_slow_things(loop);
  // The slow plain callback and the slow step of "sluggish" (at least; a loaded machine
  // may make another step slow too).
  std::vector<std::string> took = log.matching("took");
  EXPECT_GE(took.size(), 2u) << ::testing::PrintToString(log.lines);
  std::vector<std::string> task_lines = log.matching("sluggish");
  ASSERT_GE(task_lines.size(), 1u) << ::testing::PrintToString(log.lines);
  for (const std::string& l : task_lines) {
    EXPECT_NE(l.find("took"), std::string::npos) << l;
    EXPECT_NE(l.find("seconds"), std::string::npos) << l;
  }
  EXPECT_GT(took.size(), task_lines.size())
      << "the slow plain callback was not logged: " << ::testing::PrintToString(log.lines);
}

TEST(DebugSlowCallback, NotLoggedWhenDebugIsOff) {
  ScopedEnv no_env("AIO_DEBUG", nullptr);
  LogCapture log;
  aio::EventLoop loop;
  ASSERT_FALSE(loop.get_debug());
  run_slow_things(loop);
  EXPECT_TRUE(log.matching("took").empty()) << ::testing::PrintToString(log.lines);
}

aio::Coro<void> quick_steps() {
  for (int i = 0; i < 10; ++i) co_await aio::sleep(0);
}

TEST(DebugSlowCallback, FastCallbacksAreNotLogged) {
  LogCapture log;
  aio::EventLoop loop;
  loop.set_debug(true);
  loop.slow_callback_duration = 1.0;  // wide margin: nothing here takes a second
  loop.call_soon([] {});
  loop.run_until_complete(loop.create_task(quick_steps(), "quick"));
  EXPECT_TRUE(log.matching("took").empty()) << ::testing::PrintToString(log.lines);
}

}  // namespace
