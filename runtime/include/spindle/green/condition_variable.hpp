// spindle/green/condition_variable.hpp — waiting for a condition between green threads.
//
// Concept: a condition variable is a wait queue. wait() parks the caller in it and
// releases the mutex as one step (no other green thread can run in between, so no
// notify is lost); notify_one() wakes the first waiter, which then re-takes the mutex.
// Same interface as std::condition_variable, with spindle::green::mutex. Only the green
// threads of its home kernel thread may call it (spindle/green/detail/home.hpp).
// Explained in: docs/06-synchronisation.md (condition variable).
// Read next: runtime/green/condition_variable.cpp.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "spindle/backend.hpp"
#include "spindle/detail/thread_queue.hpp"
#include "spindle/detail/timed_waits.hpp"
#include "spindle/green/detail/home.hpp"
#include "spindle/green/detail/record.hpp"
#include "spindle/green/mutex.hpp"

namespace spindle::green {

class condition_variable : public spindle::detail::timed_waits<condition_variable, mutex> {
 public:
  condition_variable() = default;
  // Names what the waiters wait on in a deadlock report (used by channel, latch, ...).
  explicit condition_variable(wait_label label) noexcept : label_(label) {}
  condition_variable(const condition_variable&) = delete;
  condition_variable& operator=(const condition_variable&) = delete;
  ~condition_variable();

  // Precondition: `lock` owns its mutex (else std::system_error operation_not_permitted).
  // Returns with the mutex held again, also when it throws deadlock_error (unless
  // re-taking the mutex itself deadlocks: then that error leaves, owning nothing).
  void wait(std::unique_lock<mutex>& lock);
  std::cv_status wait_until(std::unique_lock<mutex>& lock,
                            std::chrono::steady_clock::time_point deadline);
  // With a predicate, with wait_for, on other clocks: spindle/detail/timed_waits.hpp.
  using timed_waits::wait;
  using timed_waits::wait_for;
  using timed_waits::wait_until;

  // Not noexcept, unlike std::condition_variable's: from a kernel thread other than the
  // home, they throw spindle::foreign_thread_error (as wait does).
  void notify_one();
  void notify_all();

 private:
  // The caller's scheduler, after the home check (the first call binds the home).
  detail::scheduler& home_checked(const char* call);
  [[gnu::noinline]] detail::scheduler& enter_home(const char* call);
  [[gnu::noinline]] void notify_on_slow_path(bool all);

  wait_label label_;
  detail::thread_queue waiters_;  // threads parked in wait(), in arrival order
  // Set by the first wait or notify, then constant: the scheduler whose threads alone
  // may call (compared with current_scheduler, never dereferenced).
  const void* home_ = &detail::no_home_yet;
};

}  // namespace spindle::green

namespace spindle::green {

// For a std::stop_callback (spindle/detail/stop_wake.hpp): wakes the threads waiting on
// `cv`. Without the mutex: a waiter tests stop_requested() and parks with no other green
// thread running in between, so the notify finds it parked or it has yet to test.
// Must be called on the kernel thread of the waiters' scheduler.
inline void wake_for_stop(mutex&, condition_variable& cv) noexcept { cv.notify_all(); }

}  // namespace spindle::green
