// spindle/green/mutex.hpp — mutual exclusion between green threads.
//
// Concept: a mutex is an owner and a wait queue. lock() on a held mutex parks the
// caller in the queue; unlock() hands ownership straight to the first waiter (so
// waiters are served in order and none can starve) and wakes it. The owner is named by
// its id, and each thread counts the mutexes it holds (docs/07-deadlock.md). Works with
// std::lock_guard, std::unique_lock and std::scoped_lock. Only the green threads of
// its home kernel thread may call it (spindle/green/detail/home.hpp).
// Explained in: docs/06-synchronisation.md (mutex). Read next: runtime/green/mutex.cpp.
#pragma once

#include <cstdint>

#include "spindle/detail/thread_queue.hpp"
#include "spindle/green/detail/home.hpp"
#include "spindle/green/detail/record.hpp"

namespace spindle::green {

class condition_variable;

class mutex {
 public:
  mutex() = default;
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;
  ~mutex();

  // Blocks until the caller owns the mutex. Throws std::system_error
  // (resource_deadlock_would_occur) if the caller already owns it (it is not recursive),
  // and spindle::deadlock_error if no thread could ever release it. Every call throws
  // spindle::foreign_thread_error from a kernel thread other than the mutex's home.
  void lock();
  // Takes the mutex if it is free; never blocks.
  bool try_lock();
  // Releases the mutex, handing it to the first waiter if there is one. Throws
  // std::system_error (operation_not_permitted) if the caller does not own it.
  void unlock();

 private:
  friend class condition_variable;
  void take(detail::record* self) noexcept;
  // lock() when the fast path cannot take the mutex: parks, or throws (see lock()).
  [[gnu::noinline]] void lock_on_slow_path();
  // unlock() by a thread that does not own the mutex, or from another kernel thread.
  [[noreturn, gnu::cold, gnu::noinline]] void throw_not_owned() const;
  // The owner's id, for the deadlock report (wait_reason::holder_id).
  static std::uint64_t holder_id(const void* self) noexcept;

  // The id, not the record: an owner that finishes without unlocking leaves no pointer
  // to freed memory behind, and a thread spawned in its place owns nothing.
  std::uint64_t owner_ = 0;       // the id of the green thread holding it, or 0
  detail::thread_queue waiters_;  // threads parked in lock(), in arrival order
  // Set by the first lock or try_lock, then constant: the scheduler whose threads alone
  // may call (compared with current_scheduler, never dereferenced).
  const void* home_ = &detail::no_home_yet;
};

}  // namespace spindle::green
