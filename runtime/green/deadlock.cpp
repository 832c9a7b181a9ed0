// runtime/green/deadlock.cpp — noticing that no thread can ever run again, and saying so.
//
// Concept: on one kernel thread the scheduler sees everything. When the run queue and
// the timer queue are both empty, every live thread is blocked and nothing outside can
// wake one: a deadlock. Rather than sleep forever, the scheduler fails the blocking call
// of the thread that blocked last (the one that closed the cycle) with a
// spindle::deadlock_error listing every blocked thread and what it waits on. That thread
// unwinds, perhaps releasing what the others wait for.
// Explained in: docs/06-deadlock.md. Read next: runtime/green/mutex.cpp.
#include <cassert>
#include <sstream>

#include "scheduler.hpp"

namespace spindle::green::detail {
namespace {

void describe_thread(std::ostringstream& out, const record* r) {
  out << '"' << (r->name.empty() ? std::string("unnamed") : r->name) << "\" (id " << r->id
      << ')';
}

void describe_wait(std::ostringstream& out, const record* r) {
  const wait_reason& why = r->waiting_on;
  if (std::string_view(why.what) == "join") {
    out << "join of ";
    describe_thread(out, why.holder);
    return;
  }
  out << why.what << ' ' << why.object;
  if (why.holder) {
    out << ", held by ";
    describe_thread(out, why.holder);
  }
}

}  // namespace

// Called by the loop when nothing is runnable and no timer is pending.
void scheduler::fail_one_deadlocked_thread() {
  assert(blocked_ > 0 && "nothing runnable, yet no thread is blocked");
  record* latest = nullptr;
  for (record* r = all_; r; r = r->all_next) {
    if (r->st == state::blocked && (!latest || r->park_number > latest->park_number)) latest = r;
  }
  deadlock_report_ = describe_deadlock(latest);
  wake(latest, wake_status::deadlock);
}

std::string scheduler::describe_deadlock(const record* failed) const {
  std::ostringstream out;
  out << "spindle: deadlock: every green thread on this kernel thread is blocked and "
         "nothing can wake one (no runnable thread, no timer pending).\n";
  out << "Blocked threads:\n";
  for (const record* r = all_; r; r = r->all_next) {
    if (r->st != state::blocked) continue;
    out << "  ";
    describe_thread(out, r);
    out << " waits on ";
    describe_wait(out, r);
    out << '\n';
  }
  out << "The blocking call of ";
  describe_thread(out, failed);
  out << ", the last to block, fails with this spindle::deadlock_error.";
  return out.str();
}

}  // namespace spindle::green::detail
