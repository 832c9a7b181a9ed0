// spindle/detail/choice.hpp — the random numbers select chooses among ready cases with.
//
// Concept: select is fair by choosing uniformly at random among the cases that are
// ready (spindle/select.hpp). The numbers come from a small generator per kernel thread,
// so the green threads of one scheduler draw from one sequence: seeded with the random
// policy's seed (green::use_random_policy calls seed_select), a test that fails under
// seed 17 chooses the same cases again under seed 17. Each kernel thread starts from a
// seed of its own.
// Explained in: docs/06-synchronisation.md (select). Read next: spindle/select.hpp.
#pragma once

#include <atomic>
#include <cstdint>

namespace spindle {
namespace detail {

inline constexpr std::uint64_t golden_gamma = 0x9e3779b97f4a7c15ULL;

// Each kernel thread's first seed: distinct, from a process-wide counter.
inline std::atomic<std::uint64_t> next_choice_seed{0x853c49e6748fea9bULL};

// The calling kernel thread's generator state (splitmix64: the whole state is one number).
inline thread_local std::uint64_t choice_state =
    next_choice_seed.fetch_add(golden_gamma, std::memory_order_relaxed);

// A uniformly distributed number below `bound` (> 0), from the calling kernel thread's
// generator. The modulo's bias is below bound / 2^64, far under what a test could see.
inline std::uint64_t choose_below(std::uint64_t bound) noexcept {
  std::uint64_t z = (choice_state += golden_gamma);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return (z ^ (z >> 31)) % bound;
}

}  // namespace detail

// Seeds the calling kernel thread's choices among ready select cases, so that a run can
// be replayed. green::use_random_policy(seed) calls it with the policy's seed.
inline void seed_select(std::uint64_t seed) noexcept { detail::choice_state = seed; }

}  // namespace spindle
