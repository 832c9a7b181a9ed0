// spindle/errors.hpp — the errors both backends report.
//
// Concept: what goes wrong in a threaded program, as exceptions a caller can catch.
// Explained in: docs/06-synchronisation.md (channels) and docs/07-deadlock.md.
// Read next: spindle/backend.hpp, the contract both backends satisfy.
//
// Misuse of a thread handle (join twice, join yourself, ...) and of a mutex (unlock by
// a thread that does not own it) is reported as std::system_error, exactly as the
// standard library's std::thread and std::mutex do, so no new type is needed for it.
#pragma once

#include <stdexcept>
#include <string>

namespace spindle {

// Thrown by a blocking call when every thread is blocked and nothing can wake one.
// what() lists each blocked thread, its name and what it waits on.
class deadlock_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// Thrown by send() on a channel that is closed. (recv() on a closed, drained channel
// is not an error: it returns an empty optional.)
class channel_closed : public std::logic_error {
public:
  using std::logic_error::logic_error;
};

}  // namespace spindle
