// runtime/mn/mutex.cpp — the M:N mutex and condition variable: spindle/detail/lot_sync.hpp's
// algorithm (runtime/common/lot_sync.hpp), made here over the M:N lot
// (green threads parked off their workers).
// Explained in: docs/15-many-to-many.md and runtime/mn/README.md (parking across workers). Read
// next: runtime/mn/lot.cpp.
#include "../common/lot_sync.hpp"
#include "lot.hpp"
#include "spindle/mn/condition_variable.hpp"

template class spindle::detail::lot_mutex<spindle::mn::detail::parking>;
template class spindle::detail::lot_condition_variable<
    spindle::mn::detail::parking, spindle::mn::mutex, spindle::mn::condition_variable>;
