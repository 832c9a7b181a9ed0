// runtime/green/watchdog.hpp — the watchdog of one scheduler: noticing that a green thread
// has blocked its kernel thread in a system call, or keeps it computing without yielding.
//
// Concept: the green backend must never create a kernel thread, so nobody can watch the
// scheduler from outside; the kernel can. A POSIX timer of this kernel thread sends it a
// realtime signal (normally SIGRTMAX-1) every half threshold (SIGEV_THREAD_ID: to this
// kernel thread, never a helper). The handler runs on the stalled kernel thread itself,
// between two instructions of whatever it was doing, and compares the scheduler's
// hand-over count with the one the previous tick saw. Unchanged for a threshold, with
// other threads able to run, and the interrupted instruction a system call: the running
// thread is blocking them all, and the handler says so on stderr, once per stall; the
// interrupted instruction elsewhere, and the count unchanged for the hog limit: the running
// thread hogs the processor, and the handler names it and where it was. A tick
// that finds the scheduler in its own idle wait, or only the root thread alive, puts the
// timer to sleep, so an idle program gets at most one tick per idle stretch and a
// single-threaded one none.
// Explained in: docs/08-reactor.md (the watchdog). Read next: runtime/green/watchdog.cpp.
#pragma once

#include <signal.h>
#include <time.h>
#include <ucontext.h>

#include <atomic>
#include <cstdint>
#include <string_view>

namespace spindle::green::detail {

class scheduler;
struct record;

class watchdog {
 public:
  watchdog() = default;
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;

  // Called by the scheduler after it admitted a thread and after its idle wait, on its
  // kernel thread: starts the timer again if a tick, or the scheduler's birth, left it
  // asleep. Two instructions when it is running, which it is nearly always.
  void wake_if_asleep(const scheduler& s) noexcept {
    std::atomic_signal_fence(std::memory_order_seq_cst);  // after the caller's changes
    if (asleep_.load(std::memory_order_relaxed)) [[unlikely]]
      wake(s);
  }

  // Called as the scheduler's kernel thread retires (runtime/green/lifetime.cpp): deletes
  // the timer, and takes a tick already sent but not yet handled off the kernel thread,
  // so that no handler can run once the scheduler is gone.
  void stop() noexcept;

  // The signal handler's part: one tick, on the alternate signal stack of the kernel
  // thread the timer belongs to, with `interrupted` the registers of the code the signal
  // stopped. Only reads the scheduler; async-signal-safe.
  void tick(const scheduler& s, const ucontext_t& interrupted) noexcept;

  // In the child of a fork: the timer was not inherited (timer_create(2)); the next
  // spawn or return from idle makes a new one.
  void forget_timer_after_fork() noexcept;

  // Called by watchdog::set_threshold on the calling kernel thread, in ordinary code:
  // re-arms the timer for the new threshold, or puts it to sleep when it is off.
  void apply_threshold(const scheduler& s) noexcept;

 private:
  void wake(const scheduler& s) noexcept;
  void sleep() noexcept;
  bool set_period(std::int64_t threshold_ns) noexcept;

  // Written by the scheduler's code (wake, stop) only while the timer sleeps or with its
  // signal blocked, and by the handler (tick) otherwise: never both at once.
  timer_t timer_{};
  bool have_timer_ = false;         // timer_ was created in this process
  std::int64_t armed_basis_ = 0;    // the shorter limit the timer's period was set for
  std::atomic<bool> asleep_{true};  // the timer is disarmed; wake_if_asleep arms it

  // The handler's own state, for noticing a stall and reporting it once.
  std::uint64_t last_handovers_ = 0;  // the hand-over count the previous tick saw
  timespec unchanged_since_{};        // when a tick first saw last_handovers_
  bool reported_ = false;             // this stall has been reported
};

// --- The reports (runtime/green/watchdog_report.cpp), called by the tick's handler. ---

// What the interrupted code was doing: in a system call (and which, -1 if unknown), or not.
struct system_call {
  bool inside = false;
  long number = -1;
};
// Reads it from the registers the kernel saved (x86-64; elsewhere: never in a call).
system_call interrupted_system_call(const ucontext_t& interrupted) noexcept;
// `r` has blocked its scheduler for `stalled_ns` in `call`: one line on stderr.
void report_stall(const record& r, std::int64_t stalled_ns, const system_call& call) noexcept;
// `r` has run `ran_ns` without yielding, and was at the instruction `interrupted` stopped.
void report_hog(const record& r, std::int64_t ran_ns, const ucontext_t& interrupted) noexcept;

// How many ticks the handlers of this process have handled, for the tests: a test that
// expects no report checks that ticks came all the same.
std::uint64_t watchdog_ticks() noexcept;

// Installs `handler` (with SA_SIGINFO and `flags`) for the highest realtime signal below
// SIGRTMAX that has no handler yet, and returns it; 0 when every one has a handler. For
// the watchdog's tick and the preemption tick (runtime/green/preemption.cpp). Ordinary code.
int claim_realtime_signal(void (*handler)(int, siginfo_t*, void*), int flags) noexcept;

// A duration in nanoseconds read from environment variable `variable`: unset or empty is
// `fallback`, "off" or "0" is 0, otherwise seconds ("0.2"), at least `minimum`. Anything
// else is reported on stderr, ending "; <what_stays>.", and `fallback` returned.
std::int64_t seconds_from_environment(const char* variable, std::int64_t fallback,
                                      std::int64_t minimum, std::string_view what_stays);

}  // namespace spindle::green::detail
