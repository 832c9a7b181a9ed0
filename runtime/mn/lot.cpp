// runtime/mn/lot.cpp — parking and waking M:N threads, their timers, and the deadlock
// detector, as on the clone backend (runtime/clone/parking_lot.cpp), whose lock and
// deadlock report this file uses.
// Explained in: docs/15-many-to-many.md and runtime/mn/README.md (parking across workers).
// Read next: runtime/mn/mutex.cpp.
#include "lot.hpp"

#include <cassert>
#include <ctime>

#include "../clone/futex.hpp"
#include "../common/deadlock_report.hpp"
#include "../common/run_clock.hpp"
#include "spindle/errors.hpp"
#include "worker.hpp"

namespace spindle::mn::detail {

namespace futex = clone::detail::futex;

lot& lot::instance() {
  // Never destroyed: M:N threads may still park while the process runs its exit code.
  static lot* the_lot = [] {
    install_fork_handlers();
    return new lot;
  }();
  return *the_lot;
}

void lot::enter(record* r) noexcept {
  r->all_prev = nullptr;
  r->all_next = all_;
  if (all_) all_->all_prev = r;
  all_ = r;
  ++live_;
  ++entered_;
}

// The joiner is woken here, before the finishing thread's last switch, so that the
// counts stay exact; it cannot free the record early: reap() takes this lock first, and
// the worker loop releases it only after that switch has landed.
record* lot::leave(record* r) noexcept {
  r->st = state::finished;
  if (r->mutexes_held != 0) finished_owners_.remember(r->id, r->name);
  if (r->joiner) wake(r->joiner);
  (r->all_prev ? r->all_prev->all_next : all_) = r->all_next;
  if (r->all_next) r->all_next->all_prev = r->all_prev;
  --live_;
  if (blocked_ > 0 && every_live_thread_blocked()) fail_victim(r);
  return r->joiner;
}

void lot::block(record* self, thread_queue* queue, const wait_reason& why, bool counted) noexcept {
  self->st = state::blocked;
  self->waiting_on = why;
  self->woke_by = wake_status::woken;
  self->park_number = ++parks_;
  self->blocked_since = spindle::detail::clock_ns();
  self->counted = counted;
  self->wake_word.store(0, std::memory_order_relaxed);
  if (counted) ++blocked_;
  if (queue) queue->push_back(self);
}

void lot::unblock(record* r) noexcept {
  if (r->queue) r->queue->remove(r);
  if (r->timed) remove_timer(r);
  if (r->counted) --blocked_;
  r->counted = false;
  r->st = state::runnable;
}

void lot::block_for_ever(record* self, thread_queue* queue, const wait_reason& why) {
  block(self, queue, why, true);
  if (every_live_thread_blocked() && fail_victim(self) == self) {
    std::string report = std::move(self->deadlock_report);
    unblock(self);
    self->st = state::running;
    throw deadlock_error(report);
  }
}

// The sleep itself, the lock released: a green thread switches to its worker's loop,
// which releases the lock once the thread's context is saved; a root releases it and
// sleeps on its word.
void lot::sleep_until_woken(held& lock, record* self) {
  if (!self->root) {
    lock.release();
    switch_to_loop(after_switch::parked);
    return;
  }
  lock.unlock();
  while (self->wake_word.load(std::memory_order_acquire) == 0) {
    futex::wait_private(self->wake_word, std::uint32_t{0});
  }
}

void lot::fail_if_woken_to(record* self) {
  if (self->woke_by == wake_status::deadlock)
    throw deadlock_error(std::move(self->deadlock_report));
}

void lot::park(held& lock, record* self, thread_queue* queue, const wait_reason& why) {
  block_for_ever(self, queue, why);
  sleep_until_woken(lock, self);
  fail_if_woken_to(self);
}

bool lot::park_until(held& lock, record* self, clock::time_point deadline, thread_queue* queue,
                     const wait_reason& why) {
  if (deadline <= clock::now()) {
    lock.unlock();
    return false;
  }
  bool for_ever = deadline == clock::time_point::max();  // an I/O wait with no timeout
  if (!self->root) {
    self->deadline = deadline;
    if (!for_ever) add_timer(self);  // first: it may throw bad_alloc, and then nothing has changed
    block(self, queue, why, false);
    sleep_until_woken(lock, self);
    return self->woke_by != wake_status::timed_out;
  }
  block(self, queue, why, false);
  lock.unlock();
  while (self->wake_word.load(std::memory_order_acquire) == 0) {
    if (for_ever) {
      futex::wait_private(self->wake_word, std::uint32_t{0});
      continue;
    }
    auto left = deadline - clock::now();
    if (left <= left.zero()) break;
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(left);
    timespec relative{static_cast<time_t>(seconds.count()),
                      static_cast<long>((left - seconds).count())};
    futex::wait_private(self->wake_word, std::uint32_t{0}, &relative);
  }
  lock.lock();
  // A waker may have taken us off the queue after the deadline passed: then we were woken.
  bool woken = self->st != state::blocked;
  if (!woken) unblock(self);
  self->st = state::running;
  lock.unlock();
  return woken;
}

void lot::wake(record* r, wake_status why) noexcept {
  assert(r->st == state::blocked && "wake of a thread that is not blocked");
  unblock(r);
  r->woke_by = why;
  if (r->root) {
    r->st = state::running;
    r->wake_word.store(1, std::memory_order_release);
    lock_.wake_at_unlock(r->wake_word);
    return;
  }
  make_runnable(r);
}

void lot::requeue(record* r, thread_queue* to, const wait_reason& why) noexcept {
  assert(r->st == state::blocked && r->queue && "requeue of a thread that is not queued");
  r->queue->remove(r);
  r->waiting_on = why;
  to->push_back(r);
}

void lot::note_earliest() noexcept {
  timers_set_.store(timers_.size(), std::memory_order_relaxed);
  earliest_.store(next_deadline().time_since_epoch().count(), std::memory_order_relaxed);
}

void lot::add_timer(record* r) {
  timers_.emplace(r->deadline, r);
  r->timed = true;
  note_earliest();
  if (timers_.begin()->second == r) earliest_deadline_moved(r->deadline);
}

void lot::remove_timer(record* r) noexcept {
  timers_.erase({r->deadline, r});
  r->timed = false;
  note_earliest();
}

clock::time_point lot::next_deadline() const noexcept {
  return timers_.empty() ? clock::time_point::max() : timers_.begin()->first;
}

void lot::fire_expired_timers() {
  clock::time_point now = clock::now();
  if (now.time_since_epoch().count() < earliest_.load(std::memory_order_relaxed)) return;
  auto lock = hold();
  while (!timers_.empty() && timers_.begin()->first <= now) {
    ++timer_wakeups_;
    wake(timers_.begin()->second, wake_status::timed_out);
  }
}

// As on the clone backend (runtime/clone/parking_lot.cpp: after_fork_in_child): the
// other threads do not exist in the child, on no worker and in no queue; they are
// forgotten, marked left_in_parent so that join says so instead of waiting for ever.
void lot::after_fork_in_child(record* forking) noexcept {
  for (record* r = all_; r;) {
    record* next = r->all_next;
    if (r != forking) {
      if (r->queue) r->queue->remove(r);
      if (r->mutexes_held != 0)
        finished_owners_.remember(r->id, r->name, spindle::detail::finished_owners::left_at_fork);
      r->st = state::finished;
      r->left_in_parent = true;
      r->joiner = nullptr;
      r->counted = false;
      r->timed = false;
      r->all_prev = r->all_next = nullptr;
    }
    r = next;
  }
  timers_.clear();
  note_earliest();
  all_ = forking;
  if (forking) {
    forking->all_prev = forking->all_next = nullptr;
    forking->joiner = nullptr;
  }
  live_ = forking ? 1 : 0;
  blocked_ = 0;
  lock_.unlock();
}

// Precondition: every live thread is blocked. Chooses the thread to fail, hands it the
// report and, unless it is `caller` (which throws at once), wakes it to throw.
record* lot::fail_victim(const record* caller) noexcept {
  record* victim = spindle::detail::choose_deadlock_victim(
      all_, [](const record* r) { return r->st == state::blocked && r->counted; });
  assert(victim);
  try {
    victim->deadlock_report = describe_deadlock(victim);
  } catch (...) {
    victim->deadlock_report = "spindle: deadlock (no memory left to describe it)";
  }
  if (victim != caller) wake(victim, wake_status::deadlock);
  return victim;
}

std::string lot::describe_deadlock(const record* failed) const {
  return spindle::detail::describe_deadlock(
      "spindle: deadlock: every M:N thread is blocked in spindle and none is left to wake "
      "another.",
      all_, [](const record* r) { return r->st == state::blocked && r->counted; }, failed,
      finished_owners_);
}

}  // namespace spindle::mn::detail
