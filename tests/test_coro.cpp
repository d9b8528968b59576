#include <gtest/gtest.h>

#include <aio/aio.hpp>

namespace {

aio::Coro<int> answer() { co_return 42; }
aio::Coro<int> add(int a, int b) {
  int x = co_await answer();
  co_return a + b + x - 42;
}

TEST(Coro, RunReturnsValue) { EXPECT_EQ(aio::run(add(1, 2)), 3); }

aio::Coro<void> thrower() {
  throw std::runtime_error("boom");
  co_return;
}

TEST(Coro, ExceptionPropagates) { EXPECT_THROW(aio::run(thrower()), std::runtime_error); }

aio::Coro<int> deep(int n) {
  if (n == 0) co_return 0;
  co_return 1 + co_await deep(n - 1);
}

TEST(Coro, MillionNestedAwaitsDoNotOverflow) { EXPECT_EQ(aio::run(deep(1'000'000)), 1'000'000); }

aio::Coro<long> sequential(long n) {
  long sum = 0;
  for (long i = 0; i < n; ++i) sum += co_await answer();
  co_return sum;
}

TEST(Coro, TenMillionSequentialAwaits) { EXPECT_EQ(aio::run(sequential(10'000'000)), 420'000'000L); }

aio::Coro<void> sleeper() {
  double t0 = aio::get_running_loop().time();
  co_await aio::sleep(0.05);
  double t1 = aio::get_running_loop().time();
  EXPECT_GE(t1 - t0, 0.049);
}
TEST(Coro, Sleep) { aio::run(sleeper()); }

}  // namespace

#include <aio/testing.hpp>

AIO_TEST(CoroAioTest, BodyRuns) {
  int v = co_await add(2, 3);
  EXPECT_EQ(v, 5);
}
