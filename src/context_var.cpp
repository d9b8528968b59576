#include "aio/context_var.hpp"

#include <algorithm>
#include <atomic>

#include "aio/detail/task_base.hpp"

namespace aio::detail {

namespace {
std::atomic<std::uint64_t> next_var_id{1};

// The context of code that runs outside any task and outside any ContextScope: what
// main() sets before aio::run, and what tasks created there start from.
ContextSlot& thread_slot() {
  thread_local ContextSlot slot;
  return slot;
}
}  // namespace

std::uint64_t new_context_var_id() noexcept { return next_var_id.fetch_add(1, std::memory_order_relaxed); }

// The running task first: a loop run from inside a ContextScope (aio::run in a to_thread
// job) still gives each of its tasks its own context.
ContextMap* current_context() noexcept {
  if (TaskBase* t = tls_run.task) return t->context();
  if (ContextSlot* s = tls_scope_slot) return s->get();
  return thread_slot().get();
}

ContextSlot& current_context_slot() {
  if (TaskBase* t = tls_run.task) return t->context_slot();
  if (ContextSlot* s = tls_scope_slot) return *s;
  return thread_slot();
}

ContextValue* context_get(std::uint64_t var_id) noexcept {
  ContextMap* map = current_context();
  if (!map) return nullptr;
  for (const ContextMap::Entry& e : map->entries)
    if (e.var_id == var_id) return e.value.get();
  return nullptr;
}

Ref<ContextValue> context_set(std::uint64_t var_id, Ref<ContextValue> value) {
  tls_context_in_use = true;
  ContextSlot& slot = current_context_slot();
  if (!slot) {
    if (!value) return {};  // removing from an empty context
    slot = ContextSlot(new ContextMap(), /*adopt=*/true);
  } else if (!slot->unshared()) {
    slot = ContextSlot(new ContextMap(*slot), /*adopt=*/true);  // copy-on-write
  }
  std::vector<ContextMap::Entry>& entries = slot->entries;
  auto it =
      std::find_if(entries.begin(), entries.end(), [&](const ContextMap::Entry& e) { return e.var_id == var_id; });
  Ref<ContextValue> previous;
  if (it == entries.end()) {
    if (value) entries.push_back({var_id, std::move(value)});
  } else if (value) {
    previous = std::exchange(it->value, std::move(value));
  } else {
    previous = std::move(it->value);
    entries.erase(it);
  }
  return previous;
}

const void* current_context_identity() { return &current_context_slot(); }

}  // namespace aio::detail
