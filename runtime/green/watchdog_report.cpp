// runtime/green/watchdog_report.cpp — what the watchdog's tick reads in the interrupted
// registers, and the words of its two reports: a thread blocking its scheduler in a
// system call (which call, and what to use instead), and a hog (how long, and where).
//
// Everything here runs in the tick's signal handler: it reads registers and bytes of the
// interrupted instruction's own page, and builds its lines without malloc
// (runtime/common/signal_safe_text.hpp), writing them with write(2).
// Explained in: docs/08-reactor.md (the hog watchdog), after its section on the watchdog.
// Read next: runtime/green/code_ranges.cpp (where the hog was).
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "../common/signal_safe_text.hpp"
#include "code_ranges.hpp"
#include "spindle/green/detail/record.hpp"
#include "watchdog.hpp"

namespace spindle::green::detail {
namespace {

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
void name_the_thread(spindle::detail::signal_safe_text& out, const record& r, std::string_view what,
                     std::int64_t for_ns) noexcept {
  std::string_view name = r.name.empty() ? std::string_view("unnamed") : std::string_view(r.name);
  out.text("spindle: green thread ").number(r.id).text(" \"").text(name.substr(0, 128));
  out.text("\" ").text(what).text(" ");
  out.one_decimal(static_cast<std::uint64_t>(for_ns / 1'000'000)).text(" s");
}

}  // namespace

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

}  // namespace spindle::green::detail
