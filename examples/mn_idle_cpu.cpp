// examples/mn_idle_cpu.cpp — how much processor time an idle M:N program uses.
//
// Concept: the M:N backend's workers are kernel threads; a worker with nothing to run
// must sleep in the kernel (on its futex, or in epoll_wait while the timekeeper waits for
// a deadline), not spin looking for work, or an idle program would burn a core per
// worker. The program starts the workers, parks some threads on a channel nobody sends to
// and one in a sleep, and measures the process's processor time (every kernel thread's,
// from getrusage) while they wait. With --check it exits 1 if that time is more than a
// tenth of the time waited, which a spinning worker would exceed at once.
// Explained in: docs/15-many-to-many.md and runtime/mn/README.md (sleeping workers).
// Run: build/examples/mn_idle_cpu --help
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <vector>

#include "spindle/mn.hpp"

namespace {

double processor_seconds() {
  rusage used{};
  getrusage(RUSAGE_SELF, &used);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(used.ru_utime) + seconds(used.ru_stime);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"How much processor time an idle M:N program uses while its threads wait"};
  int idle_ms = 500;
  bool check = false;
  app.add_option("--idle-ms", idle_ms, "how long the threads wait (ms)")
      ->check(CLI::Range(50, 60000));
  app.add_flag("--check", check, "exit 1 if the processor time exceeds a tenth of the wait");
  CLI11_PARSE(app, argc, argv);

  namespace mn = spindle::mn;
  mn::spawn([] {}).join();  // the workers run from here on
  mn::channel<int> never(0);
  std::vector<mn::thread<void>> waiting;
  for (int i = 0; i < 4; ++i) waiting.push_back(mn::spawn([&] { never.recv(); }));

  double before = processor_seconds();
  auto wall_start = std::chrono::steady_clock::now();
  mn::spawn([&] { mn::this_thread::sleep_for(std::chrono::milliseconds(idle_ms)); }).join();
  double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  double used = processor_seconds() - before;

  never.close();
  for (auto& t : waiting) t.join();

  std::printf("workers %u, waited %.0f ms, processor time %.1f ms (%.2f%% of the wait)\n",
              mn::workers(), wall * 1e3, used * 1e3, 100 * used / wall);
  if (check && used > wall / 10) {
    std::printf("too much: a worker does not sleep while idle\n");
    return 1;
  }
  return 0;
}
