// tests/preemption_support.hpp — what the preemption tests share: turning preemption on
// for a test, a faster tick for the tests that must hit narrow places, and a spinner.
// Explained in: docs/08-reactor.md (preemption).
//
// No green thread calls doctest while preemption is on: doctest's reporter takes a
// std::mutex, a kernel thread's lock that the safe-point rule cannot see (a preempted
// holder would block the next green thread that reports). Threads record what they saw,
// and the tests check it after joining them.
#pragma once

#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>

#include "green/preemption.hpp"
#include "green/scheduler.hpp"
#include "harness.hpp"
#include "spindle/green/preemption.hpp"

namespace spindle_test {

// A bound for valgrind, not a measure.
inline constexpr auto preemption_patience = std::chrono::seconds(120);

// Turns green preemption on with `slice` for the life of the object (on the clone
// backend it does nothing: the kernel preempts its threads anyway).
template <class B>
class preempting {
 public:
  explicit preempting(std::chrono::microseconds slice) {
    if constexpr (is_green<B>) spindle::green::preemption::set_slice(slice);
  }
  ~preempting() {
    if constexpr (is_green<B>) spindle::green::preemption::set_slice(std::chrono::microseconds(0));
  }
  preempting(const preempting&) = delete;
  preempting& operator=(const preempting&) = delete;
};

// The kernel checks CPU-clock timers at its scheduler tick (CONFIG_HZ: every 4 ms on
// this book's machine), so the preemption timer of a short test run fires a few times
// only. A test that must hit the narrow places where a switch would do harm (inside
// malloc, or a lock's few instructions) adds a timer of its own on CLOCK_MONOTONIC, every
// 50 µs, that sends the same signal with the same value: the handler cannot tell its
// ticks from the scheduler's own, and takes or defers each by the same rule.
class faster_ticks {
 public:
  faster_ticks() {
    auto& s = spindle::green::detail::scheduler::here();
    s.preemption_state().apply(s);  // installs the handler, if no spawn has yet
    sigevent to_this_thread{};
    to_this_thread.sigev_notify = SIGEV_THREAD_ID;
    to_this_thread.sigev_signo = spindle::green::detail::preemption_signal();
    to_this_thread.sigev_value.sival_ptr = &s.preemption_state();
    to_this_thread._sigev_un._tid = static_cast<pid_t>(syscall(SYS_gettid));
    made_ = to_this_thread.sigev_signo != 0 &&
            timer_create(CLOCK_MONOTONIC, &to_this_thread, &timer_) == 0;
    itimerspec every{{0, 50'000}, {0, 50'000}};
    if (made_) timer_settime(timer_, 0, &every, nullptr);
  }
  ~faster_ticks() {
    if (made_) timer_delete(timer_);
  }
  faster_ticks(const faster_ticks&) = delete;
  faster_ticks& operator=(const faster_ticks&) = delete;
  bool made() const { return made_; }

 private:
  timer_t timer_{};
  bool made_ = false;
};

// Computes in the program's own code until `enough()` or the patience runs out; returns
// whether `enough()` came true. The clock is read once per million rounds only, so that
// the timer nearly always finds the spinner here and not in the C library.
template <class Enough>
bool spin_until(Enough enough) {
  auto give_up = std::chrono::steady_clock::now() + preemption_patience;
  volatile std::uint64_t work = 0;
  for (std::uint64_t round = 1;; ++round) {
    if (enough()) return true;
    work = work + round;
    if (round % 1'000'000 == 0 && std::chrono::steady_clock::now() > give_up) return false;
  }
}

}  // namespace spindle_test
