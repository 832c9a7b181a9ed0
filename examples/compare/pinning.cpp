// examples/compare/pinning.cpp — sched_setaffinity for the comparisons.
//
// Concept: see pinning.hpp.
// Explained in: docs/12-comparisons.md (context switches).
// Read next: examples/compare/context_switch.cpp.
#include "pinning.hpp"

#include "spawning.hpp"

namespace compare {

void pin_to(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) throw_errno("sched_setaffinity");
}

std::array<int, 2> usable_processors() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) throw_errno("sched_getaffinity");
  std::array<int, 2> found{-1, -1};
  int count = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE && count < 2; ++cpu) {
    if (CPU_ISSET(cpu, &set)) found[count++] = cpu;
  }
  return found;
}

pinned_here::pinned_here(int cpu) {
  if (sched_getaffinity(0, sizeof saved_, &saved_) != 0) throw_errno("sched_getaffinity");
  pin_to(cpu);
}

pinned_here::~pinned_here() { sched_setaffinity(0, sizeof saved_, &saved_); }

}  // namespace compare
