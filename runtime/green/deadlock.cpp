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

// Called by finish_running for a thread that still holds a mutex. Out of line, in this
// file: inlined, its locals would give finish_running a frame on ASan's fake stack, which
// before_last_switch lets die before finish_running returns (runtime/green/switch_hooks.hpp).
void scheduler::remember_finished_owner(const record* finished) noexcept {
  finished_owners_.remember(finished->id, finished->name);
}

std::string scheduler::describe_deadlock(const record* failed) const {
  return spindle::detail::describe_deadlock(
      "spindle: deadlock: every green thread on this kernel thread is blocked and nothing "
      "can wake one (no runnable thread, no timer pending).",
      all_, [](const record* r) { return r->st == state::blocked; }, failed, finished_owners_);
}

}  // namespace spindle::green::detail
