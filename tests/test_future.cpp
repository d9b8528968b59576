// aio::Future — a port of CPython's Lib/test/test_asyncio/test_futures.py.
//
// Ported (as C++ behaviour checks): initial state, cancel/result/exception semantics,
// InvalidStateError for result()/exception() before done and for setting twice, the
// cancel message, constructor with/without a running loop, the "exception was never
// retrieved" report (the tb_logger tests), done callbacks (invoked on result, exception and
// cancel, FIFO order, removal of the first/third/first-and-second callback, removal
// counts, callbacks added after completion, callbacks that mutate the callback list while
// it is being scheduled), awaiting a future (pending, done, cancelled, failed, from
// several tasks).
//
// Skipped (Python-only): DuckFuture/isfuture, GenericAlias, __repr__ formats,
// _source_traceback, StopIteration special-casing, `yield from` iteration, __await__/throw
// protocol, uninitialized C futures / __init__ twice, wrap_future and _copy_future_state
// (concurrent.futures), GC/refcycle tests, evil __eq__/__getattribute__ UAF tests, the
// C-vs-Python implementation split, and loop policies.

#include <gtest/gtest.h>

#include <aio/aio.hpp>
#include <aio/testing.hpp>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "support.hpp"

using namespace aio_test;

namespace {

// --- state -----------------------------------------------------------------------------

AIO_TEST(Future, InitialState) {
  aio::Future<int> f = aio::get_running_loop().create_future<int>();
  EXPECT_FALSE(f.cancelled());
  EXPECT_FALSE(f.done());
  EXPECT_TRUE(f.cancel());
  EXPECT_TRUE(f.cancelled());
  EXPECT_TRUE(f.done());
  co_return;
}

TEST(FuturePlain, CreateFutureOnALoopThatIsNotRunning) {
  aio::EventLoop loop;
  aio::Future<int> f = loop.create_future<int>();
  EXPECT_FALSE(f.done());
  aio::Future<int> g(loop);
  EXPECT_FALSE(g.done());
  f.set_result(3);
  EXPECT_EQ(f.result(), 3);
  g.cancel();
}

TEST(FuturePlain, DefaultConstructedOutsideALoopIsUsageError) {
  // asyncio: Future() without a loop -> RuntimeError('no current event loop').
  EXPECT_THROW(aio::Future<int>{}, aio::UsageError);
  EXPECT_THROW(aio::Future<void>{}, aio::UsageError);
}

TEST(FuturePlain, DefaultConstructedOutsideALoopIsUsageErrorEvenWhenALoopExists) {
  aio::EventLoop loop;  // exists, but is not running
  EXPECT_THROW(aio::Future<int>{}, aio::UsageError);
}

aio::Coro<aio::Future<int>> make_default_future() { co_return aio::Future<int>{}; }

TEST(FuturePlain, DefaultConstructedUsesTheRunningLoop) {
  aio::EventLoop loop;
  aio::Future<int> f = loop.run_until_complete(make_default_future());
  EXPECT_FALSE(f.done());
  // It is bound to `loop`: its done callbacks are scheduled there.
  int seen = 0;
  f.add_done_callback([&](aio::Future<int>& g) { seen = g.result(); });
  f.set_result(11);
  EXPECT_EQ(seen, 0);  // scheduled, not called synchronously
  loop.run_until_complete(run_briefly());
  EXPECT_EQ(seen, 11);
}

AIO_TEST(Future, Cancel) {
  aio::Future<int> f;
  EXPECT_TRUE(f.cancel());
  EXPECT_TRUE(f.cancelled());
  EXPECT_TRUE(f.done());
  EXPECT_THROW(f.result(), aio::CancelledError);
  EXPECT_THROW(f.exception(), aio::CancelledError);
  EXPECT_THROW(f.set_result(1), aio::InvalidStateError);
  EXPECT_THROW(f.set_exception(std::runtime_error("x")), aio::InvalidStateError);
  EXPECT_FALSE(f.cancel());
  EXPECT_TRUE(f.cancelled());
  co_return;
}

AIO_TEST(Future, Result) {
  aio::Future<int> f;
  EXPECT_THROW(f.result(), aio::InvalidStateError);
  EXPECT_THROW(f.exception(), aio::InvalidStateError);

  f.set_result(42);
  EXPECT_FALSE(f.cancelled());
  EXPECT_TRUE(f.done());
  EXPECT_EQ(f.result(), 42);
  EXPECT_EQ(f.exception(), nullptr);
  EXPECT_THROW(f.set_result(43), aio::InvalidStateError);
  EXPECT_THROW(f.set_exception(std::runtime_error("x")), aio::InvalidStateError);
  EXPECT_FALSE(f.cancel());
  EXPECT_FALSE(f.cancelled());
  EXPECT_EQ(f.result(), 42);  // unchanged by the failed attempts
  co_return;
}

AIO_TEST(Future, InvalidStateErrorIsAnAioError) {
  aio::Future<int> f;
  bool caught = false;
  try {
    (void)f.result();
  } catch (const aio::Error&) {  // InvalidStateError : aio::Error : std::runtime_error
    caught = true;
  }
  EXPECT_TRUE(caught);
  f.cancel();
  co_return;
}

AIO_TEST(Future, Exception) {
  aio::Future<int> f;
  EXPECT_THROW(f.exception(), aio::InvalidStateError);

  f.set_exception(std::runtime_error("boom"));
  EXPECT_FALSE(f.cancelled());
  EXPECT_TRUE(f.done());
  EXPECT_THROW(f.result(), std::runtime_error);
  std::exception_ptr e = f.exception();
  AIO_ASSERT_NE(e, nullptr);
  EXPECT_EQ(what_of(e), "boom");
  EXPECT_TRUE(exception_as<std::runtime_error>(e).has_value());
  EXPECT_THROW(f.set_result(1), aio::InvalidStateError);
  EXPECT_THROW(f.set_exception(std::runtime_error("again")), aio::InvalidStateError);
  EXPECT_FALSE(f.cancel());
  EXPECT_FALSE(f.cancelled());
  EXPECT_EQ(what_of(f.exception()), "boom");
  co_return;
}

AIO_TEST(Future, ExceptionPtrIsStoredAsIs) {
  aio::Future<int> f;
  std::exception_ptr e = std::make_exception_ptr(std::out_of_range("range"));
  f.set_exception(e);
  EXPECT_EQ(f.exception(), e);
  EXPECT_THROW(f.result(), std::out_of_range);
  co_return;
}

AIO_TEST(Future, SetExceptionWithANullPointerIsInvalidArgument) {
  aio::Future<int> f;
  EXPECT_THROW(f.set_exception(std::exception_ptr{}), std::invalid_argument);
  EXPECT_FALSE(f.done());  // nothing was stored
  f.set_result(1);
  EXPECT_EQ(f.result(), 1);
  co_return;
}

AIO_TEST(Future, SetExceptionWithCancelledErrorCancels) {
  // aio documents that setting a CancelledError makes the future cancelled.
  aio::Future<int> f;
  f.set_exception(aio::CancelledError("via set_exception"));
  EXPECT_TRUE(f.done());
  EXPECT_TRUE(f.cancelled());
  std::exception_ptr e = co_await error_of(f);
  auto ce = exception_as<aio::CancelledError>(e);
  AIO_ASSERT_TRUE(ce.has_value());
  EXPECT_EQ(ce->message(), "via set_exception");
}

AIO_TEST(Future, VoidFuture) {
  aio::Future<void> f;
  EXPECT_THROW(f.result(), aio::InvalidStateError);
  f.set_result();
  EXPECT_TRUE(f.done());
  EXPECT_NO_THROW(f.result());
  EXPECT_EQ(f.exception(), nullptr);
  EXPECT_THROW(f.set_result(), aio::InvalidStateError);
  co_await f;  // done: returns at once
}

AIO_TEST(Future, CopiesShareState) {
  aio::Future<std::string> f;
  aio::Future<std::string> g = f;
  EXPECT_TRUE(f == g);
  g.set_result("shared");
  EXPECT_TRUE(f.done());
  EXPECT_EQ(f.result(), "shared");
  aio::Future<std::string> other;
  EXPECT_FALSE(f == other);
  other.cancel();
  co_return;
}

AIO_TEST(Future, MoveOnlyValue) {
  aio::Future<std::unique_ptr<int>> f;
  f.set_result(std::make_unique<int>(5));
  AIO_ASSERT_NE(f.result(), nullptr);
  EXPECT_EQ(*f.result(), 5);
  std::unique_ptr<int> p = co_await f;
  AIO_ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 5);
}

// --- cancel message ---------------------------------------------------------------------

AIO_TEST(Future, CancelMessage) {
  aio::Future<int> f;
  EXPECT_TRUE(f.cancel("my message"));
  std::exception_ptr e = co_await error_of(f);
  auto c = exception_as<aio::CancelledError>(e);
  AIO_ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->message(), "my message");
  EXPECT_STREQ(c->what(), "my message");

  // result() and exception() carry it too.
  try {
    (void)f.result();
    ADD_FAILURE() << "result() of a cancelled future must throw";
  } catch (const aio::CancelledError& x) {
    EXPECT_EQ(x.message(), "my message");
  }
  try {
    (void)f.exception();
    ADD_FAILURE() << "exception() of a cancelled future must throw";
  } catch (const aio::CancelledError& x) {
    EXPECT_EQ(x.message(), "my message");
  }
  // A second cancel() does not replace the message.
  EXPECT_FALSE(f.cancel("other"));
  std::exception_ptr e2 = co_await error_of(f);
  AIO_ASSERT_TRUE(exception_as<aio::CancelledError>(e2).has_value());
  EXPECT_EQ(exception_as<aio::CancelledError>(e2)->message(), "my message");
}

AIO_TEST(Future, CancelWithoutMessage) {
  aio::Future<int> f;
  f.cancel();
  std::exception_ptr e = co_await error_of(f);
  auto c = exception_as<aio::CancelledError>(e);
  AIO_ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->message(), "");
}

// --- awaiting -----------------------------------------------------------------------------

AIO_TEST(Future, AwaitPendingFutureSetByCallback) {
  aio::EventLoop& loop = aio::get_running_loop();
  aio::Future<int> f = loop.create_future<int>();
  loop.call_soon([f]() mutable { f.set_result(42); });
  int v = co_await f;
  EXPECT_EQ(v, 42);
  EXPECT_TRUE(f.done());
}

AIO_TEST(Future, AwaitPendingFutureSetLater) {
  aio::EventLoop& loop = aio::get_running_loop();
  aio::Future<std::string> f;
  double t0 = loop.time();
  loop.call_later(0.01, [f]() mutable { f.set_result("late"); });
  std::string v = co_await f;
  EXPECT_EQ(v, "late");
  EXPECT_GE(loop.time() - t0, 0.009);
}

AIO_TEST(Future, AwaitDoneFutureTwice) {
  // asyncio test_yield_from_twice: awaiting a done future again gives the same value.
  aio::Future<int> f;
  f.set_result(42);
  int a = co_await f;
  int b = co_await f;
  EXPECT_EQ(a, 42);
  EXPECT_EQ(b, 42);
}

AIO_TEST(Future, AwaitCancelledFuture) {
  aio::Future<int> f;
  aio::get_running_loop().call_soon([f]() mutable { f.cancel(); });
  std::exception_ptr e = co_await error_of(f);
  EXPECT_TRUE(exception_as<aio::CancelledError>(e).has_value());
  EXPECT_TRUE(f.cancelled());
  // The awaiting task was not cancelled itself: it can go on.
  co_await aio::sleep(0);
  EXPECT_FALSE(aio::current_task()->cancelled());
}

AIO_TEST(Future, AwaitFailedFuture) {
  aio::Future<int> f;
  aio::get_running_loop().call_soon([f]() mutable { f.set_exception(std::logic_error("bad")); });
  std::exception_ptr e = co_await error_of(f);
  AIO_ASSERT_TRUE(exception_as<std::logic_error>(e).has_value());
  EXPECT_EQ(what_of(e), "bad");
  // Awaiting again rethrows the same exception.
  std::exception_ptr e2 = co_await error_of(f);
  EXPECT_EQ(what_of(e2), "bad");
}

aio::Coro<int> await_and_add(aio::Future<int> f, int add, std::vector<int>& order, int id) {
  int v = co_await f;
  order.push_back(id);
  co_return v + add;
}

AIO_TEST(Future, AwaitedFromSeveralTasks) {
  aio::Future<int> f;
  std::vector<int> order;
  auto t1 = aio::create_task(await_and_add(f, 1, order, 1));
  auto t2 = aio::create_task(await_and_add(f, 2, order, 2));
  auto t3 = aio::create_task(await_and_add(f, 3, order, 3));
  co_await run_briefly();  // all three are waiting now
  EXPECT_FALSE(t1.done());
  EXPECT_FALSE(t2.done());
  EXPECT_FALSE(t3.done());
  f.set_result(10);
  EXPECT_EQ(co_await t1, 11);
  EXPECT_EQ(co_await t2, 12);
  EXPECT_EQ(co_await t3, 13);
  // They were woken in the order they started waiting.
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

aio::Coro<std::string> await_failure(aio::Future<int> f) {
  try {
    co_await f;
  } catch (const std::runtime_error& e) {
    co_return std::string("caught ") + e.what();
  }
  co_return "no exception";
}

AIO_TEST(Future, FailureSeenBySeveralTasks) {
  aio::Future<int> f;
  auto t1 = aio::create_task(await_failure(f));
  auto t2 = aio::create_task(await_failure(f));
  co_await run_briefly();
  f.set_exception(std::runtime_error("shared failure"));
  EXPECT_EQ(co_await t1, "caught shared failure");
  EXPECT_EQ(co_await t2, "caught shared failure");
}

aio::Coro<bool> await_expect_cancel(aio::Future<int> f) {
  try {
    co_await f;
  } catch (const aio::CancelledError&) {
    co_return true;
  }
  co_return false;
}

AIO_TEST(Future, CancelWakesEveryAwaiter) {
  aio::Future<int> f;
  auto t1 = aio::create_task(await_expect_cancel(f));
  auto t2 = aio::create_task(await_expect_cancel(f));
  co_await run_briefly();
  EXPECT_TRUE(f.cancel());
  EXPECT_TRUE(co_await t1);
  EXPECT_TRUE(co_await t2);
  // The awaiting tasks caught it and finished normally.
  EXPECT_FALSE(t1.cancelled());
  EXPECT_FALSE(t2.cancelled());
}

AIO_TEST(Future, AwaiterThatIsCancelledCancelsTheFuture) {
  // A task awaiting a future is cancelled: the future is cancelled too (asyncio), and the
  // other awaiters see the cancellation.
  aio::Future<int> f;
  auto waiter = aio::create_task(await_future(f));
  auto other = aio::create_task(await_expect_cancel(f));
  co_await run_briefly();
  EXPECT_TRUE(waiter.cancel());
  EXPECT_TRUE(f.cancelled());
  std::exception_ptr e = co_await error_of(waiter);
  EXPECT_TRUE(exception_as<aio::CancelledError>(e).has_value());
  EXPECT_TRUE(waiter.cancelled());
  EXPECT_TRUE(co_await other);
}

// --- done callbacks -----------------------------------------------------------------------

AIO_TEST(FutureDoneCallback, InvokedOnSetResult) {
  std::vector<int> bag;
  aio::Future<std::string> f;
  f.add_done_callback([&](aio::Future<std::string>&) { bag.push_back(42); });
  f.add_done_callback([&](aio::Future<std::string>&) { bag.push_back(17); });
  EXPECT_TRUE(bag.empty());
  f.set_result("foo");
  EXPECT_TRUE(bag.empty());  // scheduled with call_soon, not called synchronously
  co_await run_briefly();
  EXPECT_EQ(bag, (std::vector<int>{42, 17}));
  EXPECT_EQ(f.result(), "foo");
}

AIO_TEST(FutureDoneCallback, InvokedOnSetException) {
  std::vector<int> bag;
  aio::Future<int> f;
  f.add_done_callback([&](aio::Future<int>& g) {
    bag.push_back(100);
    EXPECT_TRUE(g.done());
    EXPECT_EQ(what_of(g.exception()), "err");
  });
  EXPECT_TRUE(bag.empty());
  f.set_exception(std::runtime_error("err"));
  co_await run_briefly();
  EXPECT_EQ(bag, (std::vector<int>{100}));
  EXPECT_EQ(what_of(f.exception()), "err");
}

AIO_TEST(FutureDoneCallback, InvokedOnCancel) {
  std::vector<std::string> bag;
  aio::Future<int> f;
  f.add_done_callback([&](aio::Future<int>& g) { bag.push_back(g.cancelled() ? "cancelled" : "not cancelled"); });
  f.cancel();
  EXPECT_TRUE(bag.empty());
  co_await run_briefly();
  EXPECT_EQ(bag, (std::vector<std::string>{"cancelled"}));
}

AIO_TEST(FutureDoneCallback, ReceivesTheSameFuture) {
  aio::Future<int> f;
  bool same = false;
  int value = 0;
  f.add_done_callback([&, f](aio::Future<int>& g) {
    same = (g == f);
    value = g.result();
  });
  f.set_result(7);
  co_await run_briefly();
  EXPECT_TRUE(same);
  EXPECT_EQ(value, 7);
}

AIO_TEST(FutureDoneCallback, ManyCallbacksRunInRegistrationOrder) {
  std::vector<int> bag;
  aio::Future<int> f;
  for (int i = 0; i < 20; ++i) f.add_done_callback([&bag, i](aio::Future<int>&) { bag.push_back(i); });
  f.set_result(0);
  co_await run_briefly();
  std::vector<int> expected;
  for (int i = 0; i < 20; ++i) expected.push_back(i);
  EXPECT_EQ(bag, expected);
}

AIO_TEST(FutureDoneCallback, RemoveFirstCallback) {
  std::vector<int> bag;
  aio::Future<std::string> f;
  auto cb1 = f.add_done_callback([&](auto&) { bag.push_back(42); });
  f.add_done_callback([&](auto&) { bag.push_back(17); });
  f.add_done_callback([&](auto&) { bag.push_back(100); });
  EXPECT_EQ(f.remove_done_callback(cb1), 1u);
  EXPECT_EQ(f.remove_done_callback(cb1), 0u);
  EXPECT_TRUE(bag.empty());
  f.set_result("foo");
  co_await run_briefly();
  EXPECT_EQ(bag, (std::vector<int>{17, 100}));
  EXPECT_EQ(f.result(), "foo");
}

AIO_TEST(FutureDoneCallback, RemoveFirstAndSecondCallback) {
  std::vector<int> bag;
  aio::Future<std::string> f;
  auto cb1 = f.add_done_callback([&](auto&) { bag.push_back(42); });
  auto cb2 = f.add_done_callback([&](auto&) { bag.push_back(17); });
  f.add_done_callback([&](auto&) { bag.push_back(100); });
  EXPECT_EQ(f.remove_done_callback(cb1), 1u);
  EXPECT_EQ(f.remove_done_callback(cb2), 1u);
  EXPECT_EQ(f.remove_done_callback(cb1), 0u);
  f.set_result("foo");
  co_await run_briefly();
  EXPECT_EQ(bag, (std::vector<int>{100}));
}

AIO_TEST(FutureDoneCallback, RemoveThirdCallback) {
  std::vector<int> bag;
  aio::Future<std::string> f;
  f.add_done_callback([&](auto&) { bag.push_back(42); });
  f.add_done_callback([&](auto&) { bag.push_back(17); });
  auto cb3 = f.add_done_callback([&](auto&) { bag.push_back(100); });
  EXPECT_EQ(f.remove_done_callback(cb3), 1u);
  EXPECT_EQ(f.remove_done_callback(cb3), 0u);
  f.set_result("foo");
  co_await run_briefly();
  EXPECT_EQ(bag, (std::vector<int>{42, 17}));
}

AIO_TEST(FutureDoneCallback, RemoveReturnsHowManyWereRemoved) {
  // CPython test_remove_done_callback, with ids instead of function identity: every
  // registration has its own id, even for the same callable.
  std::vector<int> bag;
  aio::Future<std::string> f;
  auto cb1 = [&](auto&) { bag.push_back(1); };
  auto cb2 = [&](auto&) { bag.push_back(2); };
  auto id1 = f.add_done_callback(cb1);
  auto id2 = f.add_done_callback(cb2);
  EXPECT_NE(id1, id2);
  EXPECT_EQ(f.remove_done_callback(id2), 1u);
  EXPECT_EQ(f.remove_done_callback(id2 + 1000), 0u);  // never registered
  auto id2b = f.add_done_callback(cb2);
  std::vector<std::uint64_t> more;
  for (int i = 0; i < 5; ++i) more.push_back(f.add_done_callback(cb1));
  std::size_t removed = f.remove_done_callback(id1);
  for (auto id : more) removed += f.remove_done_callback(id);
  EXPECT_EQ(removed, 6u);
  EXPECT_TRUE(bag.empty());
  f.set_result("foo");
  co_await run_briefly();
  EXPECT_EQ(bag, (std::vector<int>{2}));
  (void)id2b;
}

AIO_TEST(FutureDoneCallback, AddedAfterCompletionIsScheduledNotCalled) {
  aio::Future<int> f;
  f.set_result(5);
  int calls = 0;
  f.add_done_callback([&](aio::Future<int>& g) {
    ++calls;
    EXPECT_EQ(g.result(), 5);
  });
  EXPECT_EQ(calls, 0);  // asyncio: call_soon, never synchronous
  co_await run_briefly();
  EXPECT_EQ(calls, 1);
  co_await run_briefly();
  EXPECT_EQ(calls, 1);  // once only
}

AIO_TEST(FutureDoneCallback, RemoveAfterCompletionRemovesNothing) {
  int calls = 0;
  aio::Future<int> f;
  auto id = f.add_done_callback([&](auto&) { ++calls; });
  f.set_result(1);
  // Already scheduled: removing it now cannot unschedule it (as in asyncio, where the
  // callback list is emptied when the callbacks are scheduled).
  EXPECT_EQ(f.remove_done_callback(id), 0u);
  co_await run_briefly();
  EXPECT_EQ(calls, 1);
}

AIO_TEST(FutureDoneCallback, CallbackMutatingTheListWhileScheduled) {
  // CPython test_schedule_callbacks_list_mutation_1: a callback removing others while the
  // callbacks are being run must not crash; everything scheduled runs.
  std::vector<std::string> bag;
  aio::Future<int> f;
  std::uint64_t id_a = 0;
  f.add_done_callback([&](aio::Future<int>& g) {
    bag.push_back("mut");
    g.remove_done_callback(id_a);
  });
  id_a = f.add_done_callback([&](auto&) { bag.push_back("a"); });
  f.add_done_callback([&](auto&) { bag.push_back("b"); });
  f.set_result(1);
  co_await run_briefly();
  EXPECT_EQ(bag, (std::vector<std::string>{"mut", "a", "b"}));
}

AIO_TEST(FutureDoneCallback, CallbackAddingACallbackToItsDoneFuture) {
  std::vector<std::string> bag;
  aio::Future<int> f;
  f.add_done_callback([&](aio::Future<int>& g) {
    bag.push_back("first");
    g.add_done_callback([&](auto&) { bag.push_back("added later"); });
  });
  f.add_done_callback([&](auto&) { bag.push_back("second"); });
  f.set_result(1);
  co_await run_briefly();
  EXPECT_EQ(bag, (std::vector<std::string>{"first", "second"}));
  co_await run_briefly();
  EXPECT_EQ(bag, (std::vector<std::string>{"first", "second", "added later"}));
}

AIO_TEST(FutureDoneCallback, ManyAddsAndRemovesDuringLifetime) {
  // CPython test_schedule_callbacks_list_mutation_2 / remove_done_callbacks_list_*:
  // heavy add/remove traffic keeps the list consistent.
  std::vector<int> bag;
  aio::Future<int> f;
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 64; ++i) ids.push_back(f.add_done_callback([&bag, i](auto&) { bag.push_back(i); }));
  for (int i = 0; i < 64; i += 2) EXPECT_EQ(f.remove_done_callback(ids[static_cast<std::size_t>(i)]), 1u);
  f.set_result(0);
  co_await run_briefly();
  std::vector<int> expected;
  for (int i = 1; i < 64; i += 2) expected.push_back(i);
  EXPECT_EQ(bag, expected);
}

AIO_TEST(FutureDoneCallback, ThrowingCallbackIsReportedAndOthersStillRun) {
  HandlerLog log;
  log.install();
  std::vector<int> bag;
  aio::Future<int> f;
  f.add_done_callback([&](auto&) { bag.push_back(1); });
  f.add_done_callback([&](auto&) -> void { throw std::runtime_error("callback failed"); });
  f.add_done_callback([&](auto&) { bag.push_back(3); });
  f.set_result(0);
  co_await run_briefly();
  EXPECT_EQ(bag, (std::vector<int>{1, 3}));
  AIO_ASSERT_EQ(log.contexts.size(), 1u);
  EXPECT_EQ(what_of(log.contexts[0].exception), "callback failed");
}

AIO_TEST(FutureDoneCallback, CallbacksRunOnTheLoopNotInsideTheSetter) {
  // The callback must see the code after set_result() as already executed.
  aio::Future<int> f;
  int stage = 0;
  int stage_seen = -1;
  f.add_done_callback([&](auto&) { stage_seen = stage; });
  f.set_result(1);
  stage = 1;
  co_await run_briefly();
  EXPECT_EQ(stage_seen, 1);
}

// --- "exception was never retrieved" (the tb_logger tests) ---------------------------------

AIO_TEST(FutureNeverRetrieved, AbandonedPendingFutureIsNotReported) {
  HandlerLog log;
  log.install();
  { aio::Future<int> f; }
  co_await run_briefly();
  EXPECT_TRUE(log.contexts.empty());
}

AIO_TEST(FutureNeverRetrieved, UnretrievedResultIsNotReported) {
  HandlerLog log;
  log.install();
  {
    aio::Future<int> f;
    f.set_result(42);
  }
  {
    aio::Future<int> f;
    f.set_result(42);
    (void)f.result();
  }
  co_await run_briefly();
  EXPECT_TRUE(log.contexts.empty());
}

AIO_TEST(FutureNeverRetrieved, UnretrievedExceptionIsReported) {
  HandlerLog log;
  log.install();
  {
    aio::Future<int> f;
    f.set_exception(std::runtime_error("boom"));
  }
  co_await run_briefly();
  AIO_ASSERT_EQ(log.contexts.size(), 1u);
  EXPECT_NE(log.contexts[0].message.find("exception was never retrieved"), std::string::npos)
      << log.contexts[0].message;
  EXPECT_NE(log.contexts[0].message.find("Future"), std::string::npos) << log.contexts[0].message;
  AIO_ASSERT_NE(log.contexts[0].exception, nullptr);
  EXPECT_EQ(what_of(log.contexts[0].exception), "boom");
}

AIO_TEST(FutureNeverRetrieved, ReportedOnlyWhenTheLastCopyGoes) {
  HandlerLog log;
  log.install();
  std::optional<aio::Future<int>> keep;
  {
    aio::Future<int> f;
    f.set_exception(std::runtime_error("boom"));
    keep = f;
  }
  co_await run_briefly();
  EXPECT_TRUE(log.contexts.empty());
  keep.reset();
  co_await run_briefly();
  EXPECT_EQ(log.contexts.size(), 1u);
}

AIO_TEST(FutureNeverRetrieved, RetrievedWithExceptionIsNotReported) {
  HandlerLog log;
  log.install();
  {
    aio::Future<int> f;
    f.set_exception(std::runtime_error("boom"));
    EXPECT_NE(f.exception(), nullptr);
  }
  co_await run_briefly();
  EXPECT_TRUE(log.contexts.empty());
}

AIO_TEST(FutureNeverRetrieved, RetrievedWithResultIsNotReported) {
  HandlerLog log;
  log.install();
  {
    aio::Future<int> f;
    f.set_exception(std::runtime_error("boom"));
    EXPECT_THROW(f.result(), std::runtime_error);
  }
  co_await run_briefly();
  EXPECT_TRUE(log.contexts.empty());
}

AIO_TEST(FutureNeverRetrieved, RetrievedByAwaitingIsNotReported) {
  HandlerLog log;
  log.install();
  {
    aio::Future<int> f;
    f.set_exception(std::runtime_error("boom"));
    std::exception_ptr e = co_await error_of(f);
    EXPECT_NE(e, nullptr);
  }
  co_await run_briefly();
  EXPECT_TRUE(log.contexts.empty());
}

AIO_TEST(FutureNeverRetrieved, CancelledFutureIsNotReported) {
  HandlerLog log;
  log.install();
  {
    aio::Future<int> f;
    f.cancel();
  }
  co_await run_briefly();
  EXPECT_TRUE(log.contexts.empty());
}

AIO_TEST(FutureNeverRetrieved, NotReportedAfterCancelOnAFailedFuture) {
  // CPython test_tb_logger_not_called_after_cancel: Future.cancel() clears the
  // "log traceback" flag before checking the state, so calling cancel() on a future that
  // already failed (cancel returns False) declares the exception handled.
  HandlerLog log;
  log.install();
  {
    aio::Future<int> f;
    f.set_exception(std::runtime_error("boom"));
    EXPECT_FALSE(f.cancel());
  }
  co_await run_briefly();
  EXPECT_TRUE(log.contexts.empty()) << (log.contexts.empty() ? "" : log.contexts[0].message);
}

AIO_TEST(FutureNeverRetrieved, ReportedAfterTheDoneCallbacksRan) {
  // A done callback holds the future until it ran; the report comes when the last
  // reference goes, and not twice.
  HandlerLog log;
  log.install();
  int calls = 0;
  {
    aio::Future<int> f;
    f.add_done_callback([&](auto&) { ++calls; });
    f.set_exception(std::runtime_error("boom"));
  }
  co_await run_briefly();
  co_await run_briefly();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(log.contexts.size(), 1u);
}

}  // namespace
