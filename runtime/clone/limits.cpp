// runtime/clone/limits.cpp — reading the limits that a failed mmap or clone may have hit.
//
// Concept: see limits.hpp. Runs only on the failure path, so it may read /proc freely.
// Explained in: docs/09-clone-backend.md. Read next: runtime/clone/kernel_thread.cpp.

#include "limits.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstdio>
#include <system_error>

#include "stack.hpp"

namespace spindle::clone::detail {
namespace {

long read_number(const char* path) noexcept {
  long value = -1;
  if (std::FILE* file = std::fopen(path, "re")) {
    if (std::fscanf(file, "%ld", &value) != 1) value = -1;
    std::fclose(file);
  }
  return value;
}

long count_mappings() noexcept {
  long lines = 0;
  if (std::FILE* file = std::fopen("/proc/self/maps", "re")) {
    for (int c; (c = std::fgetc(file)) != EOF;) lines += c == '\n';
    std::fclose(file);
  }
  return lines;
}

std::string soft_limit(int resource, const char* unit, unsigned shift) {
  rlimit limit{};
  if (getrlimit(resource, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return "unlimited";
  return std::to_string(limit.rlim_cur >> shift) + unit;
}

std::string in_mib(std::size_t bytes) { return std::to_string((bytes + (1 << 19)) >> 20) + " MiB"; }

// What spindle itself holds when memory ran out, and the remedy that follows from it:
// joining helps only if some thread is finished but not joined; if none is alive, the
// rest of the program holds the address space.
std::string what_is_held() {
  thread_memory_counts held = count_thread_memory();
  std::string text =
      "spindle holds " + std::to_string(held.in_use) + " clone threads alive or not yet joined (" +
      in_mib(held.in_use_bytes) + " of stacks with their TLS), " +
      std::to_string(held.awaiting_exit) + " detached threads not yet exited, and " +
      in_mib(held.cached_bytes) +
      " of cached stacks (the cache is given back, and the mapping tried again, before this error)";
  if (held.in_use + held.awaiting_exit == 0)
    return text + ". No clone thread holds memory, so the rest of the program does: ";
  return text + ". Join finished threads, keep fewer alive at once, ";
}

std::string memory_limit() {
  long max_maps = read_number("/proc/sys/vm/max_map_count");
  long maps = count_mappings();
  std::string held = what_is_held();
  if (max_maps > 0 && maps + 16 >= max_maps)
    return "vm.max_map_count (" + std::to_string(max_maps) + ") is reached with " +
           std::to_string(maps) + " mappings, and each clone thread needs 2 or 3 (its " +
           "guard page splits its mapping in three, and the signal stack at the bottom " +
           "merges with the top of a thread mapped just below). " + held +
           "or raise the limit (sysctl -w " + "vm.max_map_count=N)";
  std::string as = soft_limit(RLIMIT_AS, " MiB", 20);
  if (as != "unlimited")
    return "the address-space limit RLIMIT_AS (" + as + ") is reached. " + held +
           "ask for smaller stacks, or raise the limit (ulimit -v)";
  return "the kernel would commit no more memory (see vm.overcommit_memory). " + held +
         "ask for smaller stacks";
}

std::string thread_limit() {
  return "the limit on tasks is reached: RLIMIT_NPROC (" + soft_limit(RLIMIT_NPROC, "", 0) +
         " for this user, ulimit -u), kernel.threads-max (" +
         std::to_string(read_number("/proc/sys/kernel/threads-max")) + "), kernel.pid_max (" +
         std::to_string(read_number("/proc/sys/kernel/pid_max")) +
         ") or the cgroup's pids.max: join finished threads or raise the limit";
}

}  // namespace

void throw_exhausted(int error, const std::string& step) {
  std::string limit = error == EAGAIN   ? thread_limit()
                      : error == ENOMEM ? memory_limit()
                                        : "no known limit explains this error";
  throw std::system_error(error, std::generic_category(),
                          "spindle: cannot start a clone thread: " + step + " failed; " + limit);
}

}  // namespace spindle::clone::detail
