// runtime/green/switch_hooks_asan.hpp — the switch hooks of an AddressSanitizer build:
// ASan's fiber-switch API (<sanitizer/common_interface_defs.h>).
//
// Concept: __sanitizer_start_switch_fiber(save, bottom, size), just before a switch,
// tells ASan the stack the kernel thread is about to run on and stores the departing
// context's fake stack in *save (or frees it when save is null: the context is never
// resumed). __sanitizer_finish_switch_fiber(saved, ...), just after, makes the new
// stack current and restores the arriving context's fake stack. Without these, ASan
// checks green threads' frames against the kernel stack's bounds, reports false
// stack-use-after-return, and cannot unpoison a stack that an exception unwinds.
// Chosen by runtime/green/switch_hooks.hpp, which states the contract of each hook.
// Explained in: docs/11-performance.md (the checked configurations).
// Read next: runtime/green/context.cpp.
#pragma once

#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>

#include <cassert>

#include "spindle/green/detail/record.hpp"
#include "stack.hpp"

namespace spindle::green::detail::switch_hooks {

struct departure {
  void* fake_stack = nullptr;  // the departing context's ASan fake frames
};

inline departure before_switch(const stack_span& to) noexcept {
  assert(to.low && "switching to a stack whose bounds are unknown");
  departure kept;
  __sanitizer_start_switch_fiber(&kept.fake_stack, to.low, to.size);
  return kept;
}

inline void before_last_switch(const stack_span& to) noexcept {
  assert(to.low && "switching to a stack whose bounds are unknown");
  __sanitizer_start_switch_fiber(nullptr, to.low, to.size);
}

inline void after_switch(const departure& kept = {}) noexcept {
  __sanitizer_finish_switch_fiber(kept.fake_stack, nullptr, nullptr);
}

// A frame that never returned (the entry frame of a finished context) leaves its
// redzones poisoned; a later context's record or frames there would be reported as
// stack-use-after-scope.
inline void frames_abandoned(const stack_span& stack) noexcept {
  __asan_unpoison_memory_region(stack.low, stack.size);
}

// The kernel thread's stack as the C library knows it (stack.hpp).
inline stack_span kernel_stack() noexcept { return kernel_thread_stack(); }

}  // namespace spindle::green::detail::switch_hooks
