#include "aio/detail/frame_alloc.hpp"

#include <atomic>
#include <mutex>
#include <vector>

namespace aio::detail {

namespace {

constexpr std::size_t kSlabBytes = 64 * 1024;

// Blocks handed back by exited threads, and every slab ever made (kept reachable so leak
// checkers see pool memory as in use, which it is).
struct SharedPool {
  std::mutex mutex;
  FreeBlock* heads[kFrameClasses] = {};
  std::atomic<std::size_t> free_blocks{0};
  std::vector<void*> slabs;
};
SharedPool& shared_pool() {
  static SharedPool* pool = new SharedPool;  // never destroyed: threads may exit after main
  return *pool;
}

struct Slab {
  char* next = nullptr;
  char* end = nullptr;
};
// Blocks of 16k bytes are carved from one slab, so each stays 16-byte aligned (an object
// of that size may need it); blocks of 16k + 8 bytes (never more than 8-aligned) from the
// other. One slab for both would waste 8 bytes whenever the sizes alternate — as a task's
// state and its coroutine frame do.
thread_local Slab tls_slabs[2];

// Hands a thread's free blocks to the shared pool when the thread exits.
struct FramePoolReaper {
  ~FramePoolReaper() {
    SharedPool& shared = shared_pool();
    std::lock_guard lock(shared.mutex);
    FramePool& pool = tls_frame_pool;
    std::size_t moved = 0;
    for (std::size_t c = 0; c < kFrameClasses; ++c) {
      while (FreeBlock* b = pool.heads[c]) {
        pool.heads[c] = b->next;
        b->next = shared.heads[c];
        shared.heads[c] = b;
        ++moved;
      }
    }
    shared.free_blocks.fetch_add(moved, std::memory_order_relaxed);
    pool.reaper_armed = false;
  }
};

void arm_reaper() {
  static thread_local FramePoolReaper reaper;
  (void)&reaper;
  tls_frame_pool.reaper_armed = true;
}

// Takes up to a batch of class-c blocks from the shared pool into this thread's list.
FreeBlock* take_shared(std::size_t c) {
  SharedPool& shared = shared_pool();
  if (shared.free_blocks.load(std::memory_order_relaxed) == 0) return nullptr;
  std::lock_guard lock(shared.mutex);
  FreeBlock* first = shared.heads[c];
  if (!first) return nullptr;
  FreeBlock* last = first;
  std::size_t n = 1;
  while (last->next && n < 256) {
    last = last->next;
    ++n;
  }
  shared.heads[c] = last->next;
  last->next = nullptr;
  shared.free_blocks.fetch_sub(n, std::memory_order_relaxed);
  return first;
}

void* carve(std::size_t bytes) {
  Slab& slab = tls_slabs[bytes % 16 == 0 ? 0 : 1];
  if (static_cast<std::size_t>(slab.end - slab.next) < bytes) {
    // The tail of the old slab (< 2 KiB) is abandoned; slabs are 64 KiB.
    char* fresh = static_cast<char*>(::operator new(kSlabBytes));
    {
      SharedPool& shared = shared_pool();
      std::lock_guard lock(shared.mutex);
      shared.slabs.push_back(fresh);
    }
    slab.next = fresh;
    slab.end = fresh + kSlabBytes;
  }
  void* p = slab.next;
  slab.next += bytes;
  return p;
}

}  // namespace

void* frame_alloc_slow(std::size_t c) {
  if (!tls_frame_pool.reaper_armed) arm_reaper();
  if (FreeBlock* list = take_shared(c)) {
    tls_frame_pool.heads[c] = list->next;
    return list;
  }
  return carve(c * kFrameGranule);
}

}  // namespace aio::detail
