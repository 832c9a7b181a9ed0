// runtime/clone/parking_lot.cpp — parking and waking clone threads, and the deadlock
// detector that exact counting makes possible.
// Explained in: docs/09-clone-backend.md (parking). Read next: runtime/clone/mutex.cpp.
#include "parking_lot.hpp"

#include <cassert>
#include <ctime>
#include <sstream>

#include "../common/deadlock_report.hpp"
#include "../common/run_clock.hpp"
#include "futex.hpp"
#include "kernel_thread.hpp"
#include "spindle/errors.hpp"

namespace spindle::clone::detail {

void lot_lock::lock() noexcept {
  std::uint32_t seen = 0;
  if (word_.compare_exchange_strong(seen, 1, std::memory_order_acquire)) return;
  // Contended: mark the word 2 so the holder's unlock knows to wake someone.
  if (seen != 2) seen = word_.exchange(2, std::memory_order_acquire);
  while (seen != 0) {
    futex::wait_private(word_, std::uint32_t{2});
    seen = word_.exchange(2, std::memory_order_acquire);
  }
}

void lot_lock::unlock() noexcept {
  if (const std::atomic<std::uint32_t>* woken = deferred_wake_) {
    deferred_wake_ = nullptr;
    futex::wake_and_release_private(*woken, word_);
    return;
  }
  if (word_.fetch_sub(1, std::memory_order_release) != 1) {
    word_.store(0, std::memory_order_release);
    futex::wake_private(word_, 1);
  }
}

void lot_lock::wake_at_unlock(const std::atomic<std::uint32_t>& word) noexcept {
  if (deferred_wake_ == nullptr) {
    deferred_wake_ = &word;
  } else {
    futex::wake_private(word, 1);
  }
}

parking_lot& parking_lot::instance() {
  // Never destroyed: clone threads may still park while the process runs its exit code.
  static parking_lot* lot = new parking_lot;
  return *lot;
}

void parking_lot::enter(record* r) noexcept {
  r->all_prev = nullptr;
  r->all_next = all_;
  if (all_) all_->all_prev = r;
  all_ = r;
  ++live_;
  ++entered_;
}

bool parking_lot::leave(record* r) noexcept {
  held lock = hold();
  r->st = state::finished;
  if (r->mutexes_held != 0) finished_owners_.remember(r->id, r->name);
  if (r->joiner && r->exit_wakes_joiner) {
    unblock(r->joiner);  // park_for_exit: the kernel wakes it when this thread has exited
  } else if (r->joiner) {
    wake(r->joiner);
  }
  (r->all_prev ? r->all_prev->all_next : all_) = r->all_next;
  if (r->all_next) r->all_next->all_prev = r->all_prev;
  --live_;
  // This thread may have been the last one able to wake the others.
  if (blocked_ > 0 && every_live_thread_blocked()) fail_victim(r);
  return r->detached;
}

void parking_lot::block(record* self, thread_queue* queue, const wait_reason& why,
                        bool counted) noexcept {
  self->st = state::blocked;
  self->waiting_on = why;
  self->woke_by = wake_status::woken;
  self->park_number = ++parks_;
  self->blocked_since = spindle::detail::clock_ns();  // the vDSO: a few tens of ns
  self->counted = counted;
  self->wake_word.store(0, std::memory_order_relaxed);
  if (counted) ++blocked_;
  if (queue) queue->push_back(self);
}

void parking_lot::unblock(record* r) noexcept {
  if (r->queue) r->queue->remove(r);
  if (r->counted) --blocked_;
  r->counted = false;
  r->st = state::running;
}

void parking_lot::block_for_ever(record* self, thread_queue* queue, const wait_reason& why) {
  block(self, queue, why, true);
  if (every_live_thread_blocked() && fail_victim(self) == self) {
    std::string report = std::move(self->deadlock_report);
    unblock(self);
    throw deadlock_error(report);
  }
}

// The waker stored woke_by before the word, and leave() (park_for_exit) sets neither.
void parking_lot::fail_if_woken_to(record* self) {
  if (self->wake_word.load(std::memory_order_acquire) != 0 &&
      self->woke_by == wake_status::deadlock) {
    throw deadlock_error(std::move(self->deadlock_report));
  }
}

void parking_lot::park(held& lock, record* self, thread_queue* queue, const wait_reason& why) {
  block_for_ever(self, queue, why);
  lock.unlock();
  while (self->wake_word.load(std::memory_order_acquire) == 0) {
    futex::wait_private(self->wake_word, std::uint32_t{0});
  }
  fail_if_woken_to(self);
}

// One sleep on two words. The count stays exact without a wake from leave(): it counts
// the joiner unblocked under the lock, before the thread exits, and from then on the
// kernel's wake at the exit is certain to come.
void parking_lot::park_for_exit(held& lock, record* self, const kernel_thread* thread,
                                const wait_reason& why) {
  block_for_ever(self, nullptr, why);
  lock.unlock();
  wait_for_exit_or(thread, self->wake_word);
  fail_if_woken_to(self);
}

bool parking_lot::park_until(held& lock, record* self,
                             std::chrono::steady_clock::time_point deadline, thread_queue* queue,
                             const wait_reason& why) {
  block(self, queue, why, false);
  lock.unlock();
  while (self->wake_word.load(std::memory_order_acquire) == 0) {
    auto left = deadline - std::chrono::steady_clock::now();
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
  lock.unlock();
  return woken;
}

// Called with the lock held. The futex wake is made by the system call that releases the
// lock (lot_lock::unlock): until then the woken thread cannot finish (leave() needs the
// lock) and free its record, so the word the kernel reads is still the record's.
void parking_lot::wake(record* r, wake_status why) noexcept {
  assert(r->st == state::blocked && "wake of a thread that is not blocked");
  unblock(r);
  r->woke_by = why;
  r->wake_word.store(1, std::memory_order_release);
  lock_.wake_at_unlock(r->wake_word);
}

void parking_lot::requeue(record* r, thread_queue* to, const wait_reason& why) noexcept {
  assert(r->st == state::blocked && r->queue && "requeue of a thread that is not queued");
  r->queue->remove(r);
  r->waiting_on = why;
  to->push_back(r);
}

// The other threads do not exist in the child: they leave every wait queue (a mutex
// must not be handed to one), are no longer counted (the deadlock detector must not
// wait for them) and are marked left_in_parent, so that join says so instead of waiting
// for ever (thread.cpp: wait_for_finish). Threads that had finished before the fork are
// not on all_: they can be joined as usual. A joiner of the forking thread stayed
// behind too: nobody is to be woken when it finishes.
void parking_lot::after_fork_in_child(record* forking) noexcept {
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
      r->all_prev = r->all_next = nullptr;
    }
    r = next;
  }
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
record* parking_lot::fail_victim(const record* caller) noexcept {
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

}  // namespace spindle::clone::detail
