// runtime/green/home.cpp — binding a green object to its home scheduler, and saying what
// went wrong when another kernel thread uses it.
// Explained in: docs/07-deadlock.md (used from another kernel thread).
// Read next: runtime/green/mutex.cpp, where lock's fast path makes the compare.
#include "home.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <sstream>
#include <string>

#include "spindle/errors.hpp"

namespace spindle::green::detail {

const char no_home_yet = 0;

namespace {

std::string describe_caller(long tid, const scheduler* caller) {
  std::string text = "kernel thread " + std::to_string(tid);
  return text + (caller ? " (which has a green scheduler of its own)"
                        : " (which has no green scheduler: a std::thread, a clone thread, "
                          "or a kernel thread that has made no green call)");
}

std::string describe_home(const void* home) {
  long tid = scheduler::kernel_tid_of(home);
  if (tid == 0) return "a green scheduler whose kernel thread has exited";
  return "the green scheduler of kernel thread " + std::to_string(tid);
}

}  // namespace

void throw_foreign_use(const object_name& object, const void* home) {
  long caller_tid = syscall(SYS_gettid);
  std::ostringstream text;
  text << object.call << ": the " << object.kind << " at " << object.address;
  if (object.owner_kind) text << " (of the " << object.owner_kind << " at " << object.owner << ")";
  text << " belongs to " << describe_home(home) << ", where it was first used, but was "
       << "called from " << describe_caller(caller_tid, current_scheduler)
       << ". A green object serves the green threads of one kernel thread only; to hand "
          "work to them from another, use spindle::green::scheduler_handle "
          "(docs/02-the-api.md).";
  throw foreign_thread_error(text.str(), object.address, scheduler::kernel_tid_of(home),
                             caller_tid);
}

scheduler& enter_home(const void*& home, const object_name& object) {
  if (home != &no_home_yet && home != current_scheduler) throw_foreign_use(object, home);
  scheduler& s = scheduler::here();
  home = &s;
  return s;
}

}  // namespace spindle::green::detail
