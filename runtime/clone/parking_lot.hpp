// runtime/clone/parking_lot.hpp — how clone threads block, wake, and see a deadlock.
//
// Concept: the kernel schedules clone threads, but spindle still decides when one must
// wait. Every wait queue of every clone mutex and condition variable, the registry of
// threads, and two counts (threads alive, threads blocked with no deadline) are guarded
// by ONE lock, the parking lot's. A thread parks by joining a queue and sleeping on a
// futex word of its own; a waker takes it off the queue, counts it unblocked, sets the
// word and wakes it. Because the waker does the counting, the counts are exact at every
// moment, so "every live thread is blocked" proves that none can ever be woken.
// (The name and the idea of one table of parked threads come from WebKit's ParkingLot
// and Rust's parking_lot; this one is a single lock, kept simple to read.)
// Explained in: docs/09-clone-backend.md (parking). Read next: runtime/clone/mutex.cpp.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "../common/finished_owners.hpp"
#include "spindle/clone/detail/record.hpp"

namespace spindle::clone::detail {

// Drepper's three-state futex mutex, as a plain lock for the parking lot itself.
class lot_lock {
 public:
  void lock() noexcept;
  // Releases the lock. A wake deferred by wake_at_unlock is made in the same system call.
  void unlock() noexcept;
  // Caller holds the lock. Wakes the thread sleeping on `word` (whose new value the
  // caller has stored) when the lock is released, so that the woken thread, should the
  // kernel run it at once on the waker's processor, does not find the lock still held
  // by its waker. One wake waits for the unlock; a second is made at once.
  void wake_at_unlock(const std::atomic<std::uint32_t>& word) noexcept;

 private:
  std::atomic<std::uint32_t> word_{0};  // 0 free, 1 held, 2 held with sleepers
  const std::atomic<std::uint32_t>* deferred_wake_ = nullptr;  // guarded by this lock
};

class parking_lot {
 public:
  using held = std::unique_lock<lot_lock>;
  static parking_lot& instance();

  held hold() { return held(lock_); }

  // A thread becomes known (spawned, or a root thread's first spindle call). Held.
  void enter(record* r) noexcept;
  // A thread's last act: finished, joiner woken, unregistered, its name left for the
  // deadlock report if it still holds a mutex. Takes the lock itself. Returns whether
  // the thread was detached (then it frees its own record).
  bool leave(record* r) noexcept;

  // Blocks `self` (queued in `queue` if not null) until wake(); releases `lock` first.
  // Throws deadlock_error, with `lock` still held, if every live thread would then be
  // blocked, or later, without it, if the detector picks this thread to fail.
  void park(held& lock, record* self, thread_queue* queue, const wait_reason& why);
  // As park with no queue, for a joiner of `thread` that the kernel can wake at its exit
  // (kernel_thread.hpp: exit_or_word_wait_available): it sleeps once, until wake() or
  // the exit of `thread`, whose leave() counts the joiner unblocked (`exit_wakes_joiner`
  // of the joined record, set by the caller) but leaves the wake to the kernel. Returns
  // once the thread has exited; throws as park does.
  void park_for_exit(held& lock, record* self, const kernel_thread* thread, const wait_reason& why);
  // As park, but also wakes at the deadline; returns false when it passed. A thread
  // with a deadline never counts as blocked for ever. Returns without the lock.
  bool park_until(held& lock, record* self, std::chrono::steady_clock::time_point deadline,
                  thread_queue* queue, const wait_reason& why);
  // blocked -> running, off its queue; sets its word and wakes it (at the unlock). Held.
  void wake(record* r, wake_status why = wake_status::woken) noexcept;
  // Moves blocked `r` from its queue to `to`, now waiting for `why`; it stays blocked
  // (and counted) and is not woken. Held.
  void requeue(record* r, thread_queue* to, const wait_reason& why) noexcept;

  // fork(): the lock is held across it; in the child only `forking` (the thread that
  // called fork, if spindle knows it) exists, so every other thread is forgotten.
  void before_fork() noexcept { lock_.lock(); }
  void after_fork_in_parent() noexcept { lock_.unlock(); }
  void after_fork_in_child(record* forking) noexcept;

  // For the diagnostics (runtime/clone/diagnostics.cpp). Held.
  const record* all_threads() const noexcept { return all_; }
  std::uint64_t parks() const noexcept { return parks_; }
  std::uint64_t entered() const noexcept { return entered_; }
  const spindle::detail::finished_owners& finished_owners() const noexcept {
    return finished_owners_;
  }

 private:
  void block(record* self, thread_queue* queue, const wait_reason& why, bool counted) noexcept;
  // block, counted; throws deadlock_error (unblocked, lock held) if `self` is failed.
  void block_for_ever(record* self, thread_queue* queue, const wait_reason& why);
  // After the sleep of park or park_for_exit: throws if `self` was woken to fail.
  static void fail_if_woken_to(record* self);
  void unblock(record* r) noexcept;
  bool every_live_thread_blocked() const noexcept { return live_ > 0 && blocked_ == live_; }
  record* fail_victim(const record* caller) noexcept;
  std::string describe_deadlock(const record* failed) const;

  lot_lock lock_;
  record* all_ = nullptr;      // registered threads, linked by all_next; guarded by lock_
  std::size_t live_ = 0;       // registered and not finished; guarded by lock_
  std::size_t blocked_ = 0;    // parked with no deadline; guarded by lock_
  std::uint64_t parks_ = 0;    // guarded by lock_
  std::uint64_t entered_ = 0;  // threads that entered, for the statistics; guarded by lock_
  // Names of threads that finished holding a mutex, for the report; guarded by lock_.
  spindle::detail::finished_owners finished_owners_;
};

}  // namespace spindle::clone::detail
