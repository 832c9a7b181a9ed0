// spindle/detail/timed_waits.hpp — the standard's many ways to wait with a time limit,
// written once in terms of the two waits each backend's condition variable defines.
//
// Concept: std::condition_variable offers wait with a predicate, wait_for and
// wait_until on any clock, with and without a predicate. All of them reduce to "wait"
// and "wait until this steady_clock time point"; a backend writes those two, and this
// base (CRTP: Derived is the backend's condition variable) supplies the rest.
// Explained in: docs/06-synchronisation.md (condition variable).
// Read next: runtime/green/condition_variable.cpp.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stop_token>
#include <utility>

#include "spindle/detail/stop_wake.hpp"

namespace spindle::detail {

// A deadline on any clock, as a steady_clock time point (rounded up, never early).
template <class Clock, class Duration>
std::chrono::steady_clock::time_point to_steady(std::chrono::time_point<Clock, Duration> t) {
  if constexpr (std::is_same_v<Clock, std::chrono::steady_clock>) {
    return std::chrono::time_point_cast<std::chrono::steady_clock::duration>(t);
  } else {
    return std::chrono::steady_clock::now() +
           std::chrono::ceil<std::chrono::steady_clock::duration>(t - Clock::now());
  }
}

// now + d on the steady clock, rounded up.
template <class Rep, class Period>
std::chrono::steady_clock::time_point steady_after(std::chrono::duration<Rep, Period> d) {
  return std::chrono::steady_clock::now() +
         std::chrono::ceil<std::chrono::steady_clock::duration>(d);
}

template <class Derived, class Mutex>
class timed_waits {
 public:
  template <class Predicate>
  void wait(std::unique_lock<Mutex>& lock, Predicate ready) {
    while (!ready()) self().wait(lock);
  }

  template <class Clock, class Duration>
  std::cv_status wait_until(std::unique_lock<Mutex>& lock,
                            std::chrono::time_point<Clock, Duration> deadline) {
    return self().wait_until(lock, to_steady(deadline));
  }

  template <class Clock, class Duration, class Predicate>
  bool wait_until(std::unique_lock<Mutex>& lock, std::chrono::time_point<Clock, Duration> deadline,
                  Predicate ready) {
    auto steady_deadline = to_steady(deadline);
    while (!ready()) {
      if (self().wait_until(lock, steady_deadline) == std::cv_status::timeout) return ready();
    }
    return true;
  }

  template <class Rep, class Period>
  std::cv_status wait_for(std::unique_lock<Mutex>& lock, std::chrono::duration<Rep, Period> d) {
    return self().wait_until(lock, steady_after(d));
  }

  template <class Rep, class Period, class Predicate>
  bool wait_for(std::unique_lock<Mutex>& lock, std::chrono::duration<Rep, Period> d,
                Predicate ready) {
    return wait_until(lock, steady_after(d), std::move(ready));
  }

  // std::condition_variable_any's waits with a stop token: they return ready()'s value
  // (with the mutex held) once it is true, or once a stop is requested on `token`
  // (then typically false), or, for the timed ones, at the deadline.
  template <class Predicate>
  bool wait(std::unique_lock<Mutex>& lock, std::stop_token token, Predicate ready) {
    return wait_stoppable(lock, token, std::nullopt, ready);
  }
  template <class Clock, class Duration, class Predicate>
  bool wait_until(std::unique_lock<Mutex>& lock, std::stop_token token,
                  std::chrono::time_point<Clock, Duration> deadline, Predicate ready) {
    return wait_stoppable(lock, token, to_steady(deadline), ready);
  }
  template <class Rep, class Period, class Predicate>
  bool wait_for(std::unique_lock<Mutex>& lock, std::stop_token token,
                std::chrono::duration<Rep, Period> d, Predicate ready) {
    return wait_stoppable(lock, token, steady_after(d), ready);
  }

 private:
  Derived& self() { return static_cast<Derived&>(*this); }

  // The stop-token waits. The callback that wakes this wait (spindle/detail/stop_wake.hpp)
  // takes no mutex, so it is registered and unregistered with the caller's held. A
  // backend whose waits can race a stop from another kernel thread (clone, M:N) gives its
  // condition variable wait_unless_stopped and wait_until_unless_stopped, which test the
  // token where its notify cannot pass unseen; on green none is needed (no other green
  // thread runs between the test below and the park).
  template <class Predicate>
  bool wait_stoppable(std::unique_lock<Mutex>& lock, const std::stop_token& token,
                      const std::optional<std::chrono::steady_clock::time_point>& deadline,
                      Predicate& ready) {
    if (ready()) return true;
    if (token.stop_requested()) return false;
    if (!token.stop_possible()) {  // nobody can ever request a stop: a plain wait
      if (deadline) return wait_until(lock, *deadline, std::ref(ready));
      wait(lock, std::ref(ready));
      return true;
    }
    stop_wake<Mutex, Derived> on_stop(token, *lock.mutex(), self());
    while (!ready() && !token.stop_requested()) {
      if (!deadline)
        wait_once(lock, token);
      else if (wait_once_until(lock, token, *deadline) == std::cv_status::timeout)
        break;
    }
    return ready();
  }

  void wait_once(std::unique_lock<Mutex>& lock, const std::stop_token& token) {
    if constexpr (requires { self().wait_unless_stopped(lock, token); })
      self().wait_unless_stopped(lock, token);
    else
      self().wait(lock);
  }
  std::cv_status wait_once_until(std::unique_lock<Mutex>& lock, const std::stop_token& token,
                                 std::chrono::steady_clock::time_point deadline) {
    if constexpr (requires { self().wait_until_unless_stopped(lock, token, deadline); })
      return self().wait_until_unless_stopped(lock, token, deadline);
    else
      return self().wait_until(lock, deadline);
  }
};

}  // namespace spindle::detail
