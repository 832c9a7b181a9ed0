// spindle/barrier.hpp — a reusable meeting point for a fixed group of threads.
//
// Concept: each phase, the expected number of threads arrive; the last to arrive runs
// the completion function, then all are released and the next phase begins. Same
// interface as std::barrier, written once over a backend's mutex and condition variable.
// Explained in: docs/06-synchronisation.md (semaphore, latch, barrier).
// Read next: spindle/once.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "spindle/backend.hpp"

namespace spindle {

struct no_completion {
  void operator()() noexcept {}
};

template <class Sync, class Completion = no_completion>
class basic_barrier {
 public:
  // Names the phase an arrive() belongs to; wait() takes it back.
  class arrival_token {
   public:
    arrival_token(arrival_token&&) = default;

   private:
    friend class basic_barrier;
    explicit arrival_token(std::uint64_t phase) : phase_(phase) {}
    std::uint64_t phase_;
  };

  // Throws std::invalid_argument if expected < 0.
  explicit basic_barrier(std::ptrdiff_t expected, Completion completion = Completion())
      : expected_(expected), remaining_(expected), completion_(std::move(completion)) {
    if (expected < 0) throw std::invalid_argument("spindle::barrier: negative expected count");
  }
  basic_barrier(const basic_barrier&) = delete;
  basic_barrier& operator=(const basic_barrier&) = delete;

  // Counts n arrivals in the current phase. Throws std::invalid_argument if n < 1 or more
  // threads arrive than the phase still expects.
  [[nodiscard]] arrival_token arrive(std::ptrdiff_t n = 1) {
    std::lock_guard lock(mutex_);
    return arrival_token(count_arrivals(n));
  }

  // Blocks until the phase named by the token has completed.
  void wait(arrival_token&& token) const {
    std::unique_lock lock(mutex_);
    next_phase_.wait(lock, [&] { return phase_ != token.phase_; });
  }

  void arrive_and_wait() { wait(arrive()); }

  // Arrives, and removes the caller from every later phase.
  void arrive_and_drop() {
    std::lock_guard lock(mutex_);
    --expected_;
    count_arrivals(1);
  }

 private:
  // Precondition: mutex_ held. Returns the phase the arrivals belong to.
  std::uint64_t count_arrivals(std::ptrdiff_t n) {
    if (n < 1 || n > remaining_) {
      throw std::invalid_argument("spindle::barrier::arrive: more arrivals than expected");
    }
    std::uint64_t phase = phase_;
    remaining_ -= n;
    if (remaining_ == 0) {
      completion_();
      remaining_ = expected_;
      ++phase_;
      next_phase_.notify_all();
    }
    return phase;
  }

  mutable typename Sync::mutex mutex_;
  mutable typename Sync::condition_variable next_phase_{wait_label{"barrier", this}};
  std::ptrdiff_t expected_;   // threads taking part in each phase; guarded by mutex_
  std::ptrdiff_t remaining_;  // still to arrive in this phase; guarded by mutex_
  std::uint64_t phase_ = 0;   // guarded by mutex_
  Completion completion_;
};

}  // namespace spindle
