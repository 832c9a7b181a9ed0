// runtime/green/stack.hpp — stacks for green threads.
//
// Concept: every green thread runs on a stack of its own, of one of two kinds
// (spindle::stack_kind). A guarded stack is an anonymous mapping with a PROT_NONE guard
// page below it, so an overflow faults (and runtime/green/overflow.cpp reports it)
// instead of silently overwriting a neighbour; the guard splits the mapping in two, and
// vm.max_map_count caps the mappings of a process, so it caps the guarded stacks alive
// at once. A pooled stack is carved with many others out of one large mapping
// (runtime/green/stack_pool.cpp): no such cap, and no guard. Freed stacks of both kinds
// are kept by their kernel thread and reused.
// Explained in: docs/04-stacks.md. Read next: runtime/green/stack.cpp, then
// runtime/green/stack_pool.cpp, then runtime/green/overflow.cpp.
#pragma once

#include <pthread.h>

#include <cstddef>

#include "spindle/backend.hpp"
#include "spindle/green/detail/record.hpp"

namespace spindle::green::detail {

// Usable bytes of a stack when spawn_options::stack_size is 0. glibc may alloca up
// to 64 KiB in printf and friends, so much smaller stacks are a risk for general code.
inline constexpr std::size_t default_stack_size = 256 * 1024;

// Stores in `into` a stack of `kind` (program_default means the program's choice, see
// spindle::green::set_default_stack) with at least `usable` bytes, rounded up to whole
// pages; 0 means default_stack_size. Reuses a stack freed on the calling kernel thread
// when one of that kind and size is kept, else maps one. Throws std::system_error naming
// the limit reached and the remedies when none can be mapped, and std::invalid_argument
// for a size too large to round or a kind that is no stack_kind; `into` is then unchanged.
// (An out parameter, not a return value: the spawn's fast path then needs no frame and
// no copy of the span through a temporary.)
void allocate_stack(std::size_t usable, stack_kind kind, stack_span& into);

// Keeps a stack for reuse by the next allocate_stack of the same kernel thread, or gives
// it back to the kernel. The caller must not be running on it (see
// scheduler::reap_finished and docs/04-stacks.md) and must be on the kernel thread that
// allocated it.
void free_stack(const stack_span& stack) noexcept;

// Gives back to the kernel the pages of the pooled stacks kept beyond the hot ones
// (stack_pool::trim). Called by the scheduler when it has nothing to run, so that a
// burst of threads does not stay resident once the program goes quiet.
void trim_stacks() noexcept;

// What the calling kernel thread holds for reuse, for the statistics: bytes of freed
// guarded stacks kept (guards included), and bytes of pooled stacks' slabs mapped.
std::size_t kept_guarded_stack_bytes() noexcept;
std::size_t pooled_slab_bytes() noexcept;

// The calling kernel thread's own stack as the C library knows it (where the root
// thread runs): for the process's first thread, the [stack] mapping bounded by
// RLIMIT_STACK; for others, what pthread mapped. Empty if unknown. Ordinary code (it may
// read /proc/self/maps). For the ASan switch hooks and the preemption handler's check.
inline stack_span kernel_thread_stack() noexcept {
  pthread_attr_t attributes;
  void* low = nullptr;
  std::size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &attributes) == 0) {
    pthread_attr_getstack(&attributes, &low, &size);
    pthread_attr_destroy(&attributes);
  }
  return {low, size};
}

// --- Shared by stack.cpp and stack_pool.cpp. ---

std::size_t page_size() noexcept;

// Whether the program runs under valgrind: asked once, as the library is loaded, so that
// what the reap of every thread does only for valgrind costs a load and a predicted
// branch natively, not a client request (about a dozen instructions each).
extern const bool under_valgrind;

// Tells valgrind that [low, high) is a stack, so that memcheck follows a switch onto it
// instead of taking it for a huge frame. Stores the id in the span. Costs a few
// instructions and does nothing when the program does not run under valgrind.
void register_with_valgrind(stack_span& stack) noexcept;
// Forgets a registered stack; called just before its memory is unmapped.
void deregister_from_valgrind(const stack_span& stack) noexcept;

// Unmaps every guarded stack kept for reuse and every slab of pooled stacks with none of
// its size in use (stack_pool::release_unused), on the calling kernel thread. Called when
// the kernel refused a mapping (ENOMEM: address space or vm.max_map_count), before the
// one retry. Returns whether anything was given back.
bool give_back_kept_stacks() noexcept;

// Throws the std::system_error for a mapping of `bytes` that mmap or mprotect refused
// with `error`, while making stacks of `usable` bytes of `kind`. The message says which
// limit was reached (vm.max_map_count, or memory), what this kernel thread holds (stacks
// in use, kept, slabs mapped) and the remedies that follow from it.
[[noreturn]] void throw_exhausted(int error, std::size_t bytes, std::size_t usable,
                                  stack_kind kind);

}  // namespace spindle::green::detail
