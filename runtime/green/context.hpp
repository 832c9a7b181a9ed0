// runtime/green/context.hpp — making a context: a stack primed to start a function.
//
// Concept: a context is a saved set of registers (instruction pointer, stack pointer,
// callee-saved registers) from which execution can continue. Boost.Context's fiber is
// the handle to one; resuming it switches stacks. A new context is made on a stack of
// our own (spindle maps, caches and frees stacks itself), so Boost is told, through
// `preallocated`, where the stack is and that freeing it is not its job.
// Explained in: docs/03-context-switch.md. Read next: runtime/green/context.cpp.
#pragma once

#include <boost/context/fiber.hpp>
#include <boost/context/preallocated.hpp>
#include <boost/context/stack_context.hpp>

#include <memory>
#include <utility>

#include "spindle/green/detail/record.hpp"
#include "switch_hooks.hpp"

namespace spindle::green::detail {

// Boost frees a finished fiber's stack through its allocator, from the next context.
// Spindle frees stacks itself (on join or reap), so this allocator frees nothing.
struct stack_kept_by_spindle {
  void deallocate(boost::context::stack_context&) noexcept {}
};

// Returns a context that, when first resumed, calls body(fiber&& from) on `stack`.
// Boost places its own small control block just below `top` (which must lie inside the
// stack: spindle puts the thread record above it), and the stack grows down from there.
// `caller` is the stack the calling thread runs on: Boost's constructor jumps to the new
// stack to run the first instructions of its entry function and jumps straight back, a
// switch the hooks must see, or ASan would give that entry frame a fake frame of the
// caller's, later freed under the new thread's feet.
template <class Body>
boost::context::fiber make_context(const stack_span& caller, const stack_span& stack,
                                   void* top, Body&& body) {
  boost::context::stack_context whole;
  whole.sp = stack.high();
  whole.size = stack.size;
  std::size_t below = static_cast<std::size_t>(static_cast<std::byte*>(top) -
                                               static_cast<std::byte*>(stack.low));
  switch_hooks::departure kept = switch_hooks::before_switch(caller);
  boost::context::fiber made(std::allocator_arg, boost::context::preallocated(top, below, whole),
                             stack_kept_by_spindle{}, std::forward<Body>(body));
  switch_hooks::after_switch(kept);
  return made;
}

}  // namespace spindle::green::detail
