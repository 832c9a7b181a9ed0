// runtime/clone/stack.hpp — the memory of one clone thread: stack, TLS, control block.
//
// Concept: each clone thread runs in one anonymous mapping (MAP_STACK) laid out as
//
//     low  [signal stack][guard page][stack, grows down ...][thread_memory][static TLS][struct
//     pthread]  high
//                                                           ^ stack_top                ^ tcb
//
// The PROT_NONE guard page turns a stack overflow into a fault instead of silent damage
// to a neighbour, and the signal stack below it is where the fault's handler runs
// (runtime/clone/overflow.cpp), since the overflowed stack has no room left. When a thread has
// exited (the kernel cleared its tid word) the whole mapping goes to a cache and the next thread
// reuses it: cheaper than mmap, and the only way found to give back the malloc cache glibc keeps in
// each thread's TLS. Detached threads wait on a list until their tid word reads 0, checked by later
// acquires. Explained in: docs/09-clone-backend.md. Read next: runtime/clone/kernel_thread.hpp.
#pragma once

#include <resolv.h>

#include <cstddef>

namespace spindle::clone::detail {

// Usable stack bytes when the caller asks for 0. glibc may alloca up to 64 KiB (printf,
// getaddrinfo), and the stacks are lazily committed, so this is generous rather than tight.
inline constexpr std::size_t default_stack_size = 1024 * 1024;
// Smallest and largest stack a caller may ask for.
inline constexpr std::size_t min_stack_size = 256 * 1024;
inline constexpr std::size_t max_stack_size = std::size_t{1} << 30;
// Bytes of mappings kept for reuse; beyond this, memory of finished threads is unmapped.
inline constexpr std::size_t memory_cache_limit = 40 * 1024 * 1024;

struct thread_memory {
  // Fixed when mapped:
  std::byte* base;         // start of the mapping, the signal stack
  std::size_t length;      // bytes mapped
  std::byte* guard;        // the PROT_NONE page just below the stack
  std::size_t stack_size;  // usable stack bytes asked for, rounded up to pages
  std::byte* stack_top;    // 16-byte aligned; the stack grows down from here
  std::byte* tcb;          // thread pointer (glibc's struct pthread) of the thread here

  // Owned by the thread running here; kept across reuse like libc's TLS block:
  struct __res_state resolver;  // the thread's resolver state (__resp points here)

  // Protected by the memory lock:
  thread_memory* next;  // link in the cache or in the list awaiting exit
};

// Usable bytes of the alternate signal stack at the bottom of every thread's memory.
std::size_t signal_stack_size() noexcept;

// Returns memory with a stack of `stack_size` usable bytes (0 = default_stack_size) and
// a control block ready for a new thread, from the cache or freshly mapped. Any thread.
// When the kernel refuses the mapping (ENOMEM: address space, or vm.max_map_count), the
// cache is unmapped and the mapping tried once more. Throws std::invalid_argument for a
// size outside [min_stack_size, max_stack_size], and std::system_error naming the limit
// reached, what spindle holds, and the remedy when memory is still exhausted.
thread_memory* acquire_thread_memory(std::size_t stack_size);

// Takes back the memory of a thread that has exited (its tid word is 0).
void release_thread_memory(thread_memory* memory) noexcept;

// Abandons the memory of a thread that did not cross fork() (called in the child, where
// the thread does not exist): it stays mapped and is never reused, since its TLS still
// holds that thread's state (pending thread_local destructors, dlerror, malloc cache).
void discard_thread_memory(thread_memory* memory) noexcept;

// Takes back the memory of a thread that may still run; it is reclaimed by a later
// acquire_thread_memory once the kernel has cleared the thread's tid word.
void release_thread_memory_after_exit(thread_memory* memory) noexcept;

// How many mappings wait in the cache and on the list awaiting exit, and how many are
// held by threads not yet joined or detached (for tests and the exhaustion message).
struct thread_memory_counts {
  std::size_t cached;
  std::size_t awaiting_exit;
  std::size_t in_use;        // acquired and not released (threads alive or unjoined)
  std::size_t cached_bytes;  // bytes mapped by the cache
  std::size_t in_use_bytes;  // bytes mapped by the memory in use and awaiting exit
};
thread_memory_counts count_thread_memory() noexcept;

// Registers the fork handlers that keep the memory lock usable in a forked child, and
// abandon there the memory of detached threads that stayed in the parent. Called once
// by ensure_ready.
void install_thread_memory_fork_handlers();

}  // namespace spindle::clone::detail
