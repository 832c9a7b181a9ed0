// runtime/green/overflow.cpp — the SIGSEGV handler that names the green thread whose
// stack overflowed, and the alternate signal stack it runs on.
//
// Everything reachable from on_segv is async-signal-safe: the signal may interrupt
// malloc or stdio halfway, so the report is formatted by hand into a buffer on the
// signal stack and written with write(2); the scheduler's records are only read.
// Explained in: docs/04-stacks.md (overflow). Read next: runtime/green/thread.cpp.
#include "overflow.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "scheduler.hpp"
#include "stack.hpp"

namespace spindle::green::detail {
namespace {

// Usable bytes of the alternate signal stack: the report needs about a kilobyte, the
// rest is for a chained handler of the program's.
constexpr std::size_t signal_stack_size = 64 * 1024;

// What SIGSEGV did before spindle's handler. Written once, before the handler is
// installed; read only by the handler.
struct sigaction previous_action;

// The alternate signal stack arm_overflow_reports mapped on this kernel thread (its
// guard page first), or null when it kept the program's own or had no memory.
thread_local void* own_signal_stack = nullptr;

std::size_t signal_stack_bytes() noexcept {
  auto minimum = static_cast<std::size_t>(sysconf(_SC_SIGSTKSZ));
  return std::max(signal_stack_size, minimum);
}

// A line of text built without malloc or stdio; what does not fit is cut off.
class report {
public:
  report& text(std::string_view s) noexcept {
    std::size_t n = std::min(s.size(), sizeof buffer_ - used_);
    std::copy_n(s.data(), n, buffer_ + used_);
    used_ += n;
    return *this;
  }
  report& number(std::uint64_t n) noexcept {
    char digits[20];
    std::size_t count = 0;
    do digits[count++] = static_cast<char>('0' + n % 10); while ((n /= 10) != 0);
    while (count > 0 && used_ < sizeof buffer_) buffer_[used_++] = digits[--count];
    return *this;
  }
  report& address(const void* p) noexcept {
    auto n = reinterpret_cast<std::uintptr_t>(p);
    char digits[16];
    std::size_t count = 0;
    do digits[count++] = "0123456789abcdef"[n % 16]; while ((n /= 16) != 0);
    text("0x");
    while (count > 0 && used_ < sizeof buffer_) buffer_[used_++] = digits[--count];
    return *this;
  }
  void write_to(int fd) const noexcept {
    for (std::size_t done = 0; done < used_;) {
      ssize_t n = write(fd, buffer_ + done, used_ - done);
      if (n > 0) done += static_cast<std::size_t>(n);
      else if (n < 0 && errno != EINTR) return;
    }
  }

private:
  char buffer_[768];
  std::size_t used_ = 0;
};

void report_overflow(const record& owner, const void* fault) noexcept {
  const stack_span& s = owner.stack;
  const std::byte* guard_low = static_cast<const std::byte*>(s.low) - s.guard;
  std::string_view name = owner.name.empty() ? "unnamed" : std::string_view(owner.name);
  report r;
  r.text("spindle: green thread \"").text(name.substr(0, 128));
  r.text("\" (id ").number(owner.id).text(") overflowed its stack: the fault at ");
  r.address(fault).text(" is in the guard page [");
  r.address(guard_low).text(", ").address(s.low).text(") below its ").number(s.size / 1024);
  r.text(" KiB stack [").address(s.low).text(", ").address(s.high()).text("). Give it a ");
  r.text("larger spawn_options::stack_size, or make its recursion shallower. Aborting.\n");
  r.write_to(STDERR_FILENO);
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

void on_segv(int signal, siginfo_t* info, void* context) {
  int saved_errno = errno;
  // si_code > 0: the kernel sent it for a fault, so si_addr is the faulting address.
  if (info->si_code > 0) {
    const scheduler* s = scheduler::here_if_any();
    if (const record* owner = s ? s->owner_of_guard(info->si_addr) : nullptr) {
      report_overflow(*owner, info->si_addr);
      std::abort();
    }
  }
  pass_on(signal, info, context);
  errno = saved_errno;
}

void install_handler() noexcept {
  sigaction(SIGSEGV, nullptr, &previous_action);
  struct sigaction ours {};
  ours.sa_sigaction = on_segv;
  ours.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&ours.sa_mask);
  sigaction(SIGSEGV, &ours, nullptr);
}

void give_thread_a_signal_stack() noexcept {
  stack_t current{};
  if (sigaltstack(nullptr, &current) != 0 || !(current.ss_flags & SS_DISABLE)) return;
  std::size_t guard = page_size(), bytes = signal_stack_bytes();
  void* base = mmap(nullptr, guard + bytes, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (base == MAP_FAILED) return;
  stack_t ours{};
  ours.ss_sp = static_cast<std::byte*>(base) + guard;
  ours.ss_size = bytes;
  if (mprotect(base, guard, PROT_NONE) != 0 || sigaltstack(&ours, nullptr) != 0) {
    munmap(base, guard + bytes);
    return;
  }
  own_signal_stack = base;
}

}  // namespace

const record* scheduler::owner_of_guard(const void* address) const noexcept {
  auto holds = [a = reinterpret_cast<std::uintptr_t>(address)](const stack_span& s) {
    auto low = reinterpret_cast<std::uintptr_t>(s.low);
    return s.guard != 0 && a < low && a >= low - s.guard;
  };
  if (holds(loop_.stack)) return &loop_;
  // No lock is needed: the handler interrupts the one kernel thread that changes all_,
  // and a fault does not strike halfway through link or unlink, which touch only
  // records that are alive.
  for (const record* r = all_; r; r = r->all_next) {
    if (holds(r->stack)) return r;
  }
  return nullptr;
}

void arm_overflow_reports() noexcept {
  static const bool installed = (install_handler(), true);
  (void)installed;
  give_thread_a_signal_stack();
}

void disarm_overflow_reports() noexcept {
  if (!own_signal_stack) return;
  std::size_t guard = page_size(), bytes = signal_stack_bytes();
  stack_t current{};
  sigaltstack(nullptr, &current);
  if (current.ss_sp == static_cast<std::byte*>(own_signal_stack) + guard) {
    stack_t off{};
    off.ss_flags = SS_DISABLE;
    sigaltstack(&off, nullptr);
  }
  munmap(own_signal_stack, guard + bytes);
  own_signal_stack = nullptr;
}

}  // namespace spindle::green::detail
