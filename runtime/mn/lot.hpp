// runtime/mn/lot.hpp — how M:N threads block, wake, time out, and see a deadlock.
//
// Concept: the clone backend's parking lot (runtime/clone/parking_lot.hpp), for threads
// that are green: ONE lock (the clone backend's lot_lock, a futex word) guards every wait
// queue of every M:N mutex and condition variable, the timer queue, the registry of
// threads and the counts that prove a deadlock. What differs is how a thread sleeps: a
// green thread parks by switching to its worker's loop, which releases the lot's lock
// only once the thread's context is saved (Go's gopark with its unlockf), so a waker on
// another worker, which needs that lock, can never put on a run queue a thread that is
// still running (the double run); a root sleeps on its futex word, as a clone thread does.
// Explained in: docs/15-many-to-many.md and runtime/mn/README.md (parking across workers, no double
// runs). Read next: runtime/mn/lot.cpp, then runtime/mn/worker.hpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "../clone/parking_lot.hpp"
#include "../common/finished_owners.hpp"
#include "spindle/mn/detail/record.hpp"

namespace spindle::mn::detail {

// Registers the fork handlers (runtime/mn/fork.cpp); called once, as the lot is made.
void install_fork_handlers() noexcept;
// The calling kernel thread's root record, or nullptr if it has none (runtime/mn/thread.cpp).
record* root_if_any() noexcept;

class lot {
 public:
  using held = std::unique_lock<clone::detail::lot_lock>;
  static lot& instance();

  held hold() { return held(lock_); }
  // For the worker loop, which releases the lock a parking thread switched away with.
  clone::detail::lot_lock& raw_lock() noexcept { return lock_; }

  // A thread becomes known: spawned, or a root's first call. Held.
  void enter(record* r) noexcept;
  // A green thread has finished: unregistered, its name left for the deadlock report if
  // it holds a mutex; returns its joiner, to be woken once its last switch has landed
  // (worker.cpp: after_finish). Held.
  record* leave(record* r) noexcept;

  // Blocks `self` (queued in `queue` if not null) until wake(); `lock` is released by
  // then (by the worker loop, after the switch, for a green thread). Throws
  // deadlock_error, lock held, if every live thread would then be blocked, or later,
  // without it, if the detector picks this thread to fail.
  void park(held& lock, record* self, thread_queue* queue, const wait_reason& why);
  // As park, but also wakes at the deadline; false when it passed. Returns without the
  // lock. Never counts as blocked for ever, even with time_point::max() (an I/O wait,
  // which the world outside may end), and sets no timer then.
  bool park_until(held& lock, record* self, clock::time_point deadline, thread_queue* queue,
                  const wait_reason& why);
  // blocked -> runnable, off its queue and the timer queue: a green thread goes on a run
  // queue (worker.hpp: make_runnable), a root's word is set and woken at the unlock. Held.
  void wake(record* r, wake_status why = wake_status::woken) noexcept;
  // Moves blocked `r` to `to`, now waiting for `why`; it stays blocked. Held.
  void requeue(record* r, thread_queue* to, const wait_reason& why) noexcept;

  // Timers of green threads (a root sleeps with a futex timeout instead). The earliest
  // deadline, or time_point::max() when none: read by the idle worker that waits for it.
  clock::time_point next_deadline() const noexcept;  // held
  // Wakes every green thread whose deadline has passed. Takes the lock.
  void fire_expired_timers();
  // Whether any timer is set, read without the lock by the busy workers' loops.
  bool any_timer() const noexcept { return timers_set_.load(std::memory_order_relaxed) != 0; }

  // fork() (runtime/mn/fork.cpp): the lock is held across it; in the child only
  // `forking` (the thread that called fork, if the backend knows it) exists.
  void before_fork() noexcept { lock_.lock(); }
  void after_fork_in_parent() noexcept { lock_.unlock(); }
  void after_fork_in_child(record* forking) noexcept;

  // For the diagnostics (runtime/mn/diagnostics.cpp). Held.
  const record* all_threads() const noexcept { return all_; }
  std::uint64_t parks() const noexcept { return parks_; }
  std::uint64_t entered() const noexcept { return entered_; }
  std::uint64_t timer_wakeups() const noexcept { return timer_wakeups_; }
  const spindle::detail::finished_owners& finished_owners() const noexcept {
    return finished_owners_;
  }

 private:
  void block(record* self, thread_queue* queue, const wait_reason& why, bool counted) noexcept;
  void block_for_ever(record* self, thread_queue* queue, const wait_reason& why);
  static void sleep_until_woken(held& lock, record* self);
  static void fail_if_woken_to(record* self);
  void unblock(record* r) noexcept;
  void add_timer(record* r);
  void remove_timer(record* r) noexcept;
  bool every_live_thread_blocked() const noexcept { return live_ > 0 && blocked_ == live_; }
  record* fail_victim(const record* caller) noexcept;
  std::string describe_deadlock(const record* failed) const;

  clone::detail::lot_lock lock_;
  record* all_ = nullptr;      // live threads, linked by all_next; guarded by lock_
  std::size_t live_ = 0;       // registered and not finished; guarded by lock_
  std::size_t blocked_ = 0;    // parked with no deadline; guarded by lock_
  std::uint64_t parks_ = 0;    // guarded by lock_
  std::uint64_t entered_ = 0;  // guarded by lock_
  std::uint64_t timer_wakeups_ = 0;
  // Green threads parked with a deadline, earliest first; guarded by lock_. A set (a
  // node per timed park) keeps this file short; green's timer_queue is a heap over
  // green's own records.
  std::set<std::pair<clock::time_point, record*>> timers_;
  std::atomic<std::size_t> timers_set_{0};  // timers_.size(), for any_timer
  // The earliest deadline's count of clock ticks, read without the lock by
  // fire_expired_timers, which then takes the lock only when one has passed.
  std::atomic<clock::rep> earliest_{clock::time_point::max().time_since_epoch().count()};
  void note_earliest() noexcept;
  spindle::detail::finished_owners finished_owners_;  // guarded by lock_
};

}  // namespace spindle::mn::detail
