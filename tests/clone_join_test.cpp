// tests/clone_join_test.cpp — how often the clone backend's join sleeps.
//
// Concept: spindle::clone's join must wait for two things, the thread's finish (which
// the deadlock detector counts) and its exit (after which its memory may be reused);
// where the kernel has futex_waitv it sleeps once for both, as pthread_join sleeps once
// for the exit. Each test counts the joiner's sleeps (voluntary context switches), an
// outcome, never a duration.
// Explained in: docs/09-clone-backend.md (a thread's life). Read next: tests/clone_stress_test.cpp.
#include <doctest/doctest.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <spindle/clone.hpp>
#include <string>
#include <thread>

#include "clone/kernel_thread.hpp"
#include "clone/thread_list.hpp"
#include "clone_test_support.hpp"

using namespace clone_test;

namespace {

bool task_sleeps(pid_t tid) { return task_status(tid, "State:").find('S') != std::string::npos; }

long voluntary_switches_of_calling_thread() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_nvcsw;
}

}  // namespace

// Does spindle::clone's join sleep once, as pthread_join does, when the thread it joins
// finishes while the joiner waits? The thread is held between its finish (the parking
// lot's leave) and its exit, on the thread list's lock, until the joiner sleeps: a
// joiner woken at the finish would sleep a second time, on the exit.
TEST_CASE("a_join_sleeps_once_while_the_joined_thread_finishes_and_exits") {
  kt::ensure_ready();
  if (!kt::exit_or_word_wait_available()) {
    MESSAGE("not run: no futex_waitv here (an older kernel, or valgrind): join sleeps twice");
    return;
  }
  pid_t joiner = static_cast<pid_t>(syscall(SYS_gettid));
  std::atomic<bool> list_locked{false}, returning{false};
  std::atomic<pid_t> joined{0};
  auto thread = spindle::clone::spawn([&] {
    joined = static_cast<pid_t>(syscall(SYS_gettid));
    while (!list_locked || !task_sleeps(joiner)) sched_yield();
    returning = true;
  });
  std::thread holder([&] {
    auto lock = kt::lock_thread_list();
    list_locked = true;
    while (!returning || !task_sleeps(joined) || !task_sleeps(joiner)) sched_yield();
  });
  long before = voluntary_switches_of_calling_thread();
  thread.join();
  long sleeps = voluntary_switches_of_calling_thread() - before;
  holder.join();
  CHECK(sleeps == 1);
}
