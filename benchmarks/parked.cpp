// benchmarks/parked.cpp — parked/spindle_green/<threads>: the memory a blocked green
// thread keeps resident, and the time to spawn it.
//
// Spawns N threads that each park on one latch, lets every one of them run until it
// parks, and reads the process's resident set (/proc/self/statm) before and after:
// KiB_per_thread = the difference / N, what a parked thread costs in RAM (its record and
// the touched top of its stack; page tables and kernel mapping records are not in RSS).
// spawn_ns_per_thread = the time to spawn the N threads / N, which is also the manual
// time reported for the iteration. Each measurement runs on a fresh kernel thread, with a
// scheduler and stack cache of its own, so that no stack is one left resident by an
// earlier measurement.
//
// The stacks are the smallest guarded stacks (16 KiB usable plus a guard page, two
// memory mappings each), so vm.max_map_count (65530 by default) stops the process at
// about 32 thousand of them: 30k is the largest case that fits, and the 100k and 1M
// cases report the error instead of a number. Those sizes need stacks that do not take
// a mapping of their own each.
// Explained in: docs/08-performance.md. Read next: benchmarks/main.cpp.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <spindle/green.hpp>

#include <chrono>
#include <cstddef>
#include <fstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace {

namespace g = spindle::green;

constexpr std::size_t parked_stack_size = 16 * 1024;

std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t total_pages = 0, resident_pages = 0;
  statm >> total_pages >> resident_pages;
  return resident_pages * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

struct parked_measurement {
  double spawn_seconds = 0;
  double resident_bytes_per_thread = 0;
  std::string error;  // why the threads could not all be spawned, if they could not
};

// Runs on a fresh kernel thread: spawns `count` threads, parks them all on one latch,
// measures, then releases and joins every one.
parked_measurement park_threads(std::size_t count) {
  parked_measurement m;
  g::latch release(1);
  std::size_t parked = 0;
  std::vector<g::thread<void>> threads(count);  // touched now, not while measuring
  g::this_thread::get_id();                      // makes this kernel thread's scheduler
  g::spawn_options small;
  small.stack_size = parked_stack_size;
  std::size_t spawned = 0;
  std::size_t before = resident_bytes();
  auto start = std::chrono::steady_clock::now();
  try {
    for (; spawned < count; ++spawned) {
      threads[spawned] = g::spawn(small, [&] {
        ++parked;
        release.wait();
      });
    }
  } catch (const std::system_error& e) {
    m.error = "spawned " + std::to_string(spawned) + " of " + std::to_string(count) +
              " threads: " + e.what();
  }
  m.spawn_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  g::this_thread::yield();  // every spawned thread runs until it parks on the latch
  std::size_t after = resident_bytes();
  if (m.error.empty() && parked != count) m.error = "not every thread parked";
  m.resident_bytes_per_thread =
      (static_cast<double>(after) - static_cast<double>(before)) / static_cast<double>(count);
  release.count_down();
  for (std::size_t i = 0; i < spawned; ++i) threads[i].join();
  return m;
}

void parked_spindle_green(benchmark::State& state) {
  auto count = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    parked_measurement m;
    std::thread([&] { m = park_threads(count); }).join();
    if (!m.error.empty()) {
      state.SkipWithError(m.error.c_str());
      break;
    }
    state.SetIterationTime(m.spawn_seconds);
    state.counters["KiB_per_thread"] = m.resident_bytes_per_thread / 1024;
    state.counters["spawn_ns_per_thread"] = m.spawn_seconds * 1e9 / static_cast<double>(count);
  }
}

}  // namespace

BENCHMARK(parked_spindle_green)
    ->Name("parked/spindle_green")
    ->Arg(10'000)
    ->Arg(30'000)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
