// spindle/semaphore.hpp — counting semaphores.
//
// Concept: a counter of permits. acquire() takes one, blocking while there are none;
// release(n) returns n and wakes waiters. Same interface as std::counting_semaphore,
// written once over a backend's mutex and condition variable (Sync: see
// spindle::green::sync_primitives).
// Explained in: docs/06-synchronisation.md (semaphore, latch, barrier).
// Read next: spindle/latch.hpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>

#include "spindle/backend.hpp"

namespace spindle {

template <std::ptrdiff_t Max, class Sync>
class basic_counting_semaphore {
  static_assert(Max >= 0);

 public:
  static constexpr std::ptrdiff_t max() noexcept { return Max; }

  // Throws std::invalid_argument unless 0 <= initial <= max().
  explicit basic_counting_semaphore(std::ptrdiff_t initial) : count_(initial) {
    if (initial < 0 || initial > Max) {
      throw std::invalid_argument("spindle::counting_semaphore: initial count " +
                                  std::to_string(initial) + " is outside [0, " +
                                  std::to_string(Max) + "]");
    }
  }
  basic_counting_semaphore(const basic_counting_semaphore&) = delete;
  basic_counting_semaphore& operator=(const basic_counting_semaphore&) = delete;

  // Adds `update` permits. Throws std::invalid_argument if update < 0 or the count
  // would pass max() (the standard leaves both undefined).
  void release(std::ptrdiff_t update = 1) {
    std::lock_guard lock(mutex_);
    if (update < 0 || update > Max - count_) {
      throw std::invalid_argument("spindle::counting_semaphore::release(" + std::to_string(update) +
                                  "): the count " + std::to_string(count_) + " would leave [0, " +
                                  std::to_string(Max) + "]");
    }
    count_ += update;
    if (update == 1) {
      permits_.notify_one();
    } else if (update > 1) {
      permits_.notify_all();
    }
  }

  void acquire() {
    std::unique_lock lock(mutex_);
    permits_.wait(lock, [&] { return count_ > 0; });
    --count_;
  }

  bool try_acquire() {
    std::lock_guard lock(mutex_);
    if (count_ == 0) return false;
    --count_;
    return true;
  }

  template <class Clock, class Duration>
  bool try_acquire_until(std::chrono::time_point<Clock, Duration> deadline) {
    std::unique_lock lock(mutex_);
    if (!permits_.wait_until(lock, deadline, [&] { return count_ > 0; })) return false;
    --count_;
    return true;
  }

  template <class Rep, class Period>
  bool try_acquire_for(std::chrono::duration<Rep, Period> timeout) {
    return try_acquire_until(std::chrono::steady_clock::now() +
                             std::chrono::ceil<std::chrono::steady_clock::duration>(timeout));
  }

 private:
  typename Sync::mutex mutex_;
  typename Sync::condition_variable permits_{wait_label{"counting_semaphore", this}};
  std::ptrdiff_t count_;  // guarded by mutex_
};

}  // namespace spindle
