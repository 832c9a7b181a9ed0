// spindle/mn/condition_variable.hpp — waiting for a condition between M:N threads.
//
// Concept: a wait queue guarded by the parking lot's lock; wait() queues the caller and
// releases the mutex under that lock, and the park's switch completes before the lock is
// released (runtime/mn/README.md, "no double runs"), so a notify on another worker either
// comes first (the waiter re-checks its predicate) or finds the waiter queued and parked.
// Explained in: docs/15-many-to-many.md and runtime/mn/README.md. Read next:
// runtime/mn/condition_variable.cpp.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>

#include "spindle/backend.hpp"
#include "spindle/detail/timed_waits.hpp"
#include "spindle/mn/detail/record.hpp"
#include "spindle/mn/mutex.hpp"

namespace spindle::mn {

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
  using timed_waits::wait;
  using timed_waits::wait_for;
  using timed_waits::wait_until;

  void notify_one() noexcept;
  void notify_all() noexcept;

 private:
  void release(detail::record* r) noexcept;

  wait_label label_;
  std::atomic<std::size_t> waiting_{0};  // threads in wait(), read by notify without the lock
  detail::thread_queue waiters_;         // guarded by the parking lot's lock
};

// For a std::stop_callback (spindle/detail/stop_wake.hpp), as on the clone backend.
inline void wake_for_stop(mutex& m, condition_variable& cv) noexcept {
  if (m.owned_by(detail::running())) {
    cv.notify_all();
    return;
  }
  std::lock_guard lock(m);
  cv.notify_all();
}

}  // namespace spindle::mn
