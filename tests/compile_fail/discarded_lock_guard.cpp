// Must not compile: a guard taken with co_await and dropped at once (the lock is
// released immediately). GCC 12 does not diagnose a discarded co_await result; Clang does.
// compilers: Clang
// expect: nodiscard|ignoring return
#include <aio/aio.hpp>

aio::Coro<void> mistake() {
  aio::Lock lock;
  co_await lock.lock();
}
