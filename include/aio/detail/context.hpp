// The values of ContextVars (aio/context_var.hpp) in one context, and which context is
// current on this thread: the running task's, a callback's, or the thread's own.
#pragma once

#include <atomic>
#include <cstdint>
#include <utility>
#include <vector>

#include "aio/detail/intrusive.hpp"

namespace aio::detail {

/// One value of one ContextVar. Immutable, and shared by every context that holds it, on
/// any thread (to_thread carries the caller's context to a pool thread): atomic count.
class ContextValue {
 public:
  ContextValue() = default;
  ContextValue(const ContextValue&) = delete;
  ContextValue& operator=(const ContextValue&) = delete;

  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

 protected:
  virtual ~ContextValue() = default;

 private:
  std::atomic<std::uint32_t> refs_{1};
};

template <class T>
class ContextValueOf final : public ContextValue {
 public:
  explicit ContextValueOf(T v) : value(std::move(v)) {}
  const T value;
};

/// Every ContextVar set in one context: (variable id, value) pairs. Shared between the
/// contexts that copied it and never changed while shared: set() copies it first, unless
/// its only owner is the context being written (copy-on-write). A handful of variables is
/// the usual case, so a flat vector beats a tree here.
class ContextMap {
 public:
  struct Entry {
    std::uint64_t var_id;
    Ref<ContextValue> value;
  };

  ContextMap() = default;
  ContextMap(const ContextMap& o) : entries(o.entries) {}
  ContextMap& operator=(const ContextMap&) = delete;

  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  /// True when the caller's reference is the only one (it may then change the map).
  bool unshared() const noexcept { return refs_.load(std::memory_order_acquire) == 1; }

  std::vector<Entry> entries;

 private:
  std::atomic<std::uint32_t> refs_{1};
};

/// Where the current context is stored: a task's Extras, a callback's capture, or the
/// thread's own. ContextVar::set() replaces the map it holds.
using ContextSlot = Ref<ContextMap>;

/// False until a ContextVar is set (or a captured context entered) on this thread: until
/// then every context here is empty, and creating tasks and callbacks skips the context
/// machinery after this one load.
inline constinit thread_local bool tls_context_in_use = false;

/// The slot of the ContextScope entered on this thread (a callback's, a to_thread job's),
/// or null: then the running task's slot, or outside any task the thread's.
inline constinit thread_local ContextSlot* tls_scope_slot = nullptr;

/// The current context's values (null: nothing set).
ContextMap* current_context() noexcept;
/// The current slot, for set(); inside a task this allocates its Extras on first use.
ContextSlot& current_context_slot();
/// A reference to the current context's values, to run something in them later (what
/// asyncio's copy_context() is for call_soon: the map is immutable, so sharing it is
/// copying it).
inline ContextSlot capture_context() { return tls_context_in_use ? ContextSlot(current_context()) : ContextSlot(); }

/// Makes a captured context current on this thread for its lifetime (asyncio's
/// Context.run). A set() inside changes this scope's copy only.
class ContextScope {
 public:
  explicit ContextScope(ContextSlot context) noexcept : slot_(std::move(context)), outer_(tls_scope_slot) {
    tls_scope_slot = &slot_;
    if (slot_) tls_context_in_use = true;  // (an empty scope's set() turns it on itself)
  }
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;
  ~ContextScope() { tls_scope_slot = outer_; }

 private:
  ContextSlot slot_;
  ContextSlot* outer_;
};

/// fn, to be run later in the context current now (call_soon's callbacks, done callbacks).
template <class F>
struct InContext {
  ContextSlot context;
  F fn;
  void operator()() {
    ContextScope scope(context);
    fn();
  }
};

}  // namespace aio::detail
