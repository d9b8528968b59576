// Must not compile: forgotten await coroutine.
// expect: nodiscard|ignoring return
#include <aio/aio.hpp>

aio::Coro<void> child() { co_return; }

aio::Coro<void> mistake() { child(); }
