// runtime/green/local.cpp — thread-local storage for green threads: per-thread slots.
// Explained in: docs/06-synchronisation.md (thread-local storage).
// Read next: runtime/green/mutex.cpp.
#include "local_slots.hpp"
#include "spindle/green.hpp"

namespace spindle {

local_slot& green::sync_primitives::local_slot(std::size_t key) {
  green::detail::record* self = green::detail::running();
  if (self->locals.size() <= key) self->locals.resize(key + 1);
  return self->locals[key];
}

void green::detail::destroy_local_slots(record* thread) noexcept {
  spindle::detail::destroy_local_values(thread->locals);
}

}  // namespace spindle
