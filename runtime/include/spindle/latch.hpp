// spindle/latch.hpp — a single-use countdown: wait until N things have happened.
//
// Concept: a counter that only goes down; wait() blocks until it reaches zero, and
// from then on never blocks again. Same interface as std::latch, written once over a
// backend's mutex and condition variable.
// Explained in: docs/06-synchronisation.md (semaphore, latch, barrier).
// Read next: spindle/barrier.hpp.
#pragma once

#include <cstddef>
#include <mutex>
#include <stdexcept>
#include <string>

#include "spindle/backend.hpp"

namespace spindle {

template <class Sync>
class basic_latch {
 public:
  // Throws std::invalid_argument if expected < 0.
  explicit basic_latch(std::ptrdiff_t expected) : count_(expected) {
    if (expected < 0) throw std::invalid_argument("spindle::latch: negative expected count");
  }
  basic_latch(const basic_latch&) = delete;
  basic_latch& operator=(const basic_latch&) = delete;

  // Throws std::invalid_argument if n < 0 or n exceeds what is left of the count.
  void count_down(std::ptrdiff_t n = 1) {
    std::lock_guard lock(mutex_);
    if (n < 0 || n > count_) {
      throw std::invalid_argument("spindle::latch::count_down(" + std::to_string(n) + "): only " +
                                  std::to_string(count_) + " left");
    }
    count_ -= n;
    if (count_ == 0) zero_.notify_all();
  }

  bool try_wait() const {
    std::lock_guard lock(mutex_);
    return count_ == 0;
  }

  void wait() const {
    std::unique_lock lock(mutex_);
    zero_.wait(lock, [&] { return count_ == 0; });
  }

  void arrive_and_wait(std::ptrdiff_t n = 1) {
    count_down(n);
    wait();
  }

 private:
  mutable typename Sync::mutex mutex_;
  mutable typename Sync::condition_variable zero_{wait_label{"latch", this}};
  std::ptrdiff_t count_;  // guarded by mutex_
};

}  // namespace spindle
