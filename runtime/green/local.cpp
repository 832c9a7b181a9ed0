// runtime/green/local.cpp — green-thread-local storage: keys and per-thread slots.
// Explained in: docs/05-synchronisation.md (green-thread-local storage).
// Read next: runtime/green/mutex.cpp.
#include <atomic>
#include <utility>

#include "local_slots.hpp"
#include "spindle/green/local.hpp"

namespace spindle::green::detail {

std::size_t new_local_key() noexcept {
  static std::atomic<std::size_t> keys{0};
  return keys++;
}

record::local_slot& local_slot_of_running(std::size_t key) {
  record* self = running();
  if (self->locals.size() <= key) self->locals.resize(key + 1);
  return self->locals[key];
}

void destroy_locals(record* thread) noexcept {
  if (thread->locals.empty()) return;  // most threads never touch a local
  constexpr int passes = 4;
  for (int pass = 0; pass < passes; ++pass) {
    bool destroyed_any = false;
    for (std::size_t key = 0; key < thread->locals.size(); ++key) {
      record::local_slot& slot = thread->locals[key];
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

}  // namespace spindle::green::detail
