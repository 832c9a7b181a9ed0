// spindle/mn/condition_variable.hpp — waiting for a condition between M:N threads.
//
// Concept: a wait queue guarded by the parking lot's lock; wait() queues the caller and
// releases the mutex under that lock, and the park's switch completes before the lock is
// released (runtime/mn/README.md, "no double runs"), so a notify on another worker either
// comes first (the waiter re-checks its predicate) or finds the waiter queued and parked.
// Same interface as std::condition_variable, with spindle::mn::mutex; the algorithm is
// spindle/detail/lot_sync.hpp's (wake_for_stop, for stop tokens, too).
// Explained in: docs/15-many-to-many.md and runtime/mn/README.md. Read next:
// spindle/detail/lot_sync.hpp.
#pragma once

#include "spindle/backend.hpp"
#include "spindle/detail/lot_sync.hpp"
#include "spindle/mn/mutex.hpp"

namespace spindle::mn {

class condition_variable
    : public spindle::detail::lot_condition_variable<detail::parking, mutex, condition_variable> {
 public:
  using lot_condition_variable::lot_condition_variable;
};

}  // namespace spindle::mn
