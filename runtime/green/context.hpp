// runtime/green/context.hpp — making a context and jumping to one: the two operations
// the switch is built from.
//
// Concept: a context is a saved set of registers (instruction pointer, stack pointer,
// callee-saved registers) from which execution can continue. Spindle keeps it as the
// stack pointer below the registers its jump pushed (record.hpp: context), and offers:
//   jump(to, save)            stores the running context in *save and continues `to`;
//                             returns when some thread jumps back to *save's context;
//   make_context<Entry>(stack, top)
//                             a context that, when first jumped to, calls Entry on
//                             `stack`, its frames growing down from `top`. Runs nothing.
// Which implementation is compiled is chosen here, a whole file at a time:
//   context_x86_64.hpp    spindle's own jump (runtime/green/context_x86_64.S);
//   context_fcontext.hpp  Boost.Context's jump_fcontext and make_fcontext, elsewhere.
// Explained in: docs/03-context-switch.md. Read next: runtime/green/context.cpp.
#pragma once

#include "spindle/green/detail/record.hpp"

namespace spindle::green::detail {

// A context's first function, run by the first jump to it on its new stack. It must
// never return: nothing called it, and there is no frame to return to.
using context_entry = void (*)() noexcept;

}  // namespace spindle::green::detail

#if defined(__x86_64__)
#include "context_x86_64.hpp"
#else
#include "context_fcontext.hpp"
#endif
