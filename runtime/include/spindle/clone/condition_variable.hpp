// spindle/clone/condition_variable.hpp — waiting for a condition between kernel threads.
//
// Concept: a wait queue guarded by the parking lot's lock. wait() joins the queue and
// releases the mutex while holding that lock, so a notify that follows the release
// always finds the waiter queued: the lost wake-up is ruled out by the lock order.
// Same interface as std::condition_variable, with spindle::clone::mutex; the algorithm is
// spindle/detail/lot_sync.hpp's (wake_for_stop, for stop tokens, too).
// Explained in: docs/09-clone-backend.md (condition variable). Read next:
// spindle/detail/lot_sync.hpp.
#pragma once

#include "spindle/backend.hpp"
#include "spindle/clone/mutex.hpp"
#include "spindle/detail/lot_sync.hpp"

namespace spindle::clone {

class condition_variable
    : public spindle::detail::lot_condition_variable<detail::parking, mutex, condition_variable> {
 public:
  using lot_condition_variable::lot_condition_variable;
};

}  // namespace spindle::clone
