// Must not compile: forgotten await lock.
// expect: nodiscard|ignoring return
#include <aio/aio.hpp>

aio::Coro<void> child() { co_return; }

aio::Coro<void> mistake() {
  aio::Lock lock;
  lock.lock();
}
