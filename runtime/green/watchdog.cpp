// runtime/green/watchdog.cpp — the watchdog's timer, its signal handler and its settings.
//
// Start at watchdog::tick, the handler's part: it runs on the kernel thread that may be
// stalled, between two of its instructions, so everything it reaches is async-signal-safe:
// it reads the scheduler, asks the clock, and writes its report with write(2) (the
// reports, blocking and hog, are runtime/green/watchdog_report.cpp). The rest (wake, stop,
// set_threshold, set_hog_limit) runs in the scheduler's ordinary code, with the signal
// blocked whenever it changes what the handler also changes.
// Explained in: docs/08-reactor.md (the watchdog).
// Read next: runtime/green/watchdog_report.cpp, then runtime/green/scheduler.cpp (where
// the scheduler wakes it).
#include "watchdog.hpp"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string_view>

#include "../common/signal_safe_text.hpp"
#include "code_ranges.hpp"
#include "scheduler.hpp"
#include "spindle/green/watchdog.hpp"

namespace spindle::green::detail {
namespace {

// The watchdog's signal, chosen when the handler is installed: the highest realtime
// signal below SIGRTMAX that has no handler yet, normally SIGRTMAX-1. glibc keeps the
// lowest two for itself (SIGRTMIN already counts past them); the clone backend takes the
// highest free one, SIGRTMAX (runtime/clone/credentials.cpp), and valgrind keeps
// SIGRTMAX for itself (sigaction answers EINVAL), so that there the clone backend has
// SIGRTMAX-1 and the watchdog the next below, whichever comes first. Programs that use
// realtime signals usually count up from SIGRTMIN. 0 until installed.
std::atomic<int> chosen_signal{0};
int watchdog_signal() noexcept { return chosen_signal.load(std::memory_order_relaxed); }

constexpr std::int64_t not_read_yet = -1;
constexpr std::int64_t nanoseconds_per_ms = 1'000'000;

// The process's threshold in nanoseconds, 0 when off; not_read_yet until the first
// scheduler or set_threshold reads SPINDLE_WATCHDOG. The handler only loads it.
std::atomic<std::int64_t> threshold_ns{not_read_yet};

// The hog watchdog's limit in nanoseconds, 0 when off; not_read_yet until SPINDLE_HOG_LIMIT
// is read. The handler only loads it.
std::atomic<std::int64_t> hog_limit_ns{not_read_yet};

// Ticks handled in this process, for watchdog_ticks.
std::atomic<std::uint64_t> ticks_handled{0};

// SPINDLE_WATCHDOG: unset is the default, "off" or "0" is off, otherwise seconds
// ("0.2", "2"). Anything else is reported once, and the default stays.
std::int64_t threshold_from_environment() {
  return seconds_from_environment(
      "SPINDLE_WATCHDOG", green::watchdog::default_threshold.count() * nanoseconds_per_ms,
      nanoseconds_per_ms, "the watchdog keeps its default threshold of 1 s");
}

// SPINDLE_HOG_LIMIT, read the same way: the hog watchdog's limit.
std::int64_t hog_limit_from_environment() {
  return seconds_from_environment(
      "SPINDLE_HOG_LIMIT", green::watchdog::default_hog_limit.count() * nanoseconds_per_ms,
      nanoseconds_per_ms, "the hog watchdog keeps its default limit of 1 s");
}

// A setting of the process, read from its environment variable on first use by
// `from_environment`. Ordinary code only.
std::int64_t current(std::atomic<std::int64_t>& setting, std::int64_t (*from_environment)()) {
  std::int64_t now = setting.load(std::memory_order_relaxed);
  if (now != not_read_yet) return now;
  std::int64_t read = from_environment();
  setting.compare_exchange_strong(now, read, std::memory_order_relaxed);
  return setting.load(std::memory_order_relaxed);
}

std::int64_t current_threshold() { return current(threshold_ns, threshold_from_environment); }
std::int64_t current_hog_limit() { return current(hog_limit_ns, hog_limit_from_environment); }

// The tick period's basis: the shorter of the two limits that are on, 0 when both are off.
std::int64_t shortest_limit(std::int64_t threshold, std::int64_t hog_limit) noexcept {
  if (threshold <= 0) return hog_limit > 0 ? hog_limit : 0;
  return hog_limit > 0 ? std::min(threshold, hog_limit) : threshold;
}

void on_tick(int, siginfo_t* info, void* context) {
  int saved_errno = errno;
  scheduler* s = scheduler::here_if_any();
  // Only the timer's own ticks, for this kernel thread's watchdog: a kill() of this
  // signal, or a tick queued for a watchdog that is gone, changes nothing.
  if (s && info->si_code == SI_TIMER && info->si_value.sival_ptr == &s->watchdog_state()) {
    ticks_handled.fetch_add(1, std::memory_order_relaxed);
    s->watchdog_state().tick(*s, *static_cast<const ucontext_t*>(context));
  }
  errno = saved_errno;
}

void forget_timer_in_child() {
  if (scheduler* s = scheduler::here_if_any()) s->watchdog_state().forget_timer_after_fork();
}

// Installs the handler, once per process. SA_RESTART: a read or a futex wait that a tick
// interrupts is made again by the kernel, as if nothing had happened. SA_ONSTACK: a tick
// never adds to a green thread's stack. False when every candidate signal has a handler
// already: then the watchdog stays off.
bool handler_installed() noexcept {
  static const bool installed = [] {
    int signo = claim_realtime_signal(on_tick, SA_RESTART | SA_ONSTACK);
    if (signo == 0) return false;
    chosen_signal.store(signo, std::memory_order_relaxed);
    pthread_atfork(nullptr, nullptr, forget_timer_in_child);
    return true;
  }();
  return installed;
}

// Holds the watchdog's signal off the calling kernel thread while ordinary code changes
// what the handler also changes; a tick sent meanwhile is handled when it ends.
class signal_held {
 public:
  signal_held() noexcept {
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, watchdog_signal());
    pthread_sigmask(SIG_BLOCK, &only, &before_);
  }
  ~signal_held() { pthread_sigmask(SIG_SETMASK, &before_, nullptr); }
  signal_held(const signal_held&) = delete;
  signal_held& operator=(const signal_held&) = delete;

 private:
  sigset_t before_;
};

std::int64_t nanoseconds_between(const timespec& from, const timespec& to) noexcept {
  return (to.tv_sec - from.tv_sec) * 1'000'000'000LL + (to.tv_nsec - from.tv_nsec);
}

}  // namespace

// The candidates are tried from SIGRTMAX-1 down (see chosen_signal above); the first with
// no handler is taken.
int claim_realtime_signal(void (*handler)(int, siginfo_t*, void*), int flags) noexcept {
  struct sigaction ours {};
  ours.sa_sigaction = handler;
  ours.sa_flags = SA_SIGINFO | flags;
  sigemptyset(&ours.sa_mask);
  for (int candidate = SIGRTMAX - 1; candidate >= SIGRTMIN; --candidate) {
    struct sigaction before {};
    if (sigaction(candidate, nullptr, &before) != 0 || (before.sa_flags & SA_SIGINFO) ||
        before.sa_handler != SIG_DFL || sigaction(candidate, &ours, nullptr) != 0) {
      continue;
    }
    return candidate;
  }
  return 0;
}

std::int64_t seconds_from_environment(const char* variable, std::int64_t fallback,
                                      std::int64_t minimum, std::string_view what_stays) {
  const char* value = std::getenv(variable);
  if (!value || !*value) return fallback;
  if (std::string_view(value) == "off") return 0;
  char* end = nullptr;
  double seconds = std::strtod(value, &end);
  if (*end == '\0' && seconds >= 0 && seconds <= 86400) {
    std::int64_t ns = static_cast<std::int64_t>(seconds * 1e9);
    return ns == 0 ? 0 : std::max(ns, minimum);
  }
  spindle::detail::signal_safe_text message;
  message.text("spindle: ").text(variable).text("=\"").text(std::string_view(value).substr(0, 64));
  message.text("\" is neither a number of seconds (such as 0.5) nor \"off\"; ").text(what_stays);
  message.text(".\n");
  message.write_to(STDERR_FILENO);
  return fallback;
}

// One tick. The timer goes to sleep when nothing can stall: the scheduler is in its own
// idle wait, only the root thread exists, or both limits were turned off; the scheduler
// wakes it again (wake_if_asleep). Otherwise the tick compares the hand-over count with
// the previous tick's: a change is progress and starts a new stall; no change, with
// another thread able to run, is a stall worth a word once it has lasted a limit: the
// threshold if the thread sits in a system call, the hog limit if it computes.
void watchdog::tick(const scheduler& s, const ucontext_t& interrupted) noexcept {
  std::int64_t threshold = threshold_ns.load(std::memory_order_relaxed);
  std::int64_t hog_limit = hog_limit_ns.load(std::memory_order_relaxed);
  std::int64_t basis = shortest_limit(threshold, hog_limit);
  if (basis <= 0 || s.idle() || s.only_root_alive()) {
    sleep();
    return;
  }
  if (basis != armed_basis_) set_period(basis);
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  std::uint64_t handovers = s.handovers();
  if (handovers != last_handovers_) {
    last_handovers_ = handovers;
    unchanged_since_ = now;
    reported_ = false;
    return;
  }
  std::int64_t stalled = nanoseconds_between(unchanged_since_, now);
  if (reported_ || stalled < basis) return;
  const record* running = s.running();
  if (s.is_loop(running) || !s.others_could_run()) return;
  system_call call = interrupted_system_call(interrupted);
  if (call.inside && threshold > 0 && stalled >= threshold) {
    report_stall(*running, stalled, call);
    reported_ = true;
  } else if (!call.inside && hog_limit > 0 && stalled >= hog_limit) {
    report_hog(*running, stalled, interrupted);
    reported_ = true;
  }
}

// Sets the tick period to half the basis (the shorter limit), so that a stall is
// reported between one and one and a half limits after it began. In the handler or with
// the signal held.
bool watchdog::set_period(std::int64_t basis) noexcept {
  std::int64_t half = basis / 2;
  itimerspec every{};
  every.it_interval = {static_cast<time_t>(half / 1'000'000'000),
                       static_cast<long>(half % 1'000'000'000)};
  every.it_value = every.it_interval;
  armed_basis_ = basis;
  return timer_settime(timer_, 0, &every, nullptr) == 0;
}

// In the handler (tick) or with the signal held.
void watchdog::sleep() noexcept {
  itimerspec never{};
  if (have_timer_) timer_settime(timer_, 0, &never, nullptr);
  asleep_.store(true, std::memory_order_relaxed);
}

// Ordinary code, with the timer asleep: no tick can come until timer_settime arms it,
// and asleep_ is cleared first, so that a tick that puts it back to sleep at once is
// not undone.
void watchdog::wake(const scheduler& s) noexcept {
  std::int64_t basis = shortest_limit(current_threshold(), current_hog_limit());
  if (basis <= 0 || s.only_root_alive() || !handler_installed()) return;
  find_code_ranges();  // before the first tick: the hog report reads the table
  if (!have_timer_) {
    sigevent to_this_thread{};
    to_this_thread.sigev_notify = SIGEV_THREAD_ID;
    to_this_thread.sigev_signo = watchdog_signal();
    to_this_thread.sigev_value.sival_ptr = this;
    to_this_thread._sigev_un._tid = static_cast<pid_t>(syscall(SYS_gettid));
    if (timer_create(CLOCK_MONOTONIC, &to_this_thread, &timer_) != 0) return;
    have_timer_ = true;
  }
  last_handovers_ = s.handovers();
  clock_gettime(CLOCK_MONOTONIC, &unchanged_since_);
  reported_ = false;
  asleep_.store(false, std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (!set_period(basis)) asleep_.store(true, std::memory_order_relaxed);
}

void watchdog::stop() noexcept {
  if (watchdog_signal() == 0) return;  // never installed: no timer, no tick
  signal_held held;
  if (have_timer_) timer_delete(timer_);
  have_timer_ = false;
  asleep_.store(true, std::memory_order_relaxed);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, watchdog_signal());
  timespec now{0, 0};
  while (sigtimedwait(&only, nullptr, &now) == watchdog_signal()) {
  }
}

void watchdog::forget_timer_after_fork() noexcept {
  have_timer_ = false;
  asleep_.store(true, std::memory_order_relaxed);
}

// Ordinary code: applies a new threshold or hog limit to the calling kernel thread's
// scheduler now.
void watchdog::apply_threshold(const scheduler& s) noexcept {
  if (!handler_installed()) return;
  signal_held held;
  std::int64_t basis = shortest_limit(current_threshold(), current_hog_limit());
  if (basis <= 0) {
    sleep();
  } else if (!asleep_.load(std::memory_order_relaxed)) {
    set_period(basis);
  } else {
    wake(s);
  }
}

std::uint64_t watchdog_ticks() noexcept { return ticks_handled.load(std::memory_order_relaxed); }

}  // namespace spindle::green::detail

namespace spindle::green::watchdog {

namespace {

// Stores a new limit, after reading its environment variable (so that the variable cannot
// win later), and applies it to the calling kernel thread's scheduler now.
void set_limit(std::atomic<std::int64_t>& setting, std::int64_t (*read_first)(),
               std::chrono::milliseconds limit) {
  read_first();
  std::int64_t ns = limit.count() <= 0 ? 0 : limit.count() * detail::nanoseconds_per_ms;
  setting.store(ns, std::memory_order_relaxed);
  if (detail::scheduler* s = detail::scheduler::here_if_any()) {
    s->watchdog_state().apply_threshold(*s);
  }
}

}  // namespace

void set_threshold(std::chrono::milliseconds threshold) {
  set_limit(detail::threshold_ns, detail::current_threshold, threshold);
}

std::chrono::milliseconds threshold() {
  return std::chrono::milliseconds(detail::current_threshold() / detail::nanoseconds_per_ms);
}

void set_hog_limit(std::chrono::milliseconds limit) {
  set_limit(detail::hog_limit_ns, detail::current_hog_limit, limit);
}

std::chrono::milliseconds hog_limit() {
  return std::chrono::milliseconds(detail::current_hog_limit() / detail::nanoseconds_per_ms);
}

}  // namespace spindle::green::watchdog
