// runtime/green/context.hpp — making a context: a stack primed to start a function.
//
// Concept: a context is a saved set of registers (instruction pointer, stack pointer,
// callee-saved registers) from which execution can continue. Spindle keeps it as
// Boost.Context's raw fcontext_t, the stack pointer at which jump_fcontext saved them,
// and switches with jump_fcontext itself (runtime/green/context.cpp). A new context is
// made on a stack of our own (spindle maps, caches and frees stacks itself) by
// make_fcontext, which only writes a first frame there: nothing runs on the new stack
// until the first switch to it.
// Explained in: docs/03-context-switch.md. Read next: runtime/green/context.cpp.
#pragma once

#include <boost/context/detail/fcontext.hpp>
#include <cstddef>

#include "spindle/green/detail/record.hpp"

namespace spindle::green::detail {

using transfer = boost::context::detail::transfer_t;

// A context's first function: called by the first jump to it, with the switcher's context
// and data (runtime/green/context.cpp: scheduler::arrived). It must never return: a
// make_fcontext context that returns ends the process with _exit(0).
using context_entry = void (*)(transfer) noexcept;

// Returns a context that, when first switched to, calls entry on `stack`, its frames
// growing down from `top` (which must lie inside the stack: spindle puts the thread record
// above it). Touches only the 64 bytes below `top`; runs nothing.
inline context make_context(const stack_span& stack, void* top, context_entry entry) noexcept {
  std::size_t below =
      static_cast<std::size_t>(static_cast<std::byte*>(top) - static_cast<std::byte*>(stack.low));
  return boost::context::detail::make_fcontext(top, below, entry);
}

}  // namespace spindle::green::detail
