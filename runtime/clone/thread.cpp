// runtime/clone/thread.cpp — spawn, join, detach and exit of clone threads.
//
// Concept: spawn registers the thread with the parking lot (so the deadlock detector
// counts it from the start) and asks runtime/clone/kernel_thread.cpp for a kernel task
// that runs entry(). entry() runs the function, destroys the thread's locals and leaves
// the parking lot, counting the joiner unblocked. join parks until the task's exit (the
// tid word the kernel clears) in one sleep where the kernel has futex_waitv, else until
// leave() wakes it and then on the tid word, before freeing the thread's memory.
// Explained in: docs/09-clone-backend.md (a thread's life). Read next: runtime/clone/mutex.cpp.
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <exception>
#include <mutex>
#include <string>
#include <system_error>

#include "../common/deadlock_report.hpp"
#include "../common/escaped_exception.hpp"
#include "kernel_thread.hpp"
#include "overflow.hpp"
#include "parking_lot.hpp"
#include "spindle/clone.hpp"

namespace spindle::clone::detail {

// The calling kernel thread's record: set by entry() for spawned threads, made on first
// use for root threads (those spindle did not make, such as the process's main thread).
// Why it is initial-exec and read inline: its declaration in
// spindle/clone/detail/record.hpp (about 18 reads per round trip of docs/11's ping-pong).
constinit thread_local record* running_record = nullptr;

namespace {

std::atomic<std::uint64_t> last_id{0};

// What every thread spindle knows does last, after its thread_local destructors (this
// object is the first thread_local a spindle thread touches, so C++ destroys it last):
// it leaves the parking lot, waking its joiner, and frees its record if nobody else will
// (a root thread, or a detached one).
struct leave_at_thread_exit {
  record* self = nullptr;
  bool root = false;
  ~leave_at_thread_exit() {
    if (!self) return;
    spindle::detail::destroy_local_values(self->locals);  // set again by a destructor
    bool detached = parking_lot::instance().leave(self);
    running_record = nullptr;
    name_in_overflow_reports(nullptr, false);
    if (root || detached) delete self;
  }
};
thread_local leave_at_thread_exit leaving;

// fork(): the parking lot's lock is held across it, and the child forgets the threads
// that stayed behind in the parent.
void install_fork_handlers() {
  static std::once_flag installed;
  std::call_once(installed, [] {
    int error = pthread_atfork([] { parking_lot::instance().before_fork(); },
                               [] { parking_lot::instance().after_fork_in_parent(); },
                               [] { parking_lot::instance().after_fork_in_child(running_record); });
    if (error != 0)
      throw std::system_error(error, std::generic_category(), "spindle: pthread_atfork");
  });
}

std::string describe(const record* r) { return spindle::detail::describe_thread(r); }

// POSIX: the child of fork() has one thread, the one that called fork(). A thread that
// was still running there has no result to give, and never will in this process.
[[noreturn]] void throw_left_in_parent(const char* operation, const record* thread) {
  throw std::system_error(std::make_error_code(std::errc::no_such_process),
                          std::string("spindle::clone::thread::") + operation + ": thread " +
                              describe(thread) +
                              " did not cross fork(): only the thread that called fork() "
                              "runs in the child process; detach() its handle instead");
}

// The kernel's name for the task (15 characters at most), as ps and gdb show it.
void name_kernel_task(const std::string& name) {
  if (!name.empty()) prctl(PR_SET_NAME, name.substr(0, 15).c_str(), 0, 0, 0);
}

// Called by a thread as its run() returns with an exception. Under the parking lot's
// lock, against a concurrent detach: detached already, nobody can receive it, so it ends
// the program (with the lock released: a terminate handler may use spindle); otherwise
// `failed` tells a later detach to, and a join rethrows it.
void settle_escaped_exception(record* self) noexcept {
  bool detached;
  {
    auto held = parking_lot::instance().hold();
    detached = self->detached;
    self->failed = !detached;
  }
  if (detached) {
    spindle::detail::terminate_for_escaped_exception("clone", self->id, self->name, self->error);
  }
}

// Runs on the new kernel thread, on its own stack, with its own TLS. What it does last,
// after returning and after its thread_local destructors, is leaving's destructor.
void entry(void* argument) noexcept {
  auto* self = static_cast<record*>(argument);
  running_record = self;
  leaving.self = self;
  name_in_overflow_reports(self, false);
  name_kernel_task(self->name);
  self->run();
  if (self->error) settle_escaped_exception(self);
  spindle::detail::destroy_local_values(self->locals);
}

}  // namespace

// Out of line, and rare: the fast path is record.hpp's inline running().
record* register_root() {
  install_fork_handlers();
  auto* r = new record;
  r->id = ++last_id;
  pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  r->name = tid == getpid() ? "main" : "root of kernel thread " + std::to_string(tid);
  {
    auto held = parking_lot::instance().hold();
    parking_lot::instance().enter(r);
  }
  running_record = r;
  leaving.self = r;
  leaving.root = true;
  name_in_overflow_reports(r, tid == getpid());
  return r;
}

void start(record* thread, const spawn_options& options) {
  auto& lot = parking_lot::instance();
  try {
    // Checked though unused: a program that sets them works alike on both backends.
    spindle::detail::check_priority(options.priority, "spindle::clone::spawn");
    spindle::detail::check_tickets(options.tickets, "spindle::clone::spawn");
    running();  // the spawner is known (and counted) before its child
    thread->name = options.name;
  } catch (...) {
    delete thread;
    throw;
  }
  thread->id = ++last_id;
  {
    auto held = lot.hold();
    lot.enter(thread);
  }
  try {
    thread->kernel = start(entry, thread, options.stack_size);
  } catch (...) {
    lot.leave(thread);
    delete thread;
    throw;
  }
}

void wait_for_finish(record* thread) {
  record* self = running();
  if (thread == self) {
    throw std::system_error(
        std::make_error_code(std::errc::resource_deadlock_would_occur),
        "spindle::clone::thread::join: thread " + describe(self) + " tried to join itself");
  }
  auto& lot = parking_lot::instance();
  auto held = lot.hold();
  if (thread->left_in_parent) throw_left_in_parent("join", thread);
  if (thread->st == state::finished) return;
  thread->joiner = self;
  // One sleep where the kernel allows it: on the thread's exit and on the joiner's word
  // (for the deadlock detector's wake); else two: parked until leave() wakes it, then
  // reap's wait for the exit.
  thread->exit_wakes_joiner = exit_or_word_wait_available();
  try {
    if (thread->exit_wakes_joiner) {
      lot.park_for_exit(held, self, thread->kernel, {"join", thread, thread});
    } else {
      lot.park(held, self, nullptr, {"join", thread, thread});
    }
  } catch (...) {
    if (!held.owns_lock()) held.lock();
    thread->joiner = nullptr;
    thread->exit_wakes_joiner = false;
    throw;
  }
}

void reap(record* thread) noexcept {
  join(thread->kernel);
  delete thread;
}

// A thread that failed before it was detached ends the program here. What the message
// needs is copied under the lock: once it is released, the thread may free its record.
void detach(record* thread) noexcept {
  kernel_thread* kernel;
  bool finished;
  bool failed;
  std::uint64_t id = 0;
  std::string name;
  std::exception_ptr error;
  {
    auto held = parking_lot::instance().hold();
    kernel = thread->kernel;
    thread->detached = true;
    finished = thread->st == state::finished;
    failed = thread->failed;
    if (failed) {
      id = thread->id;
      name = thread->name;
      error = thread->error;
    }
  }
  if (failed) spindle::detail::terminate_for_escaped_exception("clone", id, name, error);
  detach(kernel);
  if (finished) delete thread;  // else the thread frees it in entry()
}

void abandon_joinable(const record* thread) noexcept {
  std::fprintf(stderr,
               "spindle: the handle of clone thread %s was destroyed while the thread was "
               "still joinable%s; call join() or detach() before the handle goes out of "
               "scope. Terminating.\n",
               describe(thread).c_str(),
               thread->left_in_parent ? " (it did not cross fork(): detach() it)" : "");
  std::terminate();
}

}  // namespace spindle::clone::detail

namespace spindle::clone::this_thread {

void yield() noexcept { sched_yield(); }

void sleep_until(std::chrono::steady_clock::time_point deadline) {
  auto since_epoch = deadline.time_since_epoch();
  if (since_epoch.count() < 0) return;
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  timespec until{static_cast<time_t>(seconds.count()),
                 static_cast<long>((since_epoch - seconds).count())};
  // steady_clock is CLOCK_MONOTONIC in libstdc++. EINTR: a signal handler ran; go back.
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, nullptr) == EINTR) {
  }
}

thread_id get_id() { return thread_id{detail::running()->id}; }
std::string_view name() { return detail::running()->name; }

void set_name(std::string_view name) {
  detail::record* self = detail::running();
  {
    auto held = detail::parking_lot::instance().hold();  // the deadlock report reads names
    self->name = name;
  }
  detail::name_kernel_task(self->name);
}

}  // namespace spindle::clone::this_thread
