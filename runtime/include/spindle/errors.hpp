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
#include <utility>

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

// Thrown by a call on a green object (a mutex, a condition variable, and so the channels,
// semaphores, latches, barriers and once flags built on them) from a kernel thread other
// than the object's home: the kernel thread whose green threads first used it. what()
// names the call, the object, its home and the caller; the accessors give the numbers.
class foreign_thread_error : public std::logic_error {
 public:
  foreign_thread_error(const std::string& what, const void* object, long home_tid, long caller_tid)
      : std::logic_error(what), object_(object), home_tid_(home_tid), caller_tid_(caller_tid) {}
  // The object called.
  const void* object() const noexcept { return object_; }
  // The kernel thread id (gettid) of the object's home, or 0 if that thread has exited.
  long home_tid() const noexcept { return home_tid_; }
  // The kernel thread id of the caller.
  long caller_tid() const noexcept { return caller_tid_; }

 private:
  const void* object_;
  long home_tid_;
  long caller_tid_;
};

}  // namespace spindle
