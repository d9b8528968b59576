#include "aio/detail/frame_alloc.hpp"

namespace aio::detail {

namespace {
// Returns the thread's cached blocks to malloc when the thread exits.
struct FramePoolReaper {
  ~FramePoolReaper() {
    FramePool& pool = tls_frame_pool;
    for (std::size_t c = 0; c < kFrameClasses; ++c) {
      while (FreeBlock* b = pool.heads[c]) {
        pool.heads[c] = b->next;
        ::operator delete(b);
      }
      // Frames freed later in thread teardown bypass the cache (it is full from now on).
      pool.counts[c] = kFrameCacheLimit;
    }
  }
};
}  // namespace

void arm_frame_pool_reaper() noexcept {
  static thread_local FramePoolReaper reaper;
  (void)&reaper;
  tls_frame_pool.reaper_armed = true;
}

}  // namespace aio::detail
