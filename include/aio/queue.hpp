// aio::Queue, aio::PriorityQueue, aio::LifoQueue — asyncio.Queue and friends (3.13,
// shutdown included): queues between tasks of one event loop.
#pragma once

#include <algorithm>
#include <coroutine>
#include <cstddef>
#include <functional>
#include <type_traits>
#include <utility>
#include <vector>

#include "aio/detail/ring_buffer.hpp"
#include "aio/detail/wait_list.hpp"
#include "aio/errors.hpp"
#include "aio/event.hpp"

namespace aio {

namespace detail {

// How a queue orders its items: push one, pop the next.
template <class T>
class FifoStore {
 public:
  void push(T&& v) { items_.push_back(std::move(v)); }
  T pop() { return items_.pop_front(); }
  std::size_t size() const noexcept { return items_.size(); }
  void clear() noexcept { items_.clear(); }

 private:
  RingBuffer<T> items_;
};

template <class T>
class LifoStore {
 public:
  void push(T&& v) { items_.push_back(std::move(v)); }
  T pop() {
    T v(std::move(items_.back()));
    items_.pop_back();
    return v;
  }
  std::size_t size() const noexcept { return items_.size(); }
  void clear() noexcept { items_.clear(); }

 private:
  std::vector<T> items_;
};

// A binary heap that pops the smallest item first by Compare (like Python's heapq).
template <class T, class Compare>
class HeapStore {
 public:
  HeapStore() = default;
  explicit HeapStore(Compare c) : less_(std::move(c)) {}
  void push(T&& v) {
    items_.push_back(std::move(v));
    std::push_heap(items_.begin(), items_.end(), greater());
  }
  T pop() {
    std::pop_heap(items_.begin(), items_.end(), greater());
    T v(std::move(items_.back()));
    items_.pop_back();
    return v;
  }
  std::size_t size() const noexcept { return items_.size(); }
  void clear() noexcept { items_.clear(); }

 private:
  // std::*_heap build a max-heap; reversing the comparison makes the top the smallest.
  auto greater() {
    return [this](const T& a, const T& b) { return less_(b, a); };
  }
  std::vector<T> items_;
  [[no_unique_address]] Compare less_;
};

/// The queue machinery shared by Queue, PriorityQueue and LifoQueue; Store decides order.
template <class T, class Store>
class BasicQueue {
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "aio queues move items around as they grow: T needs a noexcept move constructor");

 public:
  /// maxsize 0 means unbounded; otherwise put() waits while qsize() == maxsize.
  explicit BasicQueue(std::size_t maxsize = 0) : maxsize_(maxsize) { finished_.set(); }
  BasicQueue(std::size_t maxsize, Store store) : maxsize_(maxsize), items_(std::move(store)) { finished_.set(); }
  BasicQueue(const BasicQueue&) = delete;
  BasicQueue& operator=(const BasicQueue&) = delete;

  std::size_t qsize() const noexcept { return items_.size(); }
  std::size_t maxsize() const noexcept { return maxsize_; }
  bool empty() const noexcept { return items_.size() == 0; }
  bool full() const noexcept { return maxsize_ != 0 && items_.size() >= maxsize_; }
  /// True once shutdown() was called.
  bool is_shut_down() const noexcept { return shut_down_; }

  /// Adds an item without waiting. Throws QueueFull if full, QueueShutDown after shutdown().
  void put_nowait(T item) {
    if (shut_down_) throw QueueShutDown("Queue.put_nowait: the queue is shut down");
    if (full()) throw QueueFull("Queue.put_nowait: the queue is full (maxsize " + std::to_string(maxsize_) + ")");
    items_.push(std::move(item));
    ++unfinished_;
    finished_.clear();
    wake_next(getters_);
  }

  /// Removes and returns an item without waiting. Throws QueueEmpty if there is none, and
  /// QueueShutDown if there is none and the queue is shut down.
  T get_nowait() {
    if (empty()) {
      if (shut_down_) throw QueueShutDown("Queue.get_nowait: the queue is shut down and empty");
      throw QueueEmpty("Queue.get_nowait: the queue is empty");
    }
    T item = items_.pop();
    wake_next(putters_);
    return item;
  }

  class [[nodiscard]] Put final : public RecheckingWaiter {
   public:
    Put(BasicQueue& q, T&& item) noexcept : q_(q), item_(std::move(item)) {}
    bool await_ready() const noexcept { return !q_.full() || q_.shut_down_; }
    void await_suspend(std::coroutine_handle<> h) { enqueue(q_.putters_, h, "Queue.put"); }
    /// Cancel-safe: a cancelled put inserts nothing, and a free slot it was woken for
    /// passes to the next putter.
    void await_resume() {
      if (task) {
        unlink();
        if (task->cancel_pending()) {
          if (granted && !q_.full()) wake_next(q_.putters_);
          task->throw_cancelled();
        }
      }
      q_.put_nowait(std::move(item_));
    }

   private:
    bool can_proceed() const noexcept override { return !q_.full() || q_.shut_down_; }
    BasicQueue& q_;
    T item_;
  };
  /// Puts an item, waiting while the queue is full. Throws QueueShutDown after shutdown()
  /// (a put waiting at the time of shutdown() throws it too; the item is dropped).
  Put put(T item) noexcept(std::is_nothrow_move_constructible_v<T>) { return Put(*this, std::move(item)); }

  class [[nodiscard]] Get final : public RecheckingWaiter {
   public:
    explicit Get(BasicQueue& q) noexcept : q_(q) {}
    bool await_ready() const noexcept { return !q_.empty() || q_.shut_down_; }
    void await_suspend(std::coroutine_handle<> h) { enqueue(q_.getters_, h, "Queue.get"); }
    /// Cancel-safe: a cancelled get takes no item, and an item it was woken for passes
    /// to the next getter.
    T await_resume() {
      if (task) {
        unlink();
        if (task->cancel_pending()) {
          if (granted && !q_.empty()) wake_next(q_.getters_);
          task->throw_cancelled();
        }
      }
      return q_.get_nowait();
    }

   private:
    bool can_proceed() const noexcept override { return !q_.empty() || q_.shut_down_; }
    BasicQueue& q_;
  };
  /// Removes and returns an item, waiting while the queue is empty. After shutdown() it
  /// still returns what is left, then throws QueueShutDown.
  Get get() noexcept { return Get(*this); }

  /// Marks one item taken by get() as processed (for join()). UsageError if called more
  /// times than items were put.
  void task_done() {
    if (unfinished_ == 0) throw UsageError("Queue.task_done: called more times than there were items put in the queue");
    if (--unfinished_ == 0) finished_.set();
  }
  /// Waits until every item put so far has been marked done with task_done().
  Event::Waiter join() noexcept { return finished_.wait(); }

  /// Python 3.13's Queue.shutdown: put() and put_nowait() throw QueueShutDown from now on;
  /// get() returns the remaining items, then throws it. With immediate, the remaining items
  /// are dropped (and counted as done for join()). Waiting putters and getters wake up.
  void shutdown(bool immediate = false) {
    shut_down_ = true;
    if (immediate) {
      while (!empty()) {
        (void)items_.pop();
        if (unfinished_ > 0) --unfinished_;
      }
      if (unfinished_ == 0) finished_.set();
    }
    while (RecheckingWaiter* w = getters_.front()) w->wake_to_recheck();
    while (RecheckingWaiter* w = putters_.front()) w->wake_to_recheck();
  }

 private:
  std::size_t maxsize_;
  Store items_;
  std::size_t unfinished_ = 0;
  bool shut_down_ = false;
  Event finished_;
  IntrusiveList<RecheckingWaiter> getters_;
  IntrusiveList<RecheckingWaiter> putters_;
};

}  // namespace detail

/// asyncio.Queue: a FIFO queue between tasks. Works with move-only T.
///
///     aio::Queue<Job> jobs(100);          // put() waits while 100 items are queued
///     co_await jobs.put(Job{...});
///     Job j = co_await jobs.get();
///     ...
///     jobs.task_done();                   // so that `co_await jobs.join()` can return
///
/// Getters and putters are served in FIFO order. Cancel-safe: a cancelled get() loses no
/// item and a cancelled put() inserts none.
template <class T>
class Queue : public detail::BasicQueue<T, detail::FifoStore<T>> {
 public:
  using detail::BasicQueue<T, detail::FifoStore<T>>::BasicQueue;
};

/// asyncio.PriorityQueue: get() returns the smallest item by Compare first (like heapq).
/// Not stable: items that compare equal come out in no particular order. For FIFO order
/// among equal priorities, queue (priority, sequence number, item) tuples.
template <class T, class Compare = std::less<T>>
class PriorityQueue : public detail::BasicQueue<T, detail::HeapStore<T, Compare>> {
  using Base = detail::BasicQueue<T, detail::HeapStore<T, Compare>>;

 public:
  explicit PriorityQueue(std::size_t maxsize = 0) : Base(maxsize) {}
  PriorityQueue(std::size_t maxsize, Compare compare)
      : Base(maxsize, detail::HeapStore<T, Compare>(std::move(compare))) {}
};

/// asyncio.LifoQueue: get() returns the most recently put item first.
template <class T>
class LifoQueue : public detail::BasicQueue<T, detail::LifoStore<T>> {
 public:
  using detail::BasicQueue<T, detail::LifoStore<T>>::BasicQueue;
};

}  // namespace aio
