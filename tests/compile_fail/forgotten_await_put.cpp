// Must not compile: forgotten await put.
// expect: nodiscard|ignoring return
#include <aio/aio.hpp>

aio::Coro<void> child() { co_return; }

aio::Coro<void> mistake() {
  aio::Queue<int> q;
  q.put(1);
}
