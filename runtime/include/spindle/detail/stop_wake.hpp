// spindle/detail/stop_wake.hpp — waking a blocked thread when a stop is requested.
//
// Concept: a blocking call that takes a std::stop_token registers a std::stop_callback
// that wakes it: the callback runs in the thread that calls request_stop() and notifies
// the condition variable the call waits on, through the backend's wake_for_stop(mutex,
// condition_variable) (found by argument-dependent lookup). On the clone backend that
// takes the mutex first, so that the stop cannot fall between the waiter's test of
// stop_requested() and its wait (the lost wake-up); on the green backend no other green
// thread runs between that test and the park, so it only notifies, and never blocks.
// Explained in: docs/06-synchronisation.md (cancellation). Read next: spindle/stop.hpp.
//
// Two rules for every user, both about the callback taking the mutex on the clone
// backend: register it before taking the mutex (a stop already requested runs it at
// once, in the registering thread), and destroy it after releasing the mutex (the
// destructor waits for a callback running in another thread, which may be waiting for
// the mutex).
#pragma once

#include <optional>
#include <stop_token>

namespace spindle::detail {

template <class Mutex, class ConditionVariable>
class stop_wake {
 public:
  stop_wake(const std::stop_token& token, Mutex& mutex, ConditionVariable& cv) {
    if (token.stop_possible()) callback_.emplace(token, wake{&mutex, &cv});
  }
  // Unregisters now, as the destructor would (see the file comment's second rule).
  void reset() noexcept { callback_.reset(); }

 private:
  struct wake {
    Mutex* mutex;
    ConditionVariable* cv;
    void operator()() const noexcept { wake_for_stop(*mutex, *cv); }
  };
  std::optional<std::stop_callback<wake>> callback_;
};

}  // namespace spindle::detail
