// runtime/common/local.cpp — keys and destruction for spindle::local<T>, both backends.
// Explained in: docs/06-synchronisation.md (thread-local storage).
// Read next: runtime/green/local.cpp.
#include "spindle/local.hpp"

#include <atomic>
#include <utility>

namespace spindle::detail {

std::size_t new_local_key() noexcept {
  static std::atomic<std::size_t> keys{0};
  return keys++;
}

void destroy_local_values(std::vector<local_slot>& slots) noexcept {
  // Destructors may set other locals (or the same one again): repeat, as pthread keys do.
  constexpr int passes = 4;
  for (int pass = 0; pass < passes; ++pass) {
    bool destroyed_any = false;
    for (std::size_t key = 0; key < slots.size(); ++key) {
      void* value = std::exchange(slots[key].value, nullptr);
      if (!value) continue;
      slots[key].destroy(value);
      destroyed_any = true;
    }
    if (!destroyed_any) break;
  }
  slots.clear();
  slots.shrink_to_fit();
}

}  // namespace spindle::detail
