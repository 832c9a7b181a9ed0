// runtime/common/lot_sync.hpp — the members of spindle/detail/lot_sync.hpp: the mutex
// and condition variable over a parking lot, for the clone and M:N backends.
//
// Included only by runtime/clone/mutex.cpp and runtime/mn/mutex.cpp, each of which
// instantiates these for its own Parking after including its parking lot. Every wait
// and wake goes through Parking::lot_type; what parking means (a kernel thread asleep on a
// futex, or a green thread switched away from its worker) is the lot's business.
// Explained in: docs/09-clone-backend.md (mutex) and docs/09-clone-backend.md (condition variable).
// Read next: runtime/clone/parking_lot.cpp, runtime/mn/lot.cpp.
#pragma once

#include <cstdio>
#include <exception>
#include <stop_token>
#include <string>
#include <system_error>

#include "spindle/detail/lot_sync.hpp"

namespace spindle::detail {

// The message of a misused mutex or condition variable: "spindle::clone::mutex::lock: ...".
[[noreturn, gnu::cold]] inline void throw_lot_misuse(std::errc error, const char* backend,
                                                     const char* call, const char* what) {
  throw std::system_error(std::make_error_code(error),
                          std::string("spindle::") + backend + "::" + call + ": " + what);
}

// "spindle: a clone mutex was destroyed while threads were waiting for it."
[[noreturn, gnu::cold]] inline void terminate_destroyed_while_waited(const char* described,
                                                                     const char* object) {
  std::fprintf(stderr,
               "spindle: %s %s was destroyed while threads were waiting for it. "
               "Terminating.\n",
               described, object);
  std::terminate();
}

// --- the mutex ---------------------------------------------------------------------------

template <class Parking>
lot_mutex<Parking>::~lot_mutex() {
  if (!waiters_.empty()) terminate_destroyed_while_waited(Parking::described, "mutex");
}

// The caller, or the unlock handing the mutex to a parked waiter, makes `self` the owner.
template <class Parking>
void lot_mutex<Parking>::take(record* self) noexcept {
  owner_.store(self->id, std::memory_order_relaxed);
  ++self->mutexes_held;
}

// Called by the deadlock report, under the parking lot's lock.
template <class Parking>
std::uint64_t lot_mutex<Parking>::holder_id(const void* self) noexcept {
  return static_cast<const lot_mutex*>(self)->owner_.load(std::memory_order_relaxed);
}

template <class Parking>
void lot_mutex<Parking>::lock() {
  record* self = Parking::running();
  std::uint32_t seen = free;
  if (word_.compare_exchange_strong(seen, held, std::memory_order_acquire)) {
    take(self);
    return;
  }
  if (owned_by(self)) {
    throw_lot_misuse(std::errc::resource_deadlock_would_occur, Parking::name, "mutex::lock",
                     "the calling thread already owns this mutex (it is not recursive)");
  }
  lock_contended(self);
}

// Under the parking lot's lock no unlock can hand the mutex over, and once the word says
// contended every unlock must take that lock too: so it will find this thread queued.
template <class Parking>
void lot_mutex<Parking>::lock_contended(record* self) {
  auto& lot = Parking::lot_type::instance();
  auto lock = lot.hold();
  if (word_.exchange(contended, std::memory_order_acquire) == free) {
    take(self);
    return;
  }
  lot.park(lock, self, &waiters_, {"mutex", this, nullptr, &lot_mutex::holder_id});
  // hand_over made this thread the owner, and counted it, before waking it.
}

template <class Parking>
bool lot_mutex<Parking>::try_lock() {
  record* self = Parking::running();  // may throw: before the mutex is taken
  std::uint32_t seen = free;
  if (!word_.compare_exchange_strong(seen, held, std::memory_order_acquire)) return false;
  take(self);
  return true;
}

template <class Parking>
void lot_mutex<Parking>::unlock() {
  record* self = Parking::running();
  std::uint64_t owner = owner_.load(std::memory_order_relaxed);
  if (owner != self->id) {
    throw_lot_misuse(std::errc::operation_not_permitted, Parking::name, "mutex::unlock",
                     owner ? "the mutex is owned by another thread" : "the mutex is not locked");
  }
  --self->mutexes_held;
  owner_.store(0, std::memory_order_relaxed);
  std::uint32_t seen = held;
  if (word_.compare_exchange_strong(seen, free, std::memory_order_release)) return;
  auto lock = Parking::lot_type::instance().hold();
  hand_over();
}

// Precondition: the parking lot's lock is held and the word is contended. Gives the
// mutex to the first waiter, or frees it if nobody waits after all.
template <class Parking>
void lot_mutex<Parking>::hand_over() noexcept {
  record* next = waiters_.front();
  if (!next) {
    word_.store(free, std::memory_order_release);
    return;
  }
  take(next);  // next is parked: its count is not touched by itself until it wakes
  // With no other waiter left, the new owner's unlock may take the fast path.
  if (next->next == nullptr) word_.store(held, std::memory_order_relaxed);
  Parking::lot_type::instance().wake(next);
}

// Precondition: the parking lot's lock is held and `r` is parked in a condition variable,
// to take this mutex again once woken. If the mutex is held, queues `r` for it, as if it
// had been woken and then found the mutex taken: the unlock will hand it the mutex and
// wake it, once. Returns false, and does nothing, if the mutex is free (then the caller
// wakes `r`). Setting the word to contended first makes the owner's unlock take the slow
// path, under the parking lot's lock, where it will find `r` queued.
template <class Parking>
bool lot_mutex<Parking>::adopt_waiter_holding_the_lot(record* r) noexcept {
  // A notifier that unlocked first (the usual order) finds the mutex free: a plain load
  // says so without the locked compare-exchange, the dearest instruction here.
  if (word_.load(std::memory_order_relaxed) == free) return false;
  std::uint32_t seen = held;
  if (!word_.compare_exchange_strong(seen, contended, std::memory_order_relaxed) &&
      seen != contended) {
    return false;
  }
  Parking::lot_type::instance().requeue(r, &waiters_,
                                        {"mutex", this, nullptr, &lot_mutex::holder_id});
  return true;
}

// Precondition: the parking lot's lock is held and the caller, `self`, owns the mutex.
template <class Parking>
void lot_mutex<Parking>::release_holding_the_lot(record* self) noexcept {
  --self->mutexes_held;
  owner_.store(0, std::memory_order_relaxed);
  std::uint32_t seen = held;
  if (!word_.compare_exchange_strong(seen, free, std::memory_order_release)) hand_over();
}

// --- the condition variable --------------------------------------------------------------

// Returns the caller's record after checking it holds the lock's mutex.
template <class Parking, class Mutex>
typename Parking::record* require_owned(const std::unique_lock<Mutex>& lock) {
  typename Parking::record* self = Parking::running();
  if (!lock.owns_lock() || !lock.mutex()->owned_by(self)) {
    throw_lot_misuse(std::errc::operation_not_permitted, Parking::name, "condition_variable::wait",
                     "the lock passed in does not hold its mutex");
  }
  return self;
}

// Takes the mutex again after a wait. Should that fail (a deadlock_error), the lock is
// left owning nothing, so that its destructor does not unlock a mutex it does not hold.
template <class Mutex>
void relock(std::unique_lock<Mutex>& lock) {
  try {
    lock.mutex()->lock();
  } catch (...) {
    lock.release();
    throw;
  }
}

template <class Parking, class Mutex, class Self>
lot_condition_variable<Parking, Mutex, Self>::~lot_condition_variable() {
  if (!waiters_.empty()) terminate_destroyed_while_waited(Parking::described, "condition_variable");
}

// Queues the caller and releases the mutex under the parking lot's lock, so a notifier,
// which must take that lock, either comes before (and the caller re-checks its
// predicate) or after (and finds the caller queued). A notifier that holds the mutex
// moves the caller into the mutex's queue (notify_one below): then the caller wakes
// owning the mutex already, and does not take it again.
template <class Parking, class Mutex, class Self>
void lot_condition_variable<Parking, Mutex, Self>::wait(std::unique_lock<Mutex>& lock) {
  wait_or_stop(lock, nullptr);
}

template <class Parking, class Mutex, class Self>
void lot_condition_variable<Parking, Mutex, Self>::wait_unless_stopped(
    std::unique_lock<Mutex>& lock, const std::stop_token& token) {
  wait_or_stop(lock, &token);
}

template <class Parking, class Mutex, class Self>
inline void lot_condition_variable<Parking, Mutex, Self>::wait_or_stop(
    std::unique_lock<Mutex>& lock, const std::stop_token* token) {
  record* self = require_owned<Parking>(lock);
  auto& lot = Parking::lot_type::instance();
  auto held = lot.hold();
  if (token && token->stop_requested()) return;  // under the lot's lock: wait_unless_stopped
  waiting_.fetch_add(1, std::memory_order_relaxed);
  self->relocks = lock.mutex();
  lock.mutex()->release_holding_the_lot(self);
  try {
    lot.park(held, self, &waiters_, {label_.what, label_.object ? label_.object : this, nullptr});
  } catch (...) {
    if (held.owns_lock()) held.unlock();
    self->relocks = nullptr;
    waiting_.fetch_sub(1, std::memory_order_relaxed);
    // Failed while moved into the mutex's queue: the deadlock was the mutex's, and taking
    // it again would only fail again. As relock does, leave the lock owning nothing.
    if (self->waiting_on.object == lock.mutex()) {
      lock.release();
      throw;
    }
    relock(lock);
    throw;
  }
  // Off every queue now, so no notifier reads relocks any more.
  self->relocks = nullptr;
  waiting_.fetch_sub(1, std::memory_order_relaxed);
  if (!lock.mutex()->owned_by(self)) relock(lock);
}

template <class Parking, class Mutex, class Self>
std::cv_status lot_condition_variable<Parking, Mutex, Self>::wait_until(
    std::unique_lock<Mutex>& lock, std::chrono::steady_clock::time_point deadline) {
  return wait_until_or_stop(lock, deadline, nullptr);
}

template <class Parking, class Mutex, class Self>
std::cv_status lot_condition_variable<Parking, Mutex, Self>::wait_until_unless_stopped(
    std::unique_lock<Mutex>& lock, const std::stop_token& token,
    std::chrono::steady_clock::time_point deadline) {
  return wait_until_or_stop(lock, deadline, &token);
}

template <class Parking, class Mutex, class Self>
inline std::cv_status lot_condition_variable<Parking, Mutex, Self>::wait_until_or_stop(
    std::unique_lock<Mutex>& lock, std::chrono::steady_clock::time_point deadline,
    const std::stop_token* token) {
  record* self = require_owned<Parking>(lock);
  auto& lot = Parking::lot_type::instance();
  auto held = lot.hold();
  if (token && token->stop_requested()) return std::cv_status::no_timeout;
  waiting_.fetch_add(1, std::memory_order_relaxed);
  lock.mutex()->release_holding_the_lot(self);
  bool woken = lot.park_until(held, self, deadline, &waiters_,
                              {label_.what, label_.object ? label_.object : this, nullptr});
  waiting_.fetch_sub(1, std::memory_order_relaxed);
  relock(lock);
  return woken ? std::cv_status::no_timeout : std::cv_status::timeout;
}

// Wakes `r`, a thread parked in wait, or (wait morphing) if the mutex it will take again
// is held, typically by the notifier itself, moves it into that mutex's queue without
// waking it: woken now, it would only find the mutex taken and park again, a switch to
// it and a switch back for nothing. The mutex's unlock wakes it, owning the mutex.
// Held: the parking lot's lock.
template <class Parking, class Mutex, class Self>
void lot_condition_variable<Parking, Mutex, Self>::release(record* r) noexcept {
  if (r->relocks && r->relocks->adopt_waiter_holding_the_lot(r)) return;
  Parking::lot_type::instance().wake(r);
}

template <class Parking, class Mutex, class Self>
void lot_condition_variable<Parking, Mutex, Self>::notify_one() noexcept {
  if (waiting_.load(std::memory_order_relaxed) == 0) return;
  auto held = Parking::lot_type::instance().hold();
  if (record* first = waiters_.front()) release(first);
}

template <class Parking, class Mutex, class Self>
void lot_condition_variable<Parking, Mutex, Self>::notify_all() noexcept {
  if (waiting_.load(std::memory_order_relaxed) == 0) return;
  auto held = Parking::lot_type::instance().hold();
  while (record* first = waiters_.front()) release(first);
}

template <class Parking, class Mutex, class Self>
void lot_condition_variable<Parking, Mutex, Self>::notify_all_for_stop() noexcept {
  auto held = Parking::lot_type::instance().hold();
  while (record* first = waiters_.front()) release(first);
}

}  // namespace spindle::detail
