// Must not compile: forgotten await acquire.
// expect: nodiscard|ignoring return
#include <aio/aio.hpp>

aio::Coro<void> child() { co_return; }

aio::Coro<void> mistake() {
  aio::Lock lock;
  lock.acquire();
}
