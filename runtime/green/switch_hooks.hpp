// runtime/green/switch_hooks.hpp — what tools must be told when a context switch
// changes stacks behind their back.
//
// Concept: AddressSanitizer tracks one stack per kernel thread: the bounds it checks
// stack accesses against, and the "fake stack" that holds frames for
// detect_stack_use_after_return; ThreadSanitizer one shadow call stack and one vector
// clock per thread. A context switch moves the kernel thread to another stack without
// telling them, so the runtime announces every switch at its one switch point
// (runtime/green/context.cpp). Which announcement is compiled is chosen here a whole
// file at a time, as Boost.Context picks a whole fiber_*.hpp:
//   switch_hooks_asan.hpp   calls ASan's fiber-switch API;
//   switch_hooks_tsan.hpp   gives each context a TSan fiber and switches to it;
//   switch_hooks_plain.hpp  does nothing, and costs nothing.
// Both define, in namespace spindle::green::detail::switch_hooks:
//   departure               what a context keeps, across its switch away, to give back
//                           when it is resumed;
//   before_switch(to)       called by a context that will be resumed, just before it
//                           resumes the context that runs on stack `to`;
//   before_last_switch(to)  the same, for a context that is never resumed (a finishing
//                           thread, the stopped scheduler loop): its fake frames die;
//   after_switch(d)         the first act of a context after a switch lands in it: `d`
//                           is its departure, or {} when it starts for the first time;
//   frames_abandoned(s)     called before stack `s` is reused by another context: the
//                           frames of the finished context there never returned, and
//                           what a tool remembers of them must not bleed into the next;
//   kernel_stack()          the kernel thread's own stack, where the root thread runs;
//                           called once per scheduler, on its kernel thread, in the root.
// Valgrind runs the plain build: it follows switches between the stacks registered
// where they are mapped (runtime/green/stack.cpp), and needs only frames_abandoned.
// Explained in: docs/11-performance.md (the checked configurations).
// Read next: runtime/green/context.cpp.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#include "switch_hooks_asan.hpp"
#elif defined(__SANITIZE_THREAD__)
#include "switch_hooks_tsan.hpp"
#else
#include "switch_hooks_plain.hpp"
#endif
