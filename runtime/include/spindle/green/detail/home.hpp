// spindle/green/detail/home.hpp — a green object's home: the one scheduler whose threads
// may use it.
//
// Concept: a green mutex or condition variable takes no lock of its own, because only
// the green threads of one kernel thread touch it, one at a time. The object remembers
// the scheduler that first used it (its home) and every call compares the caller's
// scheduler with it: one compare on the fast paths. A call from any other kernel thread
// (a std::thread, a clone thread, the threads of another green scheduler) throws
// spindle::foreign_thread_error, naming the object, its home and the caller, where it
// would otherwise race on the object's fields or park in a scheduler that cannot see
// the waker (a false deadlock report). A home is kept for the object's whole life.
// Explained in: docs/07-deadlock.md (used from another kernel thread).
// Read next: runtime/green/home.cpp.
#pragma once

namespace spindle::green::detail {

// What a green object's home is before its first call. No scheduler has this address,
// so the fast paths' compare with the caller's scheduler fails and the slow path binds.
extern const char no_home_yet;

}  // namespace spindle::green::detail
