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
#include <utility>

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

private:
  Derived& self() { return static_cast<Derived&>(*this); }
};

}  // namespace spindle::detail
