// runtime/green/local.cpp — thread-local storage for green threads: per-thread slots.
// Explained in: docs/05-synchronisation.md (thread-local storage).
// Read next: runtime/green/mutex.cpp.
#include <atomic>
#include <utility>

#include "local_slots.hpp"
#include "spindle/green.hpp"

namespace spindle {

std::size_t detail::new_local_key() noexcept {
  static std::atomic<std::size_t> keys{0};
  return keys++;
}

local_slot& green::sync_primitives::local_slot(std::size_t key) {
  green::detail::record* self = green::detail::running();
  if (self->locals.size() <= key) self->locals.resize(key + 1);
  return self->locals[key];
}

void green::detail::destroy_locals(record* thread) noexcept {
  constexpr int passes = 4;
  for (int pass = 0; pass < passes; ++pass) {
    bool destroyed_any = false;
    for (std::size_t key = 0; key < thread->locals.size(); ++key) {
      spindle::local_slot& slot = thread->locals[key];
      if (!slot.value) continue;
      void* value = std::exchange(slot.value, nullptr);
      slot.destroy(value);
      destroyed_any = true;
    }
    if (!destroyed_any) break;
  }
  thread->locals.clear();
  thread->locals.shrink_to_fit();
}

}  // namespace spindle
