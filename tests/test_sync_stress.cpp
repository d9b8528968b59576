// Randomized stress tests for the synchronization primitives and queues: Queue (with
// cancellation, and with shutdown), Semaphore, BoundedSemaphore, Lock, Condition, Event and
// Barrier. Many tasks, a canceller that cancels random ones at random moments, and checks
// of the invariants asyncio promises (no item lost or duplicated, no more than k holders,
// no notification lost, nobody left hanging).
//
// Deterministic: no timers, only aio::sleep(0) steps, and every random choice comes from a
// std::mt19937 with a fixed seed (each test loops over several seeds; a failure message
// names the seed). Sizes are kept moderate so that the suite stays fast under ASan.
#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include <aio/testing.hpp>

#include "support.hpp"

namespace {

using namespace aio_test;

// --- shared helpers --------------------------------------------------------------------------

// Random choices from a seeded generator (modulo, not <random>'s distributions, so that the
// sequence is the same with every standard library).
struct Rng {
  std::mt19937 gen;
  explicit Rng(unsigned seed) : gen(seed) {}
  int below(int n) { return n <= 1 ? 0 : static_cast<int>(gen() % static_cast<unsigned>(n)); }
  bool one_in(int n) { return below(n) == 0; }
};

// Between 0 and max sleep(0) steps.
aio::Coro<void> yield_some(Rng& rng, int max) {
  const int n = rng.below(max + 1);
  for (int i = 0; i < n; ++i) co_await aio::sleep(0);
}

bool all_done(const std::vector<aio::Task<void>>& tasks) {
  return std::all_of(tasks.begin(), tasks.end(), [](const aio::Task<void>& t) { return t.done(); });
}

// Lets the loop run until every task is done, at most max_rounds iterations. True if they are.
aio::Coro<bool> settle(const std::vector<aio::Task<void>>& tasks, int max_rounds) {
  for (int i = 0; i < max_rounds && !all_done(tasks); ++i) co_await aio::sleep(0);
  co_return all_done(tasks);
}

// "2 of 5 not done: #1 #4" for a failure message.
std::string not_done(const std::vector<aio::Task<void>>& tasks) {
  std::string ids;
  int n = 0;
  for (std::size_t i = 0; i < tasks.size(); ++i)
    if (!tasks[i].done()) {
      ++n;
      ids.append(" #").append(std::to_string(i));
    }
  return std::to_string(n) + " of " + std::to_string(tasks.size()) + " not done:" + ids;
}

// After a failure: cancels what still runs, so that the test ends (and reports) instead of
// hanging; then collects every outcome so that the loop reports no unretrieved exception.
aio::Coro<void> reap(std::vector<aio::Task<void>>& tasks) {
  for (auto& t : tasks)
    if (!t.done()) t.cancel();
  co_await settle(tasks, 1000);
  for (auto& t : tasks)
    if (t.done()) (void)co_await error_of(t);
}

// The outcome of a finished task: "ok", "cancelled", or the exception's message.
aio::Coro<std::string> outcome_of(aio::Task<void> t) {
  std::exception_ptr e = co_await error_of(t);
  if (!e) co_return "ok";
  if (holds<aio::CancelledError>(e)) co_return "cancelled";
  co_return what_of(e);
}

aio::Coro<void> join_queue(aio::Queue<int>& q) { co_await q.join(); }

// Whether q.join() returns within a few loop iterations.
aio::Coro<bool> join_returns(aio::Queue<int>& q) {
  std::vector<aio::Task<void>> joiner{aio::create_task(join_queue(q), "joiner")};
  bool ok = co_await settle(joiner, 50);
  if (!ok) co_await reap(joiner);
  co_return ok;
}

// Collects violations of an invariant: how many, and the first few in words.
struct Violations {
  int count = 0;
  std::string first;
  void add(const std::string& what) {
    if (++count <= 5) first += "\n  " + what;
  }
};

// Every test loops over the seeds 1 .. kSeeds.
constexpr unsigned kSeeds = 40;

// --- 1. Queue: producers, consumers and a canceller ------------------------------------------

enum ItemState : unsigned char {
  kNotTried,      // its producer never got to it
  kPutting,       // put() in progress
  kInserted,      // put() or put_nowait() succeeded
  kPutCancelled,  // put() threw CancelledError: it must never be delivered
  kPutShutDown,   // put() threw QueueShutDown: it must never be delivered
};

struct QueueRun {
  QueueRun(unsigned seed_, std::size_t maxsize_, int producers_, int per_producer_, int consumers_)
      : q(maxsize_),
        rng(seed_),
        n_producers(producers_),
        per_producer(per_producer_),
        n_consumers(consumers_),
        state(static_cast<std::size_t>(producers_ * per_producer_), kNotTried),
        delivered(state.size(), 0),
        producer_cancel_sent(static_cast<std::size_t>(producers_), false),
        consumer_cancel_sent(static_cast<std::size_t>(consumers_), false),
        ctx("seed=" + std::to_string(seed_) + " maxsize=" + std::to_string(maxsize_)) {}

  aio::Queue<int> q;
  Rng rng;
  int n_producers, per_producer, n_consumers;
  std::vector<unsigned char> state;  // per item id
  std::vector<int> delivered;        // per item id: by consumers and by the final drain
  std::vector<bool> producer_cancel_sent, consumer_cancel_sent;
  std::vector<aio::Task<void>> producers, consumers;
  int puts_cancelled = 0;       // put() calls that threw CancelledError
  int gets_cancelled = 0;       // get() calls that threw CancelledError (before the end)
  int waits_shut_down = 0;      // get()/put() calls that waited, then threw QueueShutDown
  bool ending = false;          // the test is cancelling every consumer
  int consumers_shut_down = 0;  // consumers whose get() threw QueueShutDown
  int producers_shut_down = 0;  // producers whose put() threw QueueShutDown
  bool shut_down = false;
  std::size_t dropped = 0;  // items that shutdown(immediate=true) removed
  Violations bad;
  std::string ctx;

  void deliver(int v, const char* by) {
    if (v < 0 || v >= static_cast<int>(state.size())) {
      bad.add(std::string(by) + " got item " + std::to_string(v) + ", which nobody put");
      return;
    }
    if (state[static_cast<std::size_t>(v)] != kInserted)
      bad.add(std::string(by) + " got item " + std::to_string(v) + " whose put did not succeed (state " +
              std::to_string(state[static_cast<std::size_t>(v)]) + ")");
    ++delivered[static_cast<std::size_t>(v)];
  }
};

// Puts its own range of item ids, sometimes trying put_nowait() first.
aio::Coro<void> producer(QueueRun& r, int p) {
  for (int i = p * r.per_producer; i < (p + 1) * r.per_producer; ++i) {
    auto& st = r.state[static_cast<std::size_t>(i)];
    st = kPutting;
    bool done = false;
    if (r.rng.one_in(4)) {
      try {
        r.q.put_nowait(i);
        done = true;
      } catch (const aio::QueueFull&) {
      } catch (const aio::QueueShutDown&) {
        st = kPutShutDown;
        ++r.producers_shut_down;
        co_return;
      }
    }
    if (!done) {
      const bool will_wait = r.q.full() && !r.shut_down;
      try {
        co_await r.q.put(i);
      } catch (const aio::CancelledError&) {
        st = kPutCancelled;
        ++r.puts_cancelled;
        throw;
      } catch (const aio::QueueShutDown&) {
        st = kPutShutDown;
        ++r.producers_shut_down;
        if (will_wait) ++r.waits_shut_down;
        co_return;
      }
    }
    st = kInserted;
    if (r.shut_down) r.bad.add("item " + std::to_string(i) + " was inserted after shutdown()");
    co_await yield_some(r.rng, 1);
  }
}

// Takes items until cancelled (or until the queue is shut down and empty), sometimes with
// get_nowait(), sometimes pausing between get() and task_done().
aio::Coro<void> consumer(QueueRun& r, int c) {
  const std::string by = "consumer " + std::to_string(c);
  for (;;) {
    int v = -1;
    if (r.rng.one_in(5)) {
      bool empty = false;
      try {
        v = r.q.get_nowait();
      } catch (const aio::QueueEmpty&) {
        empty = true;
      } catch (const aio::QueueShutDown&) {
        ++r.consumers_shut_down;
        co_return;
      }
      if (empty) {
        co_await aio::sleep(0);
        continue;
      }
    } else {
      const bool will_wait = r.q.empty() && !r.shut_down;
      try {
        v = co_await r.q.get();
      } catch (const aio::CancelledError&) {
        if (!r.ending) ++r.gets_cancelled;
        throw;
      } catch (const aio::QueueShutDown&) {
        if (!r.shut_down) r.bad.add(by + ": get() threw QueueShutDown before shutdown()");
        if (!r.q.empty()) r.bad.add(by + ": get() threw QueueShutDown with items still queued");
        ++r.consumers_shut_down;
        if (will_wait) ++r.waits_shut_down;
        co_return;
      }
    }
    r.deliver(v, by.c_str());
    if (r.rng.one_in(3)) {
      try {
        co_await aio::sleep(0);
      } catch (const aio::CancelledError&) {
        r.q.task_done();
        throw;
      }
    }
    r.q.task_done();
  }
}

// Cancels random producers and consumers at random moments (never the last consumer when
// keep_a_consumer, so that the producers can always finish).
aio::Coro<void> queue_canceller(QueueRun& r, int producer_budget, int consumer_budget, bool keep_a_consumer,
                                int max_gap) {
  if (keep_a_consumer) consumer_budget = std::min(consumer_budget, r.n_consumers - 1);
  for (int step = 0; step < 2000 && (producer_budget > 0 || consumer_budget > 0); ++step) {
    co_await yield_some(r.rng, max_gap);
    if (all_done(r.producers)) break;
    if (r.rng.one_in(2)) {
      const int p = r.rng.below(r.n_producers);
      auto& t = r.producers[static_cast<std::size_t>(p)];
      if (producer_budget > 0 && !t.done() && !r.producer_cancel_sent[static_cast<std::size_t>(p)]) {
        r.producer_cancel_sent[static_cast<std::size_t>(p)] = true;
        --producer_budget;
        t.cancel();
      }
    } else {
      const int c = r.rng.below(r.n_consumers);
      auto& t = r.consumers[static_cast<std::size_t>(c)];
      if (consumer_budget > 0 && !t.done() && !r.consumer_cancel_sent[static_cast<std::size_t>(c)]) {
        r.consumer_cancel_sent[static_cast<std::size_t>(c)] = true;
        --consumer_budget;
        t.cancel();
      }
    }
  }
}

void start_queue_tasks(QueueRun& r) {
  for (int p = 0; p < r.n_producers; ++p)
    r.producers.push_back(aio::create_task(producer(r, p), "producer " + std::to_string(p)));
  for (int c = 0; c < r.n_consumers; ++c)
    r.consumers.push_back(aio::create_task(consumer(r, c), "consumer " + std::to_string(c)));
}

// Takes what is left with get_nowait() (counting it as delivered, and done).
void drain(QueueRun& r) {
  for (;;) {
    int v = -1;
    try {
      v = r.q.get_nowait();
    } catch (const aio::QueueEmpty&) {
      if (r.shut_down) r.bad.add("get_nowait() threw QueueEmpty (not QueueShutDown) after shutdown()");
      return;
    } catch (const aio::QueueShutDown&) {
      if (!r.shut_down) r.bad.add("get_nowait() threw QueueShutDown before shutdown()");
      return;
    }
    r.deliver(v, "the final drain");
    r.q.task_done();
  }
}

// Per item: delivered exactly once if its put succeeded (at most once when exactly is
// false), never otherwise.
void check_items(QueueRun& r, bool exactly) {
  int inserted = 0, delivered = 0;
  for (std::size_t i = 0; i < r.state.size(); ++i) {
    const int d = r.delivered[i];
    delivered += d;
    if (r.state[i] == kInserted) {
      ++inserted;
      if (exactly ? d != 1 : d > 1)
        r.bad.add("item " + std::to_string(i) + " was put and delivered " + std::to_string(d) + " times");
    } else if (d != 0) {
      r.bad.add("item " + std::to_string(i) + " (state " + std::to_string(r.state[i]) + ") was delivered " +
                std::to_string(d) + " times");
    }
    if (r.state[i] == kPutting) r.bad.add("item " + std::to_string(i) + ": its put() never ended");
  }
  if (exactly) {
    EXPECT_EQ(delivered, inserted) << r.ctx;
  } else {
    EXPECT_EQ(static_cast<std::size_t>(delivered) + r.dropped, static_cast<std::size_t>(inserted)) << r.ctx;
  }
}

struct QueueTotals {
  int puts_cancelled = 0, gets_cancelled = 0, delivered = 0;
};

aio::Coro<void> queue_cancel_round(unsigned seed, std::size_t maxsize, QueueTotals& totals) {
  QueueRun r(seed, maxsize, /*producers=*/8, /*per_producer=*/150, /*consumers=*/5);
  start_queue_tasks(r);
  auto canceller =
      aio::create_task(queue_canceller(r, /*producers=*/3, /*consumers=*/3, /*keep_a_consumer=*/true, /*max_gap=*/60));

  // Every producer ends (puts everything, or is cancelled): a lost put wake-up would leave
  // one waiting on a queue with room.
  const bool producers_ok = co_await settle(r.producers, 50000);
  EXPECT_TRUE(producers_ok) << r.ctx << ": producers stuck, " << not_done(r.producers) << " (qsize " << r.q.qsize()
                            << ")";
  std::vector<aio::Task<void>> cancellers{canceller};
  const bool canceller_ok = co_await settle(cancellers, 50000);
  EXPECT_TRUE(canceller_ok) << r.ctx << ": the canceller did not finish";

  // A consumer is still alive: it must take everything left (a cancelled get() that was
  // handed an item must pass the wake-up on).
  for (int i = 0; i < 50000 && !r.q.empty(); ++i) co_await aio::sleep(0);
  EXPECT_EQ(r.q.qsize(), 0u) << r.ctx << ": items left in the queue while consumers wait";

  // Stop the consumers, take anything left, check every item.
  r.ending = true;
  for (auto& t : r.consumers) t.cancel();
  const bool consumers_ok = co_await settle(r.consumers, 1000);
  EXPECT_TRUE(consumers_ok) << r.ctx << ": consumers ignore cancel(), " << not_done(r.consumers);
  drain(r);
  check_items(r, /*exactly=*/true);
  EXPECT_EQ(r.bad.count, 0) << r.ctx << ":" << r.bad.first;

  // Each producer finished or was cancelled because we asked; every consumer is cancelled.
  for (std::size_t p = 0; p < r.producers.size(); ++p) {
    if (!r.producers[p].done()) continue;
    const std::string out = co_await outcome_of(r.producers[p]);
    EXPECT_EQ(out, r.producer_cancel_sent[p] ? "cancelled" : "ok") << r.ctx << " producer " << p;
  }
  for (std::size_t c = 0; c < r.consumers.size(); ++c) {
    if (!r.consumers[c].done()) continue;
    const std::string out = co_await outcome_of(r.consumers[c]);
    EXPECT_EQ(out, "cancelled") << r.ctx << " consumer " << c;
  }

  // task_done() was called for every item taken: join() returns.
  const bool joined = co_await join_returns(r.q);
  EXPECT_TRUE(joined) << r.ctx << ": join() does not return";

  if (!producers_ok) co_await reap(r.producers);
  if (!consumers_ok) co_await reap(r.consumers);
  co_await reap(cancellers);
  totals.puts_cancelled += r.puts_cancelled;
  totals.gets_cancelled += r.gets_cancelled;
  for (int d : r.delivered) totals.delivered += d;
}

}  // namespace

AIO_TEST(QueueStress, BoundedWithCancellation) {
  for (std::size_t maxsize : {std::size_t{1}, std::size_t{4}}) {
    QueueTotals totals;
    for (unsigned seed = 1; seed <= kSeeds; ++seed) co_await queue_cancel_round(seed, maxsize, totals);
    // The stress must really cancel puts and gets while they wait.
    EXPECT_GT(totals.puts_cancelled, 0) << "maxsize " << maxsize;
    EXPECT_GT(totals.gets_cancelled, 0) << "maxsize " << maxsize;
    EXPECT_GT(totals.delivered, 0) << "maxsize " << maxsize;
  }
}

AIO_TEST(QueueStress, UnboundedWithCancellation) {
  QueueTotals totals;
  for (unsigned seed = 1; seed <= kSeeds; ++seed) co_await queue_cancel_round(seed, 0, totals);
  EXPECT_EQ(totals.puts_cancelled, 0);  // an unbounded put never waits
  EXPECT_GT(totals.gets_cancelled, 0);
  EXPECT_GT(totals.delivered, 0);
}

// --- 2. Queue: shutdown at a random moment ---------------------------------------------------

namespace {

// Shuts the queue down after a random number of loop iterations; immediate or not at random.
aio::Coro<void> shutter(QueueRun& r, int max_steps, bool& immediate) {
  const int steps = r.rng.below(max_steps + 1);
  for (int i = 0; i < steps; ++i) co_await aio::sleep(0);
  immediate = r.rng.one_in(2);
  r.dropped = immediate ? r.q.qsize() : 0;
  r.shut_down = true;
  r.q.shutdown(immediate);
  EXPECT_TRUE(r.q.is_shut_down());
  if (immediate) {
    EXPECT_EQ(r.q.qsize(), 0u) << r.ctx << ": shutdown(immediate=true) left items";
  }
  EXPECT_THROW(r.q.put_nowait(-1), aio::QueueShutDown) << r.ctx;
}

struct ShutdownTotals {
  int immediate = 0, graceful = 0, producers_shut_down = 0, consumers_shut_down = 0, waits_shut_down = 0, cancelled = 0;
};

aio::Coro<void> queue_shutdown_round(unsigned seed, std::size_t maxsize, bool with_cancels, ShutdownTotals& totals) {
  QueueRun r(seed, maxsize, /*producers=*/6, /*per_producer=*/100, /*consumers=*/4);
  r.ctx += with_cancels ? " (with cancels)" : "";
  bool immediate = false;
  start_queue_tasks(r);
  std::vector<aio::Task<void>> helpers;
  helpers.push_back(aio::create_task(shutter(r, 300, immediate), "shutter"));
  if (with_cancels)
    helpers.push_back(
        aio::create_task(queue_canceller(r, 2, 2, /*keep_a_consumer=*/false, /*max_gap=*/30), "canceller"));

  // Everybody ends: the shutdown wakes every waiting get() and put().
  std::vector<aio::Task<void>> everyone = r.producers;
  everyone.insert(everyone.end(), r.consumers.begin(), r.consumers.end());
  everyone.insert(everyone.end(), helpers.begin(), helpers.end());
  const bool ok = co_await settle(everyone, 50000);
  r.ctx += immediate ? " immediate" : " graceful";
  EXPECT_TRUE(ok) << r.ctx << ": tasks left hanging after shutdown(), producers " << not_done(r.producers)
                  << "; consumers " << not_done(r.consumers) << "; helpers " << not_done(helpers);
  EXPECT_TRUE(r.shut_down) << r.ctx;

  // What the consumers did not take is still there (unless dropped): take it.
  drain(r);
  check_items(r, /*exactly=*/!immediate);
  EXPECT_EQ(r.bad.count, 0) << r.ctx << ":" << r.bad.first;
  EXPECT_THROW(r.q.get_nowait(), aio::QueueShutDown) << r.ctx;

  // Every task ended the expected way: producers finished, hit QueueShutDown or were
  // cancelled by us; consumers hit QueueShutDown or were cancelled by us.
  int cancelled = 0;
  for (std::size_t p = 0; p < r.producers.size(); ++p) {
    if (!r.producers[p].done()) continue;
    const std::string out = co_await outcome_of(r.producers[p]);
    if (out == "cancelled") {
      ++cancelled;
      EXPECT_TRUE(r.producer_cancel_sent[p]) << r.ctx << " producer " << p << " cancelled by nobody";
    } else {
      EXPECT_EQ(out, "ok") << r.ctx << " producer " << p;
    }
  }
  int consumers_cancelled = 0;
  for (std::size_t c = 0; c < r.consumers.size(); ++c) {
    if (!r.consumers[c].done()) continue;
    const std::string out = co_await outcome_of(r.consumers[c]);
    if (out == "cancelled") {
      ++consumers_cancelled;
      EXPECT_TRUE(r.consumer_cancel_sent[c]) << r.ctx << " consumer " << c << " cancelled by nobody";
    } else {
      EXPECT_EQ(out, "ok") << r.ctx << " consumer " << c;
    }
  }
  if (ok) {
    EXPECT_EQ(r.consumers_shut_down + consumers_cancelled, r.n_consumers)
        << r.ctx << ": every consumer ends with QueueShutDown or its cancellation";
  }
  for (auto& h : helpers) {
    if (!h.done()) continue;
    const std::string out = co_await outcome_of(h);
    EXPECT_EQ(out, "ok") << r.ctx;
  }

  const bool joined = co_await join_returns(r.q);
  EXPECT_TRUE(joined) << r.ctx << ": join() does not return after shutdown";

  if (!ok) co_await reap(everyone);
  (immediate ? totals.immediate : totals.graceful) += 1;
  totals.producers_shut_down += r.producers_shut_down;
  totals.consumers_shut_down += r.consumers_shut_down;
  totals.waits_shut_down += r.waits_shut_down;
  totals.cancelled += cancelled + consumers_cancelled;
}

}  // namespace

AIO_TEST(QueueStress, ShutdownAtARandomMoment) {
  ShutdownTotals totals;
  for (std::size_t maxsize : {std::size_t{0}, std::size_t{1}, std::size_t{4}})
    for (unsigned seed = 1; seed <= kSeeds; ++seed)
      co_await queue_shutdown_round(seed, maxsize, /*with_cancels=*/false, totals);
  // Both kinds of shutdown happened, and they interrupted waiting tasks.
  EXPECT_GT(totals.immediate, 0);
  EXPECT_GT(totals.graceful, 0);
  EXPECT_GT(totals.producers_shut_down, 0);
  EXPECT_GT(totals.consumers_shut_down, 0);
  EXPECT_GT(totals.waits_shut_down, 0);
}

AIO_TEST(QueueStress, ShutdownWithCancellation) {
  ShutdownTotals totals;
  for (std::size_t maxsize : {std::size_t{0}, std::size_t{2}})
    for (unsigned seed = 1; seed <= kSeeds; ++seed)
      co_await queue_shutdown_round(seed, maxsize, /*with_cancels=*/true, totals);
  EXPECT_GT(totals.cancelled, 0);
  EXPECT_GT(totals.producers_shut_down, 0);
  EXPECT_GT(totals.consumers_shut_down, 0);
}

// --- 3/4. Semaphore, BoundedSemaphore, Lock: at most k inside, FIFO --------------------------

namespace {

template <class Sync>
struct SyncRun {
  using Guard = std::conditional_t<std::is_same_v<Sync, aio::Lock>, aio::LockGuard, aio::SemaphoreGuard>;
  SyncRun(Sync& s, int capacity_, unsigned seed, int workers_, int iterations_, const char* what)
      : sync(s),
        capacity(capacity_),
        rng(seed),
        n_workers(workers_),
        iterations(iterations_),
        completed(static_cast<std::size_t>(workers_), 0),
        cancel_sent(static_cast<std::size_t>(workers_), false),
        ctx(std::string(what) + " seed=" + std::to_string(seed) + " k=" + std::to_string(capacity_)) {}

  Sync& sync;
  int capacity;
  Rng rng;
  int n_workers, iterations;
  std::vector<int> completed;  // per worker: iterations through the critical section
  std::vector<bool> cancel_sent;
  std::vector<aio::Task<void>> workers;
  int inside = 0, max_inside = 0, entries = 0, cancelled_waiting = 0;
  Violations bad;
  std::string ctx;

  // FIFO: tasks get in in the order they called acquire() (cancelled ones leave the line).
  long next_ticket = 0;
  std::vector<long> ticket = std::vector<long>(static_cast<std::size_t>(n_workers), -1);  // -1: not waiting
  std::set<long> line;  // tickets of the tasks inside acquire()
  void queue_up(int id) {
    ticket[static_cast<std::size_t>(id)] = next_ticket;
    line.insert(next_ticket++);
  }
  void leave_line(int id) {  // cancelled: the task is out of the line, it will not get in
    long& t = ticket[static_cast<std::size_t>(id)];
    if (t >= 0) line.erase(t);
    t = -1;
  }
  void got_in(int id) {
    long& t = ticket[static_cast<std::size_t>(id)];
    if (t < 0) {
      bad.add("worker " + std::to_string(id) + " got in after being cancelled while waiting");
    } else if (*line.begin() != t) {
      bad.add("worker " + std::to_string(id) + " (ticket " + std::to_string(t) + ") got in before ticket " +
              std::to_string(*line.begin()) + ": not FIFO");
    }
    leave_line(id);
  }
};

// What the primitive itself says while `inside` tasks hold it.
template <class Sync>
void check_primitive(SyncRun<Sync>& r, const char* where) {
  if constexpr (std::is_same_v<Sync, aio::Lock>) {
    if (r.inside > 0 && !r.sync.locked()) r.bad.add(std::string(where) + ": held but not locked()");
  } else {
    const int v = r.sync.value();
    if (v < 0 || v + r.inside > r.capacity)
      r.bad.add(std::string(where) + ": value() " + std::to_string(v) + " with " + std::to_string(r.inside) +
                " holders (k " + std::to_string(r.capacity) + ")");
    if (r.inside == r.capacity && !r.sync.locked()) r.bad.add(std::string(where) + ": full but not locked()");
  }
}

template <class Sync>
struct Inside {  // counts the holders; leaves on every path, cancellation included
  SyncRun<Sync>& r;
  explicit Inside(SyncRun<Sync>& run) : r(run) {
    ++r.inside;
    ++r.entries;
    r.max_inside = std::max(r.max_inside, r.inside);
    if (r.inside > r.capacity)
      r.bad.add(std::to_string(r.inside) + " holders inside (k " + std::to_string(r.capacity) + ")");
    check_primitive(r, "on entry");
  }
  ~Inside() { --r.inside; }
  Inside(const Inside&) = delete;
  Inside& operator=(const Inside&) = delete;
};

template <class Sync>
aio::Coro<void> critical(SyncRun<Sync>& r) {
  Inside<Sync> in(r);
  co_await yield_some(r.rng, 2);
  check_primitive(r, "inside");
}

template <class Sync>
aio::Coro<void> sync_worker(SyncRun<Sync>& r, int id) {
  for (int it = 0; it < r.iterations; ++it) {
    co_await yield_some(r.rng, 2);
    if (r.rng.one_in(2)) {
      typename SyncRun<Sync>::Guard guard;
      r.queue_up(id);
      try {
        guard = co_await r.sync.lock();
      } catch (const aio::CancelledError&) {
        ++r.cancelled_waiting;
        r.leave_line(id);
        throw;
      }
      r.got_in(id);
      co_await critical(r);
    } else {
      r.queue_up(id);
      try {
        co_await r.sync.acquire();
      } catch (const aio::CancelledError&) {
        ++r.cancelled_waiting;
        r.leave_line(id);
        throw;
      }
      r.got_in(id);
      try {
        co_await critical(r);
      } catch (...) {
        r.sync.release();
        throw;
      }
      r.sync.release();
    }
    ++r.completed[static_cast<std::size_t>(id)];
  }
}

template <class Sync>
aio::Coro<void> sync_canceller(SyncRun<Sync>& r, int budget) {
  for (int step = 0; step < 2000 && budget > 0; ++step) {
    co_await yield_some(r.rng, 30);
    if (all_done(r.workers)) break;
    // Half the time, aim at a task inside acquire() (maybe already handed a unit).
    std::vector<int> waiting;
    for (int i = 0; i < r.n_workers; ++i)
      if (r.ticket[static_cast<std::size_t>(i)] >= 0 && !r.cancel_sent[static_cast<std::size_t>(i)])
        waiting.push_back(i);
    const int w = !waiting.empty() && r.rng.one_in(2)
                      ? waiting[static_cast<std::size_t>(r.rng.below(static_cast<int>(waiting.size())))]
                      : r.rng.below(r.n_workers);
    auto& t = r.workers[static_cast<std::size_t>(w)];
    if (!t.done() && !r.cancel_sent[static_cast<std::size_t>(w)]) {
      r.cancel_sent[static_cast<std::size_t>(w)] = true;
      --budget;
      r.leave_line(w);  // a waiting task cancelled now must not get in any more
      t.cancel();
    }
  }
}

struct SyncTotals {
  int max_inside = 0, cancelled_waiting = 0, entries = 0;
};

template <class Sync>
aio::Coro<void> sync_round(Sync& sync, int k, unsigned seed, int workers, int iterations, const char* what,
                           SyncTotals& totals) {
  SyncRun<Sync> r(sync, k, seed, workers, iterations, what);
  for (int w = 0; w < workers; ++w)
    r.workers.push_back(aio::create_task(sync_worker(r, w), "worker " + std::to_string(w)));
  std::vector<aio::Task<void>> helpers{aio::create_task(sync_canceller(r, workers / 3), "canceller")};

  const bool ok = co_await settle(r.workers, 50000);
  EXPECT_TRUE(ok) << r.ctx << ": workers stuck, " << not_done(r.workers) << " (" << r.inside << " inside)";
  const bool helpers_ok = co_await settle(helpers, 50000);
  EXPECT_TRUE(helpers_ok) << r.ctx << ": the canceller did not finish";

  EXPECT_EQ(r.bad.count, 0) << r.ctx << ":" << r.bad.first;
  EXPECT_LE(r.max_inside, k) << r.ctx;
  EXPECT_EQ(r.inside, 0) << r.ctx;
  // Every task we did not cancel got in every time; the ones we cancelled end cancelled.
  for (std::size_t w = 0; w < r.workers.size(); ++w) {
    if (!r.workers[w].done()) continue;
    const std::string out = co_await outcome_of(r.workers[w]);
    if (r.cancel_sent[w]) {
      EXPECT_EQ(out, "cancelled") << r.ctx << " worker " << w;
    } else {
      EXPECT_EQ(out, "ok") << r.ctx << " worker " << w;
      EXPECT_EQ(r.completed[w], iterations) << r.ctx << " worker " << w;
    }
  }
  if (!ok) co_await reap(r.workers);
  co_await reap(helpers);
  totals.max_inside = std::max(totals.max_inside, r.max_inside);
  totals.cancelled_waiting += r.cancelled_waiting;
  totals.entries += r.entries;
}

}  // namespace

AIO_TEST(SemaphoreStress, AtMostKHoldersWithCancellation) {
  for (int k : {1, 2, 3, 5}) {
    SyncTotals totals;
    for (unsigned seed = 1; seed <= kSeeds; ++seed) {
      aio::Semaphore sem(k);
      co_await sync_round(sem, k, seed, /*workers=*/16, /*iterations=*/40, "Semaphore", totals);
      // Every unit came back, whatever was cancelled where.
      EXPECT_EQ(sem.value(), k) << "seed " << seed << " k " << k;
      EXPECT_FALSE(sem.locked()) << "seed " << seed << " k " << k;
    }
    EXPECT_EQ(totals.max_inside, k) << "k " << k << ": never full, the stress is too weak";
    EXPECT_GT(totals.cancelled_waiting, 0) << "k " << k;
  }
}

AIO_TEST(SemaphoreStress, BoundedSemaphoreWithCancellation) {
  for (int k : {1, 3}) {
    SyncTotals totals;
    for (unsigned seed = 1; seed <= kSeeds; ++seed) {
      aio::BoundedSemaphore sem(k);
      co_await sync_round(sem, k, seed, /*workers=*/12, /*iterations=*/20, "BoundedSemaphore", totals);
      EXPECT_EQ(sem.value(), k) << "seed " << seed << " k " << k;
      EXPECT_FALSE(sem.locked()) << "seed " << seed << " k " << k;
      // Exactly as many releases as acquisitions: one more is refused.
      EXPECT_THROW(sem.release(), aio::UsageError) << "seed " << seed << " k " << k;
    }
    EXPECT_EQ(totals.max_inside, k) << "k " << k;
    EXPECT_GT(totals.cancelled_waiting, 0) << "k " << k;
  }
}

AIO_TEST(LockStress, MutualExclusionWithCancellation) {
  SyncTotals totals;
  for (unsigned seed = 1; seed <= kSeeds; ++seed) {
    aio::Lock lock;
    co_await sync_round(lock, 1, seed, /*workers=*/12, /*iterations=*/20, "Lock", totals);
    EXPECT_FALSE(lock.locked()) << "seed " << seed;
  }
  EXPECT_EQ(totals.max_inside, 1);
  EXPECT_GT(totals.cancelled_waiting, 0);
}

// --- 4. Condition: notify(n) and cancellations ------------------------------------------------

namespace {

// The test keeps its own model of the condition's FIFO of waiters (asyncio's semantics:
// notify(n) wakes the first n waiters not woken yet; a waiter cancelled before being woken
// leaves; a wait() that ends in an exception notifies one more, so a notification it may
// have received is never lost). A wait() that returns must have been woken; once nothing
// runs any more, no woken waiter may still be waiting.
struct CondRun {
  CondRun(unsigned seed_, int waiters_)
      : rng(seed_),
        n_waiters(waiters_),
        cancel_sent(static_cast<std::size_t>(waiters_), false),
        ctx("seed=" + std::to_string(seed_)) {}

  struct Entry {
    int id;
    bool woken;
  };

  aio::Condition cond;
  Rng rng;
  int n_waiters;
  std::vector<bool> cancel_sent;
  std::vector<aio::Task<void>> waiters;
  std::vector<Entry> model;  // tasks inside wait(), in the order they called it
  bool stop = false;
  int holders = 0;  // tasks that hold the lock according to the test
  int returns = 0, wait_cancelled = 0, cancelled_after_notify = 0, notifies = 0;
  Violations bad;
  std::string ctx;

  Entry* find(int id) {
    for (auto& e : model)
      if (e.id == id) return &e;
    return nullptr;
  }
  void model_notify(int n) {
    for (auto& e : model) {
      if (n <= 0) break;
      if (!e.woken) {
        e.woken = true;
        --n;
      }
    }
  }
  // wait() returned (threw == false) or threw CancelledError.
  void after_wait(int id, bool threw) {
    auto it = std::find_if(model.begin(), model.end(), [id](const Entry& e) { return e.id == id; });
    if (it == model.end()) {
      bad.add("waiter " + std::to_string(id) + " left wait() twice");
      return;
    }
    if (!threw && !it->woken) bad.add("waiter " + std::to_string(id) + ": wait() returned without a notification");
    model.erase(it);
    if (threw) model_notify(1);
  }
};

// Holds the lock according to the test: checks that the lock is locked and that nobody
// else is inside.
struct Holding {
  CondRun& r;
  Holding(CondRun& run, int id, const char* where) : r(run) {
    if (!r.cond.locked()) r.bad.add("task " + std::to_string(id) + " " + where + ": the lock is not held");
    if (r.holders != 0)
      r.bad.add("task " + std::to_string(id) + " " + where + ": " + std::to_string(r.holders) + " other holder(s)");
    ++r.holders;
  }
  ~Holding() { --r.holders; }
  Holding(const Holding&) = delete;
  Holding& operator=(const Holding&) = delete;
};

aio::Coro<void> cond_waiter(CondRun& r, int id) {
  for (;;) {
    auto guard = co_await r.cond.lock();
    {
      Holding h(r, id, "after lock()");
      if (r.rng.one_in(3)) co_await aio::sleep(0);
      if (r.stop) co_return;
    }
    r.model.push_back({id, false});
    try {
      co_await r.cond.wait();
    } catch (const aio::CancelledError&) {
      ++r.wait_cancelled;
      r.after_wait(id, /*threw=*/true);
      Holding h(r, id, "when wait() threw");
      throw;
    }
    r.after_wait(id, /*threw=*/false);
    Holding h(r, id, "when wait() returned");
    ++r.returns;
    if (r.rng.one_in(3)) co_await aio::sleep(0);
  }
}

int woken_left(const CondRun& r) {
  return static_cast<int>(
      std::count_if(r.model.begin(), r.model.end(), [](const CondRun::Entry& e) { return e.woken; }));
}

std::string woken_ids(const CondRun& r) {
  std::string ids;
  for (const auto& e : r.model)
    if (e.woken) ids.append(" ").append(std::to_string(e.id));
  return ids;
}

aio::Coro<void> cond_notifier(CondRun& r, int rounds) {
  for (int i = 0; i < rounds; ++i) {
    co_await yield_some(r.rng, 3);
    {
      auto guard = co_await r.cond.lock();
      Holding h(r, -1, "notifier");
      ++r.notifies;
      if (r.rng.one_in(30)) {
        r.cond.notify_all();
        r.model_notify(INT_MAX);
      } else {
        const int n = r.rng.below(4);  // 0 .. 3
        r.cond.notify(n);
        r.model_notify(n);
      }
      if (r.rng.one_in(2)) co_await aio::sleep(0);
    }
    // Now and then, no notification for a while: every waiter notified so far (directly,
    // or passed on by a cancelled one) gets the lock back and returns. One that stays
    // parked means a notification was lost (later notifications would hide it).
    if (r.rng.one_in(6)) {
      for (int k = 0; k < 1000 && woken_left(r) > 0; ++k) co_await aio::sleep(0);
      if (woken_left(r) > 0)
        r.bad.add("after notification " + std::to_string(r.notifies) +
                  ", notified waiters never returned:" + woken_ids(r));
    }
  }
}

aio::Coro<void> cond_canceller(CondRun& r, int budget) {
  for (int step = 0; step < 2000 && budget > 0; ++step) {
    const int gap = r.rng.below(41);
    for (int i = 0; i < gap; ++i) {
      co_await aio::sleep(0);
      if (woken_left(r) > 0 && r.rng.one_in(4)) break;  // a notified waiter that has not run yet
    }
    // Half the time, aim at a notified waiter: cancelling it must pass the notification on.
    std::vector<int> notified;
    for (const auto& e : r.model)
      if (e.woken && !r.cancel_sent[static_cast<std::size_t>(e.id)]) notified.push_back(e.id);
    const int w = !notified.empty() && r.rng.one_in(2)
                      ? notified[static_cast<std::size_t>(r.rng.below(static_cast<int>(notified.size())))]
                      : r.rng.below(r.n_waiters);
    auto& t = r.waiters[static_cast<std::size_t>(w)];
    if (t.done() || r.cancel_sent[static_cast<std::size_t>(w)]) continue;
    r.cancel_sent[static_cast<std::size_t>(w)] = true;
    --budget;
    // A waiter cancelled before a notify() picked it just leaves the condition's queue
    // (so later notifications skip it): the model marks it as no longer waiting for one.
    if (CondRun::Entry* e = r.find(w)) {
      if (e->woken)
        ++r.cancelled_after_notify;
      else
        e->woken = true;
    }
    t.cancel();
  }
}

struct CondTotals {
  int returns = 0, wait_cancelled = 0, cancelled_after_notify = 0;
};

aio::Coro<void> cond_round(unsigned seed, CondTotals& totals) {
  CondRun r(seed, /*waiters=*/12);
  for (int w = 0; w < r.n_waiters; ++w)
    r.waiters.push_back(aio::create_task(cond_waiter(r, w), "waiter " + std::to_string(w)));
  std::vector<aio::Task<void>> helpers{aio::create_task(cond_notifier(r, 400), "notifier"),
                                       aio::create_task(cond_canceller(r, 6), "canceller")};
  const bool helpers_ok = co_await settle(helpers, 50000);
  EXPECT_TRUE(helpers_ok) << r.ctx << ": notifier/canceller stuck " << not_done(helpers);

  // Quiescence: every woken waiter gets the lock back and returns (or leaves when
  // cancelled); a notification that reached nobody would leave a woken entry behind.
  for (int i = 0; i < 5000 && woken_left(r) > 0; ++i) co_await aio::sleep(0);
  auto running = [&r] {
    return static_cast<std::size_t>(
        std::count_if(r.waiters.begin(), r.waiters.end(), [](const aio::Task<void>& t) { return !t.done(); }));
  };
  for (int i = 0; i < 5000 && running() != r.model.size(); ++i) co_await aio::sleep(0);  // the others park
  EXPECT_EQ(woken_left(r), 0) << r.ctx << ": notified (or passed-on) waiters never returned:" << woken_ids(r);
  EXPECT_EQ(running(), r.model.size()) << r.ctx << ": live waiters not all parked in wait()";
  EXPECT_FALSE(r.cond.locked()) << r.ctx;

  // A final notify_all() releases everyone.
  {
    auto guard = co_await r.cond.lock();
    Holding h(r, -2, "final notify_all");
    r.stop = true;
    r.cond.notify_all();
    r.model_notify(INT_MAX);
  }
  const bool ok = co_await settle(r.waiters, 50000);
  EXPECT_TRUE(ok) << r.ctx << ": waiters left after notify_all(): " << not_done(r.waiters);
  EXPECT_TRUE(r.model.empty()) << r.ctx;
  EXPECT_FALSE(r.cond.locked()) << r.ctx;
  EXPECT_EQ(r.holders, 0) << r.ctx;
  EXPECT_EQ(r.bad.count, 0) << r.ctx << ":" << r.bad.first;
  for (std::size_t w = 0; w < r.waiters.size(); ++w) {
    if (!r.waiters[w].done()) continue;
    const std::string out = co_await outcome_of(r.waiters[w]);
    EXPECT_EQ(out, r.cancel_sent[w] ? "cancelled" : "ok") << r.ctx << " waiter " << w;
  }
  if (!ok) co_await reap(r.waiters);
  co_await reap(helpers);
  totals.returns += r.returns;
  totals.wait_cancelled += r.wait_cancelled;
  totals.cancelled_after_notify += r.cancelled_after_notify;
}

}  // namespace

AIO_TEST(ConditionStress, NotifyAndCancelLoseNoNotification) {
  CondTotals totals;
  for (unsigned seed = 1; seed <= kSeeds; ++seed) co_await cond_round(seed, totals);
  EXPECT_GT(totals.returns, 0);
  EXPECT_GT(totals.wait_cancelled, 0);
  EXPECT_GT(totals.cancelled_after_notify, 0) << "the pass-the-notification-on path never ran";
}

// --- Event: set/clear races and cancellation --------------------------------------------------

namespace {

struct EventRun {
  explicit EventRun(unsigned seed_) : rng(seed_), ctx("seed=" + std::to_string(seed_)) {}
  aio::Event ev;
  Rng rng;
  int sets = 0;  // set() calls that changed the flag
  int returns = 0, cancelled = 0;
  bool stop = false;
  std::vector<aio::Task<void>> waiters;
  Violations bad;
  std::string ctx;
};

aio::Coro<void> event_waiter(EventRun& r, int id) {
  while (!r.stop) {
    const bool was_set = r.ev.is_set();
    const int sets_before = r.sets;
    try {
      co_await r.ev.wait();
    } catch (const aio::CancelledError&) {
      ++r.cancelled;
      throw;
    }
    // wait() returns only if the flag was set, or was set while we waited.
    if (!was_set && r.sets == sets_before)
      r.bad.add("waiter " + std::to_string(id) + ": wait() returned though set() was never called");
    ++r.returns;
    co_await yield_some(r.rng, 2);
  }
}

aio::Coro<void> event_driver(EventRun& r, int steps, int cancel_budget) {
  for (int i = 0; i < steps; ++i) {
    co_await yield_some(r.rng, 3);
    switch (r.rng.below(4)) {
      case 0:
      case 1:
        if (!r.ev.is_set()) ++r.sets;
        r.ev.set();
        if (r.rng.one_in(2)) r.ev.clear();  // set() then clear(): the waiters still wake
        break;
      case 2:
        r.ev.clear();
        break;
      default: {
        auto& t = r.waiters[static_cast<std::size_t>(r.rng.below(static_cast<int>(r.waiters.size())))];
        if (cancel_budget > 0 && !t.done()) {
          --cancel_budget;
          t.cancel();
        }
      }
    }
  }
  r.stop = true;
  if (!r.ev.is_set()) ++r.sets;
  r.ev.set();
}

}  // namespace

AIO_TEST(EventStress, SetClearAndCancel) {
  int returns = 0, cancelled = 0;
  for (unsigned seed = 1; seed <= kSeeds; ++seed) {
    EventRun r(seed);
    for (int w = 0; w < 8; ++w) r.waiters.push_back(aio::create_task(event_waiter(r, w)));
    std::vector<aio::Task<void>> driver{aio::create_task(event_driver(r, 400, 3))};
    const bool driver_ok = co_await settle(driver, 50000);
    const bool waiters_ok = co_await settle(r.waiters, 50000);
    const bool ok = driver_ok && waiters_ok;
    EXPECT_TRUE(ok) << r.ctx << ": waiters left after the final set(): " << not_done(r.waiters);
    EXPECT_EQ(r.bad.count, 0) << r.ctx << ":" << r.bad.first;
    for (auto& t : r.waiters)
      if (t.done()) {
        const std::string out = co_await outcome_of(t);
        EXPECT_TRUE(out == "ok" || out == "cancelled") << r.ctx << ": " << out;
      }
    if (!ok) co_await reap(r.waiters);
    co_await reap(driver);
    returns += r.returns;
    cancelled += r.cancelled;
  }
  EXPECT_GT(returns, 0);
  EXPECT_GT(cancelled, 0);
}

// --- Barrier: rounds of random arrivals, and an abort at a random moment ----------------------

namespace {

struct BarrierRun {
  BarrierRun(unsigned seed_, int parties_, int rounds_)
      : barrier(parties_),
        rng(seed_),
        parties(parties_),
        rounds(rounds_),
        arrived(static_cast<std::size_t>(rounds_), 0),
        indices(static_cast<std::size_t>(rounds_)),
        ctx("seed=" + std::to_string(seed_)) {}
  aio::Barrier barrier;
  Rng rng;
  int parties, rounds;
  std::vector<int> arrived;               // per round: tasks that called wait()
  std::vector<std::vector<int>> indices;  // per round: the indices wait() returned
  int broken = 0;
  bool aborted = false;
  std::vector<aio::Task<void>> tasks;
  Violations bad;
  std::string ctx;
};

aio::Coro<void> barrier_party(BarrierRun& r, int id) {
  for (int round = 0; round < r.rounds; ++round) {
    co_await yield_some(r.rng, 3);
    ++r.arrived[static_cast<std::size_t>(round)];
    int index = -1;
    try {
      index = co_await r.barrier.wait();
    } catch (const aio::BrokenBarrierError&) {
      if (!r.aborted) r.bad.add("task " + std::to_string(id) + ": BrokenBarrierError without abort()");
      ++r.broken;
      co_return;
    }
    // Nobody passes round `round` before every party arrived at it.
    if (r.arrived[static_cast<std::size_t>(round)] != r.parties)
      r.bad.add("task " + std::to_string(id) + " passed round " + std::to_string(round) + " with only " +
                std::to_string(r.arrived[static_cast<std::size_t>(round)]) + " arrivals");
    r.indices[static_cast<std::size_t>(round)].push_back(index);
  }
}

aio::Coro<void> barrier_aborter(BarrierRun& r, int max_steps) {
  const int steps = r.rng.below(max_steps + 1);
  for (int i = 0; i < steps; ++i) co_await aio::sleep(0);
  r.aborted = true;
  co_await r.barrier.abort();
}

}  // namespace

AIO_TEST(BarrierStress, RoundsAndAbort) {
  int broken = 0;
  for (bool abort : {false, true})
    for (unsigned seed = 1; seed <= kSeeds; ++seed) {
      BarrierRun r(seed, /*parties=*/5, /*rounds=*/40);
      r.ctx += abort ? " with abort" : "";
      for (int p = 0; p < r.parties; ++p) r.tasks.push_back(aio::create_task(barrier_party(r, p)));
      if (abort) r.tasks.push_back(aio::create_task(barrier_aborter(r, 300)));
      const bool ok = co_await settle(r.tasks, 50000);
      EXPECT_TRUE(ok) << r.ctx << ": tasks left waiting at the barrier: " << not_done(r.tasks);
      EXPECT_EQ(r.bad.count, 0) << r.ctx << ":" << r.bad.first;
      // Full rounds (every index 0 .. parties-1 once), then with abort() at most one
      // partial round (the barrier tripped, but abort() came before some woke up: they get
      // BrokenBarrierError, as in asyncio; the last arrival still returns), then nothing.
      int partial_rounds = 0, empty_from = -1;
      for (int round = 0; round < r.rounds; ++round) {
        auto idx = r.indices[static_cast<std::size_t>(round)];
        std::sort(idx.begin(), idx.end());
        if (idx.empty()) {
          if (empty_from < 0) empty_from = round;
          continue;
        }
        if (empty_from >= 0) ADD_FAILURE() << r.ctx << " round " << round << " passed after an empty round";
        std::vector<int> all(static_cast<std::size_t>(r.parties));
        for (int i = 0; i < r.parties; ++i) all[static_cast<std::size_t>(i)] = i;
        if (static_cast<int>(idx.size()) == r.parties) {
          EXPECT_EQ(idx, all) << r.ctx << " round " << round;
          if (partial_rounds > 0) ADD_FAILURE() << r.ctx << " round " << round << " is full after a partial one";
          continue;
        }
        ++partial_rounds;
        EXPECT_TRUE(abort) << r.ctx << " round " << round << ": only " << idx.size() << " parties passed";
        EXPECT_TRUE(std::adjacent_find(idx.begin(), idx.end()) == idx.end()) << r.ctx << " round " << round;
        EXPECT_EQ(idx.back(), r.parties - 1) << r.ctx << " round " << round << ": the last arrival did not pass";
        EXPECT_GE(idx.front(), 0) << r.ctx << " round " << round;
      }
      EXPECT_LE(partial_rounds, 1) << r.ctx;
      if (!abort) {
        EXPECT_EQ(empty_from, -1) << r.ctx;
        EXPECT_EQ(r.broken, 0) << r.ctx;
      }
      EXPECT_EQ(r.barrier.broken(), abort) << r.ctx;
      for (auto& t : r.tasks) {
        if (!t.done()) continue;
        const std::string out = co_await outcome_of(t);
        EXPECT_EQ(out, "ok") << r.ctx;
      }
      if (!ok) co_await reap(r.tasks);
      broken += r.broken;
    }
  EXPECT_GT(broken, 0);
}
