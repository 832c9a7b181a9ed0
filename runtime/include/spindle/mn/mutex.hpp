// spindle/mn/mutex.hpp — mutual exclusion between M:N threads, on any worker.
//
// Concept: the clone mutex's design with the M:N parking lot underneath
// (runtime/mn/lot.hpp): a contended lock parks the green thread (its worker runs another)
// instead of the kernel thread, and an unlock on any worker puts the new owner on a run queue.
// The algorithm is spindle/detail/lot_sync.hpp's, written once for the clone and M:N
// backends; this header says which parking lot it runs over.
// Explained in: docs/15-many-to-many.md and runtime/mn/README.md (parking across workers). Read
// next: spindle/detail/lot_sync.hpp.
#pragma once

#include "spindle/detail/lot_sync.hpp"
#include "spindle/mn/detail/record.hpp"

namespace spindle::mn {

namespace detail {
class lot;  // runtime/mn/lot.hpp

// What spindle/detail/lot_sync.hpp needs to know of this backend.
struct parking {
  using record = detail::record;
  using thread_queue = detail::thread_queue;
  using lot_type = lot;
  static record* running() { return detail::running(); }
  static constexpr const char* name = "mn";
  static constexpr const char* described = "an M:N";
};
}  // namespace detail

class mutex : public spindle::detail::lot_mutex<detail::parking> {};

}  // namespace spindle::mn
