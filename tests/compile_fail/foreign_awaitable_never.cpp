// Must not compile: foreign awaitable never.
// expect: can only co_await aio's awaitables
#include <aio/aio.hpp>

aio::Coro<void> child() { co_return; }

aio::Coro<void> mistake() { co_await std::suspend_never{}; }
