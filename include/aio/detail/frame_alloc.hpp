// A per-thread free-list allocator for coroutine frames and the small runtime objects
// (task states, callback nodes) created at every create_task/call_soon. Blocks are
// recycled by size class, so a steady-state program allocates nothing from malloc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

namespace aio::detail {

inline constexpr std::size_t kFrameGranule = 32;
inline constexpr std::size_t kFrameClasses = 64;  // blocks up to 2 KiB are pooled
inline constexpr std::uint32_t kFrameCacheLimit = 1u << 14;  // per class, per thread

struct FreeBlock {
  FreeBlock* next;
};

struct FramePool {
  FreeBlock* heads[kFrameClasses];
  std::uint32_t counts[kFrameClasses];
  bool reaper_armed;  // the thread-exit hook that returns cached blocks is registered
};

// Trivially constructible so that access compiles to a plain TLS load, no init guard.
inline constinit thread_local FramePool tls_frame_pool{};

void arm_frame_pool_reaper() noexcept;  // registers the thread-exit cleanup (cold)

inline std::size_t frame_class(std::size_t n) noexcept { return (n + kFrameGranule - 1) / kFrameGranule; }

inline void* frame_alloc(std::size_t n) {
  std::size_t c = frame_class(n);
  if (c < kFrameClasses) {
    FramePool& pool = tls_frame_pool;
    if (FreeBlock* b = pool.heads[c]) {
      pool.heads[c] = b->next;
      --pool.counts[c];
      return b;
    }
    return ::operator new(c * kFrameGranule);
  }
  return ::operator new(n);
}

inline void frame_free(void* p, std::size_t n) noexcept {
  std::size_t c = frame_class(n);
  if (c < kFrameClasses) {
    FramePool& pool = tls_frame_pool;
    if (pool.counts[c] < kFrameCacheLimit) {
      if (!pool.reaper_armed) arm_frame_pool_reaper();
      auto* b = static_cast<FreeBlock*>(p);
      b->next = pool.heads[c];
      pool.heads[c] = b;
      ++pool.counts[c];
      return;
    }
    ::operator delete(p);
    return;
  }
  ::operator delete(p);
}

/// Gives a class pooled `new`/`delete`. Classes with virtual destructors get the
/// dynamic size in sized delete, so derived templates are recycled correctly.
struct Pooled {
  static void* operator new(std::size_t n) { return frame_alloc(n); }
  static void operator delete(void* p, std::size_t n) noexcept { frame_free(p, n); }
};

}  // namespace aio::detail
