// aio::capture_call_graph, format_call_graph, format_all_tasks, the dump signal, and the
// await chain in a failed task's never-retrieved report.
#include <signal.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "support.hpp"

namespace {

using aio_test::Boom;

std::vector<std::string> functions(const aio::CallGraph& g) {
  std::vector<std::string> names;
  for (const aio::FrameInfo& f : g.call_stack) names.push_back(f.function);
  return names;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// --- a task parked three coroutines deep --------------------------------------------------

aio::Coro<void> leaf_sleeps(aio::Event& entered) {
  entered.set();
  co_await aio::sleep(3600);
}

aio::Coro<void> middle(aio::Event& entered) { co_await leaf_sleeps(entered); }

aio::Coro<void> outer_task(aio::Event& entered) { co_await middle(entered); }

AIO_TEST(CallGraph, SuspendedTaskShowsItsChainInnermostFirst) {
  aio::Event entered;
  aio::Task<void> t = aio::create_task(outer_task(entered), "deep");
  co_await entered.wait();
  aio::CallGraph g = aio::capture_call_graph(aio::TaskRef(t.state()));
  const std::vector<std::string> chain{"leaf_sleeps", "middle", "outer_task"};
  EXPECT_EQ(functions(g), chain);
  EXPECT_EQ(g.task, "Task 'deep'");
  EXPECT_EQ(g.state, "pending");
  EXPECT_EQ(g.awaiting.rfind("sleep (due in ", 0), 0u) << g.awaiting;
  double left = std::atof(g.awaiting.c_str() + std::string("sleep (due in ").size());
  EXPECT_GT(left, 3500.0) << g.awaiting;
  EXPECT_LE(left, 3600.0) << g.awaiting;
  for (const aio::FrameInfo& f : g.call_stack) {
    EXPECT_TRUE(contains(f.file, "test_call_graph.cpp")) << f.file;
    EXPECT_GT(f.line, 0u);
  }
  std::string text = g.to_string();
  EXPECT_TRUE(contains(text, "* Task 'deep' (pending)")) << text;
  EXPECT_TRUE(contains(text, "|   leaf_sleeps() at ")) << text;
  EXPECT_TRUE(contains(text, "awaiting: sleep")) << text;
  t.cancel();
  co_await aio::gather(aio::return_exceptions, t);
  aio::CallGraph after = aio::capture_call_graph(aio::TaskRef(t.state()));
  EXPECT_EQ(after.state, "cancelled");
  EXPECT_TRUE(after.call_stack.empty());
}

// --- what the innermost coroutine waits on -------------------------------------------------

aio::Coro<void> take_lock(aio::Lock& lock) { auto guard = co_await lock.lock(); }
aio::Coro<void> take_item(aio::Queue<int>& q) { (void)co_await q.get(); }
aio::Coro<void> wait_event(aio::Event& ev) { co_await ev.wait(); }
aio::Coro<int> await_future(aio::Future<int> f) { co_return co_await f; }

AIO_TEST(CallGraph, NamesWhatTheTaskWaitsOn) {
  aio::Lock lock;
  auto held = co_await lock.lock();
  aio::Queue<int> q;
  aio::Event ev;
  aio::Future<int> fut;
  auto a = aio::create_task(take_lock(lock));
  auto b = aio::create_task(take_item(q));
  auto c = aio::create_task(wait_event(ev));
  auto d = aio::create_task(await_future(fut));
  co_await aio::sleep(0);
  EXPECT_EQ(aio::capture_call_graph(aio::TaskRef(a.state())).awaiting, "Lock.acquire");
  EXPECT_EQ(aio::capture_call_graph(aio::TaskRef(b.state())).awaiting, "Queue.get");
  EXPECT_EQ(aio::capture_call_graph(aio::TaskRef(c.state())).awaiting, "Event.wait");
  EXPECT_EQ(aio::capture_call_graph(aio::TaskRef(d.state())).awaiting, "Future");
  held.unlock();
  q.put_nowait(1);
  ev.set();
  fut.set_result(2);
  co_await aio::gather(a, b, c, d);
}

aio::Coro<void> gather_one(aio::Task<void> t) { co_await aio::gather(t); }

AIO_TEST(CallGraph, SocketReadAndGatherAreNamed) {
  aio::Event accepted;
  aio::Event finish;
  auto handler = [&](aio::StreamReader, aio::StreamWriter) -> aio::Coro<void> {
    accepted.set();
    co_await finish.wait();
  };
  aio::Server server = co_await aio::start_server(handler, "127.0.0.1", 0);
  auto [reader, writer] = co_await aio::open_connection("127.0.0.1", server.addresses()[0].port());
  co_await accepted.wait();
  auto reading = aio::create_task(reader.read(10));
  auto gathering = aio::create_task(gather_one(aio::create_task(wait_event(finish))));
  co_await aio::sleep(0);
  std::string read_wait = aio::capture_call_graph(aio::TaskRef(reading.state())).awaiting;
  EXPECT_EQ(read_wait.rfind("recv on fd ", 0), 0u) << read_wait;
  std::string gather_wait = aio::capture_call_graph(aio::TaskRef(gathering.state())).awaiting;
  EXPECT_EQ(gather_wait, "aio::gather of 1 (0 done)");
  finish.set();  // the handler returns: the server closes its side
  co_await gathering;
  EXPECT_EQ(co_await reading, "");
  writer.close();
  co_await writer.wait_closed();
  server.close();
  co_await server.wait_closed();
}

// --- awaited by, the running task, tasks not started ---------------------------------------

aio::Coro<void> await_task(aio::Task<void> t) { co_await t; }

AIO_TEST(CallGraph, AwaitedByListsTheTasksWaitingOnIt) {
  aio::Event never;
  auto inner = aio::create_task(wait_event(never), "inner");
  auto w1 = aio::create_task(await_task(inner), "w1");
  auto w2 = aio::create_task(await_task(inner), "w2");
  co_await aio::sleep(0);
  aio::CallGraph g = aio::capture_call_graph(aio::TaskRef(inner.state()));
  const std::vector<std::string> by{"Task 'w1'", "Task 'w2'"};
  std::vector<std::string> got = g.awaited_by;
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, by);
  EXPECT_TRUE(contains(g.to_string(), "+ awaited by:\n     * Task 'w")) << g.to_string();
  EXPECT_EQ(aio::capture_call_graph(aio::TaskRef(w1.state())).awaiting, "Task 'inner'");
  never.set();
  co_await aio::gather(w1, w2);
}

std::string graph_from_inside_helper() { return aio::format_call_graph(); }

aio::Coro<std::string> nested_reporter() {
  co_await aio::sleep(0);
  co_return graph_from_inside_helper();
}

aio::Coro<std::string> reporter_root() { co_return co_await nested_reporter(); }

AIO_TEST(CallGraph, RunningTaskSeesItsCurrentChain) {
  auto t = aio::create_task(reporter_root(), "reporter");
  std::string text = co_await t;
  EXPECT_TRUE(contains(text, "* Task 'reporter' (running)")) << text;
  std::size_t inner = text.find("nested_reporter()");
  std::size_t root = text.find("reporter_root()");
  EXPECT_NE(inner, std::string::npos) << text;
  EXPECT_NE(root, std::string::npos) << text;
  EXPECT_LT(inner, root) << "innermost first:\n" << text;
  EXPECT_FALSE(contains(text, "awaiting:")) << text;
}

AIO_TEST(CallGraph, TaskNotStartedYet) {
  aio::Event never;
  auto t = aio::create_task(wait_event(never), "fresh");
  aio::CallGraph g = aio::capture_call_graph(aio::TaskRef(t.state()));
  EXPECT_EQ(g.state, "not started");
  const std::vector<std::string> chain{"wait_event"};
  EXPECT_EQ(functions(g), chain);
  t.cancel();
  co_await aio::gather(aio::return_exceptions, t);
}

AIO_TEST(CallGraph, FormatAllTasksListsEveryLiveTask) {
  aio::Event never;
  auto a = aio::create_task(wait_event(never), "first");
  auto b = aio::create_task(wait_event(never), "second");
  co_await aio::sleep(0);
  std::string all = aio::format_all_tasks();
  EXPECT_TRUE(contains(all, "* Task 'first' (pending)")) << all;
  EXPECT_TRUE(contains(all, "* Task 'second' (pending)")) << all;
  EXPECT_TRUE(contains(all, "(running)")) << all;  // the test's own task
  never.set();
  co_await aio::gather(a, b);
}

TEST(CallGraph, FunctionNamesLoseReturnTypeAndParameters) {
  using aio::detail::short_function_name;
  EXPECT_EQ(short_function_name("aio::Coro<int> app::fetch(std::string)"), "app::fetch");
  EXPECT_EQ(short_function_name("aio::Coro<void> {anonymous}::leaf(aio::Event&)"), "leaf");
  EXPECT_EQ(short_function_name("std::map<int, int> ns::K::m(std::pair<int, int>) const"), "ns::K::m");
  EXPECT_EQ(short_function_name("aio::Coro<std::vector<int> > f(int (*)(int))"), "f");
  EXPECT_EQ(short_function_name("main()::<lambda(int)>"), "main()::<lambda(int)>");
  EXPECT_EQ(short_function_name("fetch"), "fetch");  // Clang 14: the bare name already
  EXPECT_EQ(short_function_name(""), "");
  EXPECT_EQ(short_function_name(nullptr), "");
}

TEST(CallGraph, FormatCallGraphOutsideATaskIsAUsageError) { EXPECT_THROW(aio::format_call_graph(), aio::UsageError); }

// --- the dump signal --------------------------------------------------------------------------

aio::Coro<void> raise_and_wait_for_dump(aio_test::LogCapture& log, int sig) {
  aio::Event never;
  auto parked = aio::create_task(wait_event(never), "parked");
  co_await aio::sleep(0);
  ::kill(::getpid(), sig);
  // The signal is handled on the loop; give it (generously) the time to arrive.
  for (int i = 0; i < 500 && log.matching("live task").empty(); ++i) co_await aio::sleep(0.01);
  never.set();
  co_await parked;
}

TEST(CallGraph, DumpSignalLogsEveryTask) {
  aio_test::ScopedEnv no_env("AIO_DUMP_SIGNAL", nullptr);
  aio_test::LogCapture log;
  aio::RunOptions opts;
  opts.dump_signal = SIGUSR1;
  aio::run(raise_and_wait_for_dump(log, SIGUSR1), opts);
  std::vector<std::string> dumps = log.matching("live task");
  ASSERT_EQ(dumps.size(), 1u) << ::testing::PrintToString(log.lines);
  EXPECT_TRUE(contains(dumps[0], "aio: 2 live task(s)")) << dumps[0];
  EXPECT_TRUE(contains(dumps[0], "* Task 'parked' (pending)")) << dumps[0];
  EXPECT_TRUE(contains(dumps[0], "awaiting: Event.wait")) << dumps[0];
}

TEST(CallGraph, DumpSignalFromTheEnvironment) {
  aio_test::ScopedEnv env("AIO_DUMP_SIGNAL", "SIGUSR2");
  aio_test::LogCapture log;
  aio::run(raise_and_wait_for_dump(log, SIGUSR2));
  EXPECT_EQ(log.matching("live task").size(), 1u) << ::testing::PrintToString(log.lines);
}

aio::Coro<void> nothing() { co_return; }

TEST(CallGraph, BadDumpSignalNameIsRefused) {
  aio_test::ScopedEnv env("AIO_DUMP_SIGNAL", "NOTASIGNAL");
  EXPECT_THROW(aio::run(nothing()), std::invalid_argument);
}

// --- a failed task's never-retrieved report shows the chain it failed through --------------

aio::Coro<void> fails_deep() {
  co_await aio::sleep(0);
  throw Boom("deep failure");
}

aio::Coro<void> calls_failing() { co_await fails_deep(); }

TEST(CallGraph, UnretrievedExceptionReportShowsTheAwaitChain) {
  aio_test::LogCapture log;
  aio::run([]() -> aio::Coro<void> {
    {
      auto t = aio::create_task(calls_failing(), "doomed");
      co_await aio::sleep(0);
      co_await aio::sleep(0);
      EXPECT_TRUE(t.done());
    }  // dropped without looking at its exception
    co_return;
  }());
  std::vector<std::string> reports = log.matching("never retrieved");
  ASSERT_EQ(reports.size(), 1u) << ::testing::PrintToString(log.lines);
  const std::string& r = reports[0];
  std::size_t deep = r.find("\n  in fails_deep() at ");
  std::size_t outer = r.find("\n  in calls_failing() at ");
  EXPECT_NE(deep, std::string::npos) << r;
  EXPECT_NE(outer, std::string::npos) << r;
  EXPECT_LT(deep, outer) << r;
  EXPECT_TRUE(contains(r, "deep failure")) << r;
}

}  // namespace
