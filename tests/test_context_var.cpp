// aio::ContextVar — Python's contextvars as asyncio uses them. Every expectation here was
// checked against Python 3.11: a task starts with a copy of its creator's values; set()
// in a task is invisible to its parent and siblings; an awaited coroutine (or async
// generator) shares its task's context; call_soon and done callbacks run in the context
// current when they were scheduled or added; to_thread runs in a copy of the caller's;
// Token.reset() restores, once, in the context that made it.
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <aio/testing.hpp>

#include "support.hpp"

namespace {

using namespace aio_test;

// Each test uses variables of its own: values a test leaves in the thread's context
// cannot leak into another test.

aio::Coro<std::string> read_after_yield(aio::ContextVar<std::string>& var) {
  co_await aio::sleep(0);
  co_return var.get();
}

AIO_TEST(ContextVar, DefaultsAndMissingValues) {
  static aio::ContextVar<int> with_default(7);
  static aio::ContextVar<int> without_default;
  EXPECT_EQ(with_default.get(), 7);
  EXPECT_EQ(with_default.get(3), 3);  // Python: get(default) wins over the variable's default
  EXPECT_EQ(without_default.get(5), 5);
  EXPECT_THROW((void)without_default.get(), std::out_of_range);  // Python: LookupError
  try {
    (void)without_default.get();
  } catch (const std::out_of_range& e) {
    EXPECT_NE(std::string(e.what()).find("no default"), std::string::npos) << e.what();
  }
  without_default.set(1);
  EXPECT_EQ(without_default.get(), 1);
  EXPECT_EQ(without_default.get(5), 1);
  co_return;
}

AIO_TEST(ContextVar, ASetValueStaysAcrossAwaitsInTheTask) {
  static aio::ContextVar<std::string> var("-");
  var.set("mine");
  std::string after = co_await read_after_yield(var);
  EXPECT_EQ(after, "mine");
  EXPECT_EQ(var.get(), "mine");
}

aio::Coro<std::string> child_sets(aio::ContextVar<std::string>& var, std::string name, std::string* seen_at_start) {
  *seen_at_start = var.get();
  var.set(name);
  co_await aio::sleep(0);  // siblings run and set their own value meanwhile
  co_return var.get();
}

AIO_TEST(ContextVar, ACreatedTaskStartsWithACopyOfItsCreatorsValues) {
  static aio::ContextVar<std::string> var("-");
  var.set("parent");
  std::string seen;
  aio::Task<std::string> child = aio::create_task(child_sets(var, "child", &seen));
  var.set("parent, later");  // after creation: the child's copy was taken already
  EXPECT_EQ(co_await child, "child");
  EXPECT_EQ(seen, "parent");
  EXPECT_EQ(var.get(), "parent, later");  // the child's set() stayed in the child
}

AIO_TEST(ContextVar, GatherChildrenInheritAndStayIsolatedFromEachOther) {
  static aio::ContextVar<std::string> var("-");
  var.set("main");
  std::string seen_a, seen_b;
  auto [a, b] = co_await aio::gather(child_sets(var, "a", &seen_a), child_sets(var, "b", &seen_b));
  EXPECT_EQ(a, "a");
  EXPECT_EQ(b, "b");
  EXPECT_EQ(seen_a, "main");
  EXPECT_EQ(seen_b, "main");
  EXPECT_EQ(var.get(), "main");
}

AIO_TEST(ContextVar, TaskGroupChildrenInherit) {
  static aio::ContextVar<std::string> var("-");
  var.set("group owner");
  std::string seen1, seen2;
  aio::Task<std::string> t1, t2;
  auto body = [&](aio::TaskGroup& tg) -> aio::Coro<void> {
    t1 = tg.create_task(child_sets(var, "one", &seen1));
    var.set("owner, later");  // the body runs in the owner's task: the next child sees this
    t2 = tg.create_task(child_sets(var, "two", &seen2));
    co_return;
  };
  co_await aio::task_group(body);
  EXPECT_EQ(seen1, "group owner");
  EXPECT_EQ(seen2, "owner, later");
  EXPECT_EQ(t1.result(), "one");
  EXPECT_EQ(t2.result(), "two");
  EXPECT_EQ(var.get(), "owner, later");
}

aio::Coro<void> set_in_awaited_coro(aio::ContextVar<int>& var) {
  var.set(2);
  co_await aio::sleep(0);
}

aio::AsyncGenerator<int> set_in_generator(aio::ContextVar<int>& var) {
  co_yield var.get();
  var.set(3);
  co_yield var.get();
}

AIO_TEST(ContextVar, AnAwaitedCoroAndAGeneratorShareTheirTasksContext) {
  // Python: `await coro()` and an async generator run in the awaiting task's context.
  static aio::ContextVar<int> var(0);
  var.set(1);
  co_await set_in_awaited_coro(var);
  EXPECT_EQ(var.get(), 2);
  aio::AsyncGenerator<int> gen = set_in_generator(var);
  std::optional<int> first = co_await gen.next();
  EXPECT_EQ(first, std::optional<int>(2));
  std::optional<int> second = co_await gen.next();
  EXPECT_EQ(second, std::optional<int>(3));
  EXPECT_EQ(var.get(), 3);
}

AIO_TEST(ContextVar, ADeepChainOfTasksCopiesOnlyWhatIsSet) {
  // Grandchildren see the grandparent's values through an unchanged child; two
  // variables are independent of each other.
  static aio::ContextVar<int> depth(0);
  static aio::ContextVar<std::string> tag("-");
  tag.set("root");
  auto grandchild = []() -> aio::Coro<std::string> { co_return tag.get() + "/" + std::to_string(depth.get()); };
  auto child = [&grandchild]() -> aio::Coro<std::string> {
    depth.set(1);
    aio::Task<std::string> t = aio::create_task(grandchild());
    std::string r = co_await t;
    co_return r;
  };
  aio::Task<std::string> c = aio::create_task(child());
  EXPECT_EQ(co_await c, "root/1");
  EXPECT_EQ(depth.get(), 0);
}

AIO_TEST(ContextVar, CallSoonRunsInTheContextCurrentWhenScheduled) {
  static aio::ContextVar<std::string> var("-");
  aio::EventLoop& loop = aio::get_running_loop();
  var.set("at call_soon");
  std::vector<std::string> seen;
  aio::Future<void> ran = loop.create_future<void>();
  loop.call_soon([&] {
    seen.push_back(var.get());
    var.set("set in the callback");  // stays in the callback's copy
    seen.push_back(var.get());
    ran.set_result();
  });
  loop.call_later(0.0, [&] { seen.push_back(var.get()); });
  var.set("after call_soon");
  co_await ran;
  co_await aio::sleep(0.001);  // the call_later callback too
  EXPECT_EQ(seen, (std::vector<std::string>{"at call_soon", "set in the callback", "at call_soon"}));
  EXPECT_EQ(var.get(), "after call_soon");
}

aio::Coro<void> store_value(aio::ContextVar<std::string>& var, std::string* out) {
  *out = var.get();
  co_return;
}

AIO_TEST(ContextVar, ATaskCreatedInACallbackInheritsTheCallbacksContext) {
  static aio::ContextVar<std::string> var("-");
  aio::EventLoop& loop = aio::get_running_loop();
  var.set("scheduler");
  std::string seen;
  aio::Future<aio::TaskRef> created = loop.create_future<aio::TaskRef>();
  loop.call_soon([&] { created.set_result(aio::TaskRef(aio::create_task(store_value(var, &seen)))); });
  var.set("changed");
  aio::TaskRef t = co_await created;
  co_await until_done(t);
  EXPECT_EQ(seen, "scheduler");
}

AIO_TEST(ContextVar, DoneCallbacksRunInTheContextOfAddDoneCallback) {
  static aio::ContextVar<std::string> var("-");
  var.set("when added");
  aio::Future<int> f = aio::get_running_loop().create_future<int>();
  std::string seen;
  f.add_done_callback([&](aio::Future<int>&) { seen = var.get(); });
  var.set("when completed");
  auto complete = [&f]() -> aio::Coro<void> {
    var.set("in the completing task");
    f.set_result(1);
    co_return;
  };
  co_await aio::create_task(complete());
  co_await run_briefly();
  EXPECT_EQ(seen, "when added");
}

AIO_TEST(ContextVar, ToThreadRunsInACopyOfTheCallersContext) {
  static aio::ContextVar<std::string> var("-");
  var.set("caller");
  std::string in_thread = co_await aio::to_thread([] { return var.get(); });
  EXPECT_EQ(in_thread, "caller");
  std::string after_set = co_await aio::to_thread([] {
    var.set("thread");
    return var.get();
  });
  EXPECT_EQ(after_set, "thread");
  EXPECT_EQ(var.get(), "caller");
  // And nothing stays on the pool thread for the next job.
  var.set("caller again");
  std::string next_job = co_await aio::to_thread([] { return var.get(); });
  EXPECT_EQ(next_job, "caller again");
}

AIO_TEST(ContextVar, RunCoroutineThreadsafeCarriesTheCallingThreadsContext) {
  // asyncio: call_soon_threadsafe copies the calling thread's context, so the task that
  // run_coroutine_threadsafe creates starts from it.
  static aio::ContextVar<std::string> var("-");
  aio::EventLoop& loop = aio::get_running_loop();
  auto read = []() -> aio::Coro<std::string> { co_return var.get(); };
  std::string seen = co_await aio::to_thread([&loop, &read] {
    var.set("other thread");
    return aio::run_coroutine_threadsafe(read(), loop).get();
  });
  EXPECT_EQ(seen, "other thread");
  EXPECT_EQ(var.get(), "-");
}

AIO_TEST(ContextVar, TokenResetRestoresThePreviousValueOnce) {
  static aio::ContextVar<std::string> var("-");
  static aio::ContextVar<int> unset;
  var.set("first");
  aio::ContextVar<std::string>::Token token = var.set("second");
  EXPECT_EQ(token.old_value(), std::optional<std::string>("first"));
  var.reset(token);
  EXPECT_EQ(var.get(), "first");
  EXPECT_TRUE(token.used());
  EXPECT_THROW(var.reset(token), aio::UsageError);  // Python: RuntimeError, used once
  // A variable that had no value is unset again.
  aio::ContextVar<int>::Token t2 = unset.set(1);
  EXPECT_FALSE(t2.old_value().has_value());  // Python: Token.MISSING
  unset.reset(t2);
  EXPECT_THROW((void)unset.get(), std::out_of_range);
  co_return;
}

AIO_TEST(ContextVar, ATokenOfAnotherVariableOrContextIsRefused) {
  static aio::ContextVar<int> a(0);
  static aio::ContextVar<int> b(0);
  aio::ContextVar<int>::Token ta = a.set(1);
  EXPECT_THROW(b.reset(ta), aio::UsageError);  // Python: ValueError, another variable
  auto other_task = [&ta]() -> aio::Coro<bool> {
    try {
      a.reset(ta);
    } catch (const aio::UsageError&) {
      co_return true;  // Python: ValueError, created in a different Context
    }
    co_return false;
  };
  EXPECT_TRUE(co_await aio::create_task(other_task()));
  EXPECT_EQ(a.get(), 1);
  a.reset(ta);  // still good where it was made
  EXPECT_EQ(a.get(), 0);
  aio::ContextVar<int>::Token moved = std::move(ta);
  EXPECT_THROW(a.reset(ta), aio::UsageError);  // NOLINT(bugprone-use-after-move): empty
}

AIO_TEST(ContextVar, ValuesAreSharedNotCopiedWhenTasksAreCreated) {
  static aio::ContextVar<std::shared_ptr<int>> var;
  auto value = std::make_shared<int>(5);
  var.set(value);
  const long uses_before = value.use_count();
  std::vector<aio::Task<int>> tasks;
  auto reader = []() -> aio::Coro<int> { co_return *var.get(); };
  for (int i = 0; i < 10; ++i) tasks.push_back(aio::create_task(reader()));
  EXPECT_EQ(value.use_count(), uses_before);  // ten tasks, one stored value
  for (auto& t : tasks) EXPECT_EQ(co_await t, 5);
}

// --- outside any task ---------------------------------------------------------------------------

aio::ContextVar<std::string> outer_var("-");

aio::Coro<std::string> main_sees_and_sets() {
  std::string seen = outer_var.get();
  outer_var.set("inside run");
  co_return seen;
}

TEST(ContextVarOutsideTasks, ValuesSetBeforeRunReachTheMainTaskAndNotBack) {
  // asyncio.run copies the thread's context for the main task.
  aio::ContextVar<std::string>::Token token = outer_var.set("before run");
  EXPECT_EQ(aio::run(main_sees_and_sets()), "before run");
  EXPECT_EQ(outer_var.get(), "before run");
  outer_var.reset(token);
  EXPECT_EQ(outer_var.get(), "-");
}

TEST(ContextVarOutsideTasks, EachThreadHasItsOwnContext) {
  static aio::ContextVar<int> var(0);
  var.set(1);
  int seen_elsewhere = -1;
  std::thread other([&] { seen_elsewhere = var.get(); });
  other.join();
  EXPECT_EQ(seen_elsewhere, 0);
  EXPECT_EQ(var.get(), 1);
}

}  // namespace
