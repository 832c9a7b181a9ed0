// runtime/clone/mutex.cpp — the clone mutex and condition variable: spindle/detail/lot_sync.hpp's
// algorithm (runtime/common/lot_sync.hpp), made here over the clone parking lot
// (kernel threads asleep on their futex words).
// Explained in: docs/09-clone-backend.md (mutex) and docs/09-clone-backend.md (condition variable).
// Read next: runtime/clone/parking_lot.cpp.
#include "../common/lot_sync.hpp"
#include "parking_lot.hpp"
#include "spindle/clone/condition_variable.hpp"

template class spindle::detail::lot_mutex<spindle::clone::detail::parking>;
template class spindle::detail::lot_condition_variable<
    spindle::clone::detail::parking, spindle::clone::mutex, spindle::clone::condition_variable>;
