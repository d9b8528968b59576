// Which loops are alive on this thread: lets objects that outlive their loop (a Task
// handle kept after aio::run returned) report errors without touching a dead loop.
#pragma once

namespace aio {
class EventLoop;
}

namespace aio::detail {
void register_loop(EventLoop* loop);
void unregister_loop(EventLoop* loop) noexcept;
bool loop_is_alive(EventLoop* loop) noexcept;
}  // namespace aio::detail
