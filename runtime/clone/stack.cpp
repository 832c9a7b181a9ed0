// runtime/clone/stack.cpp — mapping, caching and reclaiming the memory of clone threads.
//
// Concept: see stack.hpp. One lock (the memory lock) guards the cache, the list of
// memory awaiting its thread's exit, and tls.cpp's spare libc blocks.
// Explained in: docs/09-clone-backend.md. Read next: runtime/clone/kernel_thread.cpp.

#include "stack.hpp"

#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <new>
#include <stdexcept>
#include <system_error>

#include "glibc_abi.hpp"
#include "limits.hpp"
#include "tls.hpp"

namespace spindle::clone::detail {
namespace {

std::mutex memory_lock;
// Protected by memory_lock:
thread_memory* cache = nullptr;           // threads exited; memory ready for reuse
std::size_t cached_bytes = 0;             // sum of the lengths in `cache`
thread_memory* awaiting_exit = nullptr;   // detached threads, maybe still running
std::size_t in_use = 0;                   // acquired, not yet released
std::size_t held_bytes = 0;               // lengths of the memory in use or awaiting exit
thread_memory* left_in_parent = nullptr;  // in a forked child: threads that did not cross

std::size_t page_size() noexcept {
  static const auto size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

std::uintptr_t round_up(std::uintptr_t value, std::uintptr_t alignment) noexcept {
  return (value + alignment - 1) & ~(alignment - 1);
}

std::byte* round_down(std::byte* address, std::uintptr_t alignment) noexcept {
  auto value = reinterpret_cast<std::uintptr_t>(address);
  return reinterpret_cast<std::byte*>(value & ~(alignment - 1));
}

std::size_t mapping_length(std::size_t stack_size) noexcept {
  const glibc_abi& abi = glibc();
  std::size_t top =
      sizeof(thread_memory) + alignof(thread_memory) + abi.static_tls_size + abi.static_tls_align;
  return signal_stack_size() + page_size() + stack_size + round_up(top, page_size());
}

void unmap(thread_memory* memory) noexcept { munmap(memory->base, memory->length); }

void unmap_chain(thread_memory* chain) noexcept {
  for (thread_memory* next; chain != nullptr; chain = next) {
    next = chain->next;
    unmap(chain);
  }
}

// Unmaps every cached mapping, for a retry after the kernel refused a new one. Returns
// how many bytes went back.
std::size_t give_back_cache() noexcept {
  thread_memory* chain;
  std::size_t bytes;
  {
    std::lock_guard lock(memory_lock);
    chain = cache;
    bytes = cached_bytes;
    cache = nullptr;
    cached_bytes = 0;
    for (thread_memory* m = chain; m != nullptr; m = m->next) tls_destroy(m->tcb);
  }
  unmap_chain(chain);
  return bytes;
}

// A mapping with its guard page, or null with `error` and `step` saying what failed.
std::byte* try_map(std::size_t length, int& error, const char*& step) noexcept {
  void* mapped =
      mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (mapped == MAP_FAILED) {
    error = errno;
    step = "mmap";
    return nullptr;
  }
  auto* base = static_cast<std::byte*>(mapped);
  // Splits the mapping in three: signal stack, guard, stack (vm.max_map_count counts them).
  if (mprotect(base + signal_stack_size(), page_size(), PROT_NONE) != 0) {
    error = errno;
    step = "mprotect of the guard page";
    munmap(base, length);
    return nullptr;
  }
  return base;
}

// Maps and lays out the memory; its control block is not built yet. Memory refused
// (ENOMEM) is asked for once more after the cache is given back: the cache may hold
// 40 MiB of stacks of other sizes, all of it address space a new stack could use.
thread_memory* map_thread_memory(std::size_t stack_size) {
  const glibc_abi& abi = glibc();
  std::size_t length = mapping_length(stack_size);
  int error = 0;
  const char* step = "";
  std::byte* base = try_map(length, error, step);
  if (base == nullptr && error == ENOMEM && give_back_cache() != 0)
    base = try_map(length, error, step);
  if (base == nullptr)
    throw_exhausted(error, std::string(step) + " of " + std::to_string(length >> 10) +
                               " KiB for a " + std::to_string(stack_size >> 10) + " KiB stack");
  std::byte* tcb = round_down(base + length - abi.pthread_size, abi.static_tls_align);
  std::byte* lowest_tls = tcb - (abi.static_tls_size - abi.pthread_size);
  std::byte* header = round_down(lowest_tls - sizeof(thread_memory), alignof(thread_memory));
  auto* memory = new (header) thread_memory{};
  memory->base = base;
  memory->length = length;
  memory->guard = base + signal_stack_size();
  memory->stack_size = stack_size;
  memory->stack_top = round_down(header, 16);
  memory->tcb = tcb;
  return memory;
}

// Caller holds memory_lock. Returns memory to unmap (outside the lock), or null.
thread_memory* cache_or_evict(thread_memory* memory) noexcept {
  if (cached_bytes + memory->length <= memory_cache_limit) {
    memory->next = cache;
    cache = memory;
    cached_bytes += memory->length;
    return nullptr;
  }
  tls_destroy(memory->tcb);
  return memory;
}

// Caller holds memory_lock. Moves memory whose thread has exited to the cache; returns
// a chain (through `next`) of memory to unmap.
thread_memory* reclaim_exited() noexcept {
  thread_memory* to_unmap = nullptr;
  for (thread_memory** link = &awaiting_exit; *link != nullptr;) {
    thread_memory* memory = *link;
    if (tid_word(memory->tcb).load(std::memory_order_acquire) != 0) {
      link = &memory->next;
      continue;
    }
    *link = memory->next;
    held_bytes -= memory->length;
    if (cache_or_evict(memory) != nullptr) {
      memory->next = to_unmap;
      to_unmap = memory;
    }
  }
  return to_unmap;
}

// Memory of a thread that did not cross fork(): the thread's stack, TLS and libc state
// are as it left them in the parent, so nothing may run there again. It is abandoned:
// kept mapped, never cached, never reused. Its pages are shared copy-on-write with the
// parent, so it costs the child address space, not memory, and what the thread had
// allocated (its thread_local destructor list, its tcache) stays reachable, not lost.
// Caller holds memory_lock.
void discard(thread_memory* memory) noexcept {
  memory->next = left_in_parent;
  left_in_parent = memory;
}

// In the child of fork(), under memory_lock (held since the prepare handler). The
// detached threads whose tid word is still set exist only in the parent: the kernel
// will never clear their words here, so their memory is abandoned. The forking thread,
// if it is one of them, runs on its memory and keeps it (fork() set its word to the
// child's tid).
void discard_threads_left_in_parent() noexcept {
  thread_memory* to_unmap = reclaim_exited();
  for (thread_memory* next; to_unmap != nullptr; to_unmap = next) {
    next = to_unmap->next;
    unmap(to_unmap);
  }
  std::byte* own_tcb = thread_pointer();
  for (thread_memory** link = &awaiting_exit; *link != nullptr;) {
    thread_memory* memory = *link;
    if (memory->tcb == own_tcb) {
      link = &memory->next;
      continue;
    }
    *link = memory->next;
    held_bytes -= memory->length;
    discard(memory);
  }
}

// Caller holds memory_lock.
thread_memory* take_cached(std::size_t stack_size) noexcept {
  for (thread_memory** link = &cache; *link != nullptr; link = &(*link)->next) {
    thread_memory* memory = *link;
    if (memory->stack_size == stack_size) {
      *link = memory->next;
      cached_bytes -= memory->length;
      return memory;
    }
  }
  return nullptr;
}

std::size_t checked_stack_size(std::size_t asked) {
  std::size_t size = asked == 0 ? default_stack_size : asked;
  if (size < min_stack_size || size > max_stack_size)
    throw std::invalid_argument("spindle: a clone thread's stack must have between " +
                                std::to_string(min_stack_size >> 10) + " KiB and " +
                                std::to_string(max_stack_size >> 20) + " MiB, not " +
                                std::to_string(size) + " bytes");
  return round_up(size, page_size());
}

}  // namespace

std::size_t signal_stack_size() noexcept {
  static const std::size_t size =
      round_up(std::max<std::size_t>(64 * 1024, static_cast<std::size_t>(sysconf(_SC_SIGSTKSZ))),
               page_size());
  return size;
}

thread_memory* acquire_thread_memory(std::size_t asked) {
  std::size_t stack_size = checked_stack_size(asked);
  thread_memory* reused;
  thread_memory* to_unmap;
  {
    std::lock_guard lock(memory_lock);
    to_unmap = reclaim_exited();
    reused = take_cached(stack_size);
    if (reused != nullptr) {
      ++in_use;
      held_bytes += reused->length;
    }
  }
  unmap_chain(to_unmap);
  if (reused != nullptr && tls_recycle(reused->tcb)) return reused;
  if (reused != nullptr) {
    {
      std::lock_guard lock(memory_lock);
      --in_use;
      held_bytes -= reused->length;
    }
    unmap(reused);
  }
  thread_memory* fresh = map_thread_memory(stack_size);
  bool created;
  {
    std::lock_guard lock(memory_lock);
    created = tls_create(fresh->tcb);
    if (created) {
      ++in_use;
      held_bytes += fresh->length;
    }
  }
  if (!created) {
    unmap(fresh);
    throw_exhausted(ENOMEM, "malloc of the thread's dynamic thread vector");
  }
  return fresh;
}

void release_thread_memory(thread_memory* memory) noexcept {
  thread_memory* evicted;
  {
    std::lock_guard lock(memory_lock);
    --in_use;
    held_bytes -= memory->length;
    evicted = cache_or_evict(memory);
  }
  if (evicted != nullptr) unmap(evicted);
}

void discard_thread_memory(thread_memory* memory) noexcept {
  std::lock_guard lock(memory_lock);
  --in_use;
  held_bytes -= memory->length;
  discard(memory);
}

void release_thread_memory_after_exit(thread_memory* memory) noexcept {
  std::lock_guard lock(memory_lock);
  --in_use;
  memory->next = awaiting_exit;
  awaiting_exit = memory;
}

thread_memory_counts count_thread_memory() noexcept {
  std::lock_guard lock(memory_lock);
  thread_memory_counts counts{0, 0, in_use, cached_bytes, held_bytes};
  for (thread_memory* m = cache; m != nullptr; m = m->next) ++counts.cached;
  for (thread_memory* m = awaiting_exit; m != nullptr; m = m->next) ++counts.awaiting_exit;
  return counts;
}

void install_thread_memory_fork_handlers() {
  // The child's only thread must find the lock free, whoever held it at fork.
  int error = pthread_atfork([] { memory_lock.lock(); }, [] { memory_lock.unlock(); },
                             [] {
                               discard_threads_left_in_parent();
                               memory_lock.unlock();
                             });
  if (error != 0)
    throw std::system_error(error, std::generic_category(), "spindle: pthread_atfork");
}

}  // namespace spindle::clone::detail
