// runtime/clone/deadlock.cpp — the clone backend's deadlock report.
//
// Concept: the parking lot counts live threads and threads blocked with no deadline,
// exactly, under one lock. When the two are equal, no thread is left to wake any other:
// one blocking call fails with this report, chosen as on the green backend
// (runtime/common/deadlock_report.hpp: choose_deadlock_victim). Only threads that have called
// spindle are known; see docs/09-clone-backend.md for what that means for threads made by other
// means. Explained in: docs/07-deadlock.md. Read next: runtime/clone/mutex.cpp.
#include "../common/deadlock_report.hpp"
#include "parking_lot.hpp"

namespace spindle::clone::detail {

std::string parking_lot::describe_deadlock(const record* failed) const {
  return spindle::detail::describe_deadlock(
      "spindle: deadlock: every clone thread is blocked in spindle and none is left to wake "
      "another.",
      all_, [](const record* r) { return r->st == state::blocked && r->counted; }, failed,
      finished_owners_);
}

}  // namespace spindle::clone::detail
