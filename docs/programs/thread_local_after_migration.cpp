// docs/programs/thread_local_after_migration.cpp — on the M:N backend a thread may resume
// on another kernel thread after a yield, so a C++ thread_local read before and after it
// can be two different variables; spindle::mn::local follows the thread.
// Shown in: docs/15-many-to-many.md (the thread_local trap). Regenerate the output:
// docs/programs/run_all.sh. Run by tests/meson.build, which checks what it prints.
//
// Eight M:N threads on two workers yield again and again; each time, each compares the
// worker it runs on, the thread_local it sees and its mn::local before and after the
// yield. It stops at the first move it sees (or after many yields without one: the
// program then says so, and exits with status 77, "skipped", as a test would).
#include <atomic>
#include <cstdio>
#include <functional>
#include <vector>

#include "spindle/mn.hpp"

namespace mn = spindle::mn;

// Which worker first touched this kernel thread's copy: each kernel thread has its own.
thread_local int kernel_threads_worker = -1;
mn::local<int> threads_own_number;

// What one yield looked like from the thread that made it.
struct seen {
  int worker_before, worker_after;            // mn::this_thread::worker_index()
  int mark_before, mark_after;                // the thread_local, read on each side
  const int *address_before, *address_after;  // and where it lives
  int local_before, local_after;              // the mn::local, on each side
};

// The address and value of the running kernel thread's thread_local. Not inlined: within
// one function a compiler may compute a thread_local's address once, and then keep
// reading the old kernel thread's variable after a move, which is the trap made worse.
[[gnu::noinline]] const int* kernel_threads_mark() {
  if (kernel_threads_worker < 0) kernel_threads_worker = mn::this_thread::worker_index();
  return &kernel_threads_worker;
}

// Yields until the thread moves (or `tries` runs out, or another thread saw a move);
// returns the first move it saw, or a yield without one.
seen yield_until_moved(int number, int tries, std::atomic<bool>& moved) {
  *threads_own_number = number;
  seen s{};
  for (int i = 0; i < tries && !moved.load(); ++i) {
    s.worker_before = mn::this_thread::worker_index();
    s.address_before = kernel_threads_mark();
    s.mark_before = *s.address_before;
    s.local_before = *threads_own_number;
    mn::this_thread::yield();
    s.worker_after = mn::this_thread::worker_index();
    s.address_after = kernel_threads_mark();
    s.mark_after = *s.address_after;
    s.local_after = *threads_own_number;
    if (s.worker_before != s.worker_after) {
      moved.store(true);
      break;
    }
  }
  return s;
}

int main() {
  mn::start(2);
  std::atomic<bool> moved{false};
  std::vector<mn::thread<seen>> threads;
  for (int number = 0; number < 8; ++number) {
    threads.push_back(mn::spawn(yield_until_moved, number, 200000, std::ref(moved)));
  }
  int status = 77;
  for (auto& t : threads) {
    seen s = t.join();
    if (s.worker_before == s.worker_after || status == 0) continue;
    status = 0;
    std::printf("A thread yielded on worker %d and came back on worker %d.\n", s.worker_before,
                s.worker_after);
    std::printf("  thread_local before the yield: %d; after it: %d (%s variable)\n", s.mark_before,
                s.mark_after,
                s.address_before == s.address_after ? "the same" : "another kernel thread's");
    std::printf("  mn::local before the yield:    %d; after it: %d (%s)\n", s.local_before,
                s.local_after, s.local_before == s.local_after ? "the thread's own" : "LOST");
    if (s.mark_before == s.mark_after || s.local_before != s.local_after) status = 1;
  }
  if (status == 77) std::printf("No thread moved between workers in 200000 yields each.\n");
  return status;
}
