// A growable circular FIFO buffer. Unlike std::deque, a steady producer/consumer pair
// never allocates once the buffer has grown to the queue's working size (std::deque
// frees and allocates a block every few hundred items as its window slides).
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

namespace aio::detail {

template <class T>
class RingBuffer {
 public:
  RingBuffer() = default;
  RingBuffer(const RingBuffer&) = delete;
  RingBuffer& operator=(const RingBuffer&) = delete;
  ~RingBuffer() {
    clear();
    if (slots_) std::allocator<T>().deallocate(slots_, capacity_);
  }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  void push_back(T&& value) {
    if (size_ == capacity_) grow();
    std::construct_at(slots_ + ((head_ + size_) & (capacity_ - 1)), std::move(value));
    ++size_;
  }

  T pop_front() {
    T* slot = slots_ + head_;
    T value(std::move(*slot));
    std::destroy_at(slot);
    head_ = (head_ + 1) & (capacity_ - 1);
    --size_;
    return value;
  }

  void clear() noexcept {
    while (size_ > 0) {
      std::destroy_at(slots_ + head_);
      head_ = (head_ + 1) & (capacity_ - 1);
      --size_;
    }
    head_ = 0;
  }

 private:
  void grow() {
    std::size_t capacity = capacity_ ? capacity_ * 2 : 16;  // a power of two: index by mask
    T* slots = std::allocator<T>().allocate(capacity);
    for (std::size_t i = 0; i < size_; ++i) {
      T* from = slots_ + ((head_ + i) & (capacity_ - 1));
      std::construct_at(slots + i, std::move(*from));  // (queued types move without throwing
      std::destroy_at(from);                           //  in practice; see Queue's docs)
    }
    if (slots_) std::allocator<T>().deallocate(slots_, capacity_);
    slots_ = slots;
    capacity_ = capacity;
    head_ = 0;
  }

  T* slots_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace aio::detail
