// benchmarks/parked.cpp — parked/<subject>/<threads>: the memory a blocked thread keeps
// resident, and the time to spawn it.
//
// Spawns N threads that each park on one latch, waits until every one of them has
// parked, and reads the process's resident set (/proc/self/statm) before and after:
// KiB_per_thread = the difference / N, what a parked thread costs in RAM (its record, the
// touched top of its stack, and for a clone thread its TLS and control block; page
// tables and the kernel's own records are not in RSS). spawn_ns_per_thread = the time to
// spawn the N threads / N, which is also the manual time reported for the iteration.
//   parked/spindle_green/guarded/N  the smallest guarded stacks (16 KiB usable plus a
//        guard page: two memory mappings each), so vm.max_map_count (65530 by default)
//        stops the process at about 32 thousand of them: measured at 10k only;
//   parked/spindle_green/pooled/N   16 KiB pooled stacks, carved from 16 MiB slabs with
//        no guard page: 10k (beside guarded), 100k and 1M threads;
//   parked/spindle_clone/N          clone threads with the smallest stack the backend
//        allows (256 KiB, lazily committed). Each also needs a kernel task, whose kernel
//        stack is not in RSS: the counter kernel_stack_KiB_per_thread reads the
//        machine-wide KernelStack of /proc/meminfo before and after (other processes
//        starting and ending tasks meanwhile add noise to it).
// No stack may come from a cache whose pages an earlier measurement left resident: each
// green measurement runs on a fresh kernel thread, with a scheduler and stack cache of
// its own, and each clone measurement asks for a stack size never asked before (a page
// more each time), since the clone backend's cache is the process's and reuses only an
// exact size.
// Explained in: docs/11-performance.md. Read next: benchmarks/main.cpp.
#include <benchmark/benchmark.h>
#include <dirent.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <fstream>
#include <spindle/clone.hpp>
#include <spindle/green.hpp>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace {

namespace g = spindle::green;
namespace c = spindle::clone;

constexpr std::size_t green_stack_size = 16 * 1024;
constexpr std::size_t clone_stack_size = 256 * 1024;

std::size_t page_size() { return static_cast<std::size_t>(sysconf(_SC_PAGESIZE)); }

std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t total_pages = 0, resident_pages = 0;
  statm >> total_pages >> resident_pages;
  return resident_pages * page_size();
}

// The machine's kernel stacks, in bytes (every task has one, 16 KiB on x86-64).
std::size_t kernel_stack_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  for (std::string key; meminfo >> key;) {
    std::size_t kib = 0;
    meminfo >> kib;
    if (key == "KernelStack:") return kib * 1024;
    meminfo.ignore(64, '\n');
  }
  return 0;
}

// Tasks of this process asleep in the kernel ("S" in /proc/self/task/*/stat).
std::size_t sleeping_tasks() {
  std::size_t sleeping = 0;
  DIR* tasks = opendir("/proc/self/task");
  if (!tasks) return 0;
  while (dirent* task = readdir(tasks)) {
    if (task->d_name[0] == '.') continue;
    std::ifstream stat(std::string("/proc/self/task/") + task->d_name + "/stat");
    std::string line;
    std::getline(stat, line);
    auto after_name = line.rfind(')');
    if (after_name != std::string::npos && line.compare(after_name + 2, 1, "S") == 0) ++sleeping;
  }
  closedir(tasks);
  return sleeping;
}

struct parked_measurement {
  double spawn_seconds = 0;
  double resident_bytes_per_thread = 0;
  double kernel_stack_bytes_per_thread = 0;
  std::string error;  // why the threads could not all be spawned, if they could not
};

// Spawns `count` threads of backend B that park on one latch; `until_parked()` returns
// once every one of them has parked. Measures, then releases and joins them.
template <class B, class UntilParked>
parked_measurement park_threads(std::size_t count, const spindle::spawn_options& options,
                                UntilParked until_parked) {
  parked_measurement m;
  typename B::latch release(1);
  std::atomic<std::size_t> parked{0};
  std::vector<typename B::template thread<void>> threads(count);  // touched now
  B::this_thread::get_id();  // makes this kernel thread known to spindle
  std::size_t spawned = 0;
  std::size_t before = resident_bytes();
  std::size_t kernel_before = kernel_stack_bytes();
  auto start = std::chrono::steady_clock::now();
  try {
    for (; spawned < count; ++spawned) {
      threads[spawned] = B::spawn(options, [&] {
        parked.fetch_add(1, std::memory_order_relaxed);
        release.wait();
      });
    }
  } catch (const std::system_error& e) {
    m.error = "spawned " + std::to_string(spawned) + " of " + std::to_string(count) +
              " threads: " + e.what();
  }
  m.spawn_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (m.error.empty()) until_parked(parked, count);
  auto n = static_cast<double>(count);
  m.resident_bytes_per_thread = (static_cast<double>(resident_bytes()) - before) / n;
  m.kernel_stack_bytes_per_thread = (static_cast<double>(kernel_stack_bytes()) - kernel_before) / n;
  if (m.error.empty() && parked != count) m.error = "not every thread parked";
  release.count_down();
  for (std::size_t i = 0; i < spawned; ++i) threads[i].join();
  return m;
}

// Green: one yield runs every spawned thread until it parks.
template <spindle::stack_kind Kind>
parked_measurement park_green_threads(std::size_t count) {
  spindle::spawn_options options;
  options.stack = Kind;
  options.stack_size = green_stack_size;
  return park_threads<g::backend>(count, options,
                                  [](auto&, std::size_t) { g::this_thread::yield(); });
}

// Clone: the threads run by themselves; wait until each has counted itself and then
// gone to sleep in the kernel (after counting, it still goes deeper into its stack).
parked_measurement park_clone_threads(std::size_t count, std::size_t stack_size) {
  spindle::spawn_options options;
  options.stack_size = stack_size;
  return park_threads<c::backend>(count, options, [](auto& parked, std::size_t all) {
    while (parked.load(std::memory_order_relaxed) < all) c::this_thread::yield();
    while (sleeping_tasks() < all) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  });
}

void report(benchmark::State& state, const parked_measurement& m, std::size_t count) {
  state.SetIterationTime(m.spawn_seconds);
  state.counters["KiB_per_thread"] = m.resident_bytes_per_thread / 1024;
  state.counters["spawn_ns_per_thread"] = m.spawn_seconds * 1e9 / static_cast<double>(count);
}

template <spindle::stack_kind Kind>
void parked_spindle_green(benchmark::State& state) {
  auto count = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    parked_measurement m;
    std::thread([&] { m = park_green_threads<Kind>(count); }).join();
    if (!m.error.empty()) {
      state.SkipWithError(m.error.c_str());
      break;
    }
    report(state, m, count);
  }
}

void parked_spindle_clone(benchmark::State& state) {
  static std::size_t measurements = 0;
  auto count = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    std::size_t never_asked = clone_stack_size + page_size() * measurements++;
    parked_measurement m = park_clone_threads(count, never_asked);
    if (!m.error.empty()) {
      state.SkipWithError(m.error.c_str());
      break;
    }
    report(state, m, count);
    state.counters["kernel_stack_KiB_per_thread"] = m.kernel_stack_bytes_per_thread / 1024;
  }
}

}  // namespace

BENCHMARK(parked_spindle_green<spindle::stack_kind::guarded>)
    ->Name("parked/spindle_green/guarded")
    ->Arg(10'000)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(parked_spindle_green<spindle::stack_kind::pooled>)
    ->Name("parked/spindle_green/pooled")
    ->Arg(10'000)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(parked_spindle_clone)
    ->Name("parked/spindle_clone")
    ->Arg(1'000)
    ->Arg(10'000)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
