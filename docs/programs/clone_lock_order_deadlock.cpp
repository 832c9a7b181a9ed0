// docs/programs/clone_lock_order_deadlock.cpp — the lock-order deadlock of
// docs/programs/lock_order_deadlock.cpp on kernel threads, and the clone backend's report.
// Here "the last to block" is decided by the clock, not by a policy: the sleeps make sure
// that main blocks in join first and bob after alice.
// Shown in: docs/09-clone-backend.md. Regenerate the output: docs/programs/run_all.sh.
#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>

#include "spindle/clone.hpp"

namespace this_thread = spindle::clone::this_thread;
using std::chrono::milliseconds;

spindle::clone::mutex first;
spindle::clone::mutex second;
spindle::clone::latch both_hold_one(2);

// Holds `a`, waits until the other thread holds its first mutex, then wants `b`.
void take_both(spindle::clone::mutex& a, spindle::clone::mutex& b, milliseconds pause) {
  std::lock_guard hold_a(a);
  both_hold_one.arrive_and_wait();
  this_thread::sleep_for(pause);  // not a wait spindle counts: the thread is running
  try {
    std::lock_guard hold_b(b);
  } catch (const spindle::deadlock_error& e) {
    std::printf("%s\n", e.what());
  }  // leaving releases `a`, so the other thread can finish
}

int main() {
  auto alice = spindle::clone::spawn({.name = "alice"}, take_both, std::ref(first),
                                     std::ref(second), milliseconds(50));
  auto bob = spindle::clone::spawn({.name = "bob"}, take_both, std::ref(second), std::ref(first),
                                   milliseconds(100));
  alice.join();
  bob.join();
  std::printf("both joined\n");
}
