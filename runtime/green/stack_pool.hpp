// runtime/green/stack_pool.hpp — pooled stacks: many stacks carved from one mapping.
//
// Concept: a slab is one anonymous mapping holding many stacks of one size side by
// side, with no guard pages between them, so a million threads need a few thousand
// mappings at most instead of two million. Stacks are carved from the newest slab as
// needed, kept when freed and handed out again; the slabs stay mapped until the kernel
// thread exits, or until a mapping is refused while no stack of their size is in use
// (release_unused). A freed stack keeps its pages, so reusing it costs no system call and no
// page fault; the pages of the stacks kept beyond the first hot_capacity go back to the
// kernel in trim(), which the scheduler calls when it has nothing to run, not on the
// spawn and join paths. The price: a thread that overflows its pooled stack writes into
// its neighbour's; runtime/green/overflow.hpp's check_pooled_stack notices it only when
// the thread finishes.
// Explained in: docs/04-stacks.md (pooled stacks). Read next: runtime/green/stack_pool.cpp.
#pragma once

#include <cstddef>
#include <vector>

#include "spindle/green/detail/record.hpp"

namespace spindle::green::detail {

// The pooled stacks of one kernel thread. Used only by that kernel thread (no locks).
class stack_pool {
 public:
  stack_pool() = default;
  stack_pool(const stack_pool&) = delete;
  stack_pool& operator=(const stack_pool&) = delete;
  // Unmaps every slab, unless some pooled stack is still in use (by a thread abandoned
  // when its kernel thread exited): then all stay mapped, as that thread's stack must.
  ~stack_pool();

  // Returns a stack of exactly `usable` bytes (whole pages) with guard 0: a freed one,
  // else one carved from a slab, else one from a new slab. Throws std::system_error
  // (throw_exhausted) when no slab can be mapped, std::bad_alloc without heap memory.
  stack_span allocate(std::size_t usable);

  // Keeps a stack that allocate returned, for reuse, with its pages. Never allocates
  // and makes no system call, so it cannot fail.
  void free(const stack_span& stack) noexcept;

  // Gives back to the kernel (madvise MADV_DONTNEED) the pages of every kept stack
  // beyond the `hot_capacity` most recently freed of each size; the addresses stay
  // reserved, and a stack given back faults its pages in again when reused. Stacks
  // that are next to each other in a slab go back in one call. Cheap when there is
  // nothing to give back: the scheduler calls it each time it is about to sleep.
  void trim() noexcept;

  // Unmaps the slabs of every size with no stack in use, forgetting their kept stacks,
  // so that the address space can serve stacks of another size or kind. Called when the
  // kernel refused a mapping (stack.cpp's give_back_kept_stacks); the next allocate of
  // such a size maps a new slab. Returns the bytes unmapped.
  std::size_t release_unused() noexcept;

  std::size_t in_use() const noexcept { return in_use_; }
  // Bytes of all slabs mapped, in use or not.
  std::size_t mapped_bytes() const noexcept { return mapped_bytes_; }

  // Kept stacks that trim() leaves their pages; matches the guarded cache's capacity.
  static constexpr std::size_t hot_capacity = 1024;
  // Bytes a slab aims at; a slab holds at least one stack however large.
  static constexpr std::size_t slab_bytes = 16 * 1024 * 1024;

 private:
  // All pooled stacks of one size.
  struct size_class {
    std::size_t usable = 0;              // bytes of each stack
    std::vector<stack_span> kept;        // freed, ready for reuse; capacity >= carved
    std::size_t given_back = 0;          // kept[0, given_back) have no pages: trim() did it
    std::byte* next_uncarved = nullptr;  // lowest byte of the newest slab's carved part
    std::size_t uncarved = 0;            // stacks left to carve in the newest slab
    std::size_t carved = 0;              // stacks ever carved in this class
  };
  // One mapping, remembered to be unmapped.
  struct slab {
    std::byte* base;
    std::size_t bytes;
    std::size_t usable;  // the size class it was carved for
  };

  size_class& class_for(std::size_t usable);
  void map_slab(size_class& c);
  stack_span carve(size_class& c) noexcept;

  // Owned by this kernel thread.
  std::vector<size_class> classes_;  // one per stack size in use: few, searched linearly
  std::vector<slab> slabs_;          // every slab mapped, oldest first
  std::size_t in_use_ = 0;           // stacks handed out by allocate and not yet freed
  std::size_t mapped_bytes_ = 0;     // sum of slabs_' bytes
};

}  // namespace spindle::green::detail
