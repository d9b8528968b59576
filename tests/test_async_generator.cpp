// aio::AsyncGenerator (Python's async generators, PEP 525) and StreamReader::lines()
// (asyncio's `async for line in reader`). Where aio's behaviour was in doubt it was
// checked against Python 3.11: an exception or a cancellation ends the generator (the
// next __anext__ raises StopAsyncIteration: here next() returns empty), and a second
// __anext__ while one runs raises RuntimeError (here UsageError).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <aio/testing.hpp>

#include "net_support.hpp"
#include "support.hpp"

namespace {

using namespace aio_test;
using namespace aio_test::net;

aio::AsyncGenerator<int> count_up(int n) {
  for (int i = 0; i < n; ++i) {
    co_await aio::sleep(0);  // a real suspension of the task between values
    co_yield i;
  }
}

template <class T>
aio::Coro<std::vector<T>> collect(aio::AsyncGenerator<T>& gen) {
  std::vector<T> out;
  while (std::optional<T> v = co_await gen.next()) out.push_back(std::move(*v));
  co_return out;
}

// Sets *flag when destroyed: shows that a body's locals were destroyed.
struct SetOnDestroy {
  bool* flag;
  explicit SetOnDestroy(bool* f) : flag(f) {}
  SetOnDestroy(const SetOnDestroy&) = delete;
  ~SetOnDestroy() { *flag = true; }
};

AIO_TEST(AsyncGenerator, YieldsInOrderThenStaysEmpty) {
  aio::AsyncGenerator<int> gen = count_up(3);
  EXPECT_FALSE(gen.done());
  std::vector<int> got = co_await collect(gen);
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2}));
  EXPECT_TRUE(gen.done());
  // Python: every __anext__ after the end raises StopAsyncIteration again.
  EXPECT_FALSE(co_await gen.next());
  EXPECT_FALSE(co_await gen.next());
}

aio::AsyncGenerator<int> empty_generator() { co_return; }

AIO_TEST(AsyncGenerator, EmptyBodyEndsAtOnce) {
  aio::AsyncGenerator<int> gen = empty_generator();
  EXPECT_FALSE(co_await gen.next());
  EXPECT_TRUE(gen.done());
}

// Names, not TaskRefs: a task whose result held a TaskRef to itself would never be freed.
aio::AsyncGenerator<std::string> report_task() {
  std::string name = aio::current_task()->get_name();
  co_await aio::sleep(0);
  co_yield std::move(name);
  co_yield aio::current_task()->get_name();
}

aio::Coro<std::string> next_task(aio::AsyncGenerator<std::string>& gen) {
  std::optional<std::string> name = co_await gen.next();
  co_return name.value();
}

AIO_TEST(AsyncGenerator, BodyRunsInlineInTheConsumersTask) {
  const std::size_t tasks_before = aio::all_tasks().size();
  aio::AsyncGenerator<std::string> gen = report_task();
  std::optional<std::string> first = co_await gen.next();
  AIO_ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, aio::current_task()->get_name());
  EXPECT_EQ(aio::all_tasks().size(), tasks_before);  // no task per generator
  // Consumed from another task, the body runs in that one.
  aio::Task<std::string> other = aio::create_task(next_task(gen), "other consumer");
  std::string seen = co_await other;
  EXPECT_EQ(seen, "other consumer");
}

aio::AsyncGenerator<int> marks_start(bool* started) {
  *started = true;
  co_yield 1;
}

AIO_TEST(AsyncGenerator, NothingRunsUntilTheFirstNextAndANeverStartedOneIsFine) {
  LogCapture log;  // debug mode is on in AIO_TEST: a never-awaited Coro would be logged
  bool started = false;
  {
    aio::AsyncGenerator<int> gen = marks_start(&started);
    co_await run_briefly();
    EXPECT_FALSE(started);
  }
  EXPECT_FALSE(started);
  EXPECT_TRUE(log.lines.empty()) << log.lines.front();
}

aio::AsyncGenerator<std::string> yields_every_kind(std::string* kept) {
  std::string local = "lvalue";
  co_yield local;  // copied: the body's variable is left alone
  *kept = local;
  co_yield std::string("prvalue");
  std::string moved = "moved";
  co_yield std::move(moved);
  co_yield "converted";  // a const char* made into the value type
}

AIO_TEST(AsyncGenerator, YieldsLvaluesByCopyAndRvaluesByMove) {
  std::string kept;
  aio::AsyncGenerator<std::string> gen = yields_every_kind(&kept);
  std::vector<std::string> got = co_await collect(gen);
  EXPECT_EQ(got, (std::vector<std::string>{"lvalue", "prvalue", "moved", "converted"}));
  EXPECT_EQ(kept, "lvalue");
}

aio::AsyncGenerator<std::unique_ptr<int>> move_only_values() {
  co_yield std::make_unique<int>(1);
  auto p = std::make_unique<int>(2);
  co_yield std::move(p);
}

AIO_TEST(AsyncGenerator, MoveOnlyValues) {
  aio::AsyncGenerator<std::unique_ptr<int>> gen = move_only_values();
  std::optional<std::unique_ptr<int>> a = co_await gen.next();
  std::optional<std::unique_ptr<int>> b = co_await gen.next();
  AIO_ASSERT_TRUE(a && *a && b && *b);
  EXPECT_EQ(**a, 1);
  EXPECT_EQ(**b, 2);
  EXPECT_FALSE(co_await gen.next());
}

aio::AsyncGenerator<int> fails_after_one(bool* cleaned_up) {
  SetOnDestroy guard(cleaned_up);
  co_yield 1;
  co_await aio::sleep(0);
  throw Boom("generator failed");
}

AIO_TEST(AsyncGenerator, AnExceptionInTheBodyComesOutOfNextAndEndsIt) {
  bool cleaned_up = false;
  aio::AsyncGenerator<int> gen = fails_after_one(&cleaned_up);
  std::optional<int> first = co_await gen.next();
  EXPECT_EQ(first, std::optional<int>(1));
  std::exception_ptr e = co_await error_of(gen.next());
  EXPECT_TRUE(holds<Boom>(e)) << what_of(e);
  EXPECT_TRUE(cleaned_up);  // the body unwound
  EXPECT_TRUE(gen.done());
  EXPECT_FALSE(co_await gen.next());  // Python: StopAsyncIteration after the error
}

aio::AsyncGenerator<int> fails_at_once() {
  throw Boom("before the first value");
  co_return;
}

AIO_TEST(AsyncGenerator, AnExceptionBeforeTheFirstYield) {
  aio::AsyncGenerator<int> gen = fails_at_once();
  std::exception_ptr e = co_await error_of(gen.next());
  EXPECT_TRUE(holds<Boom>(e)) << what_of(e);
  EXPECT_FALSE(co_await gen.next());
}

struct CancelProbe {
  aio::Event waiting;  // the body is parked at its await
  aio::Event never;    // what it waits for
  bool saw_cancelled = false;
  std::string message;
  bool cleaned_up = false;
};

aio::AsyncGenerator<int> parks_forever(CancelProbe* probe) {
  SetOnDestroy guard(&probe->cleaned_up);
  co_yield 1;
  try {
    probe->waiting.set();
    co_await probe->never.wait();
  } catch (const aio::CancelledError& e) {
    probe->saw_cancelled = true;
    probe->message = e.message();
    throw;
  }
  co_yield 2;
}

aio::Coro<std::vector<int>> consume_all(aio::AsyncGenerator<int>& gen) { co_return co_await collect(gen); }

AIO_TEST(AsyncGenerator, CancellingTheConsumerCancelsWhatTheBodyAwaits) {
  CancelProbe probe;
  aio::AsyncGenerator<int> gen = parks_forever(&probe);
  aio::Task<std::vector<int>> consumer = aio::create_task(consume_all(gen));
  co_await probe.waiting.wait();
  EXPECT_FALSE(probe.cleaned_up);
  consumer.cancel("stop reading");
  std::exception_ptr e = co_await error_of(consumer);
  EXPECT_TRUE(holds<aio::CancelledError>(e)) << what_of(e);
  EXPECT_TRUE(probe.saw_cancelled);
  EXPECT_EQ(probe.message, "stop reading");
  EXPECT_TRUE(probe.cleaned_up);  // the cancellation unwound the body
  EXPECT_TRUE(gen.done());
  EXPECT_FALSE(co_await gen.next());  // Python: StopAsyncIteration
}

aio::AsyncGenerator<int> swallows_cancellation(aio::Event* waiting) {
  try {
    waiting->set();
    co_await aio::sleep(3600);
  } catch (const aio::CancelledError&) {
  }
  co_yield 42;  // (co_yield is not allowed inside a handler)
}

aio::Coro<int> first_value(aio::AsyncGenerator<int>& gen) {
  std::optional<int> v = co_await gen.next();
  co_return v.value_or(-1);
}

AIO_TEST(AsyncGenerator, ABodyThatCatchesTheCancellationMayStillYield) {
  // As in Python: the value comes out of __anext__ and the consumer goes on.
  aio::Event waiting;
  aio::AsyncGenerator<int> gen = swallows_cancellation(&waiting);
  aio::Task<int> consumer = aio::create_task(first_value(gen));
  co_await waiting.wait();
  consumer.cancel();
  EXPECT_EQ(co_await consumer, 42);
  EXPECT_EQ(consumer.cancelling(), 1);
}

AIO_TEST(AsyncGenerator, DestroyingAnUnfinishedGeneratorRunsItsDestructors) {
  CancelProbe probe;
  {
    aio::AsyncGenerator<int> gen = parks_forever(&probe);
    std::optional<int> first = co_await gen.next();
    EXPECT_EQ(first, std::optional<int>(1));
    EXPECT_FALSE(probe.cleaned_up);
  }  // suspended at its first co_yield
  EXPECT_TRUE(probe.cleaned_up);
  EXPECT_FALSE(probe.saw_cancelled);  // destroyed, not resumed
}

aio::Coro<void> consume_forever(aio::AsyncGenerator<int> gen) {
  // (Not `while (co_await gen.next())`: in a coroutine that declares no local variable,
  // GCC 12 miscompiles a co_await in an if/while condition — the coroutine never runs.)
  while (std::optional<int> v = co_await gen.next()) {
  }
}

aio::Coro<void> wait_event(aio::Event& event) { co_await event.wait(); }

TEST(AsyncGeneratorLoop, ATaskDestroyedInsideTheBodyDestroysTheGenerator) {
  // The loop is closed while the consumer's task is parked inside the generator's body:
  // destroying the task destroys the generator, which unlinks the body's await.
  CancelProbe probe;
  {
    aio::EventLoop loop;
    aio::Task<void> t = loop.create_task(consume_forever(parks_forever(&probe)));
    loop.run_until_complete(wait_event(probe.waiting));
    EXPECT_FALSE(t.done());
    EXPECT_FALSE(probe.cleaned_up);
  }
  EXPECT_TRUE(probe.cleaned_up);
}

aio::AsyncGenerator<int> waits_for(aio::Event* go) {
  co_await go->wait();
  co_yield 1;
}

AIO_TEST(AsyncGenerator, NextWhileAnotherNextRunsIsAUsageError) {
  aio::Event go;
  aio::AsyncGenerator<int> gen = waits_for(&go);
  aio::Task<int> first = aio::create_task(first_value(gen));
  co_await run_briefly();  // `first` is now parked inside the body
  std::exception_ptr e = co_await error_of(gen.next());
  EXPECT_TRUE(holds<aio::UsageError>(e)) << what_of(e);
  EXPECT_NE(what_of(e).find("already running"), std::string::npos) << what_of(e);
  go.set();
  EXPECT_EQ(co_await first, 1);  // the running one was not disturbed
}

AIO_TEST(AsyncGenerator, AnEmptyGeneratorIsAUsageError) {
  aio::AsyncGenerator<int> gen = count_up(1);
  aio::AsyncGenerator<int> moved = std::move(gen);
  EXPECT_FALSE(gen);  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_TRUE(gen.done());
  EXPECT_THROW((void)gen.next(), aio::UsageError);
  EXPECT_EQ(co_await moved.next(), std::optional<int>(0));
}

aio::AsyncGenerator<int> slow_values() {
  co_yield 1;
  co_await aio::sleep(3600);
  co_yield 2;
}

AIO_TEST(AsyncGenerator, NextComposesWithWaitForAndTimeout) {
  aio::AsyncGenerator<int> gen = slow_values();
  std::optional<int> first = co_await aio::wait_for(gen.next(), 5.0);
  EXPECT_EQ(first, std::optional<int>(1));
  // The timeout cancels the body's await: the generator ends, as in Python.
  std::exception_ptr e = co_await error_of(aio::wait_for(gen.next(), 0.01));
  EXPECT_TRUE(holds<aio::TimeoutError>(e)) << what_of(e);
  EXPECT_TRUE(gen.done());
  // A task may run next() too (Python: create_task(agen.__anext__())).
  aio::AsyncGenerator<int> again = count_up(2);
  aio::Task<std::optional<int>> t = aio::create_task(again.next());
  EXPECT_EQ(co_await t, std::optional<int>(0));
}

aio::Coro<int> doubled_later(int v) {
  co_await aio::sleep(0);
  co_return v * 2;
}

aio::AsyncGenerator<int> doubles(aio::AsyncGenerator<int> source) {
  while (std::optional<int> v = co_await source.next()) co_yield co_await doubled_later(*v);
}

AIO_TEST(AsyncGenerator, GeneratorsAndCorosNest) {
  aio::AsyncGenerator<int> gen = doubles(count_up(4));
  std::vector<int> got = co_await collect(gen);
  EXPECT_EQ(got, (std::vector<int>{0, 2, 4, 6}));
}

aio::AsyncGenerator<long> numbers(long n) {
  for (long i = 0; i < n; ++i) co_yield i;  // never suspends the task
}

AIO_TEST(AsyncGenerator, ManyValuesWithoutSuspendingRunInConstantStack) {
  // Every hop (consumer -> next() -> body and back) goes through the trampoline: with
  // stack-growing hops, 300k values would overflow an 8 MB stack.
  aio::AsyncGenerator<long> gen = numbers(300'000);
  long sum = 0;
  while (std::optional<long> v = co_await gen.next()) sum += *v;
  EXPECT_EQ(sum, 44'999'850'000L);
}

// --- StreamReader::lines() ----------------------------------------------------------------------

AIO_TEST(StreamLines, YieldsLinesWithTheirNewlineUntilEof) {
  // asyncio: [l async for l in reader] with b"a\nb\r\nc" then EOF -> [b"a\n", b"b\r\n", b"c"].
  auto c = co_await connect_to_raw_peer();
  aio::AsyncGenerator<std::string> lines = c.reader.lines();
  c.peer.send_now("a\nb\r");
  std::optional<std::string> a = co_await lines.next();
  EXPECT_EQ(a, std::optional<std::string>("a\n"));
  aio::Task<std::optional<std::string>> second = aio::create_task(lines.next());
  co_await spin();
  EXPECT_FALSE(second.done());  // waits for the rest of the line
  c.peer.send_now("\nc");
  c.peer.shutdown_write();
  EXPECT_EQ(co_await second, std::optional<std::string>("b\r\n"));
  EXPECT_EQ(co_await lines.next(), std::optional<std::string>("c"));
  EXPECT_FALSE(co_await lines.next());
  EXPECT_TRUE(c.reader.at_eof());
}

AIO_TEST(StreamLines, EmptyLinesAreLinesAndEofAtOnceGivesNone) {
  auto c = co_await connect_to_raw_peer();
  c.peer.send_now("\n\nx\n");
  c.peer.shutdown_write();
  aio::AsyncGenerator<std::string> lines = c.reader.lines();
  std::vector<std::string> got = co_await collect(lines);
  EXPECT_EQ(got, (std::vector<std::string>{"\n", "\n", "x\n"}));
  aio::AsyncGenerator<std::string> none = c.reader.lines();
  EXPECT_FALSE(co_await none.next());
}

AIO_TEST(StreamLines, TheGeneratorOutlivesTheReaderThatMadeIt) {
  auto c = co_await connect_to_raw_peer();
  aio::AsyncGenerator<std::string> lines;
  {
    aio::StreamReader reader = std::move(c.reader);
    lines = reader.lines();
  }  // the reader is gone; the generator holds the connection's reading side
  c.peer.send_now("still here\n");
  c.peer.shutdown_write();
  EXPECT_EQ(co_await lines.next(), std::optional<std::string>("still here\n"));
  EXPECT_FALSE(co_await lines.next());
}

AIO_TEST(StreamLines, CancellingTheConsumerLosesNoBytes) {
  auto c = co_await connect_to_raw_peer();
  aio::AsyncGenerator<std::string> lines = c.reader.lines();
  aio::Task<std::optional<std::string>> t = aio::create_task(lines.next());
  c.peer.send_now("par");
  AIO_ASSERT_AWAITS_TRUE(eventually([&] { return c.reader.buffered() == 3; }));
  t.cancel();
  std::exception_ptr e = co_await error_of(t);
  EXPECT_TRUE(holds<aio::CancelledError>(e)) << what_of(e);
  EXPECT_TRUE(lines.done());  // the cancellation ended that generator
  c.peer.send_now("tial\n");
  aio::AsyncGenerator<std::string> more = c.reader.lines();
  EXPECT_EQ(co_await more.next(), std::optional<std::string>("partial\n"));
}

AIO_TEST(StreamLines, AnOverlongLineThrowsLimitOverrunErrorFromNext) {
  // As readline(): the over-long line is discarded; lines() again goes on after it.
  auto c = co_await connect_to_raw_peer(4);
  c.peer.send_now("too long\nok\n");
  AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
  aio::AsyncGenerator<std::string> lines = c.reader.lines();
  std::exception_ptr e = co_await error_of(lines.next());
  EXPECT_TRUE(holds<aio::LimitOverrunError>(e)) << what_of(e);
  EXPECT_FALSE(co_await lines.next());
  aio::AsyncGenerator<std::string> rest = c.reader.lines();
  EXPECT_EQ(co_await rest.next(), std::optional<std::string>("ok\n"));
}

AIO_TEST(StreamLines, AnEmptyReaderIsAUsageError) {
  aio::StreamReader empty;
  EXPECT_THROW((void)empty.lines(), aio::UsageError);
  co_return;
}

}  // namespace
