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

/// A node of an IntrusiveRing: a single link.
struct RingNode {
  RingNode* next = nullptr;
  bool linked() const noexcept { return next != nullptr; }
};

/// A circular singly linked list of T (T derives from RingNode), threaded through a
/// one-word sentinel: 8 bytes in the owner and 8 per element. It holds a future's waiters,
/// and most futures have none, one or two, so this is what keeps a parked task small.
///
/// Adding is O(1) and keeps the newest element first; reverse_into() hands the elements
/// over oldest first (a future wakes its waiters in the order they came). An element can
/// unlink itself without knowing its ring: erase() walks round the ring to its predecessor
/// — O(n) in the ring's length, as asyncio's remove_done_callback is.
template <class T>
class IntrusiveRing {
 public:
  IntrusiveRing() noexcept { head_.next = &head_; }
  IntrusiveRing(const IntrusiveRing&) = delete;
  IntrusiveRing& operator=(const IntrusiveRing&) = delete;

  bool empty() const noexcept { return head_.next == &head_; }

  void push(T* item) noexcept {
    RingNode* n = item;
    n->next = head_.next;
    head_.next = n;
  }

  /// The first element (the newest, or the oldest in a ring filled by reverse_into), or null.
  T* pop_first() noexcept {
    if (empty()) return nullptr;
    RingNode* n = head_.next;
    head_.next = n->next;
    n->next = nullptr;
    return static_cast<T*>(n);
  }

  /// Moves every element into `out` (empty) in reverse order.
  void reverse_into(IntrusiveRing& out) noexcept {
    while (T* item = pop_first()) out.push(item);
  }

  static void erase(T* item) noexcept {
    RingNode* n = item;
    RingNode* before = predecessor(n);
    before->next = n->next;
    n->next = nullptr;
  }

  /// Puts `to` (not linked) where `from` (linked) is: the order of the others is kept.
  static void replace(T* from, T* to) noexcept {
    RingNode* f = from;
    RingNode* t = to;
    predecessor(f)->next = t;
    t->next = f->next;
    f->next = nullptr;
  }

  /// The first element for which pred is true, or null.
  template <class F>
  T* find_if(F&& pred) const {
    for (RingNode* n = head_.next; n != &head_; n = n->next)
      if (pred(static_cast<const T*>(n))) return static_cast<T*>(n);
    return nullptr;
  }

 private:
  static RingNode* predecessor(RingNode* n) noexcept {
    RingNode* p = n;
    while (p->next != n) p = p->next;
    return p;
  }

  RingNode head_;
};

/// Something the loop can run: a task step or a scheduled callback. The ready queue is
/// a singly linked FIFO of these, so scheduling is two pointer writes.
struct Runnable {
  union {
    Runnable* next_ready = nullptr;  // while queued: the next item
    void* idle_word;                 // otherwise free for the owner (a task's wait)
  };
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
