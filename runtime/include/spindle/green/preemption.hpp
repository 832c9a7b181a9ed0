// spindle/green/preemption.hpp — opt-in preemption: a green thread that has used its
// time slice is made to yield, even if it never calls spindle.
//
// Concept: green threads are cooperative, so a thread that computes without yielding
// keeps every other green thread of its kernel thread waiting (the hog watchdog says so:
// spindle/green/watchdog.hpp). With preemption on, each scheduler has a timer on its
// kernel thread's CPU clock that signals it every half slice; a signal that finds the
// same thread running for a whole slice makes it yield, from the signal handler,
// but only at a safe point: when the interrupted instruction is in the program's own
// code (not libc, libstdc++, libgcc, the loader or spindle, which may hold a lock the next
// thread needs) and outside a no_preemption section. Anywhere else the switch is
// deferred: the handler looks again a quarter slice later, and a no_preemption section
// that ends yields at once. Off by default; the environment variable SPINDLE_PREEMPT (a
// slice in seconds: SPINDLE_PREEMPT=0.01 is 10 ms; "off" or 0 is off), read once when
// spindle first needs it, turns it on, and set_slice overrides it.
// What it cannot protect: a lock of the kernel thread held in the program's own code (a
// std::mutex, a spin lock, a function-local static's initialisation) while a preemption
// is taken; such code belongs in a no_preemption section.
// Explained in: docs/08-reactor.md (preemption). Read next: runtime/green/preemption.hpp.
#pragma once

#include <chrono>
#include <cstdint>

namespace spindle::green::preemption {

// Sets the process's time slice; zero (or less) turns preemption off. Takes effect at
// once on the calling kernel thread's scheduler, and on the schedulers of other kernel
// threads at their next spawn. Callable from any thread, in ordinary code.
void set_slice(std::chrono::microseconds slice);

// The process's slice now; zero when preemption is off.
std::chrono::microseconds slice();

// A no-preemption section: while one is alive on the calling kernel thread, its timer
// never switches threads; a preemption that came meanwhile is taken when the outermost
// section ends (a yield). Sections nest. Cheap: an increment and a decrement.
class no_preemption {
 public:
  no_preemption() noexcept;
  ~no_preemption();
  no_preemption(const no_preemption&) = delete;
  no_preemption& operator=(const no_preemption&) = delete;

 private:
  void* scheduler_;  // the scheduler whose sections it counts in; null if there was none
};

// What the preemption handlers of this process did, counted since it started: each
// tick that found the same thread running for a whole slice either took the switch or
// deferred it, and says why.
struct counts {
  std::uint64_t ticks = 0;                 // signals handled
  std::uint64_t taken = 0;                 // switches made from the handler
  std::uint64_t taken_at_section_end = 0;  // deferred switches taken as a section ended
  std::uint64_t deferred_in_library = 0;   // the thread was in libc, libstdc++, libgcc, ...
  std::uint64_t deferred_in_spindle = 0;   // the thread was in spindle's own code
  std::uint64_t deferred_in_section = 0;   // inside a no_preemption section
  std::uint64_t deferred_in_handler = 0;   // in a signal handler, or with signals masked
};
counts statistics() noexcept;

}  // namespace spindle::green::preemption
