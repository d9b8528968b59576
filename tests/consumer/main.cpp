// Built against the installed aio package by scripts/test.sh.
#include <aio/aio.hpp>

#include <cstdio>

aio::Coro<int> compute(int x) {
  co_await aio::sleep(0.001);
  co_return x * 2;
}

aio::Coro<int> amain() {
  auto [a, b] = co_await aio::gather(compute(1), compute(2));
  co_return a + b;
}

int main() {
  int r = aio::run(amain());
  std::printf("consumer: aio::run returned %d\n", r);
  return r == 6 ? 0 : 1;
}
