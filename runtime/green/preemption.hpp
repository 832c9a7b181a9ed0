// runtime/green/preemption.hpp — the preemption timer of one scheduler: making a green
// thread that has used its slice yield, from a signal handler, at a safe point.
//
// Concept: when preemption is on (spindle/green/preemption.hpp), each scheduler has a
// POSIX timer on its kernel thread's CPU clock (CLOCK_THREAD_CPUTIME_ID), signalling that
// kernel thread (SIGEV_THREAD_ID) every half slice of CPU time it used. The handler runs
// on the interrupted green thread's own stack, and compares the scheduler's hand-over
// count with the previous tick's: unchanged two ticks in a row, the running thread has
// had the processor for at least a whole slice. It then switches to the next thread
// (scheduler::preempt) if the interrupted instruction is a safe point: the program's own code
// (runtime/green/ code_ranges.hpp), outside a no-preemption section, on the thread's own stack,
// with the signal mask the thread runs with. Otherwise it defers: it looks again a quarter slice
// later, and a no_preemption section that ends takes the switch. The preempted thread
// resumes inside the handler, which returns to where the signal stopped it.
// Explained in: docs/08-reactor.md (preemption). Read next: runtime/green/preemption.cpp.
#pragma once

#include <signal.h>
#include <time.h>
#include <ucontext.h>

#include <atomic>
#include <cstdint>

#include "spindle/green/detail/record.hpp"

namespace spindle::green::detail {

class scheduler;

// The signal the preemption timers send, 0 until the handler is installed (the first
// set_slice or SPINDLE_PREEMPT that turns preemption on). For the tests, whose own fast
// timer sends it too (tests/preemption_test.cpp: faster_ticks).
int preemption_signal() noexcept;

// Changed by every set_slice, so that a scheduler notices a new setting at its next spawn.
extern std::atomic<std::uint64_t> preemption_settings;

class preemption {
 public:
  preemption() = default;
  preemption(const preemption&) = delete;
  preemption& operator=(const preemption&) = delete;

  // Called by scheduler::admit on the scheduler's kernel thread: applies a setting made
  // since the last one it applied. A load and a compare when nothing changed.
  void apply_if_changed(scheduler& s) noexcept {
    if (applied_ != preemption_settings.load(std::memory_order_relaxed)) [[unlikely]]
      apply(s);
  }
  // Ordinary code on the scheduler's kernel thread: makes, arms or disarms the timer for
  // the process's slice.
  void apply(scheduler& s) noexcept;

  // Called as the scheduler's kernel thread retires: deletes the timer and takes a tick
  // already sent off the kernel thread, so that no handler runs once the scheduler is gone.
  void stop() noexcept;

  // The signal handler's part, on the interrupted thread's stack; `interrupted` holds the
  // registers and mask the signal stopped. May switch threads (then returns much later).
  void tick(scheduler& s, const ucontext_t& interrupted) noexcept;

  // In the child of a fork: the timer was not inherited; the next spawn makes a new one.
  void forget_timer_after_fork() noexcept;

  // The runtime's own no-preemption sections (around a policy's calls, whose code may be
  // the program's): counted, and a deferred switch waits for the next tick.
  void hold() noexcept {
    ++sections_;
    std::atomic_signal_fence(std::memory_order_seq_cst);
  }
  void release() noexcept {
    std::atomic_signal_fence(std::memory_order_seq_cst);
    --sections_;
  }
  // The program's sections (preemption::no_preemption): as release, and when the last one
  // ends with a switch deferred since the thread last yielded, takes it now.
  void release_and_take_deferred(scheduler& s);

 private:
  // Why a tick did not switch, or that it may.
  enum class verdict : std::uint8_t { safe, in_library, in_spindle, in_section, in_handler };
  verdict judge(const scheduler& s, const ucontext_t& interrupted) const noexcept;
  void defer(verdict why, std::uint64_t handovers) noexcept;
  bool arm(std::int64_t first_ns, std::int64_t period_ns) noexcept;

  // Written by ordinary code (apply, stop) only with the signal blocked or the timer
  // disarmed, and read by the handler.
  timer_t timer_{};
  bool have_timer_ = false;        // timer_ was created in this process
  std::uint64_t applied_ = 0;      // the preemption_settings value last applied
  std::int64_t armed_period_ = 0;  // the timer's period: half the slice, or 0
  sigset_t ordinary_mask_{};       // the kernel thread's mask when the timer was made
  stack_span root_stack_;          // the kernel thread's own stack, where the root runs

  // The handler's own state.
  std::uint64_t seen_handovers_ = 0;  // the hand-over count the previous tick saw
  unsigned unchanged_ticks_ = 0;      // ticks in a row that saw it unchanged
  bool deferred_ = false;             // a switch is owed to the thread running since
  std::uint64_t deferred_at_ = 0;     // the hand-over count when it was deferred

  // Written by the running thread's ordinary code, read by the handler.
  unsigned sections_ = 0;  // no-preemption sections open now
};

}  // namespace spindle::green::detail
