// spindle/clone/condition_variable.hpp — waiting for a condition between kernel threads.
//
// Concept: a wait queue guarded by the parking lot's lock. wait() joins the queue and
// releases the mutex while holding that lock, so a notify that follows the release
// always finds the waiter queued: the lost wake-up is ruled out by the lock order.
// Same interface as std::condition_variable, with spindle::clone::mutex.
// Explained in: docs/07-clone-backend.md (condition variable).
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

namespace spindle::clone {

class condition_variable {
public:
  condition_variable() = default;
  explicit condition_variable(wait_label label) noexcept : label_(label) {}
  condition_variable(const condition_variable&) = delete;
  condition_variable& operator=(const condition_variable&) = delete;
  ~condition_variable();

  void wait(std::unique_lock<mutex>& lock);
  std::cv_status wait_until(std::unique_lock<mutex>& lock,
                            std::chrono::steady_clock::time_point deadline);

  template <class Predicate>
  void wait(std::unique_lock<mutex>& lock, Predicate ready) {
    while (!ready()) wait(lock);
  }

  template <class Clock, class Duration>
  std::cv_status wait_until(std::unique_lock<mutex>& lock,
                            std::chrono::time_point<Clock, Duration> deadline) {
    return wait_until(lock, std::chrono::steady_clock::now() +
                                std::chrono::ceil<std::chrono::steady_clock::duration>(
                                    deadline - Clock::now()));
  }

  template <class Clock, class Duration, class Predicate>
  bool wait_until(std::unique_lock<mutex>& lock,
                  std::chrono::time_point<Clock, Duration> deadline, Predicate ready) {
    while (!ready()) {
      if (wait_until(lock, deadline) == std::cv_status::timeout) return ready();
    }
    return true;
  }

  template <class Rep, class Period>
  std::cv_status wait_for(std::unique_lock<mutex>& lock,
                          std::chrono::duration<Rep, Period> timeout) {
    return wait_until(lock, std::chrono::steady_clock::now() +
                                std::chrono::ceil<std::chrono::steady_clock::duration>(timeout));
  }

  template <class Rep, class Period, class Predicate>
  bool wait_for(std::unique_lock<mutex>& lock, std::chrono::duration<Rep, Period> timeout,
                Predicate ready) {
    return wait_until(lock,
                      std::chrono::steady_clock::now() +
                          std::chrono::ceil<std::chrono::steady_clock::duration>(timeout),
                      std::move(ready));
  }

  void notify_one() noexcept;
  void notify_all() noexcept;

private:
  wait_label label_;
  // Threads in wait(); read without the lock by notify, which may skip the lock when it
  // reads 0 (a waiter queues before releasing the mutex the notifier then takes).
  std::atomic<std::size_t> waiting_{0};
  detail::thread_queue waiters_;  // guarded by the parking lot's lock
};

}  // namespace spindle::clone
