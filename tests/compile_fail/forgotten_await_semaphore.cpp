// Must not compile: forgotten await semaphore.
// expect: nodiscard|ignoring return
#include <aio/aio.hpp>

aio::Coro<void> child() { co_return; }

aio::Coro<void> mistake() {
  aio::Semaphore sem;
  sem.acquire();
}
