// aio::gather — ported from CPython's Lib/test/test_asyncio/test_tasks.py
// (GatherTestsBase, FutureGatherTests, CoroutineGatherTests, test_cancel_gather_*,
// test_gather_shield's gather half) plus the asyncio.gather contract of API.md.
//
// Skipped (Python-only): the gathering future's own object (add_done_callback on it,
// its repr, refusing cancel() once its children are done — aio has no gathering future,
// the awaiting task plays that part), loop selection (explicit/global/other loop,
// "no current event loop", heterogeneous loops), PYTHONASYNCIODEBUG env handling,
// gather() of non-awaitables (TypeError: rejected at compile time here), contextvars,
// GC of tasks, the C-vs-Python task implementations.

#include <gtest/gtest.h>

#include <aio/aio.hpp>
#include <aio/testing.hpp>

#include <cstddef>
#include <exception>
#include <numeric>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "support.hpp"

using namespace aio_test;

namespace {

aio::Coro<std::string> echo(std::string s) { co_return s; }

aio::Coro<int> after_spins(int spins, int v, std::vector<int>* completed) {
  for (int i = 0; i < spins; ++i) co_await aio::sleep(0);
  if (completed) completed->push_back(v);
  co_return v;
}

aio::Coro<void> mark_after_yield(bool* ran) {
  co_await aio::sleep(0);
  *ran = true;
}

aio::Coro<int> fail_on(aio::Future<void> go, std::string what) {
  co_await go;
  throw Boom(what);
}

aio::Coro<int> fail_after_spins(int spins, std::string what) {
  for (int i = 0; i < spins; ++i) co_await aio::sleep(0);
  throw Boom(what);
}

aio::Coro<int> finish_on(aio::Future<void> go, bool* finished, int v) {
  co_await go;
  *finished = true;
  co_return v;
}

void set_soon(aio::Future<void> f) {
  aio::get_running_loop().call_soon([f]() mutable { f.set_result(); });
}

// --- gathering coroutines used as tasks (asyncio's "gathering future") -----------------

aio::Coro<std::tuple<int, int, int>> gather_futures3(aio::Future<int> a, aio::Future<int> b, aio::Future<int> c) {
  co_return co_await aio::gather(a, b, c);
}

aio::Coro<std::tuple<int, int, int>> gather_coros3(aio::Future<int> a, aio::Future<int> b, aio::Future<int> c) {
  co_return co_await aio::gather(await_future(a), await_future(b), await_future(c));
}

aio::Coro<std::tuple<aio::Outcome<int>, aio::Outcome<int>, aio::Outcome<int>>> gather_outcomes3(aio::Future<int> a,
                                                                                                aio::Future<int> b,
                                                                                                aio::Future<int> c) {
  co_return co_await aio::gather(aio::return_exceptions, a, b, c);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// GatherTestsBase._check_success: results in argument order, whatever the completion order.

AIO_TEST(Gather, FutureArgsResultsInArgumentOrder) {
  aio::Future<int> a, b, c;
  auto g = aio::create_task(gather_futures3(a, b, c));
  co_await spin();
  b.set_result(1);
  a.set_result(2);
  co_await spin();
  EXPECT_FALSE(g.done()) << "gather finished before its last child";
  c.set_result(3);
  auto r = co_await g;
  EXPECT_EQ(r, std::make_tuple(2, 1, 3));
}

AIO_TEST(Gather, CoroutineArgsResultsInArgumentOrder) {
  aio::Future<int> a, b, c;
  auto g = aio::create_task(gather_coros3(a, b, c));
  co_await spin();
  b.set_result(1);
  a.set_result(2);
  co_await spin();
  EXPECT_FALSE(g.done());
  c.set_result(3);
  auto r = co_await g;
  EXPECT_EQ(r, std::make_tuple(2, 1, 3));
}

AIO_TEST(Gather, ReturnExceptionsAllSucceed) {
  // test_result_exception_success
  aio::Future<int> a, b, c;
  auto g = aio::create_task(gather_outcomes3(a, b, c));
  co_await spin();
  b.set_result(1);
  a.set_result(2);
  co_await spin();
  EXPECT_FALSE(g.done());
  c.set_result(3);
  auto r = co_await g;
  AIO_ASSERT_TRUE(std::get<0>(r).ok());
  AIO_ASSERT_TRUE(std::get<1>(r).ok());
  AIO_ASSERT_TRUE(std::get<2>(r).ok());
  EXPECT_EQ(std::get<0>(r).value(), 2);
  EXPECT_EQ(std::get<1>(r).value(), 1);
  EXPECT_EQ(std::get<2>(r).value(), 3);
}

AIO_TEST(Gather, ResultsInArgumentOrderWhenCompletingInReverse) {
  std::vector<int> completed;
  auto r =
      co_await aio::gather(after_spins(3, 1, &completed), after_spins(2, 2, &completed), after_spins(1, 3, &completed));
  EXPECT_EQ(r, std::make_tuple(1, 2, 3));
  EXPECT_EQ(completed, (std::vector<int>{3, 2, 1}));
}

// ---------------------------------------------------------------------------------------
// Argument kinds and result types.

AIO_TEST(Gather, MixesCoroTaskAndFuture) {
  bool ran = false;
  aio::Task<std::string> t = aio::create_task(echo("two"));
  aio::Future<double> f;
  aio::get_running_loop().call_soon([f]() mutable { f.set_result(3.5); });
  auto r = co_await aio::gather(value(1), t, f, mark_after_yield(&ran));
  static_assert(std::is_same_v<decltype(r), std::tuple<int, std::string, double, aio::None>>);
  EXPECT_EQ(std::get<0>(r), 1);
  EXPECT_EQ(std::get<1>(r), "two");
  EXPECT_EQ(std::get<2>(r), 3.5);
  EXPECT_TRUE(ran);
  EXPECT_TRUE(t.done());
}

AIO_TEST(Gather, MixedReturnExceptionsGivesOutcomes) {
  bool ran = false;
  aio::Task<std::string> t = aio::create_task(echo("two"));
  aio::Future<double> f;
  auto boom = std::make_exception_ptr(Boom("future failed"));
  aio::get_running_loop().call_soon([f, boom]() mutable { f.set_exception(boom); });
  auto r = co_await aio::gather(aio::return_exceptions, value(1), t, f, mark_after_yield(&ran));
  static_assert(std::is_same_v<decltype(r), std::tuple<aio::Outcome<int>, aio::Outcome<std::string>,
                                                       aio::Outcome<double>, aio::Outcome<aio::None>>>);
  EXPECT_EQ(std::get<0>(r).value(), 1);
  EXPECT_EQ(std::get<1>(r).value(), "two");
  EXPECT_FALSE(std::get<2>(r).ok());
  EXPECT_EQ(std::get<2>(r).exception(), boom);
  EXPECT_THROW((void)std::get<2>(r).value(), Boom);
  EXPECT_TRUE(std::get<3>(r).ok());
  EXPECT_TRUE(ran);
}

AIO_TEST(Gather, VoidResultsAreNone) {
  bool a = false, b = false;
  aio::Task<void> t = aio::create_task(mark_after_yield(&b));
  auto r = co_await aio::gather(mark_after_yield(&a), t);
  static_assert(std::is_same_v<decltype(r), std::tuple<aio::None, aio::None>>);
  EXPECT_EQ(r, std::make_tuple(aio::None{}, aio::None{}));
  EXPECT_TRUE(a);
  EXPECT_TRUE(b);

  bool flags[3] = {false, false, false};
  std::vector<aio::Coro<void>> coros;
  for (bool& f : flags) coros.push_back(mark_after_yield(&f));
  auto v = co_await aio::gather(std::move(coros));
  static_assert(std::is_same_v<decltype(v), std::vector<aio::None>>);
  EXPECT_EQ(v.size(), 3u);
  for (bool f : flags) EXPECT_TRUE(f);
}

AIO_TEST(Gather, SameTaskSeveralTimes) {
  // test_duplicate_coroutines (a coroutine object can't be awaited twice in C++ either;
  // the Task is the shareable handle).
  aio::Task<std::string> c = aio::create_task(echo("abc"));
  auto r = co_await aio::gather(c, c, echo("def"), c);
  EXPECT_EQ(r, std::make_tuple(std::string("abc"), std::string("abc"), std::string("def"), std::string("abc")));
}

AIO_TEST(Gather, Empty) {
  // test_constructor_empty_sequence_use_running_loop: the result is empty.
  auto r = co_await aio::gather();
  static_assert(std::is_same_v<decltype(r), std::tuple<>>);

  std::vector<aio::Coro<int>> no_coros;
  auto v = co_await aio::gather(std::move(no_coros));
  EXPECT_TRUE(v.empty());

  std::vector<aio::Task<int>> no_tasks;
  auto vt = co_await aio::gather(no_tasks);
  EXPECT_TRUE(vt.empty());

  std::vector<aio::Coro<int>> no_coros2;
  auto vo = co_await aio::gather(aio::return_exceptions, std::move(no_coros2));
  static_assert(std::is_same_v<decltype(vo), std::vector<aio::Outcome<int>>>);
  EXPECT_TRUE(vo.empty());

  auto ro = co_await aio::gather(aio::return_exceptions);
  static_assert(std::is_same_v<decltype(ro), std::tuple<>>);
}

// ---------------------------------------------------------------------------------------
// Vector forms.

AIO_TEST(Gather, VectorOfCorosInArgumentOrder) {
  constexpr int n = 8;
  std::vector<int> completed;
  std::vector<aio::Coro<int>> coros;
  for (int i = 0; i < n; ++i) coros.push_back(after_spins(n - i, i * 10, &completed));
  auto r = co_await aio::gather(std::move(coros));
  static_assert(std::is_same_v<decltype(r), std::vector<int>>);
  AIO_ASSERT_EQ(r.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) EXPECT_EQ(r[i], i * 10);
  // They completed in reverse order, yet the results are in argument order.
  AIO_ASSERT_EQ(completed.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(completed.front(), (n - 1) * 10);
  EXPECT_EQ(completed.back(), 0);
}

AIO_TEST(Gather, VectorOfTasksInArgumentOrder) {
  constexpr int n = 6;
  std::vector<aio::Task<int>> tasks;
  for (int i = 0; i < n; ++i) tasks.push_back(aio::create_task(after_spins(n - i, i + 1, nullptr)));
  co_await aio::sleep(0);
  tasks.push_back(aio::create_task(value(99)));
  auto r = co_await aio::gather(tasks);
  AIO_ASSERT_EQ(r.size(), static_cast<std::size_t>(n + 1));
  for (int i = 0; i < n; ++i) EXPECT_EQ(r[i], i + 1);
  EXPECT_EQ(r[n], 99);
  for (auto& t : tasks) EXPECT_TRUE(t.done());
}

AIO_TEST(Gather, VectorReturnExceptions) {
  std::vector<aio::Coro<int>> coros;
  coros.push_back(value(1));
  coros.push_back(fail_after_spins(2, "second"));
  coros.push_back(after_spins(3, 3, nullptr));
  auto r = co_await aio::gather(aio::return_exceptions, std::move(coros));
  AIO_ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].value(), 1);
  AIO_ASSERT_TRUE(!(r[1].ok()));
  EXPECT_EQ(what_of(r[1].exception()), "second");
  EXPECT_EQ(r[2].value(), 3);

  std::vector<aio::Task<int>> tasks;
  tasks.push_back(aio::create_task(fail_after_spins(1, "first")));
  tasks.push_back(aio::create_task(value(2)));
  auto rt = co_await aio::gather(aio::return_exceptions, tasks);
  AIO_ASSERT_EQ(rt.size(), 2u);
  EXPECT_EQ(what_of(rt[0].exception()), "first");
  EXPECT_EQ(rt[1].value(), 2);
}

AIO_TEST(Gather, VectorFirstExceptionPropagates) {
  std::vector<aio::Task<int>> tasks;
  tasks.push_back(aio::create_task(after_spins(1, 1, nullptr)));
  tasks.push_back(aio::create_task(fail_after_spins(2, "vector boom")));
  tasks.push_back(aio::create_task(after_spins(6, 3, nullptr)));
  std::string what;
  try {
    (void)co_await aio::gather(tasks);
    ADD_FAILURE() << "gather should have thrown";
  } catch (const Boom& e) {
    what = e.what();
  }
  EXPECT_EQ(what, "vector boom");
  EXPECT_FALSE(tasks[2].done()) << "the slow child must keep running";
  EXPECT_EQ(co_await tasks[2], 3);
}

AIO_TEST(Gather, TenThousandCoroutines) {
  constexpr int n = 10'000;
  std::vector<aio::Coro<int>> coros;
  coros.reserve(n);
  for (int i = 0; i < n; ++i) coros.push_back(after_spins(1 + i % 3, i, nullptr));
  auto r = co_await aio::gather(std::move(coros));
  AIO_ASSERT_EQ(r.size(), static_cast<std::size_t>(n));
  bool in_order = true;
  for (int i = 0; i < n; ++i) in_order = in_order && r[i] == i;
  EXPECT_TRUE(in_order);
  EXPECT_EQ(std::accumulate(r.begin(), r.end(), 0LL), static_cast<long long>(n) * (n - 1) / 2);
}

// ---------------------------------------------------------------------------------------
// gather is eager: the children are tasks as soon as gather() is called.

aio::Coro<int> count_start(int* started) {
  ++*started;
  co_await aio::sleep(0);
  co_return *started;
}

AIO_TEST(Gather, ChildrenStartBeforeTheGatherIsAwaited) {
  int started = 0;
  auto g = aio::gather(count_start(&started), count_start(&started));
  EXPECT_EQ(started, 0) << "nothing can run before this task yields";
  co_await aio::sleep(0);
  EXPECT_EQ(started, 2) << "children must run without the gather being awaited";
  auto r = co_await g;
  EXPECT_EQ(r, std::make_tuple(2, 2));
}

AIO_TEST(Gather, ChildrenAllDoneBeforeTheAwait) {
  std::vector<int> completed;
  auto g = aio::gather(after_spins(1, 1, &completed), after_spins(0, 2, &completed));
  co_await spin();
  EXPECT_EQ(completed.size(), 2u);
  auto r = co_await g;
  EXPECT_EQ(r, std::make_tuple(1, 2));
}

// ---------------------------------------------------------------------------------------
// The first exception propagates at once; the other children keep running.

aio::Coro<void> gather_futures5(aio::Future<int> a, aio::Future<int> b, aio::Future<int> c, aio::Future<int> d,
                                aio::Future<int> e) {
  (void)co_await aio::gather(a, b, c, d, e);
}

AIO_TEST(Gather, OneExceptionPropagatesAtOnce) {
  // test_one_exception
  aio::Future<int> a, b, c, d, e;
  auto g = aio::create_task(gather_futures5(a, b, c, d, e));
  co_await spin();
  auto exc = std::make_exception_ptr(Boom("zero division"));
  a.set_result(1);
  b.set_exception(exc);
  co_await spin();
  AIO_ASSERT_TRUE(g.done());  // the exception propagates without waiting for c, d, e
  EXPECT_EQ(g.exception(), exc);
  EXPECT_FALSE(c.done());
  // Does nothing to the finished gather:
  c.set_result(3);
  d.cancel();
  e.set_exception(std::make_exception_ptr(std::runtime_error("late")));
  (void)e.exception();
  co_await spin();
}

AIO_TEST(Gather, FirstExceptionOthersKeepRunning) {
  aio::Future<void> go_fail, go_rest;
  bool coro_finished = false, task_finished = false;
  auto other = aio::create_task(finish_on(go_rest, &task_finished, 7));
  set_soon(go_fail);
  std::string what;
  try {
    (void)co_await aio::gather(fail_on(go_fail, "first"), finish_on(go_rest, &coro_finished, 5), other);
    ADD_FAILURE() << "gather should have thrown";
  } catch (const Boom& e) {
    what = e.what();
  }
  EXPECT_EQ(what, "first");
  EXPECT_FALSE(coro_finished);
  EXPECT_FALSE(other.done());
  EXPECT_FALSE(other.cancelled());
  go_rest.set_result();
  EXPECT_EQ(co_await other, 7);
  co_await spin();
  EXPECT_TRUE(coro_finished) << "the coroutine child must run to completion after the gather failed";
  EXPECT_TRUE(task_finished);
}

aio::Coro<void> fail_after_future(aio::Future<void> f) {
  co_await f;
  throw Boom("should not be ignored");
}

aio::Coro<void> gather_two_failing(aio::Future<void> a, aio::Future<void> b) {
  (void)co_await aio::gather(fail_after_future(a), fail_after_future(b));
}

AIO_TEST(Gather, ExceptionMarkingOfTheLaterChild) {
  // test_exception_marking: the second child's exception, raised after the gather failed,
  // is the gather's business and must not be reported as "never retrieved".
  aio::Future<void> a, b;
  auto f = aio::create_task(gather_two_failing(a, b));
  co_await spin();
  a.set_result();
  co_await spin();
  b.set_result();
  co_await spin();
  AIO_ASSERT_TRUE(f.done());
  EXPECT_THROW(f.result(), Boom);
}

AIO_TEST(Gather, TwoChildrenFailingInTheSameIterationReportNothing) {
  // Both children fail in the same loop iteration: the gather raises the first, and the
  // second one's exception is retrieved by the gather (asyncio's _done_callback calls
  // fut.exception() on every child), so the loop reports nothing.
  aio::Future<void> go;
  set_soon(go);
  std::string what;
  try {
    (void)co_await aio::gather(fail_on(go, "a"), fail_on(go, "b"));
    ADD_FAILURE() << "gather should have thrown";
  } catch (const Boom& e) {
    what = e.what();
  }
  EXPECT_EQ(what, "a");
  co_await spin();
}

AIO_TEST(Gather, FirstRaisedExceptionWinsWhenChildrenFailBeforeTheAwait) {
  // "The first raised exception is immediately propagated": the child that failed first
  // (in time) is the one reported, even when both failed before the gather was awaited;
  // the other one's exception counts as retrieved.
  auto g = aio::gather(fail_after_spins(3, "late"), fail_after_spins(1, "early"));
  co_await spin(6);
  std::string what;
  try {
    (void)co_await g;
    ADD_FAILURE() << "gather should have thrown";
  } catch (const Boom& e) {
    what = e.what();
  }
  EXPECT_EQ(what, "early");
}

// ---------------------------------------------------------------------------------------
// return_exceptions.

aio::Coro<std::tuple<aio::Outcome<int>, aio::Outcome<int>, aio::Outcome<int>, aio::Outcome<int>>> gather_outcomes4(
    aio::Future<int> a, aio::Future<int> b, aio::Future<int> c, aio::Future<int> d) {
  co_return co_await aio::gather(aio::return_exceptions, await_future(a), await_future(b), await_future(c),
                                 await_future(d));
}

AIO_TEST(Gather, ReturnExceptions) {
  // test_return_exceptions
  aio::Future<int> a, b, c, d;
  auto g = aio::create_task(gather_outcomes4(a, b, c, d));
  co_await spin();
  auto exc = std::make_exception_ptr(Boom("zero division"));
  auto exc2 = std::make_exception_ptr(std::runtime_error("runtime"));
  b.set_result(1);
  c.set_exception(exc);
  a.set_result(3);
  co_await spin();
  EXPECT_FALSE(g.done()) << "return_exceptions waits for every child";
  d.set_exception(exc2);
  auto r = co_await g;
  EXPECT_EQ(std::get<0>(r).value(), 3);
  EXPECT_EQ(std::get<1>(r).value(), 1);
  EXPECT_EQ(std::get<2>(r).exception(), exc);
  EXPECT_EQ(std::get<3>(r).exception(), exc2);
}

aio::Coro<std::vector<aio::Outcome<int>>> gather_futures_outcomes(std::vector<aio::Future<int>> futs) {
  std::vector<aio::Coro<int>> coros;
  for (auto& f : futs) coros.push_back(await_future(f));
  co_return co_await aio::gather(aio::return_exceptions, std::move(coros));
}

AIO_TEST(Gather, ReturnExceptionsWithCancelledChildren) {
  // test_result_exception_one_cancellation
  std::vector<aio::Future<int>> f(6);
  auto g = aio::create_task(gather_futures_outcomes(f));
  co_await spin();
  auto zde = std::make_exception_ptr(Boom("zero division"));
  auto rte = std::make_exception_ptr(std::runtime_error("runtime"));
  f[0].set_result(1);
  f[1].set_exception(zde);
  f[2].cancel();
  co_await spin();
  EXPECT_FALSE(g.done());
  f[3].set_result(3);
  f[4].cancel();
  f[5].set_exception(rte);
  auto r = co_await g;
  AIO_ASSERT_EQ(r.size(), 6u);
  EXPECT_EQ(r[0].value(), 1);
  EXPECT_EQ(r[1].exception(), zde);
  EXPECT_TRUE(holds<aio::CancelledError>(r[2].exception()))
      << "a cancelled child gives an Outcome holding CancelledError";
  EXPECT_THROW((void)r[2].value(), aio::CancelledError);
  EXPECT_EQ(r[3].value(), 3);
  EXPECT_TRUE(holds<aio::CancelledError>(r[4].exception()));
  EXPECT_EQ(r[5].exception(), rte);
}

AIO_TEST(Gather, ReturnExceptionsWithCancelledTaskChild) {
  aio::Future<void> never;
  auto victim = aio::create_task(fail_on(never, "unused"));
  aio::get_running_loop().call_soon([victim]() mutable { victim.cancel(); });
  auto r = co_await aio::gather(aio::return_exceptions, value(1), victim);
  EXPECT_EQ(std::get<0>(r).value(), 1);
  EXPECT_TRUE(holds<aio::CancelledError>(std::get<1>(r).exception()));
  EXPECT_TRUE(victim.cancelled());
  EXPECT_TRUE(never.cancelled()) << "cancelling the child task cancels the future it awaited";
}

// ---------------------------------------------------------------------------------------
// A child cancelled from outside: gather raises CancelledError (no return_exceptions).

aio::Coro<void> gather5_catching(aio::Future<int> a, aio::Future<int> b, aio::Future<int> c, aio::Future<int> d,
                                 aio::Future<int> e, int* outcome, int* cancelling) {
  try {
    (void)co_await aio::gather(a, b, c, d, e);
    *outcome = 1;
  } catch (const aio::CancelledError&) {
    *outcome = 2;
  } catch (...) {
    *outcome = 3;
  }
  *cancelling = aio::current_task()->cancelling();
}

AIO_TEST(Gather, OneCancellation) {
  // test_one_cancellation
  aio::Future<int> a, b, c, d, e;
  int outcome = 0, cancelling = -1;
  auto g = aio::create_task(gather5_catching(a, b, c, d, e, &outcome, &cancelling));
  co_await spin();
  a.set_result(1);
  b.cancel();
  co_await spin();
  AIO_ASSERT_TRUE(g.done());
  EXPECT_EQ(outcome, 2) << "the gather must raise CancelledError";
  EXPECT_EQ(cancelling, 0) << "nobody asked the awaiting task itself to cancel";
  // Does nothing:
  c.set_result(3);
  d.cancel();
  e.set_exception(std::make_exception_ptr(std::runtime_error("late")));
  (void)e.exception();
  co_await spin();
}

AIO_TEST(Gather, TaskChildCancelledFromOutside) {
  aio::Future<void> never;
  auto victim = aio::create_task(fail_on(never, "unused"));
  aio::get_running_loop().call_soon([victim]() mutable { victim.cancel("stop it"); });
  std::string msg = "<none>";
  try {
    (void)co_await aio::gather(value(1), victim);
    ADD_FAILURE() << "gather should have raised CancelledError";
  } catch (const aio::CancelledError& e) {
    msg = e.message();
  }
  EXPECT_EQ(msg, "stop it");
  EXPECT_TRUE(victim.cancelled());
  EXPECT_EQ(aio::current_task()->cancelling(), 0);
  // This task was not cancelled: it can go on awaiting.
  co_await aio::sleep(0.001);
}

// ---------------------------------------------------------------------------------------
// Cancelling the awaiting task cancels every child; the gather ends with CancelledError.

aio::Coro<void> gather_tasks_then_prove(aio::Task<void> c1, aio::Task<void> c2, int* proof) {
  (void)co_await aio::gather(c1, c2);
  *proof += 100;
}

AIO_TEST(Gather, CancellationBroadcast) {
  // test_cancellation_broadcast
  int proof = 0;
  aio::Future<void> waiter;
  auto child1 = aio::create_task(wait_then_prove(waiter, &proof));
  auto child2 = aio::create_task(wait_then_prove(waiter, &proof));
  auto f = aio::create_task(gather_tasks_then_prove(child1, child2, &proof));
  co_await aio::sleep(0);
  EXPECT_TRUE(f.cancel());
  EXPECT_THROW(co_await f, aio::CancelledError);
  EXPECT_TRUE(f.cancelled());
  EXPECT_TRUE(waiter.cancelled());
  EXPECT_TRUE(child1.cancelled());
  EXPECT_TRUE(child2.cancelled());
  co_await spin();
  EXPECT_EQ(proof, 0);
}

aio::Coro<void> gather_futures_forever(aio::Future<int> a, aio::Future<int> b) { (void)co_await aio::gather(a, b); }

AIO_TEST(Gather, CancellingTheAwaiterCancelsFutureChildren) {
  aio::Future<int> a, b;
  auto g = aio::create_task(gather_futures_forever(a, b));
  co_await spin();
  g.cancel();
  EXPECT_THROW(co_await g, aio::CancelledError);
  EXPECT_TRUE(a.cancelled());
  EXPECT_TRUE(b.cancelled());
}

aio::Coro<void> gather_loop(bool return_exceptions) {
  for (int i = 0; i < 10'000; ++i) {
    if (return_exceptions) {
      (void)co_await aio::gather(aio::return_exceptions, nap(0.002));
    } else {
      (void)co_await aio::gather(nap(0.002));
    }
  }
}

AIO_TEST(Gather, CancelMessageReachesTheAwaiter) {
  // test_cancel_gather_2: the CancelledError raised by the inner task propagates to the
  // gather() caller, with the cancel() message, in both forms.
  for (bool re : {false, true}) {
    auto t = aio::create_task(gather_loop(re));
    co_await aio::sleep(0.02);
    AIO_ASSERT_TRUE(!(t.done()));
    t.cancel("my message");
    std::string msg = "<not cancelled>";
    try {
      co_await t;
    } catch (const aio::CancelledError& e) {
      msg = e.message();
    }
    EXPECT_EQ(msg, "my message") << "return_exceptions=" << re;
    EXPECT_TRUE(t.cancelled());
  }
}

aio::Coro<int> swallow_cancel(aio::Future<void> started, int v) {
  started.set_result();
  try {
    co_await aio::sleep(10);
  } catch (const aio::CancelledError&) {
  }
  co_return v;
}

aio::Coro<void> gather_one(aio::Coro<int> c, bool return_exceptions) {
  if (return_exceptions) {
    (void)co_await aio::gather(aio::return_exceptions, std::move(c));
  } else {
    (void)co_await aio::gather(std::move(c));
  }
}

AIO_TEST(Gather, CancelledEvenIfTheChildSwallowsCancellation) {
  // _GatheringFuture.cancel(): once cancellation was requested, the gather ends in
  // CancelledError even if every child caught it and returned a value.
  for (bool re : {false, true}) {
    aio::Future<void> started;
    auto t = aio::create_task(gather_one(swallow_cancel(started, 5), re));
    co_await started;
    EXPECT_TRUE(t.cancel());
    EXPECT_THROW(co_await t, aio::CancelledError) << "return_exceptions=" << re;
    EXPECT_TRUE(t.cancelled());
  }
}

aio::Coro<int> cancel_becomes_error(aio::Future<void> started) {
  started.set_result();
  bool cancelled = false;
  try {
    co_await aio::sleep(10);
  } catch (const aio::CancelledError&) {
    cancelled = true;
  }
  if (cancelled) throw Boom("cleanup failed");
  co_return 0;
}

AIO_TEST(Gather, CancelledAwaiterChildRaisesOtherError) {
  // Without return_exceptions the child's own exception is the gather's (asyncio's
  // _done_callback sets it on the outer future).
  aio::Future<void> started;
  auto t = aio::create_task(gather_one(cancel_becomes_error(started), false));
  co_await started;
  t.cancel();
  EXPECT_THROW(co_await t, Boom);
}

AIO_TEST(Gather, CancelledAwaiterReturnExceptionsChildErrorIsRetrieved) {
  // With return_exceptions, a cancelled gather raises CancelledError; the child's other
  // exception was collected by the gather (asyncio calls fut.exception() on it), so the
  // loop must not report it as "never retrieved".
  aio::Future<void> started;
  auto t = aio::create_task(gather_one(cancel_becomes_error(started), true));
  co_await started;
  t.cancel();
  EXPECT_THROW(co_await t, aio::CancelledError);
  co_await spin();
}

// ---------------------------------------------------------------------------------------
// A gather is an awaitable like a task: it can be moved until it is awaited (into
// wait_for, timeout, shield, another gather; test_timeouts.cpp covers the timeouts).

namespace {

template <class Gather>
aio::Coro<void> await_and_log(Gather gather, std::vector<std::string>* log, std::string name = "gather") {
  (void)co_await gather;
  log->push_back(name);
}

aio::Coro<void> await_task_and_log(aio::Task<int> t, std::vector<std::string>* log) {
  (void)co_await t;
  log->push_back("other");
}

aio::Coro<void> await_shielded_gather(aio::Future<int> a, aio::Future<int> b, aio::Future<void> started) {
  started.set_result();
  (void)co_await aio::shield(aio::gather(a, b));
}

aio::Coro<void> wait_forever() {
  aio::Future<void> never;
  co_await never;
}

aio::Coro<void> gather_nested(aio::Task<void> a, aio::Task<void> b, aio::Task<void> c) {
  (void)co_await aio::gather(aio::gather(a, b), c);
}

}  // namespace

AIO_TEST(Gather, MovedBeforeTheAwait) {
  std::vector<int> completed;
  auto g = aio::gather(after_spins(2, 1, &completed), after_spins(0, 2, &completed));
  co_await run_briefly();  // the second child is done, the first still running
  EXPECT_EQ(completed, std::vector<int>{2});
  auto moved = std::move(g);
  auto again = std::move(moved);
  EXPECT_EQ(co_await again, std::make_tuple(1, 2));

  // Every child done before the move: the moved gather is ready at once.
  auto done = aio::gather(aio::return_exceptions, value(3), fail_after_spins(0, "bad"));
  co_await spin();
  auto moved_done = std::move(done);
  AIO_ASSERT_TRUE(moved_done.await_ready());
  auto [three, bad] = co_await moved_done;
  EXPECT_EQ(three.value(), 3);
  EXPECT_TRUE(holds<Boom>(bad.exception()));

  // The vector form.
  std::vector<aio::Coro<int>> coros;
  for (int i = 0; i < 3; ++i) coros.push_back(after_spins(3 - i, i, nullptr));
  auto gv = aio::gather(std::move(coros));
  co_await run_briefly();
  auto moved_vector = std::move(gv);
  const std::vector<int> expected{0, 1, 2};
  EXPECT_EQ(co_await moved_vector, expected);
}

AIO_TEST(Gather, MovedGatherKeepsTheFirstError) {
  // The first exception seen before the move stays the one raised (the failed child sits
  // between two that are still running, whatever order the results are taken in).
  aio::Future<void> later;
  auto g = aio::gather(fail_on(later, "second"), fail_after_spins(0, "first"), fail_on(later, "third"));
  co_await spin();
  auto moved = std::move(g);
  set_soon(later);
  std::exception_ptr e = co_await error_of(std::move(moved));
  EXPECT_EQ(what_of(e), "first");
  co_await spin();  // the others fail too; the gather retrieved their errors
}

AIO_TEST(Gather, MovedGatherKeepsItsPlaceAmongTheChildsWaiters) {
  // The gather registered on the child before another gather did: moving it must not
  // send it to the back of the child's waiter list (the child's waiters react in order,
  // each gather one iteration later, and its awaiter one more).
  aio::Future<void> go;
  bool finished = false;
  auto child = aio::create_task(finish_on(go, &finished, 1));
  std::vector<std::string> log;
  auto g = aio::gather(child);
  auto other = aio::create_task(await_task_and_log(child, &log));
  co_await run_briefly();  // `other` now waits on the child, after the gather
  auto second = aio::create_task(await_and_log(aio::gather(child), &log, "second"));
  co_await run_briefly();  // the second gather registered after `other`
  auto gathered = aio::create_task(await_and_log(std::move(g), &log));
  co_await run_briefly();
  go.set_result();
  co_await until_done(gathered);
  co_await until_done(second);
  co_await until_done(other);
  const std::vector<std::string> in_order{"other", "gather", "second"};
  EXPECT_EQ(log, in_order);
}

AIO_TEST(Gather, OfAGather) {
  // asyncio.gather(asyncio.gather(a, b), c): the inner gather is one child.
  auto [ab, c] = co_await aio::gather(aio::gather(value(1), after_spins(2, 2, nullptr)), echo("c"));
  EXPECT_EQ(ab, std::make_tuple(1, 2));
  EXPECT_EQ(c, "c");
  // Cancelling the outer awaiter reaches the inner gather's children.
  auto a = aio::create_task(wait_forever());
  auto b = aio::create_task(wait_forever());
  auto other = aio::create_task(wait_forever());
  auto t = aio::create_task(gather_nested(a, b, other));
  co_await spin();
  t.cancel();
  EXPECT_THROW(co_await t, aio::CancelledError);
  EXPECT_TRUE(a.cancelled());
  EXPECT_TRUE(b.cancelled());
  EXPECT_TRUE(other.cancelled());
}

AIO_TEST(Gather, ShieldOfAGather) {
  // test_shield_gather: cancelling the shield's awaiter leaves the gather's children alone.
  aio::Future<int> child1, child2;
  aio::Future<void> started;
  auto outer = aio::create_task(await_shielded_gather(child1, child2, started));
  co_await started;
  co_await run_briefly();
  outer.cancel();
  EXPECT_THROW(co_await outer, aio::CancelledError);
  EXPECT_TRUE(outer.cancelled());
  EXPECT_FALSE(child1.done());
  EXPECT_FALSE(child2.done());
  child1.set_result(1);
  child2.set_result(2);
  co_await spin();  // the shielded gather finishes in the background
}
