// Intrusive containers and reference counting used by the runtime's hot path: linking
// an object into a list never allocates, and unlinking is O(1) — which is what makes
// cancellation cheap (a cancelled waiter just unlinks itself).
#pragma once

#include <cstdint>
#include <utility>

namespace aio::detail {

/// A node of an IntrusiveList. Embed it (by inheritance) in the element type.
struct ListNode {
  ListNode* prev = nullptr;
  ListNode* next = nullptr;
  bool linked() const noexcept { return prev != nullptr; }
};

/// A doubly linked list of T (T derives from ListNode) with a sentinel, FIFO order.
template <class T>
class IntrusiveList {
 public:
  IntrusiveList() noexcept { head_.prev = head_.next = &head_; }
  IntrusiveList(const IntrusiveList&) = delete;
  IntrusiveList& operator=(const IntrusiveList&) = delete;

  bool empty() const noexcept { return head_.next == &head_; }

  void push_back(T* item) noexcept {
    ListNode* n = item;
    n->prev = head_.prev;
    n->next = &head_;
    head_.prev->next = n;
    head_.prev = n;
  }

  T* front() const noexcept { return empty() ? nullptr : static_cast<T*>(head_.next); }

  T* pop_front() noexcept {
    if (empty()) return nullptr;
    T* item = static_cast<T*>(head_.next);
    erase(item);
    return item;
  }

  static void erase(T* item) noexcept {
    ListNode* n = item;
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = nullptr;
  }

  /// The first item for which pred is true, or null.
  template <class F>
  T* find_if(F&& pred) const {
    for (ListNode* n = head_.next; n != &head_; n = n->next)
      if (pred(static_cast<const T*>(n))) return static_cast<T*>(n);
    return nullptr;
  }

  template <class F>
  void for_each(F&& f) const {
    for (ListNode* n = head_.next; n != &head_;) {
      ListNode* next = n->next;
      f(static_cast<T*>(n));
      n = next;
    }
  }

 private:
  ListNode head_;
};

/// Something the loop can run: a task step or a scheduled callback. The ready queue is
/// a singly linked FIFO of these, so scheduling is two pointer writes.
struct Runnable {
  Runnable* next_ready = nullptr;
  void (*run_fn)(Runnable*) = nullptr;
};

class ReadyQueue {
 public:
  bool empty() const noexcept { return head_ == nullptr; }
  void push(Runnable* r) noexcept {
    r->next_ready = nullptr;
    if (tail_)
      tail_->next_ready = r;
    else
      head_ = r;
    tail_ = r;
  }
  /// Takes every queued item at once: the loop runs this batch while new items queue up
  /// for the next iteration (asyncio's "run what was ready at the start" rule).
  Runnable* take_all() noexcept {
    Runnable* h = head_;
    head_ = tail_ = nullptr;
    return h;
  }
  /// Puts an unfinished batch back in front of the queue (used when stop() interrupts).
  void push_front_chain(Runnable* first, Runnable* last) noexcept {
    last->next_ready = head_;
    if (!head_) tail_ = last;
    head_ = first;
  }

 private:
  Runnable* head_ = nullptr;
  Runnable* tail_ = nullptr;
};

/// Intrusive reference counting for single-threaded runtime objects (no atomics: a loop's
/// objects are only touched from the loop's thread). T provides add_ref() and release().
template <class T>
class Ref {
 public:
  Ref() noexcept = default;
  explicit Ref(T* p, bool adopt = false) noexcept : p_(p) {
    if (p_ && !adopt) p_->add_ref();
  }
  Ref(const Ref& o) noexcept : p_(o.p_) {
    if (p_) p_->add_ref();
  }
  Ref(Ref&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  template <class U>
  Ref(const Ref<U>& o) noexcept : p_(o.get()) {
    if (p_) p_->add_ref();
  }
  Ref& operator=(Ref o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~Ref() {
    if (p_) p_->release();
  }

  T* get() const noexcept { return p_; }
  T* operator->() const noexcept { return p_; }
  T& operator*() const noexcept { return *p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  T* detach() noexcept { return std::exchange(p_, nullptr); }
  friend bool operator==(const Ref& a, const Ref& b) noexcept { return a.p_ == b.p_; }

 private:
  T* p_ = nullptr;
};

}  // namespace aio::detail
