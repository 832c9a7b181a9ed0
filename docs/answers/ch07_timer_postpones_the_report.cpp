// docs/answers/ch07_timer_postpones_the_report.cpp — the answer to docs/07-deadlock.md,
// exercise 3: main receives on a channel that no thread will ever send on, while another
// thread sleeps (here 200 ms rather than the exercise's second, to keep the test short).
//
// What it shows: the deadlock is not reported while the sleeper's timer is pending, since
// the timer is a possible wake-up; main's recv fails with spindle::deadlock_error only
// after the sleeper has woken and finished, and the report then lists main alone. The
// order is what is checked, never the time.
// Explained in: docs/07-deadlock.md (exercises), answer 07.3 in docs/appendix-answers.md.
// Read next: runtime/green/scheduler.cpp.
#include <chrono>
#include <cstdio>
#include <string>

#include "claim.hpp"
#include "spindle/green.hpp"

namespace green = spindle::green;

int main() {
  green::channel<int> nobody_sends(0);
  bool sleeper_finished = false;
  auto sleeper = green::spawn({.name = "sleeper"}, [&] {
    green::this_thread::sleep_for(std::chrono::milliseconds(200));
    sleeper_finished = true;
  });
  bool finished_before_the_report = false;
  std::string report;
  try {
    nobody_sends.recv();
  } catch (const spindle::deadlock_error& e) {
    finished_before_the_report = sleeper_finished;
    report = e.what();
  }
  sleeper.join();
  std::printf("%s\n", report.c_str());
  answer::claim(!report.empty(), "main's recv fails with a deadlock_error");
  answer::claim(finished_before_the_report,
                "it fails only after the sleeper's timer has fired and the sleeper finished");
  answer::claim(report.find("sleeper") == std::string::npos,
                "the report lists main alone: the sleeper was never blocked for good");
  return answer::claims_failed();
}
