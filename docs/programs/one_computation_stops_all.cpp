// docs/programs/one_computation_stops_all.cpp — the other weakness of a cooperative 1:N
// runtime, and its cure. A green thread ticks every 10 ms while main computes for 300 ms
// without calling spindle (and without a system call). Cooperatively the ticker cannot
// run until main is done; with preemption on (a 10 ms slice), the timer makes main yield
// once per slice of CPU time and the ticker ticks. The program prints the CPU time the
// kernel thread got in those 300 ms too: the slice is measured on that clock, so on a
// loaded machine the ticker ticks about once per slice of it, not once per 10 ms of the
// wall clock. The counts say where each preemption landed.
// Shown in: docs/08-reactor.md. Regenerate the output: docs/programs/run_all.sh.
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdio>

#include "spindle/green.hpp"

namespace green = spindle::green;
using std::chrono::milliseconds;

double cpu_ms() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec) / 1e6;
}

// Counts the ticks of a green ticker while main computes for 300 ms of the clock, and
// prints them after `how`.
void ticks_while_main_computes(const char* how) {
  std::atomic<bool> done{false};
  int ticks = 0;
  auto ticker = green::spawn({.name = "ticker"}, [&] {
    while (!done) {
      green::this_thread::sleep_for(milliseconds(10));
      ++ticks;
    }
  });
  green::this_thread::yield();  // the ticker sleeps in the timer queue now
  double cpu_before = cpu_ms();
  auto until = std::chrono::steady_clock::now() + milliseconds(300);
  volatile unsigned long work = 0;
  while (std::chrono::steady_clock::now() < until) {
    for (int i = 0; i < 10000; ++i) work = work + 1;
  }
  int seen = ticks;
  double cpu = cpu_ms() - cpu_before;
  done = true;
  ticker.join();
  std::printf(
      "%-24s the ticker ticked %3d times in 300 ms (the kernel thread ran %.0f ms of them)\n", how,
      seen, cpu);
}

int main() {
  ticks_while_main_computes("cooperative:");
  green::preemption::set_slice(milliseconds(10));
  ticks_while_main_computes("preempted, 10 ms slice:");
  green::preemption::set_slice(milliseconds(0));
  auto counts = green::preemption::statistics();
  std::printf("preemptions taken %llu, deferred in a library %llu, in spindle %llu\n",
              static_cast<unsigned long long>(counts.taken),
              static_cast<unsigned long long>(counts.deferred_in_library),
              static_cast<unsigned long long>(counts.deferred_in_spindle));
}
