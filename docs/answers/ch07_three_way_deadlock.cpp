// docs/answers/ch07_three_way_deadlock.cpp — the answer to docs/07-deadlock.md,
// exercise 2: a cycle of three threads over three mutexes (alice holds the first and
// wants the second, bob holds the second and wants the third, carol holds the third and
// wants the first), under the default FIFO policy.
//
// What it shows: alice, bob and carol each take their first mutex and yield, then block
// in that order; carol closes the cycle, so she is the last to block on a resource and
// her lock is the one that fails with spindle::deadlock_error. The report lists every
// blocked thread, the three of the cycle and main in its join. When carol's error
// unwinds her lock_guard, the cycle is broken: bob and then alice finish.
// Explained in: docs/07-deadlock.md (exercises), answer 07.2 in docs/appendix-answers.md.
// Read next: runtime/green/deadlock.cpp.
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>

#include "claim.hpp"
#include "spindle/green.hpp"

namespace green = spindle::green;

namespace {

green::mutex first, second, third;
std::string failed;  // the names of the threads whose lock failed
std::string report;  // the deadlock report they got

void take_both(green::mutex& held, green::mutex& wanted) {
  std::lock_guard hold(held);
  green::this_thread::yield();
  try {
    std::lock_guard take(wanted);
  } catch (const spindle::deadlock_error& e) {
    failed += std::string(green::this_thread::name()) + " ";
    report = e.what();
  }
}

bool mentions(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

}  // namespace

int main() {
  auto alice = green::spawn({.name = "alice"}, take_both, std::ref(first), std::ref(second));
  auto bob = green::spawn({.name = "bob"}, take_both, std::ref(second), std::ref(third));
  auto carol = green::spawn({.name = "carol"}, take_both, std::ref(third), std::ref(first));
  alice.join();
  bob.join();
  carol.join();
  std::printf("%s\nfailed: %s\n", report.c_str(), failed.c_str());
  answer::claim(failed == "carol ", "only carol, the last to block, gets the deadlock_error");
  answer::claim(mentions(report, "\"alice\" (id 2) waits on mutex") &&
                    mentions(report, "\"bob\" (id 3) waits on mutex") &&
                    mentions(report, "\"carol\" (id 4) waits on mutex") &&
                    mentions(report, "\"main\" (id 1) waits on join"),
                "the report lists the cycle's three threads and main's join");
  return answer::claims_failed();
}
