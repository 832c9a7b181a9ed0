// spindle/clone/mutex.hpp — mutual exclusion between kernel threads, on a futex word.
//
// Concept: a contended lock parks the kernel thread on its own futex word, in the
// parking lot (runtime/clone/parking_lot.hpp); the uncontended paths make no system call.
// The algorithm is spindle/detail/lot_sync.hpp's, written once for the clone and M:N
// backends; this header says which parking lot it runs over.
// Explained in: docs/09-clone-backend.md (mutex). Read next: spindle/detail/lot_sync.hpp.
#pragma once

#include "spindle/clone/detail/record.hpp"
#include "spindle/detail/lot_sync.hpp"

namespace spindle::clone {

namespace detail {
class parking_lot;  // runtime/clone/parking_lot.hpp

// What spindle/detail/lot_sync.hpp needs to know of this backend.
struct parking {
  using record = detail::record;
  using thread_queue = detail::thread_queue;
  using lot_type = parking_lot;
  static record* running() { return detail::running(); }
  static constexpr const char* name = "clone";
  static constexpr const char* described = "a clone";
};
}  // namespace detail

class mutex : public spindle::detail::lot_mutex<detail::parking> {};

}  // namespace spindle::clone
