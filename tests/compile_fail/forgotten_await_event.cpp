// Must not compile: forgotten await event.
// expect: nodiscard|ignoring return
#include <aio/aio.hpp>

aio::Coro<void> child() { co_return; }

aio::Coro<void> mistake() {
  aio::Event ev;
  ev.wait();
}
