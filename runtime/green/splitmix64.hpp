// runtime/green/splitmix64.hpp — the seeded generator of the random and lottery policies.
//
// Concept: splitmix64 is a tiny, well-mixed generator whose whole state is one number, so
// that a policy seeded with 17 makes the same draws each time it is seeded with 17.
// Explained in: docs/05-scheduler.md (policies). Read next: runtime/green/random_policy.cpp.
#pragma once

#include <cstdint>

namespace spindle::green::detail {

class splitmix64 {
 public:
  explicit splitmix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t state_;
};

}  // namespace spindle::green::detail
