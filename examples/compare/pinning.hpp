// examples/compare/pinning.hpp — binding kernel threads to processors for a measurement.
//
// Concept: a comparison that wants threads to compete for one processor, or to run on
// two, says so to the kernel with sched_setaffinity: the calling kernel thread may then
// run only on the processors named, and every thread it creates afterwards inherits
// that set. pinned_here binds the caller for a scope and then gives back what it had.
// Explained in: docs/12-comparisons.md (context switches) and
// docs/14-scheduling-policies.md (the policies measured).
// Read next: examples/compare/context_switch.cpp.
#pragma once

#include <sched.h>

#include <array>

namespace compare {

// Binds the calling kernel thread to `cpu` (nothing if cpu is -1).
// Throws std::system_error if the kernel refuses.
void pin_to(int cpu);

// The first two processors this process may use; the second is -1 if there is only one.
std::array<int, 2> usable_processors();

// Pins the calling kernel thread to one processor for the object's lifetime, then gives
// it back the processors it had.
class pinned_here {
 public:
  explicit pinned_here(int cpu);
  ~pinned_here();
  pinned_here(const pinned_here&) = delete;
  pinned_here& operator=(const pinned_here&) = delete;

 private:
  cpu_set_t saved_;
};

}  // namespace compare
