// Must not compile: forgotten await gather.
// expect: nodiscard|ignoring return
#include <aio/aio.hpp>

aio::Coro<void> child() { co_return; }

aio::Coro<void> mistake() {
  auto t = aio::create_task(child());
  aio::gather(t, t);
}
