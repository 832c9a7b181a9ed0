// runtime/green/overflow.hpp — reporting a green thread that overflows its stack.
//
// Concept: a thread that runs off the end of its guarded stack touches the guard page
// below it, and the kernel sends SIGSEGV. The process's one handler
// (runtime/common/overflow.cpp) runs on an alternate signal stack, which every kernel
// thread with a scheduler gets, and asks this backend whether the fault is in the guard
// page of one of that kernel thread's green threads, or below the main thread's stack
// while the root thread runs there. If so it writes which thread overflowed which stack
// to stderr and aborts; if not, the fault is passed on as if spindle were not there.
// Pooled stacks have no guard page: their lowest bytes, which no frame reaches without
// overflowing, are checked when the thread's stack is freed (check_pooled_stack).
// Explained in: docs/04-stacks.md (overflow). Read next: runtime/green/overflow.cpp.
#pragma once

#include "spindle/green/detail/record.hpp"

namespace spindle::green::detail {

// Called by the scheduler's constructor on its kernel thread. Installs the SIGSEGV
// handler (install_overflow_handler) with this backend's finder, once per process, and
// gives the calling kernel thread an alternate signal stack unless it has one already
// (the program's own is kept). Never throws: without memory for the signal stack, an
// overflow on this kernel thread dies by a plain SIGSEGV.
void arm_overflow_reports() noexcept;

// Called by the scheduler's destructor on its kernel thread: takes down and unmaps the
// alternate signal stack arm_overflow_reports made, if any. The handler stays.
void disarm_overflow_reports() noexcept;

// Called by scheduler::reap with a finished thread whose stack is about to be freed: if
// the stack is pooled and its lowest 256 bytes are no longer zero (the thread overflowed
// it, and maybe the neighbour below), writes a report naming the thread and aborts. A
// pooled stack's memory starts zero (fresh, or given back by trim) and no frame reaches
// its lowest bytes without overflowing, so no thread that passed this check leaves them
// written for the next. An overflow by frames larger than 256 bytes may step over them
// unseen. Costs 32 loads, and two tests inline for guarded stacks and the root thread.
void check_pooled_stack_bytes(const record& finished) noexcept;
inline void check_pooled_stack(const record& finished) noexcept {
  if (finished.stack.guard == 0 && finished.stack.size != 0) check_pooled_stack_bytes(finished);
}

}  // namespace spindle::green::detail
