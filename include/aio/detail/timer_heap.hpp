// The loop's timers: a binary min-heap of intrusive nodes that remember their index,
// so cancelling a timer is an O(log n) removal and firing never allocates.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

namespace aio::detail {

struct TimerNode {
  static constexpr std::uint32_t kNotQueued = std::numeric_limits<std::uint32_t>::max();
  std::int64_t when = 0;  // deadline, ns on the loop's monotonic clock
  std::uint64_t seq = 0;  // insertion order: equal deadlines fire FIFO
  std::uint32_t heap_index = kNotQueued;
  void (*fire)(TimerNode*) = nullptr;
  bool queued() const noexcept { return heap_index != kNotQueued; }
};

class TimerHeap {
 public:
  bool empty() const noexcept { return nodes_.empty(); }
  std::size_t size() const noexcept { return nodes_.size(); }
  TimerNode* top() const noexcept { return nodes_.front(); }

  void push(TimerNode* n) {
    n->seq = next_seq_++;
    nodes_.push_back(n);
    sift_up(nodes_.size() - 1);
  }

  TimerNode* pop() noexcept {
    TimerNode* t = nodes_.front();
    erase(t);
    return t;
  }

  void erase(TimerNode* n) noexcept {
    std::size_t i = n->heap_index;
    std::size_t last = nodes_.size() - 1;
    n->heap_index = TimerNode::kNotQueued;
    if (i != last) {
      place(i, nodes_[last]);
      nodes_.pop_back();
      if (i > 0 && before(nodes_[i], nodes_[(i - 1) / 2]))
        sift_up(i);
      else
        sift_down(i);
    } else {
      nodes_.pop_back();
    }
  }

 private:
  static bool before(const TimerNode* a, const TimerNode* b) noexcept {
    return a->when < b->when || (a->when == b->when && a->seq < b->seq);
  }
  void place(std::size_t i, TimerNode* n) noexcept {
    nodes_[i] = n;
    n->heap_index = static_cast<std::uint32_t>(i);
  }
  void sift_up(std::size_t i) noexcept {
    TimerNode* n = nodes_[i];
    while (i > 0) {
      std::size_t parent = (i - 1) / 2;
      if (!before(n, nodes_[parent])) break;
      place(i, nodes_[parent]);
      i = parent;
    }
    place(i, n);
  }
  void sift_down(std::size_t i) noexcept {
    TimerNode* n = nodes_[i];
    std::size_t size = nodes_.size();
    for (;;) {
      std::size_t child = 2 * i + 1;
      if (child >= size) break;
      if (child + 1 < size && before(nodes_[child + 1], nodes_[child])) ++child;
      if (!before(nodes_[child], n)) break;
      place(i, nodes_[child]);
      i = child;
    }
    place(i, n);
  }

  std::vector<TimerNode*> nodes_;
  std::uint64_t next_seq_ = 0;
};

}  // namespace aio::detail
