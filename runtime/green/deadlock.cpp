// runtime/green/deadlock.cpp — noticing that no thread can ever run again, and saying so.
//
// Concept: on one kernel thread the scheduler sees everything. When the run queue and
// the timer queue are both empty, every live thread is blocked and nothing outside can
// wake one: a deadlock. Rather than sleep forever, the scheduler fails the blocking call
// of the thread that blocked last (the one that closed the cycle) with a
// spindle::deadlock_error listing every blocked thread and what it waits on. That thread
// unwinds, perhaps releasing what the others wait for.
// Explained in: docs/07-deadlock.md. Read next: runtime/green/mutex.cpp.
#include <cassert>

#include "../common/deadlock_report.hpp"
#include "scheduler.hpp"

namespace spindle::green::detail {

// Called by the loop when nothing is runnable and no timer is pending.
void scheduler::fail_one_deadlocked_thread() {
  assert(blocked_ > 0 && "nothing runnable, yet no thread is blocked");
  record* victim = spindle::detail::choose_deadlock_victim(
      all_, [](const record* r) { return r->st == state::blocked; });
  deadlock_report_ = describe_deadlock(victim);
  wake(victim, wake_status::deadlock);
}

std::string scheduler::describe_deadlock(const record* failed) const {
  return spindle::detail::describe_deadlock(
      "spindle: deadlock: every green thread on this kernel thread is blocked and nothing "
      "can wake one (no runnable thread, no timer pending).",
      all_, [](const record* r) { return r->st == state::blocked; }, failed);
}

}  // namespace spindle::green::detail
