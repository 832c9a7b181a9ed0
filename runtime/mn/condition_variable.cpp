// runtime/mn/condition_variable.cpp — the M:N condition variable: the clone one's
// algorithm (queue and release under the lot's lock, wait morphing) over the M:N lot.
// Explained in: docs/15-many-to-many.md and runtime/mn/README.md (parking across workers).
// Read next: spindle/channel.hpp (the primitives built on mutex and condition variable).
#include "spindle/mn/condition_variable.hpp"

#include <cstdio>
#include <exception>
#include <system_error>

#include "lot.hpp"

namespace spindle::mn {

using detail::lot;

namespace {

// Returns the caller's record after checking it holds the lock's mutex.
detail::record* require_owned(const std::unique_lock<mutex>& lock) {
  detail::record* self = detail::running();
  if (!lock.owns_lock() || !lock.mutex()->owned_by(self)) {
    throw std::system_error(std::make_error_code(std::errc::operation_not_permitted),
                            "spindle::mn::condition_variable::wait: the lock passed in "
                            "does not hold its mutex");
  }
  return self;
}

// Takes the mutex again after a wait. Should that fail (a deadlock_error), the lock is
// left owning nothing, so that its destructor does not unlock a mutex it does not hold.
void relock(std::unique_lock<mutex>& lock) {
  try {
    lock.mutex()->lock();
  } catch (...) {
    lock.release();
    throw;
  }
}

}  // namespace

condition_variable::~condition_variable() {
  if (!waiters_.empty()) {
    std::fprintf(stderr,
                 "spindle: an M:N condition_variable was destroyed while threads "
                 "were waiting on it. Terminating.\n");
    std::terminate();
  }
}

// Queues the caller and releases the mutex under the parking lot's lock, so a notifier,
// which must take that lock, either comes before (and the caller re-checks its
// predicate) or after (and finds the caller queued). A notifier that holds the mutex
// moves the caller into the mutex's queue (notify_one below): then the caller wakes
// owning the mutex already, and does not take it again.
void condition_variable::wait(std::unique_lock<mutex>& lock) {
  detail::record* self = require_owned(lock);
  auto& l = lot::instance();
  auto held = l.hold();
  waiting_.fetch_add(1, std::memory_order_relaxed);
  self->relocks = lock.mutex();
  lock.mutex()->release_holding_the_lot(self);
  try {
    l.park(held, self, &waiters_, {label_.what, label_.object ? label_.object : this, nullptr});
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

std::cv_status condition_variable::wait_until(std::unique_lock<mutex>& lock,
                                              std::chrono::steady_clock::time_point deadline) {
  detail::record* self = require_owned(lock);
  auto& l = lot::instance();
  auto held = l.hold();
  waiting_.fetch_add(1, std::memory_order_relaxed);
  lock.mutex()->release_holding_the_lot(self);
  bool woken = l.park_until(held, self, deadline, &waiters_,
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
void condition_variable::release(detail::record* r) noexcept {
  if (r->relocks && r->relocks->adopt_waiter_holding_the_lot(r)) return;
  lot::instance().wake(r);
}

void condition_variable::notify_one() noexcept {
  if (waiting_.load(std::memory_order_relaxed) == 0) return;
  auto held = lot::instance().hold();
  if (detail::record* first = waiters_.front()) release(first);
}

void condition_variable::notify_all() noexcept {
  if (waiting_.load(std::memory_order_relaxed) == 0) return;
  auto held = lot::instance().hold();
  while (detail::record* first = waiters_.front()) release(first);
}

}  // namespace spindle::mn
