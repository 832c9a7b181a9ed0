// spindle/clone/condition_variable.hpp — waiting for a condition between kernel threads.
//
// Concept: a wait queue guarded by the parking lot's lock. wait() joins the queue and
// releases the mutex while holding that lock, so a notify that follows the release
// always finds the waiter queued: the lost wake-up is ruled out by the lock order.
// Same interface as std::condition_variable, with spindle::clone::mutex.
// Explained in: docs/09-clone-backend.md (condition variable).
// Read next: runtime/clone/condition_variable.cpp.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>

#include "spindle/backend.hpp"
#include "spindle/clone/detail/record.hpp"
#include "spindle/clone/mutex.hpp"
#include "spindle/detail/timed_waits.hpp"

namespace spindle::clone {

class condition_variable : public spindle::detail::timed_waits<condition_variable, mutex> {
 public:
  condition_variable() = default;
  explicit condition_variable(wait_label label) noexcept : label_(label) {}
  condition_variable(const condition_variable&) = delete;
  condition_variable& operator=(const condition_variable&) = delete;
  ~condition_variable();

  void wait(std::unique_lock<mutex>& lock);
  std::cv_status wait_until(std::unique_lock<mutex>& lock,
                            std::chrono::steady_clock::time_point deadline);
  // With a predicate, with wait_for, on other clocks: spindle/detail/timed_waits.hpp.
  using timed_waits::wait;
  using timed_waits::wait_for;
  using timed_waits::wait_until;

  void notify_one() noexcept;
  void notify_all() noexcept;

 private:
  // Wakes a waiter, or moves it to its mutex's queue; the parking lot's lock is held.
  void release(detail::record* r) noexcept;

  wait_label label_;
  // Threads in wait(); read without the lock by notify, which may skip the lock when it
  // reads 0 (a waiter queues before releasing the mutex the notifier then takes).
  std::atomic<std::size_t> waiting_{0};
  detail::thread_queue waiters_;  // guarded by the parking lot's lock
};

}  // namespace spindle::clone

namespace spindle::clone {

// For a std::stop_callback (spindle/detail/stop_wake.hpp): wakes the threads waiting on
// `cv`, holding `m` so that no waiter is between its test of stop_requested() and its
// wait. A caller that holds `m` already (it requested the stop inside its critical
// section) notifies without taking it again.
inline void wake_for_stop(mutex& m, condition_variable& cv) noexcept {
  if (m.owned_by(detail::running())) {
    cv.notify_all();
    return;
  }
  std::lock_guard lock(m);
  cv.notify_all();
}

}  // namespace spindle::clone
