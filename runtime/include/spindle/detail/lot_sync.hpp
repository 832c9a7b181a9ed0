// spindle/detail/lot_sync.hpp — the mutex and condition variable of the backends whose
// waits go through a parking lot: clone (a blocked kernel thread sleeps on its futex
// word) and M:N (a blocked green thread leaves its worker for another thread).
//
// Concept: one algorithm, written once, over a backend's parking lot. The mutex word has
// Drepper's three states ("Futexes Are Tricky"): 0 free, 1 held, 2 held and maybe
// contended. Taking a free mutex and releasing an uncontended one are single atomic
// instructions. A contended lock parks the caller in the mutex's wait queue under the
// lot's lock; unlock then hands the mutex straight to the first waiter, as the green
// mutex does, so every backend is fair in the same way and the deadlock detector always
// knows who waits on whom. The condition variable queues a waiter and releases its mutex
// under the same lock, so a notify that follows the release always finds the waiter
// queued: the lost wake-up is ruled out by the lock order.
//
// `Parking` describes the backend (spindle/clone/mutex.hpp, spindle/mn/mutex.hpp):
//     using record = ...;        the backend's thread record (id, mutexes_held, relocks)
//     using thread_queue = ...;  spindle::detail::thread_queue<record>
//     using lot_type = ...;      its parking lot: hold, park, park_until, wake, requeue
//     static record* running();  the calling thread's record
//     static constexpr const char* name;       "clone", "mn": messages say spindle::NAME::mutex
//     static constexpr const char* described;  "a clone", "an M:N": "... mutex was destroyed"
// Each backend's mutex and condition variable are classes of their own, derived from
// these, so that their names (spindle::clone::mutex) stay what users and debuggers see.
// The members are defined in runtime/common/lot_sync.hpp and instantiated by each
// backend's runtime/NAME/mutex.cpp.
// Explained in: docs/09-clone-backend.md (mutex) and docs/09-clone-backend.md (condition variable)
// and docs/15-many-to-many.md. Read next: runtime/common/lot_sync.hpp.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <stop_token>

#include "spindle/backend.hpp"
#include "spindle/detail/timed_waits.hpp"

namespace spindle::detail {

template <class Parking, class Mutex, class Self>
class lot_condition_variable;

template <class Parking>
class lot_mutex {
  using record = typename Parking::record;

 public:
  lot_mutex() = default;
  lot_mutex(const lot_mutex&) = delete;
  lot_mutex& operator=(const lot_mutex&) = delete;
  ~lot_mutex();

  // Blocks until the caller owns the mutex. Throws std::system_error
  // (resource_deadlock_would_occur) if the caller already owns it, and
  // spindle::deadlock_error if no thread could ever release it.
  void lock();
  bool try_lock();
  // Throws std::system_error (operation_not_permitted) if the caller does not own it.
  void unlock();

  // Whether `r` holds the mutex (for condition_variable's precondition check).
  bool owned_by(const record* r) const noexcept {
    return owner_.load(std::memory_order_relaxed) == r->id;
  }

 private:
  template <class, class, class>
  friend class lot_condition_variable;
  void lock_contended(record* self);
  void hand_over() noexcept;
  void release_holding_the_lot(record* self) noexcept;    // for condition_variable::wait
  bool adopt_waiter_holding_the_lot(record* r) noexcept;  // for notify
  void take(record* self) noexcept;
  // The owner's id, for the deadlock report (wait_reason::holder_id).
  static std::uint64_t holder_id(const void* self) noexcept;

  enum : std::uint32_t { free = 0, held = 1, contended = 2 };
  std::atomic<std::uint32_t> word_{free};
  // The owner's id, 0 if none: an id, not the record, so that an owner that finishes
  // without unlocking leaves nothing dangling. Written only by the owner or its unlocker.
  std::atomic<std::uint64_t> owner_{0};
  typename Parking::thread_queue waiters_;  // guarded by the parking lot's lock
};

// Mutex is the backend's mutex class (derived from lot_mutex<Parking>), Self the
// backend's condition variable class (derived from this), for timed_waits.
template <class Parking, class Mutex, class Self>
class lot_condition_variable : public timed_waits<Self, Mutex> {
  using record = typename Parking::record;
  using base_waits = timed_waits<Self, Mutex>;

 public:
  lot_condition_variable() = default;
  explicit lot_condition_variable(wait_label label) noexcept : label_(label) {}
  lot_condition_variable(const lot_condition_variable&) = delete;
  lot_condition_variable& operator=(const lot_condition_variable&) = delete;
  ~lot_condition_variable();

  void wait(std::unique_lock<Mutex>& lock);
  std::cv_status wait_until(std::unique_lock<Mutex>& lock,
                            std::chrono::steady_clock::time_point deadline);
  // With a predicate, with wait_for, on other clocks: spindle/detail/timed_waits.hpp.
  using base_waits::wait;
  using base_waits::wait_for;
  using base_waits::wait_until;

  void notify_one() noexcept;
  void notify_all() noexcept;

  // The steps of the stop-token waits (spindle/detail/timed_waits.hpp: wait_stoppable):
  // wait and wait_until that return at once, waiting for nothing, if a stop has been
  // requested on `token`, which they test under the parking lot's lock. The stop's
  // notify (wake_for_stop, below) takes that lock too, after request_stop() has set the
  // flag, so it either finds this waiter queued or the waiter finds the flag set: the
  // lost wake-up is closed without the caller's mutex, which the stop's callback must
  // never take (its thread would wait for a mutex whose holder, on the M:N backend, may
  // need the very worker that ~stop_callback blocks).
  void wait_unless_stopped(std::unique_lock<Mutex>& lock, const std::stop_token& token);
  std::cv_status wait_until_unless_stopped(std::unique_lock<Mutex>& lock,
                                           const std::stop_token& token,
                                           std::chrono::steady_clock::time_point deadline);
  // notify_all as a stop's callback makes it: always under the parking lot's lock (the
  // waiting_ shortcut could miss a waiter that has tested the flag but not yet counted
  // itself).
  void notify_all_for_stop() noexcept;

 private:
  // wait and wait_until, and their stop-token steps when `token` is not null; inlined
  // into each, so that a parked thread's backtrace has one frame here, not two.
  [[gnu::always_inline]] void wait_or_stop(std::unique_lock<Mutex>& lock,
                                           const std::stop_token* token);
  [[gnu::always_inline]] std::cv_status wait_until_or_stop(
      std::unique_lock<Mutex>& lock, std::chrono::steady_clock::time_point deadline,
      const std::stop_token* token);
  // Wakes a waiter, or moves it to its mutex's queue; the parking lot's lock is held.
  void release(record* r) noexcept;

  wait_label label_;
  // Threads in wait(); read without the lock by notify, which may skip the lock when it
  // reads 0 (a waiter queues before releasing the mutex the notifier then takes).
  std::atomic<std::size_t> waiting_{0};
  typename Parking::thread_queue waiters_;  // guarded by the parking lot's lock
};

// For a std::stop_callback (spindle/detail/stop_wake.hpp): wakes the threads waiting on
// `cv`. It takes no mutex but the parking lot's, for a few stores (see
// wait_unless_stopped), so it never waits for a thread, and ~stop_callback, which waits
// for a callback running in another thread, waits for no longer than that.
template <class Parking, class Mutex, class Self>
void wake_for_stop(Mutex&, lot_condition_variable<Parking, Mutex, Self>& cv) noexcept {
  cv.notify_all_for_stop();
}

}  // namespace spindle::detail
