// spindle/detail/stop_wake.hpp — waking a blocked thread when a stop is requested.
//
// Concept: a blocking call that takes a std::stop_token registers a std::stop_callback
// that wakes it: the callback runs in the thread that calls request_stop() and notifies
// the condition variable the call waits on, through the backend's wake_for_stop(mutex,
// condition_variable) (found by argument-dependent lookup). No backend's callback takes
// the caller's mutex or waits for any thread: ~stop_callback waits for a callback that is
// running in another thread, and on the M:N backend that wait holds a worker, which a
// callback waiting for a green thread's mutex could need (a deadlock, seen on one
// worker). How each backend closes the lost wake-up instead: on green no other green
// thread runs between the waiter's test of stop_requested() and its park; on clone and
// M:N the waiter tests the token again under the parking lot's lock, which the callback's
// notify takes (spindle/detail/lot_sync.hpp: wait_unless_stopped).
// Explained in: docs/06-synchronisation.md (cancellation). Read next: spindle/stop.hpp.
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

 private:
  struct wake {
    Mutex* mutex;
    ConditionVariable* cv;
    void operator()() const noexcept { wake_for_stop(*mutex, *cv); }
  };
  std::optional<std::stop_callback<wake>> callback_;
};

}  // namespace spindle::detail
