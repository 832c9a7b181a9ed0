// runtime/green/overflow.hpp — reporting a green thread that overflows its stack.
//
// Concept: a thread that runs off the end of its guarded stack touches the guard page
// below it, and the kernel sends SIGSEGV. The handler cannot run on the overflowed
// stack (it is full), so every kernel thread with a scheduler gets an alternate signal
// stack. The handler looks for the fault address among the guard pages of that kernel
// thread's green threads: if it finds it, it writes which thread overflowed which stack
// to stderr and aborts; if not, the fault is none of its business, and it passes the
// signal on to the handler the program had installed before, or to the default action
// (the usual crash). Pooled stacks have no guard page, so their overflows go unseen.
// Explained in: docs/04-stacks.md (overflow). Read next: runtime/green/overflow.cpp.
#pragma once

namespace spindle::green::detail {

// Called by the scheduler's constructor on its kernel thread. Installs the SIGSEGV
// handler, once per process, remembering the disposition it replaces (the program's
// handler, or the default) to pass other faults on to; a handler the program installs
// later replaces spindle's. Gives the calling kernel thread an alternate signal stack
// unless it has one already (the program's own is kept). Never throws: without memory
// for the signal stack, an overflow on this kernel thread dies by a plain SIGSEGV.
void arm_overflow_reports() noexcept;

// Called by the scheduler's destructor on its kernel thread: takes down and unmaps the
// alternate signal stack arm_overflow_reports made, if any. The handler stays.
void disarm_overflow_reports() noexcept;

}  // namespace spindle::green::detail
