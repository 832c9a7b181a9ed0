// runtime/mn/mutex.cpp — the M:N mutex: the clone mutex's algorithm (a futex-style word
// for the fast paths, the parking lot for the contended ones, hand-over to the first
// waiter) over the M:N parking lot, whose park switches a green thread away and whose
// wake puts it on a run queue of any worker.
// Explained in: docs/15-many-to-many.md and runtime/mn/README.md (parking across workers).
// Read next: runtime/mn/condition_variable.cpp.
#include "spindle/mn/mutex.hpp"

#include <cstdio>
#include <exception>
#include <system_error>

#include "lot.hpp"

namespace spindle::mn {

using detail::lot;

mutex::~mutex() {
  if (!waiters_.empty()) {
    std::fprintf(stderr,
                 "spindle: an M:N mutex was destroyed while threads were waiting "
                 "for it. Terminating.\n");
    std::terminate();
  }
}

// The caller, or the unlock handing the mutex to a parked waiter, makes `self` the owner.
void mutex::take(detail::record* self) noexcept {
  owner_.store(self->id, std::memory_order_relaxed);
  ++self->mutexes_held;
}

// Called by the deadlock report, under the parking lot's lock.
std::uint64_t mutex::holder_id(const void* self) noexcept {
  return static_cast<const mutex*>(self)->owner_.load(std::memory_order_relaxed);
}

void mutex::lock() {
  detail::record* self = detail::running();
  std::uint32_t seen = free;
  if (word_.compare_exchange_strong(seen, held, std::memory_order_acquire)) {
    take(self);
    return;
  }
  if (owned_by(self)) {
    throw std::system_error(std::make_error_code(std::errc::resource_deadlock_would_occur),
                            "spindle::mn::mutex::lock: the calling thread already owns "
                            "this mutex (it is not recursive)");
  }
  lock_contended(self);
}

// Under the parking lot's lock no unlock can hand the mutex over, and once the word says
// contended every unlock must take that lock too: so it will find this thread queued.
void mutex::lock_contended(detail::record* self) {
  auto& l = lot::instance();
  auto lock = l.hold();
  if (word_.exchange(contended, std::memory_order_acquire) == free) {
    take(self);
    return;
  }
  l.park(lock, self, &waiters_, {"mutex", this, nullptr, &mutex::holder_id});
  // hand_over made this thread the owner, and counted it, before waking it.
}

bool mutex::try_lock() {
  detail::record* self = detail::running();  // may throw: before the mutex is taken
  std::uint32_t seen = free;
  if (!word_.compare_exchange_strong(seen, held, std::memory_order_acquire)) return false;
  take(self);
  return true;
}

void mutex::unlock() {
  detail::record* self = detail::running();
  std::uint64_t owner = owner_.load(std::memory_order_relaxed);
  if (owner != self->id) {
    throw std::system_error(std::make_error_code(std::errc::operation_not_permitted),
                            owner ? "spindle::mn::mutex::unlock: the mutex is owned by "
                                    "another thread"
                                  : "spindle::mn::mutex::unlock: the mutex is not locked");
  }
  --self->mutexes_held;
  owner_.store(0, std::memory_order_relaxed);
  std::uint32_t seen = held;
  if (word_.compare_exchange_strong(seen, free, std::memory_order_release)) return;
  auto lock = lot::instance().hold();
  hand_over();
}

// Precondition: the parking lot's lock is held and the word is contended. Gives the
// mutex to the first waiter, or frees it if nobody waits after all.
void mutex::hand_over() noexcept {
  detail::record* next = waiters_.front();
  if (!next) {
    word_.store(free, std::memory_order_release);
    return;
  }
  take(next);  // next is parked: its count is not touched by itself until it wakes
  // With no other waiter left, the new owner's unlock may take the fast path.
  if (next->next == nullptr) word_.store(held, std::memory_order_relaxed);
  lot::instance().wake(next);
}

// Precondition: the parking lot's lock is held and `r` is parked in a condition variable,
// to take this mutex again once woken. If the mutex is held, queues `r` for it, as if it
// had been woken and then found the mutex taken: the unlock will hand it the mutex and
// wake it, once. Returns false, and does nothing, if the mutex is free (then the caller
// wakes `r`). Setting the word to contended first makes the owner's unlock take the slow
// path, under the parking lot's lock, where it will find `r` queued.
bool mutex::adopt_waiter_holding_the_lot(detail::record* r) noexcept {
  // A notifier that unlocked first (the usual order) finds the mutex free: a plain load
  // says so without the locked compare-exchange, the dearest instruction here.
  if (word_.load(std::memory_order_relaxed) == free) return false;
  std::uint32_t seen = held;
  if (!word_.compare_exchange_strong(seen, contended, std::memory_order_relaxed) &&
      seen != contended) {
    return false;
  }
  lot::instance().requeue(r, &waiters_, {"mutex", this, nullptr, &mutex::holder_id});
  return true;
}

// Precondition: the parking lot's lock is held and the caller, `self`, owns the mutex.
void mutex::release_holding_the_lot(detail::record* self) noexcept {
  --self->mutexes_held;
  owner_.store(0, std::memory_order_relaxed);
  std::uint32_t seen = held;
  if (!word_.compare_exchange_strong(seen, free, std::memory_order_release)) hand_over();
}

}  // namespace spindle::mn
