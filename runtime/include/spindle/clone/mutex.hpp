// spindle/clone/mutex.hpp — mutual exclusion between kernel threads, on a futex word.
//
// Concept: the word has Drepper's three states ("Futexes Are Tricky"): 0 free, 1 held,
// 2 held and maybe contended. Taking a free mutex and releasing an uncontended one are
// single atomic instructions with no system call. A contended lock parks the caller in
// the mutex's wait queue; unlock then hands the mutex straight to the first waiter, as
// the green mutex does, so both backends are fair in the same way and the deadlock
// detector always knows who waits on whom.
// Explained in: docs/09-clone-backend.md (mutex). Read next: runtime/clone/mutex.cpp.
#pragma once

#include <atomic>
#include <cstdint>

#include "spindle/clone/detail/record.hpp"

namespace spindle::clone {

class condition_variable;

class mutex {
 public:
  mutex() = default;
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;
  ~mutex();

  // Blocks until the caller owns the mutex. Throws std::system_error
  // (resource_deadlock_would_occur) if the caller already owns it, and
  // spindle::deadlock_error if no thread could ever release it.
  void lock();
  bool try_lock();
  // Throws std::system_error (operation_not_permitted) if the caller does not own it.
  void unlock();

 private:
  friend class condition_variable;
  void lock_contended(detail::record* self);
  void hand_over() noexcept;
  void release_holding_the_lot(detail::record* self) noexcept;    // for condition_variable::wait
  bool adopt_waiter_holding_the_lot(detail::record* r) noexcept;  // for notify
  void take(detail::record* self) noexcept;
  // The owner's id, for the deadlock report (wait_reason::holder_id).
  static std::uint64_t holder_id(const void* self) noexcept;

 public:
  // Whether `r` holds the mutex (for condition_variable's precondition check).
  bool owned_by(const detail::record* r) const noexcept {
    return owner_.load(std::memory_order_relaxed) == r->id;
  }

 private:
  enum : std::uint32_t { free = 0, held = 1, contended = 2 };
  std::atomic<std::uint32_t> word_{free};
  // The owner's id, 0 if none: an id, not the record, so that an owner that finishes
  // without unlocking leaves nothing dangling. Written only by the owner or its unlocker.
  std::atomic<std::uint64_t> owner_{0};
  detail::thread_queue waiters_;  // guarded by the parking lot's lock
};

}  // namespace spindle::clone
