// Replaces global new/delete to count allocations. Kept in its own translation unit so
// the compiler never sees a replaced new and a free() together.
#include <atomic>
#include <cstdlib>
#include <new>

#include "alloc_counter.hpp"

namespace {
std::atomic<long> g_allocs{0};
}

long allocations() noexcept { return g_allocs.load(std::memory_order_relaxed); }

void* operator new(std::size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
