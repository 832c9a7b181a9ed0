// runtime/green/preemption.cpp — the preemption timer, its signal handler and the
// safe-point rule.
//
// Start at preemption::tick, the handler's part, and preemption::judge, the rule: the
// handler switches threads only when the interrupted instruction is one at which the
// program could have called yield itself. Then the ordinary side: apply (the timer, the
// clock and why), stop, and the public calls at the end.
// Explained in: docs/08-reactor.md (preemption). Read next: runtime/green/scheduler.cpp
// (scheduler::preempt, the yield the handler makes).
#include "preemption.hpp"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string_view>

#include "code_ranges.hpp"
#include "scheduler.hpp"
#include "spindle/green/preemption.hpp"
#include "stack.hpp"

namespace spindle::green::detail {

std::atomic<std::uint64_t> preemption_settings{1};  // 1: the environment is still to apply

namespace {

constexpr std::int64_t not_read_yet = -1;
constexpr std::int64_t shortest_slice_ns = 100'000;  // 100 µs: shorter slices are mostly ticks

// The process's slice in nanoseconds, 0 when off; not_read_yet until SPINDLE_PREEMPT is
// read. The handler only loads it.
std::atomic<std::int64_t> slice_ns{not_read_yet};

// The preemption signal, chosen when the handler is installed: the next free realtime
// signal below the watchdog's (runtime/green/watchdog.cpp: claim_realtime_signal).
std::atomic<int> chosen_signal{0};

// What every handler of the process did (spindle::green::preemption::counts).
struct counters {
  std::atomic<std::uint64_t> ticks{0}, taken{0}, taken_at_section_end{0};
  std::atomic<std::uint64_t> in_library{0}, in_spindle{0}, in_section{0}, in_handler{0};
};
counters counted;

void count(std::atomic<std::uint64_t>& counter) noexcept {
  counter.fetch_add(1, std::memory_order_relaxed);
}

std::int64_t current_slice() {
  std::int64_t now = slice_ns.load(std::memory_order_relaxed);
  if (now != not_read_yet) return now;
  std::int64_t read =
      seconds_from_environment("SPINDLE_PREEMPT", 0, shortest_slice_ns, "preemption stays off");
  slice_ns.compare_exchange_strong(now, read, std::memory_order_relaxed);
  return slice_ns.load(std::memory_order_relaxed);
}

void on_preemption_tick(int, siginfo_t* info, void* context) {
  int saved_errno = errno;  // restored after the switch too: errno is the kernel thread's
  scheduler* s = scheduler::here_if_any();
  if (s && info->si_code == SI_TIMER && info->si_value.sival_ptr == &s->preemption_state()) {
    count(counted.ticks);
    s->preemption_state().tick(*s, *static_cast<const ucontext_t*>(context));
  }
  errno = saved_errno;
}

void forget_timer_in_child() {
  if (scheduler* s = scheduler::here_if_any()) s->preemption_state().forget_timer_after_fork();
}

// Installs the handler, once per process. Not SA_ONSTACK: the handler may switch away
// and be resumed much later, so its frame must live on the interrupted thread's own
// stack; on the kernel thread's one alternate stack, the next thread's signal would
// overwrite it. SA_RESTART: a system call the tick interrupts (one that computes in the
// kernel; a sleeping one uses no CPU time, so no tick comes) is made again.
bool handler_installed() noexcept {
  static const bool installed = [] {
    int signo = claim_realtime_signal(on_preemption_tick, SA_RESTART);
    if (signo == 0) return false;
    chosen_signal.store(signo, std::memory_order_relaxed);
    pthread_atfork(nullptr, nullptr, forget_timer_in_child);
    return true;
  }();
  return installed;
}

sigset_t only_the_preemption_signal() noexcept {
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, preemption_signal());
  return only;
}

// Whether `interrupted` blocks a signal that `ordinary` does not: the code the tick
// stopped is a signal handler's (its own signal is blocked while it runs) or a section
// that masks signals. Signals 1 to 64 only: the kernel's mask is 64 bits, and the rest of
// glibc's sigset_t in a signal frame is not the kernel's.
bool masks_more(const sigset_t& interrupted, const sigset_t& ordinary) noexcept {
  for (int signo = 1; signo <= 64; ++signo) {
    if (sigismember(&interrupted, signo) == 1 && sigismember(&ordinary, signo) != 1) return true;
  }
  return false;
}

}  // namespace

int preemption_signal() noexcept { return chosen_signal.load(std::memory_order_relaxed); }

// The safe-point rule. A switch from here is a yield the interrupted code did not ask
// for, so it is safe only where the code could have asked: where it holds no lock and
// leaves no structure half-changed that the next thread might touch. Spindle cannot see
// the program's locks, but it can see whose instruction was interrupted:
//   - a no-preemption section is open (the runtime's own, or the program's): defer;
//   - the stack pointer is not on the running thread's stack (a handler on the alternate
//     signal stack, such as the watchdog's), or the mask blocks more than the thread's
//     ordinary mask (a handler on this stack): defer, the code beneath is unknown;
//   - the instruction is spindle's (a switch, a queue half-linked) or a library's (malloc
//     holding its arena lock, stdio its FILE lock, the unwinder the loader's lock): defer;
//   - otherwise it is the program's own code, which reached the libraries' state only
//     through calls that have returned: safe.
preemption::verdict preemption::judge(const scheduler& s,
                                      const ucontext_t& interrupted) const noexcept {
  if (sections_ != 0) return verdict::in_section;
#if defined(__x86_64__)
  auto pc = static_cast<std::uintptr_t>(interrupted.uc_mcontext.gregs[REG_RIP]);
  auto sp = static_cast<std::uintptr_t>(interrupted.uc_mcontext.gregs[REG_RSP]);
  const stack_span& own = s.running()->stack.low ? s.running()->stack : root_stack_;
  auto low = reinterpret_cast<std::uintptr_t>(own.low);
  if (own.low && (sp < low || sp >= low + own.size)) return verdict::in_handler;
  if (masks_more(interrupted.uc_sigmask, ordinary_mask_)) return verdict::in_handler;
  switch (owner_of_code(pc)) {
    case code_owner::program:
      return verdict::safe;
    case code_owner::spindle:
      return verdict::in_spindle;
    case code_owner::library:
      return verdict::in_library;
  }
#else
  // Elsewhere the interrupted instruction is not read, and no switch is ever safe.
  (void)s;
  (void)interrupted;
#endif
  return verdict::in_library;
}

// One tick; ticks come every half slice. Nothing to do until the running thread has been
// the same for two ticks in a row (then it has run between one slice and one and a half),
// nor if it is the scheduler's own loop, or no other thread could run. Otherwise the rule
// decides: switch now, or defer.
void preemption::tick(scheduler& s, const ucontext_t& interrupted) noexcept {
  std::int64_t slice = slice_ns.load(std::memory_order_relaxed);
  if (slice <= 0) {
    arm(0, 0);  // turned off on another kernel thread: the next spawn here applies it
    return;
  }
  std::uint64_t handovers = s.handovers();
  if (handovers != seen_handovers_) {
    seen_handovers_ = handovers;
    unchanged_ticks_ = 0;
    deferred_ = false;
    if (slice / 2 != armed_period_) arm(slice / 2, slice / 2);
    return;
  }
  if (++unchanged_ticks_ < 2) return;
  // Inside a section, a policy may be halfway through a change: has_ready is not asked.
  if (sections_ == 0 && (s.is_loop(s.running()) || !s.others_could_run())) return;
  verdict v = judge(s, interrupted);
  if (v != verdict::safe) return defer(v, handovers);
  count(counted.taken);
  deferred_ = false;
  // The kernel blocked this signal while its handler runs, and the mask is the kernel
  // thread's, not the green thread's: the next thread must run with it unblocked. When
  // this thread is resumed here and the handler returns, sigreturn restores the mask it
  // had when the signal came.
  sigset_t only = only_the_preemption_signal();
  pthread_sigmask(SIG_UNBLOCK, &only, nullptr);
  s.preempt();
}

// The thread keeps running; a quarter slice later the next tick looks again, and a
// no_preemption section that ends before then takes the switch at once.
void preemption::defer(verdict why, std::uint64_t handovers) noexcept {
  switch (why) {
    case verdict::in_library:
      count(counted.in_library);
      break;
    case verdict::in_spindle:
      count(counted.in_spindle);
      break;
    case verdict::in_section:
      count(counted.in_section);
      break;
    case verdict::in_handler:
      count(counted.in_handler);
      break;
    case verdict::safe:
      break;
  }
  deferred_ = true;
  deferred_at_ = handovers;
  arm(armed_period_ / 2, armed_period_);
}

// Starts the timer: first after `first_ns` of CPU time, then every `period_ns` (which it
// remembers in armed_period_); 0, 0 disarms it. In the handler, or with the signal blocked.
bool preemption::arm(std::int64_t first_ns, std::int64_t period_ns) noexcept {
  auto as_timespec = [](std::int64_t ns) {
    return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  };
  itimerspec when{as_timespec(period_ns), as_timespec(first_ns)};
  armed_period_ = period_ns;
  return have_timer_ && timer_settime(timer_, 0, &when, nullptr) == 0;
}

// The clock is the kernel thread's CPU time, not CLOCK_MONOTONIC: a slice is then
// processor time the green threads used, so a kernel thread that sleeps (idle, or blocked
// in a system call) gets no tick at all, and one that the kernel keeps waiting on a
// loaded machine is not preempted for time it did not run.
void preemption::apply(scheduler& s) noexcept {
  applied_ = preemption_settings.load(std::memory_order_relaxed);
  std::int64_t slice = current_slice();
  if (slice <= 0 && !have_timer_) return;  // off, and never on here: no signal claimed
  if (!handler_installed()) return;
  sigset_t only = only_the_preemption_signal();
  sigset_t before;
  pthread_sigmask(SIG_BLOCK, &only, &before);
  if (slice > 0 && !have_timer_) {
    find_code_ranges();
    ordinary_mask_ = before;
    root_stack_ = kernel_thread_stack();
    sigevent to_this_thread{};
    to_this_thread.sigev_notify = SIGEV_THREAD_ID;
    to_this_thread.sigev_signo = preemption_signal();
    to_this_thread.sigev_value.sival_ptr = this;
    to_this_thread._sigev_un._tid = static_cast<pid_t>(syscall(SYS_gettid));
    have_timer_ = timer_create(CLOCK_THREAD_CPUTIME_ID, &to_this_thread, &timer_) == 0;
  }
  seen_handovers_ = s.handovers();
  unchanged_ticks_ = 0;
  deferred_ = false;
  arm(slice > 0 ? slice / 2 : 0, slice > 0 ? slice / 2 : 0);
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
}

void preemption::stop() noexcept {
  if (preemption_signal() == 0) return;  // never installed: no timer, no tick
  sigset_t only = only_the_preemption_signal();
  sigset_t before;
  pthread_sigmask(SIG_BLOCK, &only, &before);
  if (have_timer_) timer_delete(timer_);
  have_timer_ = false;
  timespec now{0, 0};
  while (sigtimedwait(&only, nullptr, &now) == preemption_signal()) {
  }
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
}

void preemption::forget_timer_after_fork() noexcept {
  have_timer_ = false;
  applied_ = 0;
}

// Ordinary code, in the program's no_preemption destructor: a safe point by definition.
void preemption::release_and_take_deferred(scheduler& s) {
  release();
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (sections_ == 0 && deferred_ && deferred_at_ == s.handovers()) [[unlikely]] {
    deferred_ = false;
    count(counted.taken_at_section_end);
    s.preempt();
  }
}

}  // namespace spindle::green::detail

namespace spindle::green::preemption {

void set_slice(std::chrono::microseconds slice) {
  detail::current_slice();  // SPINDLE_PREEMPT is read first, so that it cannot win later
  std::int64_t ns = slice.count() <= 0
                        ? 0
                        : std::max<std::int64_t>(slice.count() * 1000, detail::shortest_slice_ns);
  detail::slice_ns.store(ns, std::memory_order_relaxed);
  detail::preemption_settings.fetch_add(1, std::memory_order_relaxed);
  if (detail::scheduler* s = detail::scheduler::here_if_any()) s->preemption_state().apply(*s);
}

std::chrono::microseconds slice() {
  return std::chrono::microseconds(detail::current_slice() / 1000);
}

// A kernel thread without a scheduler has no timer, so there is nothing to hold off.
no_preemption::no_preemption() noexcept : scheduler_(detail::scheduler::here_if_any()) {
  if (scheduler_) static_cast<detail::scheduler*>(scheduler_)->preemption_state().hold();
}

no_preemption::~no_preemption() {
  if (auto* s = static_cast<detail::scheduler*>(scheduler_)) {
    s->preemption_state().release_and_take_deferred(*s);
  }
}

counts statistics() noexcept {
  auto load = [](const std::atomic<std::uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  const detail::counters& c = detail::counted;
  return {load(c.ticks),      load(c.taken),      load(c.taken_at_section_end),
          load(c.in_library), load(c.in_spindle), load(c.in_section),
          load(c.in_handler)};
}

}  // namespace spindle::green::preemption
