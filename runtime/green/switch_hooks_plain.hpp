// runtime/green/switch_hooks_plain.hpp — the switch hooks of a build without
// AddressSanitizer: empty, so they add nothing to a switch. The one exception is for
// valgrind, which runs this same build: a stack given back for reuse is marked
// undefined, a client request made only under valgrind (under_valgrind, stack.hpp), so
// that natively it costs a load and a branch per finished thread.
// Chosen by runtime/green/switch_hooks.hpp, which states the contract of each hook.
// Explained in: docs/11-performance.md (the checked configurations).
// Read next: runtime/green/switch_hooks_asan.hpp.
#pragma once

#include <valgrind/memcheck.h>

#include "spindle/green/detail/record.hpp"
#include "stack.hpp"

namespace spindle::green::detail::switch_hooks {

struct departure {};

inline departure before_switch(const stack_span&) noexcept { return {}; }
inline void before_last_switch(const stack_span&) noexcept {}
inline void after_switch(const departure& = {}) noexcept {}

// Memcheck marks what lies below a stack pointer that moved up as inaccessible; the
// next thread's record and frames are written there, and start out undefined.
inline void frames_abandoned(const stack_span& stack) noexcept {
  if (under_valgrind) [[unlikely]]
    VALGRIND_MAKE_MEM_UNDEFINED(stack.low, stack.size);
}

// No tool asks for it; an empty span says "unknown" at no cost.
inline stack_span kernel_stack() noexcept { return {}; }

}  // namespace spindle::green::detail::switch_hooks
