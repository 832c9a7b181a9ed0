// docs/answers/ch05_race_replayed_by_seed.cpp — the answer to docs/05-scheduler.md,
// exercise 3: a data race between green threads (read a shared counter, yield, write it
// back plus one), run under use_random_policy(seed) for seeds 0 to 99, and once more
// for each seed.
//
// What it shows: some seeds lose increments and some lose none, and a seed gives the same
// count every time it is run: on one kernel thread the policy's choices are the only
// source of interleaving, so a seed names one interleaving exactly, and a failure found
// under a seed replays (tests/harness.hpp: under_many_schedules prints the seed for that).
// Under FIFO every thread reads before any writes back, and all but one increment of
// each round is lost.
// Explained in: docs/05-scheduler.md (exercises), answer 05.3 in docs/appendix-answers.md.
// Read next: runtime/green/random_policy.cpp.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "claim.hpp"
#include "spindle/green.hpp"

namespace green = spindle::green;

namespace {

constexpr int threads = 2;
constexpr int increments = 2;  // by each thread

// Runs `threads` threads that each increment a shared counter `increments` times with a
// yield between the read and the write; returns the final count (at most 4).
int racy_count() {
  int counter = 0;
  std::vector<green::thread<void>> spawned;
  for (int t = 0; t < threads; ++t) {
    spawned.push_back(green::spawn([&counter] {
      for (int i = 0; i < increments; ++i) {
        int seen = counter;
        green::this_thread::yield();
        counter = seen + 1;
      }
    }));
  }
  for (auto& thread : spawned) thread.join();
  return counter;
}

}  // namespace

int main() {
  int lossless = 0, lossy = 0, replayed = 0;
  std::string counts;
  for (std::uint64_t seed = 0; seed < 100; ++seed) {
    green::use_random_policy(seed);
    int first = racy_count();
    green::use_random_policy(seed);
    int second = racy_count();
    (first == threads * increments ? lossless : lossy) += 1;
    replayed += first == second;
    counts += std::to_string(first) + (seed % 25 == 24 ? "\n" : " ");
  }
  green::use_fifo_policy();
  int fifo = racy_count();
  std::printf("final counts, seeds 0 to 99 (%d increments each):\n%s", threads * increments,
              counts.c_str());
  std::printf("no increment lost: %d seeds; some lost: %d seeds; FIFO: %d\n", lossless, lossy,
              fifo);
  answer::claim(lossy > 0 && lossless > 0, "some seeds lose increments, others lose none");
  answer::claim(replayed == 100, "every seed gives the same count when it is run again");
  answer::claim(fifo == increments, "under FIFO each round's two increments make one");
  return answer::claims_failed();
}
