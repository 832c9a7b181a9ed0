// docs/answers/ch01_tasks_per_backend.cpp — the answer to docs/01-three-models.md,
// exercise 3: spawn 100 threads that each park on a latch, and count the entries of
// /proc/self/task while they are all parked. Written once over the spindle::backend
// concept (docs/02-the-api.md) and run on both backends.
//
// What it shows: the kernel sees 101 tasks for the clone backend (main and one per
// thread: ps -L lists 101 lines) and one for the green backend, whose 100 threads are
// records and stacks inside main's task (ps -L lists one line).
// Explained in: docs/01-three-models.md (exercises), answer 01.3 in docs/appendix-answers.md.
// Read next: docs/answers/ch09_clone_flags_seen_from_proc.cpp.
#include <dirent.h>

#include <cstdio>
#include <string>
#include <vector>

#include "claim.hpp"
#include "spindle/clone.hpp"
#include "spindle/green.hpp"

namespace {

constexpr int threads = 100;

int entries_of_proc_self_task() {
  DIR* folder = opendir("/proc/self/task");
  if (folder == nullptr) return -1;
  int count = 0;
  while (dirent* entry = readdir(folder)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(folder);
  return count;
}

// Spawns `threads` threads that count down `parked` and then wait on `go`; counts the
// kernel's tasks once all have counted down, then lets them finish.
template <spindle::backend B>
int tasks_while_parked() {
  typename B::latch parked(threads), go(1);
  std::vector<typename B::template thread<void>> spawned;
  for (int i = 0; i < threads; ++i) {
    spawned.push_back(B::spawn([&parked, &go] {
      parked.count_down();
      go.wait();
    }));
  }
  parked.wait();
  int tasks = entries_of_proc_self_task();
  go.count_down();
  for (auto& thread : spawned) thread.join();
  return tasks;
}

}  // namespace

int main() {
  int green = tasks_while_parked<spindle::green::backend>();
  int clone = tasks_while_parked<spindle::clone::backend>();
  std::printf("/proc/self/task with %d parked threads: green %d, clone %d\n", threads, green,
              clone);
  answer::claim(green == 1, "the green backend's threads are all inside main's one task");
  answer::claim(clone == threads + 1, "each clone thread is a task of its own, beside main's");
  return answer::claims_failed();
}
