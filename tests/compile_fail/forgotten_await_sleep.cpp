// Must not compile: forgotten await sleep.
// expect: nodiscard|ignoring return
#include <aio/aio.hpp>

aio::Coro<void> child() { co_return; }

aio::Coro<void> mistake() { aio::sleep(1); }
