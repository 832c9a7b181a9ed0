// runtime/common/overflow.cpp — the SIGSEGV handler that names the thread whose stack
// overflowed, the main thread's stack bounds, and alternate signal stacks.
//
// Everything reachable from on_segv is async-signal-safe: the signal may interrupt
// malloc or stdio halfway, so the report is formatted by hand (signal_safe_text) into a
// buffer on the signal stack and written with write(2); backends' records are only read.
// Explained in: docs/04-stacks.md (what an overflow looks like).
// Read next: runtime/green/overflow.cpp, then runtime/clone/overflow.cpp.
#include "overflow.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <string>

#include "signal_safe_text.hpp"

namespace spindle::detail {
namespace {

// Usable bytes of an alternate signal stack: the report needs about a kilobyte, the
// rest is for a chained handler of the program's.
constexpr std::size_t signal_stack_size = 64 * 1024;

// The kernel keeps this gap (vm's stack_guard_gap, 256 pages) between a growing stack
// and the mapping below it; a fault there is an overflow too.
constexpr std::uintptr_t stack_guard_gap = 256 * 4096;

// What SIGSEGV did before spindle's handler. Written once, before the handler is
// installed; read only by the handler.
struct sigaction previous_action;

// One finder per backend; set before that backend's first thread runs.
std::atomic<overflow_finder> finders[2];

// The main thread's stack: written once, before the handler is installed.
struct {
  std::uintptr_t top = 0;      // end of the [stack] mapping; 0 if not found
  std::uintptr_t lowest = 0;   // lowest address RLIMIT_STACK lets it grow to
  std::uintptr_t gap_low = 0;  // lowest address of the gap below that
} main_stack;

std::size_t page_size() noexcept { return static_cast<std::size_t>(sysconf(_SC_PAGESIZE)); }

std::size_t signal_stack_bytes() noexcept {
  return std::max(signal_stack_size, static_cast<std::size_t>(sysconf(_SC_SIGSTKSZ)));
}

// Reads the [stack] line of /proc/self/maps and RLIMIT_STACK. Runs once, before the
// handler is installed, so it may allocate.
void find_main_stack() noexcept {
  try {
    std::ifstream maps("/proc/self/maps");
    std::uintptr_t below_end = 0;
    for (std::string line; std::getline(maps, line);) {
      std::uintptr_t end = std::stoull(line.substr(line.find('-') + 1), nullptr, 16);
      if (line.ends_with("[stack]")) {
        main_stack.top = end;
        break;
      }
      below_end = end;
    }
    if (main_stack.top == 0) return;
    rlimit limit{};
    getrlimit(RLIMIT_STACK, &limit);
    std::uintptr_t reach = limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= main_stack.top
                               ? main_stack.top - below_end - stack_guard_gap
                               : limit.rlim_cur;
    main_stack.lowest = main_stack.top - reach;
    main_stack.gap_low = main_stack.lowest - std::min(stack_guard_gap, main_stack.lowest);
  } catch (...) {
    main_stack.top = 0;  // no report for the main thread, only the plain crash
  }
}

// A fault that is no overflow gets what it would have got without spindle.
void pass_on(int signal, siginfo_t* info, void* context) noexcept {
  const struct sigaction& before = previous_action;
  if (before.sa_handler == SIG_DFL || before.sa_handler == SIG_IGN) {
    // Put it back and let it act: a fault repeats when the handler returns, a signal
    // sent by kill() is raised again; both are still blocked until then.
    sigaction(signal, &before, nullptr);
    if (before.sa_handler == SIG_DFL) raise(signal);
    return;
  }
  if (before.sa_flags & SA_RESETHAND) {
    struct sigaction reset {};
    reset.sa_handler = SIG_DFL;
    sigaction(signal, &reset, nullptr);
  }
  sigset_t mask;
  pthread_sigmask(SIG_BLOCK, &before.sa_mask, &mask);
  if (before.sa_flags & SA_SIGINFO) {
    before.sa_sigaction(signal, info, context);
  } else {
    before.sa_handler(signal);
  }
  pthread_sigmask(SIG_SETMASK, &mask, nullptr);
}

// Who overflowed, if anyone: each backend's finder, then the main thread unnamed.
bool find_overflow(const void* fault, overflowed_stack& out) noexcept {
  for (const auto& slot : finders) {
    overflow_finder finder = slot.load(std::memory_order_acquire);
    if (finder && finder(fault, out)) return true;
  }
  if (!main_stack_holds(fault, out)) return false;
  out.name = "main";
  return true;
}

void on_segv(int signal, siginfo_t* info, void* context) {
  int saved_errno = errno;
  // si_code > 0: the kernel sent it for a fault, so si_addr is the faulting address.
  overflowed_stack found;
  if (info->si_code > 0 && find_overflow(info->si_addr, found)) {
    write_overflow_report(found, info->si_addr);
    std::abort();
  }
  pass_on(signal, info, context);
  errno = saved_errno;
}

void install_handler() noexcept {
  find_main_stack();
  sigaction(SIGSEGV, nullptr, &previous_action);
  struct sigaction ours {};
  ours.sa_sigaction = on_segv;
  ours.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&ours.sa_mask);
  sigaction(SIGSEGV, &ours, nullptr);
}

}  // namespace

void install_overflow_handler(overflow_finder finder) noexcept {
  static const bool installed = (install_handler(), true);
  (void)installed;
  for (auto& slot : finders) {
    overflow_finder empty = nullptr;
    if (slot.compare_exchange_strong(empty, finder) || empty == finder) return;
  }
}

bool main_stack_holds(const void* fault, overflowed_stack& out) noexcept {
  auto a = reinterpret_cast<std::uintptr_t>(fault);
  if (main_stack.top == 0 || a < main_stack.gap_low || a >= main_stack.top) return false;
  // Another kernel thread faulting there followed a stray pointer: not an overflow.
  if (syscall(SYS_gettid) != getpid()) return false;
  out.kind = "main thread";
  out.guard_low = reinterpret_cast<const void*>(main_stack.gap_low);
  out.guard_high = reinterpret_cast<const void*>(main_stack.lowest);
  out.stack_low = out.guard_high;
  out.stack_high = reinterpret_cast<const void*>(main_stack.top);
  out.remedy =
      "Raise the stack limit RLIMIT_STACK before the program starts (ulimit -s, in "
      "KiB), or make its recursion shallower.";
  return true;
}

void* give_thread_a_signal_stack() noexcept {
  stack_t current{};
  if (sigaltstack(nullptr, &current) != 0 || !(current.ss_flags & SS_DISABLE)) return nullptr;
  std::size_t guard = page_size(), bytes = signal_stack_bytes();
  void* base = mmap(nullptr, guard + bytes, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (base == MAP_FAILED) return nullptr;
  stack_t ours{};
  ours.ss_sp = static_cast<std::byte*>(base) + guard;
  ours.ss_size = bytes;
  if (mprotect(base, guard, PROT_NONE) != 0 || sigaltstack(&ours, nullptr) != 0) {
    munmap(base, guard + bytes);
    return nullptr;
  }
  return base;
}

void take_back_signal_stack(void* mapping) noexcept {
  if (!mapping) return;
  std::size_t guard = page_size(), bytes = signal_stack_bytes();
  stack_t current{};
  sigaltstack(nullptr, &current);
  if (current.ss_sp == static_cast<std::byte*>(mapping) + guard) {
    stack_t off{};
    off.ss_flags = SS_DISABLE;
    sigaltstack(&off, nullptr);
  }
  munmap(mapping, guard + bytes);
}

void write_overflow_report(const overflowed_stack& s, const void* fault) noexcept {
  bool main = s.kind == "main thread";
  auto kib = static_cast<std::uint64_t>(static_cast<const std::byte*>(s.stack_high) -
                                        static_cast<const std::byte*>(s.stack_low)) /
             1024;
  signal_safe_text r;
  r.text("spindle: ")
      .text(s.kind)
      .text(" \"")
      .text(s.name.empty() ? "unnamed" : s.name.substr(0, 128));
  r.text("\" (id ").number(s.id).text(") overflowed its stack: the fault at ").address(fault);
  r.text(main ? " is in the gap [" : " is in the guard page [").address(s.guard_low).text(", ");
  r.address(s.guard_high).text(") below its ").number(kib).text(" KiB stack [");
  r.address(s.stack_low).text(", ").address(s.stack_high);
  r.text(main ? "), the most RLIMIT_STACK lets it grow to: a stack overflow. "
              : "): a stack overflow. ");
  r.text(s.remedy).text(" Aborting.\n");
  r.write_to(STDERR_FILENO);
}

}  // namespace spindle::detail
