// runtime/clone/overflow.hpp — reporting a clone thread that overflows its stack.
//
// Concept: every clone thread's memory has a guard page below its stack and an
// alternate signal stack below that (runtime/clone/stack.hpp). The new thread takes the
// signal stack before it runs user code, and remembers (in initial-exec TLS, readable in
// a signal handler) its memory and its record. The process's one SIGSEGV handler
// (runtime/common/overflow.cpp) asks this backend whether the fault is in the calling
// thread's guard page, or below the main thread's stack; if so it names the thread and
// aborts. The main thread gets a signal stack when it first uses the clone API.
// Explained in: docs/09-clone-backend.md (stack overflow). Read next:
// runtime/clone/overflow.cpp.
#pragma once

#include "stack.hpp"

namespace spindle::clone::detail {

struct record;

// Called by ensure_ready, once: installs the SIGSEGV handler with this backend's finder.
void install_overflow_reports() noexcept;

// First steps of a new clone thread, on its own stack, before user code: takes the
// signal stack at the bottom of `memory` and remembers `memory` for the handler.
void arm_overflow_reports(const thread_memory* memory) noexcept;

// Called by the API layer on the thread `self` describes (a spawned thread as it starts,
// a root thread when it is registered), so that a report can name it. A root thread
// that is the process's main thread also gets an alternate signal stack, mapped once and
// kept for the life of the process.
void name_in_overflow_reports(const record* self, bool main_thread) noexcept;

}  // namespace spindle::clone::detail
