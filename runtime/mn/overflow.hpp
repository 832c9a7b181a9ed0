// runtime/mn/overflow.hpp — naming the M:N thread whose stack overflowed.
//
// Concept: the handler of runtime/common/overflow.hpp asks each backend whether a fault
// hit a guard page it knows; the M:N backend knows the stack of the thread each worker
// runs, and the main thread's while it is one of its roots.
// Explained in: docs/04-stacks.md and runtime/mn/README.md. Read next: runtime/mn/overflow.cpp.
#pragma once

#include "spindle/mn/detail/record.hpp"

namespace spindle::mn::detail {

// Adds the M:N finder to the handler, once, before the first worker starts.
void install_overflow_reports() noexcept;
// Tells the finder the calling kernel thread's root record; on the main thread, also
// gives it a signal stack, on which the handler can run after the stack overflowed.
void name_in_overflow_reports(const record* root, bool main_thread) noexcept;

}  // namespace spindle::mn::detail
