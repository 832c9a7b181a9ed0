// runtime/green/local_slots.hpp — what a thread's exit does with its green-local values.
// Explained in: docs/06-synchronisation.md (green-thread-local storage).
// Read next: spindle/local.hpp.
#pragma once

#include "spindle/green/detail/record.hpp"

namespace spindle::green::detail {

// Destroys every green-local value of `thread`, on the thread's own stack, as its last
// user code. Destructors may set other locals: it repeats, as pthread keys do, a few times.
void destroy_local_slots(record* thread) noexcept;

// destroy_local_slots for a thread that has any: most threads never touch a local, so
// their exit tests one vector inline and calls nothing.
inline void destroy_locals(record* thread) noexcept {
  if (!thread->locals.empty()) [[unlikely]]
    destroy_local_slots(thread);
}

}  // namespace spindle::green::detail
