// runtime/clone/credentials.cpp — the credential broadcast to clone threads.
//
// Concept: see credentials.hpp. Order of a change: take the thread list lock (no thread
// starts or exits meanwhile), apply the change with libc's function (the caller and
// glibc's threads), then ask every listed clone thread to apply it to itself, and wait
// until each has answered.
// Explained in: docs/09-clone-backend.md. Read next: runtime/clone/kernel_thread.cpp.

#include "credentials.hpp"

#include <dlfcn.h>
#include <grp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "futex.hpp"
#include "thread_list.hpp"

namespace spindle::clone::detail {
namespace {

// The change in flight. Written under the thread list lock before any signal is sent.
struct credential_change {
  long number;                    // system call: SYS_setuid, SYS_setgroups, ...
  long args[3];                   // its arguments
  std::atomic<bool> in_flight;    // a broadcast is waiting for answers
  std::atomic<unsigned> pending;  // threads yet to answer (a futex word)
  std::atomic<int> failures;      // threads whose system call failed
};

credential_change change{};

thread_list_entry* entry_of_calling_thread() noexcept {
  auto tid = static_cast<pid_t>(syscall(SYS_gettid));
  for (thread_list_entry* e = thread_list_head.next; e != &thread_list_head; e = e->next)
    if (e->tid->load(std::memory_order_relaxed) == tid) return e;
  return nullptr;
}

// Runs in a clone thread that a broadcast signalled. The list is stable: the
// broadcasting thread holds its lock until every request is answered.
void on_credential_signal(int, siginfo_t* info, void*) {
  if (info->si_code != SI_TKILL || info->si_pid != getpid() || !change.in_flight.load()) return;
  int saved_errno = errno;
  thread_list_entry* self = entry_of_calling_thread();
  if (self != nullptr && self->credential_request.exchange(0) == 1) {
    if (syscall(change.number, change.args[0], change.args[1], change.args[2]) != 0)
      change.failures.fetch_add(1);
    if (change.pending.fetch_sub(1) == 1) futex::wake_private(change.pending);
  }
  errno = saved_errno;
}

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr,
               "spindle: %s; aborting rather than let threads run on with "
               "different credentials\n",
               why.c_str());
  std::abort();
}

void check_handler_installed() {
  struct sigaction current {};
  sigaction(credential_signal(), nullptr, &current);
  if (!(current.sa_flags & SA_SIGINFO) || current.sa_sigaction != on_credential_signal)
    die("the handler of signal " + std::to_string(credential_signal()) +
        ", which spindle reserves for credential changes, was replaced");
}

// Marks every listed thread but the caller; returns how many it marked. Caller holds
// the thread list lock.
unsigned mark_targets() noexcept {
  auto self = static_cast<pid_t>(syscall(SYS_gettid));
  unsigned targets = 0;
  for_each_listed_thread([&](thread_list_entry& e) {
    bool target = e.tid->load() != self;
    e.credential_request.store(target ? 1 : 0);
    targets += target;
  });
  return targets;
}

// Signals every marked thread; one that cannot be signalled counts as a failure.
void signal_targets() noexcept {
  for_each_listed_thread([](thread_list_entry& e) {
    if (e.credential_request.load() == 1 &&
        syscall(SYS_tgkill, getpid(), e.tid->load(), credential_signal()) != 0 &&
        e.credential_request.exchange(0) == 1) {
      change.failures.fetch_add(1);
      change.pending.fetch_sub(1);
    }
  });
}

// Makes every other listed thread run system call `number` with the arguments, and
// returns when all have. Caller holds the thread list lock and has applied the change
// to itself. Aborts the process when a thread failed.
void broadcast(const char* function, long number, long a0, long a1, long a2) {
  change.number = number;
  change.args[0] = a0;
  change.args[1] = a1;
  change.args[2] = a2;
  change.failures.store(0);
  unsigned targets = mark_targets();
  if (targets == 0) return;
  check_handler_installed();
  change.pending.store(targets);
  change.in_flight.store(true);
  signal_targets();
  for (unsigned left; (left = change.pending.load()) != 0;)
    futex::wait_private(change.pending, left);
  change.in_flight.store(false);
  if (int failures = change.failures.load(); failures != 0)
    die(std::string(function) + " succeeded in the calling thread but failed in " +
        std::to_string(failures) + " clone thread(s)");
}

template <class F>
F next_definition(const char* name) {
  void* address = dlsym(RTLD_NEXT, name);
  if (address == nullptr)
    die(std::string("libc's ") + name + " cannot be found with dlsym(RTLD_NEXT)");
  return reinterpret_cast<F>(address);
}

std::atomic<int> reserved_signal{0};  // the credential signal; 0 until installed

using mask_function = int (*)(int, const sigset_t*, sigset_t*) noexcept;

mask_function real_sigprocmask() {
  static const auto real = next_definition<mask_function>("sigprocmask");
  return real;
}

mask_function real_pthread_sigmask() {
  static const auto real = next_definition<mask_function>("pthread_sigmask");
  return real;
}

// Both are resolved as the library is loaded, so that no signal handler is the first to
// call the replacements below: dlsym is not async-signal-safe, and a sanitizer's runtime
// calls pthread_sigmask while it delivers a signal (ThreadSanitizer reported it, in a
// program with no clone thread yet).
[[gnu::constructor]] void resolve_mask_functions() {
  real_sigprocmask();
  real_pthread_sigmask();
}

// Applies a change with `apply_here` (libc's function), then broadcasts the equivalent
// system call to the clone threads.
template <class Apply>
int change_everywhere(const char* function, Apply apply_here, long number, long a0, long a1,
                      long a2) {
  auto lock = lock_thread_list();
  int result = apply_here();
  if (result == 0) broadcast(function, number, a0, a1, a2);
  return result;
}

int initgroups_everywhere(const char* user, gid_t group) {
  static const auto real = next_definition<int (*)(const char*, gid_t)>("initgroups");
  auto lock = lock_thread_list();
  int result = real(user, group);
  if (result != 0) return result;
  // Broadcast the list libc's initgroups computed and installed in this thread.
  int listed = getgroups(0, nullptr);
  std::vector<gid_t> groups(static_cast<std::size_t>(listed < 0 ? 0 : listed));
  int count = getgroups(listed, groups.data());
  if (listed < 0 || count < 0) die("initgroups succeeded but getgroups failed");
  broadcast("initgroups", SYS_setgroups, count, reinterpret_cast<long>(groups.data()), 0);
  return 0;
}

// Forwards to libc's `real` with the credential signal removed from a mask being set.
int mask_without_credential_signal(mask_function real, int how, const sigset_t* set,
                                   sigset_t* old) noexcept {
  sigset_t filtered;
  if (set != nullptr && how != SIG_UNBLOCK && credential_signal() != 0 &&
      sigismember(set, credential_signal()) == 1) {
    filtered = *set;
    sigdelset(&filtered, credential_signal());
    set = &filtered;
  }
  return real(how, set, old);
}

}  // namespace

int credential_signal() noexcept { return reserved_signal.load(std::memory_order_relaxed); }

void install_credential_broadcast() {
  struct sigaction action {};
  action.sa_sigaction = on_credential_signal;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigfillset(&action.sa_mask);
  // The highest real-time signal nobody handles yet; valgrind, for one, keeps SIGRTMAX.
  for (int candidate = SIGRTMAX; candidate >= SIGRTMIN; --candidate) {
    struct sigaction previous {};
    if (sigaction(candidate, nullptr, &previous) != 0 || (previous.sa_flags & SA_SIGINFO) ||
        previous.sa_handler != SIG_DFL || sigaction(candidate, &action, nullptr) != 0)
      continue;
    reserved_signal.store(candidate);
    return;
  }
  throw std::runtime_error(
      "spindle clone backend: every real-time signal already has a "
      "handler, and one is needed to apply credential changes to clone threads");
}

}  // namespace spindle::clone::detail

namespace detail = spindle::clone::detail;

extern "C" {

int setuid(uid_t uid) noexcept {
  static const auto real = detail::next_definition<decltype(&::setuid)>("setuid");
  return detail::change_everywhere(
      "setuid", [&] { return real(uid); }, SYS_setuid, uid, 0, 0);
}

int setgid(gid_t gid) noexcept {
  static const auto real = detail::next_definition<decltype(&::setgid)>("setgid");
  return detail::change_everywhere(
      "setgid", [&] { return real(gid); }, SYS_setgid, gid, 0, 0);
}

int seteuid(uid_t euid) noexcept {
  static const auto real = detail::next_definition<decltype(&::seteuid)>("seteuid");
  return detail::change_everywhere(
      "seteuid", [&] { return real(euid); }, SYS_setresuid, -1, euid, -1);
}

int setegid(gid_t egid) noexcept {
  static const auto real = detail::next_definition<decltype(&::setegid)>("setegid");
  return detail::change_everywhere(
      "setegid", [&] { return real(egid); }, SYS_setresgid, -1, egid, -1);
}

int setreuid(uid_t ruid, uid_t euid) noexcept {
  static const auto real = detail::next_definition<decltype(&::setreuid)>("setreuid");
  return detail::change_everywhere(
      "setreuid", [&] { return real(ruid, euid); }, SYS_setreuid, ruid, euid, 0);
}

int setregid(gid_t rgid, gid_t egid) noexcept {
  static const auto real = detail::next_definition<decltype(&::setregid)>("setregid");
  return detail::change_everywhere(
      "setregid", [&] { return real(rgid, egid); }, SYS_setregid, rgid, egid, 0);
}

int setresuid(uid_t ruid, uid_t euid, uid_t suid) noexcept {
  static const auto real = detail::next_definition<decltype(&::setresuid)>("setresuid");
  return detail::change_everywhere(
      "setresuid", [&] { return real(ruid, euid, suid); }, SYS_setresuid, ruid, euid, suid);
}

int setresgid(gid_t rgid, gid_t egid, gid_t sgid) noexcept {
  static const auto real = detail::next_definition<decltype(&::setresgid)>("setresgid");
  return detail::change_everywhere(
      "setresgid", [&] { return real(rgid, egid, sgid); }, SYS_setresgid, rgid, egid, sgid);
}

int setgroups(size_t count, const gid_t* groups) noexcept {
  static const auto real = detail::next_definition<decltype(&::setgroups)>("setgroups");
  return detail::change_everywhere(
      "setgroups", [&] { return real(count, groups); }, SYS_setgroups, static_cast<long>(count),
      reinterpret_cast<long>(groups), 0);
}

int initgroups(const char* user, gid_t group) { return detail::initgroups_everywhere(user, group); }

int sigprocmask(int how, const sigset_t* set, sigset_t* old) noexcept {
  return detail::mask_without_credential_signal(detail::real_sigprocmask(), how, set, old);
}

int pthread_sigmask(int how, const sigset_t* set, sigset_t* old) noexcept {
  return detail::mask_without_credential_signal(detail::real_pthread_sigmask(), how, set, old);
}

}  // extern "C"
