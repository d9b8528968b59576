// What keeps a parked task small (issue 14, item 9), and what that must not break:
// the future's one-link waiter ring, the frame pool's 8-byte classes with 16-byte
// aligned frames, a void coroutine's exception handed over through the trampoline, and a
// task's wait sharing a word with its ready-queue link.

#include <gtest/gtest.h>

#include <aio/aio.hpp>
#include <aio/testing.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "support.hpp"

namespace {

using aio::detail::IntrusiveRing;
using aio::detail::RingNode;

struct Item : RingNode {
  explicit Item(int v) : value(v) {}
  int value;
};

std::vector<int> drain_oldest_first(IntrusiveRing<Item>& ring) {
  IntrusiveRing<Item> order;
  ring.reverse_into(order);
  std::vector<int> out;
  while (Item* i = order.pop_first()) out.push_back(i->value);
  return out;
}

TEST(WaiterRing, GivesBackTheElementsInTheOrderTheyCame) {
  IntrusiveRing<Item> ring;
  Item a(1), b(2), c(3);
  EXPECT_TRUE(ring.empty());
  ring.push(&a);
  ring.push(&b);
  ring.push(&c);
  EXPECT_TRUE(a.linked() && b.linked() && c.linked());
  EXPECT_EQ(drain_oldest_first(ring), (std::vector<int>{1, 2, 3}));
  EXPECT_TRUE(ring.empty());
  EXPECT_FALSE(a.linked() || b.linked() || c.linked());
}

TEST(WaiterRing, AnElementUnlinksItselfFromAnyPlace) {
  for (int gone = 1; gone <= 4; ++gone) {
    IntrusiveRing<Item> ring;
    Item a(1), b(2), c(3), d(4);
    for (Item* i : {&a, &b, &c, &d}) ring.push(i);
    Item* items[] = {&a, &b, &c, &d};
    IntrusiveRing<Item>::erase(items[gone - 1]);  // without a reference to the ring
    EXPECT_FALSE(items[gone - 1]->linked());
    std::vector<int> expected;
    for (int v = 1; v <= 4; ++v)
      if (v != gone) expected.push_back(v);
    EXPECT_EQ(drain_oldest_first(ring), expected) << "erased " << gone;
  }
}

TEST(WaiterRing, TheOnlyElementLeavesAnEmptyRing) {
  IntrusiveRing<Item> ring;
  Item a(1);
  ring.push(&a);
  IntrusiveRing<Item>::erase(&a);
  EXPECT_TRUE(ring.empty());
  EXPECT_EQ(ring.pop_first(), nullptr);
}

TEST(WaiterRing, ReplaceKeepsThePlace) {
  IntrusiveRing<Item> ring;
  Item a(1), b(2), c(3), stand_in(20);
  for (Item* i : {&a, &b, &c}) ring.push(i);
  IntrusiveRing<Item>::replace(&b, &stand_in);
  EXPECT_FALSE(b.linked());
  EXPECT_EQ(drain_oldest_first(ring), (std::vector<int>{1, 20, 3}));
}

TEST(WaiterRing, FindIfSeesEveryElement) {
  IntrusiveRing<Item> ring;
  Item a(1), b(2), c(3);
  for (Item* i : {&a, &b, &c}) ring.push(i);
  EXPECT_EQ(ring.find_if([](const Item* i) { return i->value == 2; }), &b);
  EXPECT_EQ(ring.find_if([](const Item* i) { return i->value == 9; }), nullptr);
}

// --- the frame pool ------------------------------------------------------------------------

// Compilers assume a coroutine frame is aligned as operator new's memory is (16 bytes):
// GCC 12 stores two 8-byte fields with one 16-byte aligned SSE store. The pool hands out
// blocks in 8-byte classes, so frames must still get 16-byte aligned blocks — also when
// blocks of 8-aligned sizes are carved in between. (An 8-aligned frame crashed here.)
aio::Coro<int> frame_of_size(int tag) {
  char bytes[24];
  bytes[0] = static_cast<char>(tag);
  co_await aio::sleep(0);
  co_return bytes[0];
}

struct OddSized : aio::detail::Pooled {
  char bytes[40];  // 40: a multiple of 8, not of 16
};

TEST(FramePool, FrameBlocksOfAnySizeAreSixteenByteAligned) {
  struct Block {
    void* p;
    std::size_t n;
  };
  std::vector<Block> frames;
  std::vector<OddSized*> odd;
  for (std::size_t n = 8; n <= 2048; n += 8) {
    odd.push_back(new OddSized);
    frames.push_back({aio::detail::frame_alloc(n), n});
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(frames.back().p) % 16, 0u) << "a frame of " << n << " bytes";
  }
  for (const Block& b : frames) aio::detail::frame_free(b.p, b.n);
  for (OddSized* o : odd) delete o;
}

TEST(FramePool, FramesAreSixteenByteAligned) {
  std::vector<OddSized*> odd;
  for (int i = 0; i < 500; ++i) {
    odd.push_back(new OddSized);  // leaves the carving point 8 bytes off 16 half the time
    auto frame = frame_of_size(i).release();
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(frame.address()) % 16, 0u) << "round " << i;
    frame.destroy();
  }
  for (OddSized* o : odd) delete o;
}

struct alignas(16) SixteenAligned : aio::detail::Pooled {
  char bytes[32];
};

TEST(FramePool, PooledObjectsKeepTheirAlignment) {
  std::vector<OddSized*> odd;
  std::vector<SixteenAligned*> aligned;
  for (int i = 0; i < 500; ++i) {
    odd.push_back(new OddSized);
    aligned.push_back(new SixteenAligned);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(aligned.back()) % 16, 0u);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(odd.back()) % 8, 0u);
  }
  for (OddSized* o : odd) delete o;
  for (SixteenAligned* a : aligned) delete a;
}

// --- a void coroutine's exception ------------------------------------------------------------

aio::Coro<void> fails(std::string what) {
  co_await aio::sleep(0);
  throw std::runtime_error(what);
}
aio::Coro<void> fails_at_once(std::string what) {
  throw std::runtime_error(what);
  co_return;
}
aio::Coro<void> succeeds() { co_await aio::sleep(0); }
aio::Coro<void> succeeds_at_once() { co_return; }

aio::Coro<std::string> caught(aio::Coro<void> c) {
  try {
    co_await std::move(c);
  } catch (const std::runtime_error& e) {
    co_return e.what();
  }
  co_return "no exception";
}

AIO_TEST(VoidCoroutineFailure, ReachesItsAwaiterAndNoOneElse) {
  EXPECT_EQ(co_await caught(fails("first")), "first");
  // The exception was taken: a coroutine that succeeds next reports none.
  EXPECT_EQ(co_await caught(succeeds()), "no exception");
  EXPECT_EQ(co_await caught(fails_at_once("second")), "second");
  EXPECT_EQ(co_await caught(succeeds_at_once()), "no exception");
}

aio::Coro<void> fails_through_two_levels(std::string what) { co_await fails(std::move(what)); }

aio::Coro<void> catches_then_fails() {
  try {
    co_await fails("inner");
  } catch (const std::runtime_error&) {
  }
  co_await succeeds();
  throw std::logic_error("outer");
}

AIO_TEST(VoidCoroutineFailure, TravelsThroughNestedAwaits) {
  EXPECT_EQ(co_await caught(fails_through_two_levels("deep")), "deep");
  bool logic_error = false;
  try {
    co_await catches_then_fails();
  } catch (const std::logic_error& e) {
    logic_error = std::string(e.what()) == "outer";
  }
  EXPECT_TRUE(logic_error);
}

AIO_TEST(VoidCoroutineFailure, EndsItsTask) {
  aio::Task<void> failing = aio::create_task(fails("in a task"));
  aio::Task<void> failing_at_once = aio::create_task(fails_at_once("at once"));
  aio::Task<void> fine = aio::create_task(succeeds());
  co_await aio::sleep(0);
  co_await aio::sleep(0);
  EXPECT_TRUE(failing.done());
  EXPECT_TRUE(fine.done());
  EXPECT_EQ(fine.exception(), nullptr);
  EXPECT_EQ(aio_test::what_of(failing.exception()), "in a task");
  EXPECT_EQ(aio_test::what_of(failing_at_once.exception()), "at once");
}

// --- a task's wait and its ready-queue link share a word ---------------------------------------

AIO_TEST(TaskWait, NothingWhileScheduledTheFutureWhileParked) {
  aio::Future<void> release;
  aio::Task<void> parked = aio::create_task([](aio::Future<void> f) -> aio::Coro<void> { co_await f; }(release));
  EXPECT_EQ(parked.state()->waiting_on(), nullptr);  // queued for its first step
  co_await aio::sleep(0);
  const aio::detail::Suspension* wait = parked.state()->waiting_on();
  AIO_ASSERT_(ASSERT_NE(wait, nullptr));
  EXPECT_EQ(wait->awaited_future(), release.core());
  release.set_result();
  EXPECT_EQ(parked.state()->waiting_on(), nullptr);  // woken: queued again
  co_await parked;
  EXPECT_EQ(parked.state()->waiting_on(), nullptr);
}

AIO_TEST(TaskWait, CancelWhileQueuedIsDeliveredAtTheAwait) {
  aio::Future<void> release;
  aio::Task<void> parked = aio::create_task([](aio::Future<void> f) -> aio::Coro<void> { co_await f; }(release));
  co_await aio::sleep(0);
  release.set_result();          // the task is queued again, its wait is over
  EXPECT_TRUE(parked.cancel());  // only flags it: it throws at the await it resumes from
  bool cancelled = false;
  try {
    co_await parked;
  } catch (const aio::CancelledError&) {
    cancelled = true;
  }
  EXPECT_TRUE(cancelled);
  EXPECT_TRUE(parked.cancelled());
}

// --- the sizes themselves (GCC 12 and Clang 14 on x86-64) -------------------------------------

TEST(ParkedTask, StateFitsInEightyBytes) {
  // vtable, count and flags, loop, waiter ring, extras, ready link / wait, resume point,
  // id and registry index, root: docs/benchmarks.md has the breakdown.
  EXPECT_LE(sizeof(aio::detail::TaskState<void>), 80u);
  EXPECT_LE(sizeof(aio::detail::CoreAwaiter<aio::detail::FutureState<void>, void>), 32u);
}

}  // namespace
