// A per-thread free-list allocator for coroutine frames and the small runtime objects
// (task states, callback nodes) created at every create_task/call_soon.
//
// Blocks come in 8-byte size classes, carved from 64 KiB slabs (so a block carries no
// malloc header: a parked task costs only what its objects need), and are recycled by
// class: a program in a steady state allocates nothing. Memory given to the pool stays in
// the pool (it is reused, never returned to malloc); a thread that exits hands its free
// blocks to a process-wide list that other threads draw from.
//
// Under AddressSanitizer the pool is bypassed, so that ASan sees every frame's lifetime.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define AIO_FRAME_POOL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AIO_FRAME_POOL 0
#endif
#endif
#ifndef AIO_FRAME_POOL
#define AIO_FRAME_POOL 1
#endif

namespace aio::detail {

// 8, not malloc's 16: a C++ object's size is a multiple of its alignment, so an object of
// 16k + 8 bytes never needs more than 8-byte alignment, and blocks of 16k bytes are carved
// 16-byte aligned (see carve()). Coroutine frames are rounded up to 16 (frame_alloc):
// compilers assume a frame is aligned as operator new's memory is, whatever its size (GCC 12
// stores pairs of fields with aligned SSE moves; an 8-aligned frame crashed).
inline constexpr std::size_t kFrameGranule = 8;
inline constexpr std::size_t kFrameClasses = 257;  // blocks up to 2 KiB are pooled

struct FreeBlock {
  FreeBlock* next;
};

struct FramePool {
  FreeBlock* heads[kFrameClasses];
  bool reaper_armed;  // the thread-exit hook that hands free blocks back is registered
};

// Trivially constructible so that access compiles to a plain TLS load, no init guard.
inline constinit thread_local FramePool tls_frame_pool{};

/// Refills an empty class (from the process-wide list or a slab) and returns one block.
void* frame_alloc_slow(std::size_t size_class);

inline std::size_t frame_class(std::size_t n) noexcept { return (n + kFrameGranule - 1) / kFrameGranule; }

inline void* pool_alloc(std::size_t n) {
  if constexpr (AIO_FRAME_POOL) {
    std::size_t c = frame_class(n);
    if (c < kFrameClasses) {
      FramePool& pool = tls_frame_pool;
      if (FreeBlock* b = pool.heads[c]) {
        pool.heads[c] = b->next;
        return b;
      }
      return frame_alloc_slow(c);
    }
  }
  return ::operator new(n);
}

inline void pool_free(void* p, std::size_t n) noexcept {
  if constexpr (AIO_FRAME_POOL) {
    std::size_t c = frame_class(n);
    if (c < kFrameClasses) {
      FramePool& pool = tls_frame_pool;
      auto* b = static_cast<FreeBlock*>(p);
      b->next = pool.heads[c];
      pool.heads[c] = b;
      return;
    }
  }
  ::operator delete(p);
}

/// A coroutine frame: a 16-byte aligned block (see kFrameGranule).
inline void* frame_alloc(std::size_t n) { return pool_alloc((n + 15) & ~std::size_t{15}); }
inline void frame_free(void* p, std::size_t n) noexcept { pool_free(p, (n + 15) & ~std::size_t{15}); }

/// Gives a class pooled `new`/`delete`. Classes with virtual destructors get the
/// dynamic size in sized delete, so derived templates are recycled correctly.
struct Pooled {
  static void* operator new(std::size_t n) { return pool_alloc(n); }
  static void operator delete(void* p, std::size_t n) noexcept { pool_free(p, n); }
};

}  // namespace aio::detail
