// docs/programs/clone_unseen_waker.cpp — the clone deadlock detector counts only the
// threads that have called spindle. Here a std::thread, which has not called spindle
// yet, is about to wake main; main is the only thread spindle knows, so its wait is
// reported as a deadlock although the program is correct.
// Shown in: docs/09-clone-backend.md. Regenerate the output: docs/programs/run_all.sh.
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#include "spindle/clone.hpp"

int main() {
  spindle::clone::mutex m;
  spindle::clone::condition_variable ready_changed;
  bool ready = false;
  std::thread helper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::lock_guard hold(m);  // the helper's first spindle call: only now is it known
    ready = true;
    ready_changed.notify_one();
  });
  try {
    std::unique_lock hold(m);
    ready_changed.wait(hold, [&] { return ready; });
    std::printf("main: the helper woke me\n");
  } catch (const spindle::deadlock_error& e) {
    std::printf("%s\n", e.what());
  }
  helper.join();
  std::printf("main: the helper set ready = %s after all\n", ready ? "true" : "false");
}
