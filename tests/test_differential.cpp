// Differential tests: each scenario is written twice, with asyncio in
// tests/differential/scenarios.py and with aio below; both log what happens, one event
// per line, and the logs must be equal line for line. asyncio (/usr/bin/python3) is the
// oracle for the order in which completions, callbacks and wake-ups run.
//
// A scenario here mirrors its Python twin statement by statement; keep them in step.
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <thread>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "support.hpp"

#ifndef AIO_DIFFERENTIAL_SCENARIOS
#error "AIO_DIFFERENTIAL_SCENARIOS must name tests/differential/scenarios.py"
#endif

namespace {

using aio_test::Boom;

std::vector<std::string> g_log;

template <class... Parts>
void log(const Parts&... parts) {
  std::ostringstream line;
  bool first = true;
  ((line << (first ? "" : " ") << parts, first = false), ...);
  g_log.push_back(line.str());
}

const char* py_bool(bool b) { return b ? "True" : "False"; }

aio::Coro<void> ticker(int n) {
  for (int i = 0; i < n; ++i) {
    log("tick", i);
    co_await aio::sleep(0);
  }
}

aio::Coro<void> hops(int n) {
  for (int i = 0; i < n; ++i) co_await aio::sleep(0);
}

using Scenario = std::function<aio::Coro<void>()>;
std::map<std::string, Scenario>& scenarios() {
  static std::map<std::string, Scenario> all;
  return all;
}
struct Register {
  Register(const char* name, Scenario s) { scenarios().emplace(name, std::move(s)); }
};
#define SCENARIO(name)                                          \
  aio::Coro<void> name();                                       \
  const Register register_##name{#name, [] { return name(); }}; \
  aio::Coro<void> name()

// --- futures: awaiters and done callbacks share one registration order -------------------

aio::Coro<void> wait_and_log(aio::Future<int> fut, std::string name) {
  int v = co_await fut;
  log(name, "woke", v);
}

SCENARIO(awaiters_and_callbacks) {
  aio::EventLoop& loop = aio::get_running_loop();
  aio::Future<int> fut = loop.create_future<int>();
  aio::Task<void> a = aio::create_task(wait_and_log(fut, "A"));
  co_await aio::sleep(0);
  fut.add_done_callback([](aio::Future<int>& f) { log("cb1", f.result()); });
  aio::Task<void> b = aio::create_task(wait_and_log(fut, "B"));
  co_await aio::sleep(0);
  fut.add_done_callback([](aio::Future<int>& f) { log("cb2", f.result()); });
  loop.call_soon([] { log("soon before"); });
  fut.set_result(7);
  loop.call_soon([] { log("soon after"); });
  log("set");
  co_await a;
  co_await b;
  log("end");
}

SCENARIO(callback_on_done_future) {
  aio::EventLoop& loop = aio::get_running_loop();
  aio::Future<int> fut = loop.create_future<int>();
  fut.set_result(1);
  loop.call_soon([] { log("soon 1"); });
  fut.add_done_callback([](aio::Future<int>& f) { log("cb", f.result()); });
  loop.call_soon([] { log("soon 2"); });
  co_await aio::sleep(0);
  log("after sleep0");
  co_await aio::sleep(0);
  log("end");
}

aio::Coro<int> child_returning_five() {
  log("child runs");
  co_await aio::sleep(0);
  log("child returns");
  co_return 5;
}

aio::Coro<void> watch(std::string name, aio::Task<int> t) {
  int v = co_await t;
  log(name, "got", v);
}

SCENARIO(task_awaiting_task) {
  aio::Task<void> tick = aio::create_task(ticker(6));
  aio::Task<int> t = aio::create_task(child_returning_five());
  aio::Task<void> w1 = aio::create_task(watch("w1", t));
  t.add_done_callback([](aio::Task<int>& f) { log("cb", f.result()); });
  aio::Task<void> w2 = aio::create_task(watch("w2", t));
  co_await w1;
  co_await w2;
  co_await tick;
  log("end");
}

// --- TaskGroup ----------------------------------------------------------------------------

aio::Coro<void> fail_after_hop(std::string name) {
  co_await aio::sleep(0);
  log(name, "raises");
  throw Boom(name);
}

aio::Coro<void> sleep_logging_cancel(std::string name) {
  try {
    co_await aio::sleep(10);
  } catch (const aio::CancelledError&) {
    log(name, "cancelled");
    throw;
  }
}

std::string messages_sorted(const aio::ExceptionGroup& eg) {
  std::vector<std::string> msgs;
  for (const auto& e : eg.exceptions()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      msgs.push_back(x.what());
    }
  }
  std::sort(msgs.begin(), msgs.end());
  std::string joined;
  for (const auto& m : msgs) {
    if (!joined.empty()) joined += ',';
    joined += m;
  }
  return joined;
}

SCENARIO(taskgroup_two_failures_same_iteration) {
  try {
    co_await aio::task_group([](aio::TaskGroup& tg) -> aio::Coro<void> {
      tg.create_task(fail_after_hop("a"));
      tg.create_task(fail_after_hop("b"));
      tg.create_task(sleep_logging_cancel("slow"));
      log("body done");
      co_return;
    });
  } catch (const aio::ExceptionGroup& eg) {
    log("caught", eg.exceptions().size(), messages_sorted(eg));
  }
  log("end");
}

SCENARIO(taskgroup_failure_cancels_body_and_siblings) {
  aio::Task<void> tick = aio::create_task(ticker(6));
  try {
    co_await aio::task_group([](aio::TaskGroup& tg) -> aio::Coro<void> {
      tg.create_task(fail_after_hop("fail"));
      tg.create_task(sleep_logging_cancel("sibling"));
      co_await sleep_logging_cancel("body");
    });
  } catch (const aio::ExceptionGroup& eg) {
    log("caught", eg.exceptions().size());
  }
  co_await tick;
  log("end");
}

aio::Coro<void> done_after_hops(std::string name, int n) {
  co_await hops(n);
  log(name, "done");
}

SCENARIO(taskgroup_children_finish_order) {
  aio::Task<void> tick = aio::create_task(ticker(6));
  co_await aio::task_group([](aio::TaskGroup& tg) -> aio::Coro<void> {
    tg.create_task(done_after_hops("c2", 2));
    tg.create_task(done_after_hops("c0", 0));
    tg.create_task(done_after_hops("c1", 1));
    log("body done");
    co_return;
  });
  log("group done");
  co_await tick;
}

// --- gather -------------------------------------------------------------------------------

aio::Coro<int> await_future(aio::Future<int> fut) { co_return co_await fut; }

aio::Coro<void> via_gather(aio::Task<int> t) {
  std::vector<aio::Task<int>> children{t};
  std::vector<int> r = co_await aio::gather(std::move(children));
  log("via gather", r[0]);
}

aio::Coro<void> direct(aio::Task<int> t) {
  int v = co_await t;
  log("direct", v);
}

SCENARIO(gather_versus_direct_await) {
  aio::EventLoop& loop = aio::get_running_loop();
  aio::Future<int> fut = loop.create_future<int>();
  aio::Task<int> t = aio::create_task(await_future(fut));
  aio::Task<void> g = aio::create_task(via_gather(t));
  aio::Task<void> d = aio::create_task(direct(t));
  aio::Task<void> tick = aio::create_task(ticker(6));
  co_await aio::sleep(0);
  fut.set_result(3);
  log("set");
  co_await g;
  co_await d;
  co_await tick;
  log("end");
}

aio::Coro<int> value(int v) { co_return v; }

SCENARIO(gather_of_finished_tasks) {
  aio::Task<int> a = aio::create_task(value(1));
  aio::Task<int> b = aio::create_task(value(2));
  co_await aio::sleep(0);
  log("children done", py_bool(a.done()), py_bool(b.done()));
  aio::Task<void> tick = aio::create_task(ticker(5));
  auto [x, y] = co_await aio::gather(a, b);
  std::ostringstream list;
  list << "[" << x << ", " << y << "]";
  log("gather", list.str());
  co_await tick;
}

aio::Coro<int> ok_after(int n) {
  co_await hops(n);
  log("ok done");
  co_return n;
}

aio::Coro<int> bad_after_hop() {
  co_await aio::sleep(0);
  log("bad raises");
  throw Boom("bad");
}

SCENARIO(gather_first_error) {
  aio::Task<void> tick = aio::create_task(ticker(6));
  try {
    co_await aio::gather(ok_after(3), bad_after_hop());
  } catch (const Boom& e) {
    std::string described = "Boom(";
    described += e.what();
    described += ')';
    log("caught", described);
  }
  co_await tick;
  log("end");
}

aio::Coro<void> gather_parent() {
  try {
    co_await aio::gather(sleep_logging_cancel("a"), sleep_logging_cancel("b"));
  } catch (const aio::CancelledError&) {
    log("parent sees CancelledError");
    throw;
  }
}

SCENARIO(gather_cancelled_by_caller) {
  aio::Task<void> p = aio::create_task(gather_parent());
  aio::Task<void> tick = aio::create_task(ticker(6));
  co_await aio::sleep(0);
  co_await aio::sleep(0);
  p.cancel();
  log("cancel requested");
  try {
    co_await p;
  } catch (const aio::CancelledError&) {
    log("parent cancelled", py_bool(p.cancelled()));
  }
  co_await tick;
}

// --- wait, as_completed, shield -----------------------------------------------------------

aio::Coro<std::string> named_after(std::string name, int n) {
  co_await hops(n);
  log(name, "done");
  co_return name;
}

SCENARIO(wait_first_completed) {
  aio::Task<void> tick = aio::create_task(ticker(6));
  aio::Task<std::string> a = aio::create_task(named_after("a", 2));
  aio::Task<std::string> b = aio::create_task(named_after("b", 4));
  std::vector<aio::Task<std::string>> both{a, b};
  aio::WaitOptions opts;
  opts.return_when = aio::FIRST_COMPLETED;
  aio::WaitResult<std::string> r = co_await aio::wait(std::move(both), opts);
  bool a_done = !r.done.empty() && r.done[0] == a;
  log("wait returned", r.done.size(), r.pending.size(), py_bool(a_done));
  co_await b;
  co_await tick;
}

SCENARIO(as_completed_order) {
  aio::Task<void> tick = aio::create_task(ticker(8));
  std::vector<aio::Task<std::string>> tasks{aio::create_task(named_after("slow", 3)),
                                            aio::create_task(named_after("fast", 1))};
  for (auto& next : aio::as_completed(std::move(tasks))) {
    std::string name = co_await next;
    log("got", name);
  }
  co_await tick;
}

aio::Coro<int> inner_two_hops() {
  co_await hops(2);
  log("inner done");
  co_return 4;
}

SCENARIO(shield_pending_task) {
  aio::Task<void> tick = aio::create_task(ticker(6));
  aio::Task<int> t = aio::create_task(inner_two_hops());
  int v = co_await aio::shield(t);
  log("shield got", v);
  co_await tick;
}

aio::Coro<int> inner_awaiting(aio::Future<int> fut) {
  int v = co_await fut;
  log("inner done", v);
  co_return v;
}

aio::Coro<void> shield_outer(aio::Task<int> t) {
  try {
    co_await aio::shield(t);
  } catch (const aio::CancelledError&) {
    log("outer cancelled");
    throw;
  }
}

SCENARIO(shield_cancelled_outer) {
  aio::EventLoop& loop = aio::get_running_loop();
  aio::Future<int> fut = loop.create_future<int>();
  aio::Task<int> t = aio::create_task(inner_awaiting(fut));
  aio::Task<void> o = aio::create_task(shield_outer(t));
  co_await aio::sleep(0);
  o.cancel();
  co_await aio::sleep(0);
  log("inner still running", py_bool(!t.done()));
  fut.set_result(9);
  int v = co_await t;
  log("inner result", v);
  log("outer cancelled?", py_bool(o.cancelled()));
}

// --- timeouts -----------------------------------------------------------------------------

SCENARIO(timeout_expires) {
  try {
    co_await aio::timeout(0.05, sleep_logging_cancel("stuck"));
  } catch (const aio::TimeoutError&) {
    log("timed out");
  }
  log("end");
}

aio::Coro<int> quick() {
  co_await aio::sleep(0);
  co_return 1;
}

SCENARIO(timeout_not_reached) {
  int v = co_await aio::timeout(5, quick());
  log("got", v);
  log("end");
}

// --- sleep and timers ---------------------------------------------------------------------

aio::Coro<void> sleeper() {
  co_await aio::sleep(0.05);
  log("sleeper woke");
}

SCENARIO(sleep_wakeup_versus_call_later) {
  aio::EventLoop& loop = aio::get_running_loop();
  aio::Task<void> s = aio::create_task(sleeper());
  co_await aio::sleep(0);
  loop.call_later(0.1, [] { log("call_later fired"); });
  co_await aio::sleep(0.2);
  co_await s;
  log("end");
}

// Lets `task` register its timer, then blocks the loop's thread past it (the Python twin
// calls time.sleep): the timer is due in the next iteration, beside the ticker's step, so
// the order of the wake-up is fixed.
aio::Coro<void> tick_past_a_deadline(aio::Task<void> task, int ticks) {
  co_await aio::sleep(0);
  aio::Task<void> tick = aio::create_task(ticker(ticks));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  co_await task;
  co_await tick;
}

aio::Coro<void> short_sleeper() {
  co_await aio::sleep(0.01);
  log("sleeper woke");
}

SCENARIO(sleep_wakeup_after_due) { co_await tick_past_a_deadline(aio::create_task(short_sleeper()), 4); }

aio::Coro<void> wait_with_timeout(aio::Task<void> t) {
  std::vector<aio::Task<void>> one{t};
  aio::WaitOptions opts;
  opts.timeout = 0.01;
  aio::WaitResult<void> r = co_await aio::wait(std::move(one), opts);
  log("wait returned", r.done.size(), r.pending.size());
}

aio::Coro<void> sleep_long() { co_await aio::sleep(10); }

SCENARIO(wait_timeout_after_due) {
  aio::Task<void> t = aio::create_task(sleep_long());
  co_await tick_past_a_deadline(aio::create_task(wait_with_timeout(t)), 4);
  t.cancel();
}

aio::Coro<void> guarded() {
  try {
    co_await aio::timeout(0.01, sleep_long());
  } catch (const aio::TimeoutError&) {
    log("timed out");
  }
}

SCENARIO(timeout_after_due) { co_await tick_past_a_deadline(aio::create_task(guarded()), 4); }

aio::Coro<void> sleeper_logging_cancel() {
  try {
    co_await aio::sleep(0.01);
    log("sleeper woke");
  } catch (const aio::CancelledError&) {
    log("sleeper cancelled");
    throw;
  }
}

SCENARIO(sleep_cancelled_when_due) {
  aio::Task<void> s = aio::create_task(sleeper_logging_cancel());
  co_await aio::sleep(0);
  aio::Task<void> tick = aio::create_task(ticker(4));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  co_await aio::sleep(0);  // main runs first in the iteration where the timer is due
  s.cancel();
  log("cancel requested");
  co_await aio::gather(aio::return_exceptions, s);
  log("sleeper cancelled?", py_bool(s.cancelled()));
  co_await tick;
}

aio::Coro<void> round_robin_worker(std::string name) {
  for (int i = 0; i < 3; ++i) {
    log(name, i);
    co_await aio::sleep(0);
  }
}

SCENARIO(sleep_zero_round_robin) {
  co_await aio::gather(round_robin_worker("a"), round_robin_worker("b"), round_robin_worker("c"));
  log("end");
}

// --- synchronization ----------------------------------------------------------------------

aio::Coro<void> consumer(aio::Queue<int>& q, std::string name) {
  int item = co_await q.get();
  log(name, "got", item);
}

SCENARIO(queue_getters_fifo) {
  aio::Queue<int> q;
  std::vector<aio::Task<void>> cs;
  for (const char* n : {"c1", "c2", "c3"}) cs.push_back(aio::create_task(consumer(q, n)));
  co_await aio::sleep(0);
  aio::Task<void> tick = aio::create_task(ticker(4));
  q.put_nowait(1);
  q.put_nowait(2);
  log("put two");
  co_await aio::sleep(0);
  q.put_nowait(3);
  log("put three");
  for (auto& c : cs) co_await c;
  co_await tick;
}

aio::Coro<void> producer(aio::Queue<std::string>& q, std::string name) {
  co_await q.put(name);
  log(name, "put");
}

SCENARIO(queue_bounded_putters) {
  aio::Queue<std::string> q(1);
  q.put_nowait("first");
  std::vector<aio::Task<void>> ps;
  for (const char* n : {"p1", "p2"}) ps.push_back(aio::create_task(producer(q, n)));
  co_await aio::sleep(0);
  aio::Task<void> tick = aio::create_task(ticker(5));
  for (int i = 0; i < 3; ++i) {
    std::string item = co_await q.get();
    log("got", item);
  }
  for (auto& p : ps) co_await p;
  co_await tick;
}

aio::Coro<void> lock_user(aio::Lock& lock, std::string name) {
  {
    auto guard = co_await lock.lock();
    log(name, "has the lock");
    co_await aio::sleep(0);
  }
  log(name, "released");
}

SCENARIO(lock_handoff_fifo) {
  aio::Lock lock;
  co_await lock.acquire();
  std::vector<aio::Task<void>> us;
  for (const char* n : {"u1", "u2", "u3"}) us.push_back(aio::create_task(lock_user(lock, n)));
  co_await aio::sleep(0);
  aio::Task<void> tick = aio::create_task(ticker(8));
  lock.release();
  log("main released");
  for (auto& u : us) co_await u;
  co_await tick;
}

aio::Coro<void> lock_user_logging_cancel(aio::Lock& lock, std::string name) {
  try {
    auto guard = co_await lock.lock();
    log(name, "has the lock");
  } catch (const aio::CancelledError&) {
    log(name, "cancelled");
    throw;
  }
}

SCENARIO(lock_waiter_cancelled) {
  aio::Lock lock;
  co_await lock.acquire();
  aio::Task<void> u1 = aio::create_task(lock_user_logging_cancel(lock, "u1"));
  aio::Task<void> u2 = aio::create_task(lock_user_logging_cancel(lock, "u2"));
  co_await aio::sleep(0);
  lock.release();
  u1.cancel();
  log("released, u1 cancelled");
  co_await aio::gather(aio::return_exceptions, u1, u2);
  log("end", py_bool(lock.locked()));
}

aio::Coro<void> event_waiter(aio::Event& ev, std::string name) {
  co_await ev.wait();
  log(name, "woke");
}

SCENARIO(event_wakes_all_in_order) {
  aio::EventLoop& loop = aio::get_running_loop();
  aio::Event ev;
  std::vector<aio::Task<void>> ws;
  for (const char* n : {"w1", "w2", "w3"}) ws.push_back(aio::create_task(event_waiter(ev, n)));
  co_await aio::sleep(0);
  loop.call_soon([] { log("soon before set"); });
  ev.set();
  loop.call_soon([] { log("soon after set"); });
  log("set");
  for (auto& w : ws) co_await w;
  log("end");
}

aio::Coro<void> semaphore_waiter(aio::Semaphore& sem, std::string name) {
  co_await sem.acquire();
  log(name, "acquired");
}

SCENARIO(semaphore_release_order) {
  aio::Semaphore sem(0);
  std::vector<aio::Task<void>> ws;
  for (const char* n : {"s1", "s2", "s3"}) ws.push_back(aio::create_task(semaphore_waiter(sem, n)));
  co_await aio::sleep(0);
  sem.release();
  sem.release();
  log("released two");
  co_await aio::sleep(0);
  log("after one iteration");
  sem.release();
  for (auto& w : ws) co_await w;
  log("end");
}

aio::Coro<void> condition_waiter(aio::Condition& cond, std::string name) {
  auto guard = co_await cond.lock();
  co_await cond.wait();
  log(name, "notified");
}

SCENARIO(condition_notify) {
  aio::Condition cond;
  std::vector<aio::Task<void>> ws;
  for (const char* n : {"n1", "n2", "n3"}) ws.push_back(aio::create_task(condition_waiter(cond, n)));
  co_await aio::sleep(0);
  {
    auto guard = co_await cond.lock();
    cond.notify(2);
    log("notified two");
  }
  co_await aio::sleep(0);
  co_await aio::sleep(0);
  {
    auto guard = co_await cond.lock();
    cond.notify_all();
    log("notified all");
  }
  for (auto& w : ws) co_await w;
  log("end");
}

aio::Coro<void> queue_worker(aio::Queue<int>& q) {
  for (;;) {
    int item = co_await q.get();
    log("work", item);
    co_await aio::sleep(0);
    q.task_done();
    log("done", item);
  }
}

SCENARIO(queue_join_waits_for_task_done) {
  aio::Queue<int> q;
  aio::Task<void> w = aio::create_task(queue_worker(q));
  for (int i = 0; i < 3; ++i) q.put_nowait(i);
  aio::Task<void> tick = aio::create_task(ticker(8));
  co_await q.join();
  log("joined");
  w.cancel();
  co_await tick;
}

aio::Coro<void> party(aio::Barrier& barrier, std::string name, int n) {
  co_await hops(n);
  log(name, "arrives");
  int index = co_await barrier.wait();
  log(name, "passes", index);
}

SCENARIO(barrier_parties) {
  aio::Barrier barrier(3);
  aio::Task<void> tick = aio::create_task(ticker(6));
  co_await aio::gather(party(barrier, "p0", 0), party(barrier, "p1", 1), party(barrier, "p2", 2));
  co_await tick;
}

// --- more combinators ---------------------------------------------------------------------

SCENARIO(wait_all_completed_on_done_tasks) {
  std::vector<aio::Task<int>> ts{aio::create_task(value(1)), aio::create_task(value(2))};
  co_await aio::sleep(0);
  aio::Task<void> tick = aio::create_task(ticker(4));
  aio::WaitResult<int> r = co_await aio::wait(std::move(ts));
  log("wait returned", r.done.size(), r.pending.size());
  co_await tick;
}

aio::Coro<std::string> fail_after(int n, std::string message) {
  co_await hops(n);
  log("fail raises");
  throw Boom(message);
}

SCENARIO(wait_first_exception) {
  aio::Task<void> tick = aio::create_task(ticker(6));
  aio::Task<std::string> a = aio::create_task(fail_after(1, "x"));
  aio::Task<std::string> b = aio::create_task(named_after("b", 4));
  std::vector<aio::Task<std::string>> both{a, b};
  aio::WaitOptions opts;
  opts.return_when = aio::FIRST_EXCEPTION;
  aio::WaitResult<std::string> r = co_await aio::wait(std::move(both), opts);
  bool a_done = !r.done.empty() && r.done[0] == a;
  log("wait returned", r.done.size(), r.pending.size(), py_bool(a_done));
  co_await b;
  co_await tick;
}

SCENARIO(gather_return_exceptions_order) {
  aio::Task<void> tick = aio::create_task(ticker(6));
  auto [a, f] = co_await aio::gather(aio::return_exceptions, named_after("a", 2), fail_after(1, "y"));
  std::string described = "Boom(";
  try {
    f.value();
  } catch (const Boom& e) {
    described += e.what();
  }
  described += ')';
  log("gather", a.value(), described);
  co_await tick;
}

aio::Coro<std::string> text(std::string v) { co_return v; }

SCENARIO(as_completed_with_done_tasks) {
  std::vector<aio::Task<std::string>> ts{aio::create_task(text("x")), aio::create_task(text("y"))};
  co_await aio::sleep(0);
  aio::Task<void> tick = aio::create_task(ticker(5));
  std::vector<std::string> got;
  for (auto& next : aio::as_completed(std::move(ts))) {
    got.push_back(co_await next);
    log("got one");
  }
  std::sort(got.begin(), got.end());
  log("got", "['" + got[0] + "', '" + got[1] + "']");
  co_await tick;
}

aio::Coro<void> body_that_raises(aio::TaskGroup& tg) {
  tg.create_task(sleep_logging_cancel("child"));
  co_await aio::sleep(0);
  log("body raises");
  throw Boom("body");
}

SCENARIO(taskgroup_body_raises) {
  aio::Task<void> tick = aio::create_task(ticker(5));
  try {
    co_await aio::task_group([](aio::TaskGroup& tg) { return body_that_raises(tg); });
  } catch (const aio::ExceptionGroup& eg) {
    log("caught", eg.exceptions().size());
  }
  co_await tick;
}

// --- cancellation -------------------------------------------------------------------------

aio::Coro<void> outer_awaiting(aio::Task<void> t) {
  try {
    co_await t;
  } catch (const aio::CancelledError&) {
    log("outer cancelled");
    throw;
  }
}

SCENARIO(cancel_task_awaiting_task) {
  aio::Task<void> tick = aio::create_task(ticker(5));
  aio::Task<void> i = aio::create_task(sleep_logging_cancel("inner"));
  aio::Task<void> o = aio::create_task(outer_awaiting(i));
  co_await aio::sleep(0);
  o.cancel();
  log("cancel requested");
  co_await aio::gather(aio::return_exceptions, o);
  log("inner cancelled?", py_bool(i.cancelled()), "outer cancelled?", py_bool(o.cancelled()));
  co_await tick;
}

// --- running both sides -------------------------------------------------------------------

// Runs the command and returns its standard output as lines; fails the test on a bad exit.
std::vector<std::string> output_lines(const std::string& command) {
  std::vector<std::string> lines;
  FILE* p = popen(command.c_str(), "r");
  if (!p) {
    ADD_FAILURE() << "cannot run " << command;
    return lines;
  }
  std::string current;
  for (int c; (c = std::fgetc(p)) != EOF;) {
    if (c == '\n') {
      lines.push_back(current);
      current.clear();
    } else {
      current.push_back(static_cast<char>(c));
    }
  }
  if (!current.empty()) lines.push_back(current);
  int status = pclose(p);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << command << " failed (status " << status << ")";
  return lines;
}

std::string python_command(const std::string& args) {
  return std::string("/usr/bin/python3 ") + AIO_DIFFERENTIAL_SCENARIOS + " " + args;
}

std::string side_by_side(const std::vector<std::string>& py, const std::vector<std::string>& aio_log) {
  std::ostringstream out;
  out << "asyncio | aio\n";
  for (std::size_t i = 0; i < std::max(py.size(), aio_log.size()); ++i) {
    std::string l = i < py.size() ? py[i] : "-";
    std::string r = i < aio_log.size() ? aio_log[i] : "-";
    out << (l == r ? "   " : "!! ") << l << " | " << r << "\n";
  }
  return out.str();
}

class Differential : public ::testing::TestWithParam<std::string> {};

TEST_P(Differential, SameEventLogAsAsyncio) {
  const std::string& name = GetParam();
  std::vector<std::string> expected = output_lines(python_command(name));
  g_log.clear();
  aio::run(scenarios().at(name)());
  EXPECT_EQ(expected, g_log) << side_by_side(expected, g_log);
}

std::vector<std::string> scenario_names() {
  std::vector<std::string> names;
  for (const auto& [name, fn] : scenarios()) names.push_back(name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Scenarios, Differential, ::testing::ValuesIn(scenario_names()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

// Neither side may have a scenario the other lacks.
TEST(DifferentialScenarios, BothSidesHaveTheSameScenarios) {
  std::vector<std::string> py = output_lines(python_command("--list"));
  std::sort(py.begin(), py.end());
  EXPECT_EQ(py, scenario_names());
}

}  // namespace
