// runtime/common/run_clock.hpp — the clock of run times and times in state, both
// backends, and how the thread dumps print a duration.
//
// Concept: CLOCK_MONOTONIC, read through the vDSO (no system call). Not rdtsc (it counts
// cycles, needs a calibration to become time, and a virtual machine may trap it), not
// CLOCK_THREAD_CPUTIME_ID (a real system call, twenty to fifty times the cost, and it
// would not count a green thread that blocks its kernel thread in a system call: that
// time is taken from the other green threads all the same).
// Explained in: docs/14-scheduling-policies.md (the clock). Read next:
// runtime/green/scheduler.cpp (scheduler::account_stop).
#pragma once

#include <time.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace spindle::detail {

inline std::int64_t clock_ns() noexcept {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return std::int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

// "12.3 ms": whole ns below 10 us, then us below 10 ms, ms below 10 s, then s, each with
// one decimal, so that at least two figures come before the point.
inline std::string format_ns(std::int64_t ns) {
  char text[32];
  if (ns < 10'000) {
    std::snprintf(text, sizeof text, "%lld ns", static_cast<long long>(ns));
  } else if (ns < 10'000'000) {
    std::snprintf(text, sizeof text, "%.1f us", static_cast<double>(ns) / 1e3);
  } else if (ns < 10'000'000'000) {
    std::snprintf(text, sizeof text, "%.1f ms", static_cast<double>(ns) / 1e6);
  } else {
    std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(ns) / 1e9);
  }
  return text;
}

}  // namespace spindle::detail
