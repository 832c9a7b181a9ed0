// runtime/green/stack.hpp — stacks for green threads.
//
// Concept: every green thread runs on its own stack, an anonymous mapping with a
// PROT_NONE guard page below it, so that an overflow faults instead of silently
// overwriting a neighbour. Stacks of finished threads go to a cache and are reused;
// mapping a fresh one costs two system calls (mmap, mprotect) and two memory
// mappings, and vm.max_map_count caps the mappings a process may have.
// Explained in: docs/04-stacks.md. Read next: runtime/green/thread.cpp.
#pragma once

#include <cstddef>

#include "spindle/green/detail/record.hpp"

namespace spindle::green::detail {

// Usable bytes of a stack when spawn_options::stack_size is 0. glibc may alloca up
// to 64 KiB in printf and friends, so much smaller stacks are a risk for general code.
inline constexpr std::size_t default_stack_size = 256 * 1024;

// Returns a stack with at least `usable` bytes (rounded up to whole pages) above a guard
// page, from the calling kernel thread's cache or freshly mapped. Throws
// std::system_error naming the limit reached and the remedies when none can be mapped.
stack_span allocate_stack(std::size_t usable);

// Returns a stack to the cache (or unmaps it when the cache is full). The caller must
// not be running on it: see scheduler::reap_finished and docs/04-stacks.md.
void free_stack(const stack_span& stack) noexcept;

}  // namespace spindle::green::detail
