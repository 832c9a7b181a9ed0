// tests/harness.hpp — what every behaviour test shares.
//
// Each behaviour test is written once as a doctest TEST_CASE_TEMPLATE over
// spindle_test::backends, so it runs on every backend. Concurrency tests run their body
// under_many_schedules: on the green backend once per seed, under a policy chosen by the
// seed (policy_of_seed: the random policy on most; a failure prints the policy and seed,
// which replay the same interleaving), on a kernel-thread
// backend several times. SPINDLE_SEEDS sets the number of seeds (default 100).
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <string>
#include <string_view>

#include "child_process.hpp"
#include "spindle/clone.hpp"
#include "spindle/green.hpp"
#include "spindle/mn.hpp"

namespace spindle_test {

// ASan and TSan cannot follow threads that glibc did not make (docs/09-clone-backend.md,
// docs/11-performance.md), so a sanitized build tests the green backend alone; the plain
// and valgrind builds test all three. The M:N backend's workers are such threads too
// (runtime/mn/README.md).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SPINDLE_TEST_BACKENDS spindle::green::backend
#else
#define SPINDLE_TEST_BACKENDS spindle::green::backend, spindle::clone::backend, spindle::mn::backend
#endif

template <class B>
constexpr bool is_green = B::name == std::string_view("green");
template <class B>
constexpr bool is_mn = B::name == std::string_view("mn");

inline int seeds() {
  const char* text = std::getenv("SPINDLE_SEEDS");
  int n = text ? std::atoi(text) : 100;
  return n > 0 ? n : 100;
}

// The green policy of one seeded run: the four deterministic policies once each (seeds 1
// to 4: repeating them would replay the same schedule), then the seeded ones in turn,
// random on odd seeds and lottery on even ones. Every policy is a correct scheduler, so
// every behaviour test must pass under each (docs/14-scheduling-policies.md).
inline const char* policy_of_seed(int seed) {
  static const char* const deterministic[] = {"priority", "aging", "stride", "mlfq"};
  if (seed >= 1 && seed <= 4) return deterministic[seed - 1];
  return seed % 2 ? "random" : "lottery";
}

// Runs body() under many schedules; see the file comment.
template <class B, class Body>
void under_many_schedules(Body body) {
  if constexpr (is_green<B>) {
    for (int seed = 1; seed <= seeds(); ++seed) {
      const char* policy = policy_of_seed(seed);
      INFO("green policy " << policy << ", seed " << seed
                           << " (replay: spindle::green::use_policy(spindle::green::make_policy(\""
                           << policy << "\", " << seed << ")))");
      spindle::green::use_policy(
          spindle::green::make_policy(policy, static_cast<std::uint64_t>(seed)));
      body();
    }
    spindle::green::use_fifo_policy();
  } else {
    constexpr int repeats = 20;
    for (int round = 0; round < repeats; ++round) body();
  }
}

}  // namespace spindle_test
