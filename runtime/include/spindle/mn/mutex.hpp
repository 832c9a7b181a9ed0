// spindle/mn/mutex.hpp — mutual exclusion between M:N threads, on any worker.
//
// Concept: the clone mutex's design (a futex-style word for the uncontended paths, the
// parking lot for the contended ones, the mutex handed straight to the first waiter),
// with the M:N parking lot underneath: a contended lock parks the green thread (its
// worker runs another) instead of the kernel thread, and an unlock on any worker puts
// the new owner on a run queue.
// Explained in: docs/15-many-to-many.md and runtime/mn/README.md (parking across workers).
// Read next: runtime/mn/mutex.cpp.
#pragma once

#include <atomic>
#include <cstdint>

#include "spindle/mn/detail/record.hpp"

namespace spindle::mn {

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

  bool owned_by(const detail::record* r) const noexcept {
    return owner_.load(std::memory_order_relaxed) == r->id;
  }

 private:
  friend class condition_variable;
  void lock_contended(detail::record* self);
  void hand_over() noexcept;
  void release_holding_the_lot(detail::record* self) noexcept;
  bool adopt_waiter_holding_the_lot(detail::record* r) noexcept;
  void take(detail::record* self) noexcept;
  static std::uint64_t holder_id(const void* self) noexcept;

  enum : std::uint32_t { free = 0, held = 1, contended = 2 };
  std::atomic<std::uint32_t> word_{free};
  std::atomic<std::uint64_t> owner_{0};  // the owner's id, 0 if none
  detail::thread_queue waiters_;         // guarded by the parking lot's lock
};

}  // namespace spindle::mn
