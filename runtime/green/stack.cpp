// runtime/green/stack.cpp — choosing a stack's kind; mapping, guarding and caching
// guarded stacks; and saying clearly why no stack could be had.
// Explained in: docs/04-stacks.md. Read next: runtime/green/stack_pool.cpp.
#include "stack.hpp"

#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cerrno>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "scheduler.hpp"
#include "spindle/green/thread.hpp"
#include "stack_pool.hpp"

namespace spindle::green::detail {
namespace {

// Freed guarded stacks kept for reuse per kernel thread; beyond this, they are unmapped.
constexpr std::size_t cache_capacity = 1024;

// What spawn_options::stack = program_default means; set_default_stack changes it.
std::atomic<stack_kind> program_default{stack_kind::guarded};

// Free stacks of the default size and one kind, most recently freed first, linked through
// a node each keeps at its own top, where the next thread's record will go: the spawn
// and join of a default stack take one and put one back in a few loads and stores, with
// no kind to resolve, no size to round and no list of sizes to search. Its stacks count
// as in use for the cache and the pool behind it, which get them back when the LIFO is
// full or drained (give_back_kept_stacks, ~thread_stacks).
class stack_lifo {
 public:
  // Enough for the churn of spawns and joins in a busy program; beyond it, stacks go
  // to the cache or pool, whose caps and trim decide what keeps its pages.
  static constexpr std::size_t capacity = 64;

  std::size_t size() const noexcept { return size_; }
  // Takes the most recently freed stack, or returns null if there is none. The span
  // lies in the stack itself: copy it before the stack is written.
  const stack_span* pop() noexcept {
    node* top = top_;
    if (!top) return nullptr;
    top_ = top->next;
    --size_;
    return &top->span;
  }
  // Keeps `stack` (of the default size, not in use); false when full.
  bool push(const stack_span& stack) noexcept {
    if (size_ == capacity) return false;
    node* n = reinterpret_cast<node*>(stack.high()) - 1;
    n->span = stack;
    n->next = top_;
    top_ = n;
    ++size_;
    return true;
  }

 private:
  struct node {
    stack_span span;
    node* next;
  };
  node* top_ = nullptr;
  std::size_t size_ = 0;
};

// The stacks of one kernel thread. First touched by the scheduler's constructor (for
// the loop's stack), so its destructor runs after the scheduler's teardown, which may
// still free stacks into it.
struct thread_stacks {
  stack_lifo guarded_lifo;         // free guarded stacks of the default size
  stack_lifo pooled_lifo;          // free pooled stacks of the default size
  std::vector<stack_span> cached;  // guarded, free, most recently freed last
  std::size_t guarded_in_use = 0;  // guarded stacks handed out and not yet freed, or
                                   // in guarded_lifo
  stack_pool pooled;
  stack_lifo& lifo_for(stack_kind kind) noexcept {
    return kind == stack_kind::pooled ? pooled_lifo : guarded_lifo;
  }
  void drain_lifos() noexcept;
  ~thread_stacks();
};
thread_local thread_stacks stacks_of_this_thread;  // made on first use: see stacks()
// Every spawn and reap finds the stacks, so the pointer to them is initial-exec: a load
// at a fixed offset from the thread pointer, where any other thread_local of a shared
// library takes a call to __tls_get_addr (as current_scheduler, scheduler.hpp). The
// object cannot be that itself: its destructor must be registered on first use, through
// a guard that GCC keeps in global-dynamic TLS even when the object is initial-exec.
[[gnu::tls_model("initial-exec")]] constinit thread_local thread_stacks* stacks_here = nullptr;

// The calling kernel thread's stacks; the first call makes them (and registers their
// destructor, to run at the kernel thread's exit).
// The first call is out of line, so that the fast paths of allocate_stack and free_stack
// need no frame for it.
[[gnu::cold, gnu::noinline]] thread_stacks& make_stacks() {
  stacks_here = &stacks_of_this_thread;
  return *stacks_here;
}

thread_stacks& stacks() {
  if (thread_stacks* here = stacks_here) [[likely]]
    return *here;
  return make_stacks();
}

void unmap_guarded(const stack_span& s) noexcept {
  deregister_from_valgrind(s);
  munmap(static_cast<std::byte*>(s.low) - s.guard, s.size + s.guard);
}

thread_stacks::~thread_stacks() {
  drain_lifos();
  for (const stack_span& s : cached) unmap_guarded(s);
}

std::size_t round_to_pages(std::size_t bytes) {
  std::size_t page = page_size();
  if (bytes > SIZE_MAX - page) {
    throw std::invalid_argument("spindle::green::spawn: stack_size " + std::to_string(bytes) +
                                " is too large");
  }
  return (bytes + page - 1) / page * page;
}

// Two mappings: the guard (PROT_NONE) and the stack above it. They cannot merge with
// each other or with a neighbouring stack, whose lowest page is its guard. Returns null
// with `error` set when the kernel refuses either step.
void* try_map_guarded(std::size_t bytes, std::size_t guard, int& error) noexcept {
  void* base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) {
    error = errno;
    return nullptr;
  }
  // The guard splits the mapping in two: this is what uses up vm.max_map_count.
  if (mprotect(base, guard, PROT_NONE) != 0) {
    error = errno;
    munmap(base, bytes);
    return nullptr;
  }
  return base;
}

// Refused (ENOMEM): the kept stacks may hold the address space or the mappings it
// needs, so they are given back and the mapping tried once more.
stack_span map_guarded(std::size_t usable) {
  std::size_t guard = page_size();
  int error = 0;
  void* base = try_map_guarded(usable + guard, guard, error);
  if (!base && error == ENOMEM && give_back_kept_stacks()) {
    base = try_map_guarded(usable + guard, guard, error);
  }
  if (!base) throw_exhausted(error, usable + guard, usable, stack_kind::guarded);
  stack_span stack{static_cast<std::byte*>(base) + guard, usable, guard};
  register_with_valgrind(stack);
  return stack;
}

// Most programs use one size, so a search from the most recently freed stack finds a
// match at once.
stack_span allocate_guarded(std::size_t usable) {
  auto& cached = stacks().cached;
  for (std::size_t i = cached.size(); i-- > 0;) {
    if (cached[i].size == usable) {
      stack_span found = cached[i];
      cached[i] = cached.back();
      cached.pop_back();
      return found;
    }
  }
  return map_guarded(usable);
}

long read_number(const char* path) {
  std::ifstream in(path);
  long value = -1;
  in >> value;
  return value;
}

// What the kernel counts against vm.max_map_count: a line of /proc/self/maps per
// mapping, except [vsyscall], which the kernel shows but does not count.
std::size_t count_mappings() {
  std::ifstream in("/proc/self/maps");
  std::size_t mappings = 0;
  for (std::string line; std::getline(in, line);) {
    if (!line.ends_with("[vsyscall]")) ++mappings;
  }
  return mappings;
}

std::string in_units(std::size_t bytes) {
  if (bytes % (1024 * 1024) == 0) return std::to_string(bytes / (1024 * 1024)) + " MiB";
  return std::to_string(bytes / 1024) + " KiB";
}

std::string what_was_refused(std::size_t bytes, std::size_t usable, stack_kind kind) {
  if (kind == stack_kind::guarded) return "a " + in_units(usable) + " guarded stack";
  if (bytes == usable) return "a slab for one " + in_units(usable) + " pooled stack";
  return "a slab of " + std::to_string(bytes / usable) + " pooled stacks of " + in_units(usable);
}

// Green threads alive on guarded stacks: all guarded stacks in use but the scheduler's
// own (the loop's), which exists once the scheduler does,
// and those kept in the LIFO, which counts them as in use.
std::size_t guarded_threads() {
  std::size_t loop = scheduler::here_if_any() != nullptr ? 1 : 0;
  std::size_t held = stacks().guarded_in_use - stacks().guarded_lifo.size();
  return held - std::min(loop, held);
}

std::size_t pooled_threads() { return stacks().pooled.in_use() - stacks().pooled_lifo.size(); }

bool none_in_use() { return guarded_threads() + pooled_threads() == 0; }

// What this kernel thread holds, after give_back_kept_stacks ran.
std::string what_is_held() {
  std::size_t cached_bytes = 0;
  for (const stack_span& s : stacks().cached) cached_bytes += s.size + s.guard;
  return "this kernel thread has " + std::to_string(guarded_threads() + pooled_threads()) +
         " green threads alive (" + std::to_string(guarded_threads()) + " on guarded stacks, " +
         std::to_string(pooled_threads()) + " on pooled stacks in " +
         in_units(stacks().pooled.mapped_bytes()) + " of slabs) and " +
         std::to_string(stacks().cached.size()) + " guarded stacks (" + in_units(cached_bytes) +
         ") kept for reuse; what it kept unused was given back before a second try. ";
}

std::string map_count_reason(std::size_t mappings, long limit, stack_kind kind) {
  std::string reason = "the process has " + std::to_string(mappings) +
                       " memory mappings and the limit "
                       "vm.max_map_count is " +
                       std::to_string(limit) +
                       ". Each guarded stack takes two "
                       "mappings (the stack and its guard page), a slab of pooled stacks one; " +
                       what_is_held() + "Remedies: ";
  reason += none_in_use() ? "none of this kernel thread's green threads is alive, so the "
                            "rest of the program holds the mappings; "
                          : "join threads that have finished and keep fewer alive at once; ";
  if (kind == stack_kind::guarded) {
    reason +=
        "use pooled stacks, which share large mappings but have no guard page "
        "(spawn_options::stack = spindle::stack_kind::pooled, or "
        "spindle::green::set_default_stack(spindle::stack_kind::pooled)); ";
  }
  return reason +
         "or raise the limit (as root: sysctl -w vm.max_map_count=" + std::to_string(4 * limit) +
         ").";
}

std::string memory_reason(int error, std::size_t bytes) {
  rlimit as{};
  getrlimit(RLIMIT_AS, &as);
  std::string rlimit_as =
      as.rlim_cur == RLIM_INFINITY ? "unlimited" : in_units(as.rlim_cur / 1024 * 1024);
  return "the kernel refused " + in_units(bytes) + " of memory (" +
         std::system_category().message(error) + "); RLIMIT_AS is " + rlimit_as +
         " and vm.overcommit_memory is " +
         std::to_string(read_number("/proc/sys/vm/overcommit_memory")) + "; " + what_is_held() +
         (none_in_use() ? "None of its green threads is alive, so the rest of the program "
                          "holds the address space. Remedies: smaller stacks "
                          "(spawn_options::stack_size), or a higher RLIMIT_AS (ulimit -v)."
                        : "Remedies: smaller stacks (spawn_options::stack_size), fewer "
                          "threads alive at once, or a higher RLIMIT_AS (ulimit -v).");
}

// Out of line and cold, as every throw on the spawn path: building the message inline
// would make its callers save registers on every spawn.
[[noreturn, gnu::cold, gnu::noinline]] void throw_no_stack_kind(stack_kind kind) {
  throw std::invalid_argument("spindle::green::spawn: spawn_options::stack holds " +
                              std::to_string(static_cast<int>(kind)) +
                              ", which is no spindle::stack_kind");
}

stack_kind resolve(stack_kind kind) {
  if (kind == stack_kind::program_default) kind = program_default.load();
  if (kind != stack_kind::guarded && kind != stack_kind::pooled) throw_no_stack_kind(kind);
  return kind;
}

}  // namespace

std::size_t page_size() noexcept {
  static const std::size_t size = [] {
    auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    assert(default_stack_size % page == 0 && "allocate_stack does not round the default");
    return page;
  }();
  return size;
}

const bool under_valgrind = [] { return RUNNING_ON_VALGRIND != 0; }();

void register_with_valgrind(stack_span& stack) noexcept {
  stack.valgrind_id = VALGRIND_STACK_REGISTER(stack.low, stack.high());
}

void deregister_from_valgrind(const stack_span& stack) noexcept {
  VALGRIND_STACK_DEREGISTER(stack.valgrind_id);
}

// Counting /proc/self/maps is slow, but it runs once, on the way to an exception.
void throw_exhausted(int error, std::size_t bytes, std::size_t usable, stack_kind kind) {
  std::string message =
      "spindle: cannot map " + what_was_refused(bytes, usable, kind) + " for a new green thread: ";
  long limit = read_number("/proc/sys/vm/max_map_count");
  std::size_t mappings = count_mappings();
  if (error == ENOMEM && limit > 0 && mappings + 2 >= static_cast<std::size_t>(limit)) {
    message += map_count_reason(mappings, limit, kind);
  } else {
    message += memory_reason(error, bytes);
  }
  throw std::system_error(error, std::system_category(), message);
}

namespace {

// Every stack that is not of the default size, or when the LIFO of its kind is empty.
[[gnu::noinline]] void allocate_on_slow_path(std::size_t usable, stack_kind kind,
                                             stack_span& into) {
  kind = resolve(kind);
  // The default is a whole number of pages of every size Linux has (4, 16 or 64 KiB; see
  // page_size): a spawn with default options skips the rounding and its division.
  usable = usable == 0 ? default_stack_size : round_to_pages(usable);
  if (kind == stack_kind::pooled) {
    into = stacks().pooled.allocate(usable);
    return;
  }
  into = allocate_guarded(usable);
  ++stacks().guarded_in_use;
}

// Back to the cache or the pool: the stack leaves the LIFOs' count of stacks in use.
[[gnu::noinline]] void free_on_slow_path(const stack_span& stack) noexcept {
  if (stack.guard == 0) {
    stacks().pooled.free(stack);
    return;
  }
  --stacks().guarded_in_use;
  if (stacks().cached.size() < cache_capacity) {
    try {
      stacks().cached.push_back(stack);
      return;
    } catch (...) {
      // No memory to remember it: unmap it below instead.
    }
  }
  unmap_guarded(stack);
}

}  // namespace

void thread_stacks::drain_lifos() noexcept {
  while (const stack_span* stack = guarded_lifo.pop()) free_on_slow_path(stack_span(*stack));
  while (const stack_span* stack = pooled_lifo.pop()) free_on_slow_path(stack_span(*stack));
}

// The spawn of a default stack: one test of the kind, one of the size, and the LIFO's pop.
void allocate_stack(std::size_t usable, stack_kind kind, stack_span& into) {
  if (kind == stack_kind::program_default) kind = program_default.load();
  if (usable == 0 && (kind == stack_kind::guarded || kind == stack_kind::pooled)) [[likely]] {
    if (const stack_span* kept = stacks().lifo_for(kind).pop()) [[likely]] {
      into = *kept;
      return;
    }
  }
  allocate_on_slow_path(usable, kind, into);
}

void free_stack(const stack_span& stack) noexcept {
  if (stack.size == default_stack_size &&
      stacks().lifo_for(stack.guard == 0 ? stack_kind::pooled : stack_kind::guarded).push(stack))
      [[likely]] {
    return;
  }
  free_on_slow_path(stack);
}

void trim_stacks() noexcept { stacks().pooled.trim(); }

std::size_t kept_guarded_stack_bytes() noexcept {
  std::size_t bytes = 0;
  for (const stack_span& s : stacks().cached) bytes += s.size + s.guard;
  return bytes;
}

std::size_t pooled_slab_bytes() noexcept { return stacks().pooled.mapped_bytes(); }

bool give_back_kept_stacks() noexcept {
  stacks().drain_lifos();
  auto& cached = stacks().cached;
  bool gave = !cached.empty();
  for (const stack_span& s : cached) unmap_guarded(s);
  cached.clear();
  return stacks().pooled.release_unused() != 0 || gave;
}

}  // namespace spindle::green::detail

namespace spindle::green {

stack_kind set_default_stack(stack_kind kind) {
  if (kind != stack_kind::guarded && kind != stack_kind::pooled) {
    throw std::invalid_argument(
        "spindle::green::set_default_stack: the default must be stack_kind::guarded or "
        "stack_kind::pooled");
  }
  return detail::program_default.exchange(kind);
}

stack_kind default_stack() noexcept { return detail::program_default.load(); }

}  // namespace spindle::green
