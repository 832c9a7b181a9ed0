// docs/programs/lock_order_deadlock.cpp — two threads take two mutexes in opposite
// orders: the classic lock-order deadlock, and the report the green scheduler gives.
// Shown in: docs/07-deadlock.md. Regenerate the output: docs/programs/run_all.sh.
#include <cstdio>
#include <functional>
#include <mutex>

#include "spindle/green.hpp"

namespace green = spindle::green;

green::mutex first;
green::mutex second;

// Holds `a`, lets the other thread run, then wants `b`.
void take_both(green::mutex& a, green::mutex& b) {
  std::lock_guard hold_a(a);
  green::this_thread::yield();
  try {
    std::lock_guard hold_b(b);
  } catch (const spindle::deadlock_error& e) {
    std::printf("%s\n", e.what());
  }  // leaving releases `a`, so the other thread can finish
}

int main() {
  auto alice = green::spawn({.name = "alice"}, take_both, std::ref(first), std::ref(second));
  auto bob = green::spawn({.name = "bob"}, take_both, std::ref(second), std::ref(first));
  alice.join();
  bob.join();
  std::printf("both joined\n");
}
