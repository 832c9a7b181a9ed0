// runtime/clone/tls.hpp — thread-local storage under clone.
//
// Concept: x86_64 finds a thread's TLS through its thread pointer (the fs base), which
// CLONE_SETTLS sets for the new thread. Without it the thread would share its creator's
// errno, malloc tcache, thread_local variables and C++ exception state. What the pointer
// points at must be a complete glibc thread control block: struct pthread with its
// tcbhead_t filled in, a DTV, and every static TLS block initialised. This file builds
// one, rebuilds one for reuse, and runs the steps glibc's own threads run when they start
// and exit. libc.so.6's own block survives reuse: it holds malloc's per-thread cache,
// which glibc frees at thread exit only for its own threads.
// Explained in: docs/09-clone-backend.md. Read next: runtime/clone/stack.hpp.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>

namespace spindle::clone::detail {

// The word glibc calls pthread->tid: the kernel stores the thread id there when the
// thread is made (CLONE_PARENT_SETTID) and clears it, with a shared futex wake, after the
// thread has exited (CLONE_CHILD_CLEARTID). Zero means the memory is free to reuse.
std::atomic<pid_t>& tid_word(std::byte* tcb) noexcept;

// Builds the control block at `tcb` in fresh zeroed memory whose static TLS blocks lie
// below `tcb`. Caller holds the memory lock (stack.cpp). Returns false when malloc fails
// (for the DTV); nothing is then left to free.
bool tls_create(std::byte* tcb) noexcept;

// Rebuilds the control block at `tcb`, whose previous thread has exited, for a new
// thread: every TLS block is initialised afresh except libc.so.6's. Returns false when
// malloc fails; the caller then unmaps the memory without calling tls_destroy.
bool tls_recycle(std::byte* tcb) noexcept;

// Frees what tls_create allocated, keeping libc.so.6's block for the next tls_create so
// that its malloc cache is handed on, not leaked. Caller holds the memory lock.
void tls_destroy(std::byte* tcb) noexcept;

// First step of a new clone thread, on its own stack with all signals blocked: registers
// rseq, points __resp at `resolver` (a struct __res_state), sets up <ctype.h>, errno = 0,
// h_errno = 0.
void tls_enter_thread(void* resolver) noexcept;

// Last step of a clone thread before it exits: runs its thread_local destructors, frees
// what glibc's thread exit frees (the strerror and strsignal texts, the dlerror result,
// the resolver's sockets) and returns it to the global locale. The list, and how each
// item was found in glibc, is in docs/09-clone-backend.md.
void tls_leave_thread() noexcept;

}  // namespace spindle::clone::detail
