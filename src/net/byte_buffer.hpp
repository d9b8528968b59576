// A byte buffer for stream I/O: bytes are appended at the tail (received into it directly,
// without zero-filling first) and consumed from the head. Its memory is kept and reused,
// so a connection in a steady state reads without allocating.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

namespace aio::detail {

namespace byte_buffer_blocks {
// The first block a buffer gets (and most ever need); a buffer grows by doubling. Blocks
// of 4 to 64 KiB are recycled through a small per-thread cache: a connection gives its
// block back whenever it waits for data with nothing buffered (ByteBuffer::release) and
// takes one again when bytes arrive, without malloc — so an idle connection holds no
// buffer and a busy one does not allocate per message.
inline constexpr std::size_t kFirst = 4096;
inline constexpr int kClasses = 5;  // 4, 8, 16, 32, 64 KiB
struct Cache {
  // Enough for a poll batch of 64 busy connections' blocks (they are taken in the
  // completions and given back when the tasks wait again), bounded in bytes.
  static constexpr int kMaxBlocks = 64;
  static constexpr std::size_t kMaxBytes = 2 * 1024 * 1024;
  char* blocks[kClasses][kMaxBlocks];
  int count[kClasses] = {};
  std::size_t bytes = 0;
  ~Cache();
};
inline thread_local Cache cache;
// Set when the thread's cache is destroyed: a buffer freed later (a loop that a
// thread_local holds goes among the thread's thread_locals) bypasses it. A bool without a
// destructor stays readable until the thread is gone.
inline thread_local bool cache_gone = false;
inline Cache::~Cache() {
  for (int c = 0; c < kClasses; ++c)
    while (count[c] > 0) delete[] blocks[c][--count[c]];
  cache_gone = true;
}

/// The cache's class of a block of `capacity` bytes, or -1 if it is not cached.
inline int class_of(std::size_t capacity) noexcept {
  for (int c = 0; c < kClasses; ++c)
    if (capacity == kFirst << c) return c;
  return -1;
}

inline char* take(std::size_t capacity) {
  const int c = class_of(capacity);
  if (c >= 0 && !cache_gone && cache.count[c] > 0) {
    cache.bytes -= capacity;
    return cache.blocks[c][--cache.count[c]];
  }
  return new char[capacity];
}
inline void give_back(char* block, std::size_t capacity) noexcept {
  if (!block) return;
  const int c = class_of(capacity);
  if (c >= 0 && !cache_gone && cache.count[c] < Cache::kMaxBlocks && cache.bytes + capacity <= Cache::kMaxBytes) {
    cache.blocks[c][cache.count[c]++] = block;
    cache.bytes += capacity;
    return;
  }
  delete[] block;
}
}  // namespace byte_buffer_blocks

class ByteBuffer {
 public:
  ByteBuffer() noexcept = default;
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;
  ~ByteBuffer() { byte_buffer_blocks::give_back(data_.release(), capacity_); }

  std::size_t size() const noexcept { return end_ - begin_; }
  bool empty() const noexcept { return begin_ == end_; }
  std::string_view view() const noexcept { return {data_.get() + begin_, size()}; }
  const char* data() const noexcept { return data_.get() + begin_; }

  /// At least n writable bytes after the data; fill some and call commit().
  char* prepare(std::size_t n) {
    if (capacity_ - end_ >= n) return data_.get() + end_;
    if (begin_ > 0 && capacity_ - size() >= n) {
      std::memmove(data_.get(), data_.get() + begin_, size());  // slide the data to the front
    } else {
      std::size_t capacity = capacity_ ? capacity_ : byte_buffer_blocks::kFirst;
      while (capacity - size() < n) capacity *= 2;
      std::unique_ptr<char[]> bigger(byte_buffer_blocks::take(capacity));
      if (size()) std::memcpy(bigger.get(), data_.get() + begin_, size());
      byte_buffer_blocks::give_back(data_.release(), capacity_);
      data_ = std::move(bigger);
      capacity_ = capacity;
    }
    end_ -= begin_;
    begin_ = 0;
    return data_.get() + end_;
  }
  std::size_t writable() const noexcept { return capacity_ - end_; }
  void commit(std::size_t n) noexcept { end_ += n; }

  void append(std::string_view s) {
    std::memcpy(prepare(s.size()), s.data(), s.size());
    commit(s.size());
  }
  void consume(std::size_t n) noexcept {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  void clear() noexcept { begin_ = end_ = 0; }
  /// Gives the memory back when the buffer grew big for a burst and is now empty.
  void shrink_if_idle(std::size_t keep) noexcept {
    if (empty() && capacity_ > keep) {
      byte_buffer_blocks::give_back(data_.release(), capacity_);
      capacity_ = 0;
    }
  }
  /// Gives the memory back if the buffer is empty (to the per-thread cache).
  void release_if_empty() noexcept { shrink_if_idle(0); }
  /// For a buffer whose owner waits for more: empty, it gives its block back; holding a
  /// few bytes in a block at least four times the size they need, it moves them into one
  /// that fits (the copy is bounded by a quarter of the block and happens only before a
  /// wait). Keeps the big block if a small one cannot be had.
  void fit_while_waiting() noexcept {
    if (empty()) return release_if_empty();
    std::size_t fit = byte_buffer_blocks::kFirst;
    while (fit < size()) fit *= 2;
    if (capacity_ < 4 * fit) return;
    try {
      ByteBuffer fitted;  // (append takes the smallest block that holds them: `fit`)
      fitted.append(view());
      swap(fitted);  // the big block goes back to the cache with `fitted`
    } catch (...) {
    }
  }
  std::size_t capacity() const noexcept { return capacity_; }
  void swap(ByteBuffer& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(capacity_, o.capacity_);
    std::swap(begin_, o.begin_);
    std::swap(end_, o.end_);
  }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace aio::detail
