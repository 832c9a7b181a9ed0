// runtime/clone/local.cpp — thread-local storage for clone threads: per-thread slots.
// Explained in: docs/06-synchronisation.md (thread-local storage).
// Read next: runtime/clone/mutex.cpp.
#include "spindle/clone.hpp"

namespace spindle {

local_slot& clone::sync_primitives::local_slot(std::size_t key) {
  clone::detail::record* self = clone::detail::running();
  if (self->locals.size() <= key) self->locals.resize(key + 1);
  return self->locals[key];
}

}  // namespace spindle
