// runtime/green/watchdog.cpp — the watchdog's timer, its signal handler and its report.
//
// Start at watchdog::tick, the handler's part: it runs on the kernel thread that may be
// stalled, between two of its instructions, so everything it reaches is async-signal-safe:
// it reads the scheduler, asks the clock, and writes its report with write(2). The rest
// (wake, stop, set_threshold) runs in the scheduler's ordinary code, with the signal
// blocked whenever it changes what the handler also changes.
// Explained in: docs/08-reactor.md (the watchdog). Read next: runtime/green/scheduler.cpp
// (where the scheduler wakes it).
#include "watchdog.hpp"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
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
  return seconds_from_environment("SPINDLE_WATCHDOG",
                                  green::watchdog::default_threshold.count() * nanoseconds_per_ms,
                                  nanoseconds_per_ms, "the watchdog keeps its default threshold of 1 s");
}

// SPINDLE_HOG_LIMIT, read the same way: the hog watchdog's limit.
std::int64_t hog_limit_from_environment() {
  return seconds_from_environment("SPINDLE_HOG_LIMIT",
                                  green::watchdog::default_hog_limit.count() * nanoseconds_per_ms,
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

// What the interrupted code was doing: in a system call (and which, -1 if unknown), or not.
struct system_call {
  bool inside = false;
  long number = -1;
};

#if defined(__x86_64__)
// Reads the registers the kernel saved when the tick interrupted the thread. A blocking
// call that will be made again after the handler (SA_RESTART: read, futex, ...) is shown
// with RIP rewound onto its `syscall` instruction (0f 05) and RAX holding its number. One
// the signal ended (nanosleep, poll, epoll_wait: signal(7)) is shown just after it, with
// RAX = -EINTR and the number lost; glibc's wrappers usually load it with `mov $n, %eax`
// (b8 n) just before, which gives it back. Only bytes of the instruction's own page are
// read, so nothing here can fault.
system_call interrupted_system_call(const ucontext_t& interrupted) noexcept {
  auto rip = static_cast<std::uintptr_t>(interrupted.uc_mcontext.gregs[REG_RIP]);
  long rax = static_cast<long>(interrupted.uc_mcontext.gregs[REG_RAX]);
  auto byte = [](std::uintptr_t at) { return *reinterpret_cast<const unsigned char*>(at); };
  std::uintptr_t in_page = rip % 4096;
  if (in_page <= 4094 && byte(rip) == 0x0f && byte(rip + 1) == 0x05 && rax >= 0 && rax < 1024) {
    return {true, rax};
  }
  if (in_page >= 2 && byte(rip - 2) == 0x0f && byte(rip - 1) == 0x05 && rax == -EINTR) {
    std::int32_t loaded = -1;
    if (in_page >= 7 && byte(rip - 7) == 0xb8)
      std::memcpy(&loaded, reinterpret_cast<const void*>(rip - 6), 4);
    return {true, loaded >= 0 && loaded < 1024 ? loaded : -1};
  }
  return {};
}
#else
// Elsewhere the watchdog cannot read a system call from the registers, and stays silent.
system_call interrupted_system_call(const ucontext_t&) noexcept { return {}; }
#endif

// What the report says about a call: its name, and what to do instead.
struct call_advice {
  long number;
  std::string_view name;
  std::string_view instead;
};

constexpr std::string_view use_io = "make it with spindle::green::io::";
constexpr std::string_view parks_on_descriptor =
    ", which parks only this green thread until the descriptor is ready";

constexpr call_advice known_calls[] = {
    {SYS_read, "read", "read"},
    {SYS_readv, "readv", "read"},
    {SYS_pread64, "pread64", "read"},
    {SYS_write, "write", "write"},
    {SYS_writev, "writev", "write"},
    {SYS_pwrite64, "pwrite64", "write"},
    {SYS_recvfrom, "recvfrom", "recv"},
    {SYS_recvmsg, "recvmsg", "recv"},
    {SYS_sendto, "sendto", "send"},
    {SYS_sendmsg, "sendmsg", "send"},
    {SYS_accept, "accept", "accept"},
    {SYS_accept4, "accept4", "accept"},
    {SYS_connect, "connect", "connect"},
    {SYS_poll, "poll", ""},
    {SYS_ppoll, "ppoll", ""},
    {SYS_select, "select", ""},
    {SYS_pselect6, "pselect6", ""},
    {SYS_epoll_wait, "epoll_wait", ""},
    {SYS_epoll_pwait, "epoll_pwait", ""},
    {SYS_nanosleep, "nanosleep", ""},
    {SYS_clock_nanosleep, "clock_nanosleep", ""},
    {SYS_futex, "futex", ""},
    {SYS_wait4, "wait4", ""},
    {SYS_waitid, "waitid", ""},
    {SYS_flock, "flock", ""},
    {SYS_fcntl, "fcntl", ""},
};

const call_advice* advice_for(long number) noexcept {
  for (const call_advice& a : known_calls) {
    if (a.number == number) return &a;
  }
  return nullptr;
}

void say_what_to_do(spindle::detail::signal_safe_text& out, const call_advice* call) {
  std::string_view name = call ? call->name : "";
  if (call && !call->instead.empty()) {
    out.text(use_io).text(call->instead).text(parks_on_descriptor);
  } else if (name == "nanosleep" || name == "clock_nanosleep") {
    out.text(
        "sleep with spindle::green::this_thread::sleep_for, which parks only this green thread");
  } else if (name.find("poll") != name.npos || name.find("select") != name.npos ||
             name.find("epoll") != name.npos) {
    out.text("wait with spindle::green::io::wait_readable or wait_writable")
        .text(parks_on_descriptor);
  } else if (name == "futex") {
    out.text("it waits for another kernel thread (a lock, condition variable or channel of ");
    out.text("spindle::clone or std::, or a join of a kernel thread): green threads must wait ");
    out.text(
        "with spindle::green's own primitives, and waits on other kernel threads belong on a ");
    out.text("clone thread (spindle::clone::spawn)");
  } else {
    out.text("a green thread must not make a system call that blocks: make it through ");
    out.text("spindle::green::io if it is I/O, or on a clone thread (spindle::clone::spawn)");
  }
}

// Both reports begin the same way: `spindle: green thread 3 "reader" <what> 1.2 s`.
void name_the_thread(spindle::detail::signal_safe_text& out, const record& r,
                     std::string_view what, std::int64_t for_ns) noexcept {
  std::string_view name = r.name.empty() ? std::string_view("unnamed") : std::string_view(r.name);
  out.text("spindle: green thread ").number(r.id).text(" \"").text(name.substr(0, 128));
  out.text("\" ").text(what).text(" ");
  out.one_decimal(static_cast<std::uint64_t>(for_ns / 1'000'000)).text(" s");
}

void report_stall(const record& r, std::int64_t stalled_ns, const system_call& call) noexcept {
  spindle::detail::signal_safe_text out;
  name_the_thread(out, r, "has blocked its scheduler for at least", stalled_ns);
  out.text(" in ");
  const call_advice* known = advice_for(call.number);
  if (known) {
    out.text("the system call ").text(known->name).text("(2)");
  } else if (call.number >= 0) {
    out.text("the system call number ").number(static_cast<std::uint64_t>(call.number));
  } else {
    out.text("a system call that the watchdog's signal then ended with EINTR");
  }
  out.text(": no other green thread of its kernel thread runs until the call returns. Instead, ");
  say_what_to_do(out, known);
  out.text(" (docs/08-reactor.md, the watchdog; SPINDLE_WATCHDOG=off silences it).\n");
  out.write_to(STDERR_FILENO);
}

// The hog's report: who, for how long, and where the tick found it.
void report_hog(const record& r, std::int64_t ran_ns, const ucontext_t& interrupted) noexcept {
  spindle::detail::signal_safe_text out;
  name_the_thread(out, r, "has run for at least", ran_ns);
  out.text(" without yielding");
#if defined(__x86_64__)
  out.text("; it was at ");
  describe_code_address(out, static_cast<std::uintptr_t>(interrupted.uc_mcontext.gregs[REG_RIP]));
#else
  (void)interrupted;
#endif
  out.text(": no other green thread of its kernel thread runs until it yields. Instead, call ");
  out.text("spindle::green::this_thread::yield now and then in long computations, or turn on ");
  out.text("preemption (spindle::green::preemption::set_slice, SPINDLE_PREEMPT) ");
  out.text("(docs/08-reactor.md, the hog watchdog; SPINDLE_HOG_LIMIT=off silences it).\n");
  out.write_to(STDERR_FILENO);
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
