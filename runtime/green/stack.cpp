// runtime/green/stack.cpp — mapping, guarding and caching green threads' stacks.
// Explained in: docs/04-stacks.md. Read next: runtime/green/thread.cpp.
#include "stack.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

namespace spindle::green::detail {
namespace {

// Stacks kept for reuse per kernel thread; beyond this, freed stacks are unmapped.
constexpr std::size_t cache_capacity = 1024;

std::size_t page_size() noexcept {
  static const std::size_t size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

std::size_t round_to_pages(std::size_t bytes) noexcept {
  std::size_t page = page_size();
  return (bytes + page - 1) / page * page;
}

// The cache holds stacks of any size; most programs use one size, so a linear search
// from the most recently freed stack finds a match at once.
struct stack_cache {
  std::vector<stack_span> stacks;
  ~stack_cache() {
    for (const stack_span& s : stacks) munmap(static_cast<std::byte*>(s.low) - page_size(), s.size + page_size());
  }
};
thread_local stack_cache cache;

std::size_t count_lines(const char* path) {
  std::ifstream in(path);
  std::size_t lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  return lines;
}

long read_number(const char* path) {
  std::ifstream in(path);
  long value = -1;
  in >> value;
  return value;
}

[[noreturn]] void throw_exhausted(int error, std::size_t usable) {
  std::string message = "spindle: cannot map a " + std::to_string(usable / 1024) +
                        " KiB stack for a new green thread: ";
  long limit = read_number("/proc/sys/vm/max_map_count");
  std::size_t mappings = count_lines("/proc/self/maps");
  if (error == ENOMEM && limit > 0 && mappings + 2 >= static_cast<std::size_t>(limit)) {
    message += "the process has " + std::to_string(mappings) +
               " memory mappings, the limit vm.max_map_count is " + std::to_string(limit) +
               ", and each guarded stack takes two. Remedies: join or detach finished "
               "threads, spawn fewer threads at once, or raise the limit "
               "(sysctl -w vm.max_map_count=1048576).";
  } else {
    message += "the kernel refused the memory (" + std::system_category().message(error) +
               "). Remedies: smaller stacks (spawn_options::stack_size), fewer threads "
               "alive at once, or more memory / a higher RLIMIT_AS.";
  }
  throw std::system_error(error, std::system_category(), message);
}

stack_span map_stack(std::size_t usable) {
  std::size_t guard = page_size();
  void* base = mmap(nullptr, usable + guard, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) throw_exhausted(errno, usable);
  // The guard splits the mapping in two: this is what uses up vm.max_map_count.
  if (mprotect(base, guard, PROT_NONE) != 0) {
    int error = errno;
    munmap(base, usable + guard);
    throw_exhausted(error, usable);
  }
  return {static_cast<std::byte*>(base) + guard, usable};
}

}  // namespace

stack_span allocate_stack(std::size_t usable) {
  usable = round_to_pages(usable == 0 ? default_stack_size : usable);
  auto& stacks = cache.stacks;
  for (std::size_t i = stacks.size(); i-- > 0;) {
    if (stacks[i].size == usable) {
      stack_span found = stacks[i];
      stacks[i] = stacks.back();
      stacks.pop_back();
      return found;
    }
  }
  return map_stack(usable);
}

void free_stack(const stack_span& stack) noexcept {
  if (cache.stacks.size() < cache_capacity) {
    try {
      cache.stacks.push_back(stack);
      return;
    } catch (...) {
      // No memory to remember it: unmap it below instead.
    }
  }
  munmap(static_cast<std::byte*>(stack.low) - page_size(), stack.size + page_size());
}

}  // namespace spindle::green::detail
