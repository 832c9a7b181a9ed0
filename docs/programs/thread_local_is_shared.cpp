// docs/programs/thread_local_is_shared.cpp — C++ thread_local is per kernel thread, so
// green threads share it; spindle::green::local gives each green thread its own.
// Shown in: docs/06-synchronisation.md. Regenerate the output: docs/programs/run_all.sh.
#include <cstdio>

#include "spindle/green.hpp"

namespace green = spindle::green;

thread_local int per_kernel_thread = 0;
green::local<int> per_green_thread;

// Counts once in each kind of storage, lets the other thread do the same, then reports.
void count_once(const char* who) {
  ++per_kernel_thread;
  ++*per_green_thread;
  green::this_thread::yield();
  std::printf("%s: thread_local = %d, green::local = %d\n", who, per_kernel_thread,
              *per_green_thread);
}

int main() {
  auto a = green::spawn(count_once, "a");
  auto b = green::spawn(count_once, "b");
  a.join();
  b.join();
}
