// Must not compile: forgotten await wait for.
// expect: nodiscard|ignoring return
#include <aio/aio.hpp>

aio::Coro<void> child() { co_return; }

aio::Coro<void> mistake() { aio::wait_for(child(), 1.0); }
