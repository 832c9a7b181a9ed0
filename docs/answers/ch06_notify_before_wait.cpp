// docs/answers/ch06_notify_before_wait.cpp — the answer to docs/06-synchronisation.md,
// exercise 1: main waits on a condition variable while a spawned thread sets the flag
// and notifies before main ever waits; first with a predicate, then without.
//
// What it shows: with the predicate, main finds the flag already set and never waits.
// Without it, main waits for a notify that has already happened: the wake-up was lost by
// the program, not by the runtime, and since nothing can ever notify again, main's wait
// fails with spindle::deadlock_error, whose report names main waiting on the condition
// variable. Written once over the backend concept and run on both backends.
// Explained in: docs/06-synchronisation.md (exercises), answer 06.1 in docs/appendix-answers.md.
// Read next: runtime/green/condition_variable.cpp.
#include <cstdio>
#include <mutex>
#include <string>

#include "claim.hpp"
#include "spindle/clone.hpp"
#include "spindle/green.hpp"

namespace {

struct outcome {
  bool returned = false;  // the wait returned normally
  std::string report;     // or the deadlock_error it failed with
};

// The notifier runs to its end before main waits: main joins it first.
template <spindle::backend B>
outcome wait_after_the_notify(bool with_predicate) {
  typename B::mutex m;
  typename B::condition_variable ready;
  bool flag = false;
  auto notifier = B::spawn([&] {
    std::lock_guard hold(m);
    flag = true;
    ready.notify_one();
  });
  notifier.join();
  outcome result;
  try {
    std::unique_lock lock(m);
    if (with_predicate) {
      ready.wait(lock, [&] { return flag; });
    } else {
      ready.wait(lock);
    }
    result.returned = true;
  } catch (const spindle::deadlock_error& e) {
    result.report = e.what();
  }
  return result;
}

template <spindle::backend B>
void check() {
  std::string name(B::name);
  outcome with = wait_after_the_notify<B>(true);
  answer::claim(with.returned, name + ": with the predicate, the wait returns at once");
  outcome without = wait_after_the_notify<B>(false);
  std::printf("%s, without the predicate:\n%s\n", name.c_str(), without.report.c_str());
  answer::claim(
      !without.returned &&
          without.report.find("\"main\" (id 1) waits on condition_variable") != std::string::npos,
      name + ": without it, the wait fails with a deadlock_error naming main's wait");
}

}  // namespace

int main() {
  check<spindle::green::backend>();
  check<spindle::clone::backend>();
  return answer::claims_failed();
}
