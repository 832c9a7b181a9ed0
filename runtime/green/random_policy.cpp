// runtime/green/random_policy.cpp — a seeded random policy, for tests.
//
// Concept: picking the next thread uniformly at random explores interleavings that FIFO
// never produces, and the same seed replays the same choices, so a test that fails under
// seed 17 fails again under seed 17. One kernel thread makes the rest deterministic.
// Explained in: docs/05-scheduler.md (policies). Read next: runtime/green/priority_policy.cpp.
#include <exception>
#include <vector>

#include "spindle/green/detail/record.hpp"
#include "spindle/green/policy.hpp"
#include "splitmix64.hpp"

namespace spindle::green {
namespace {

class random_policy final : public policy {
 public:
  explicit random_policy(std::uint64_t seed) : random_(seed) {}

  void awakened(detail::record* thread) noexcept override {
    try {
      ready_.push_back(thread);
    } catch (...) {
      std::terminate();  // out of memory while making a thread runnable: cannot continue
    }
  }

  detail::record* pick_next() noexcept override {
    if (ready_.empty()) return nullptr;
    std::size_t i = random_.next() % ready_.size();
    detail::record* picked = ready_[i];
    ready_[i] = ready_.back();
    ready_.pop_back();
    return picked;
  }

  bool has_ready() const noexcept override { return !ready_.empty(); }

 private:
  detail::splitmix64 random_;
  std::vector<detail::record*> ready_;
};

}  // namespace

std::unique_ptr<policy> make_random_policy(std::uint64_t seed) {
  return std::make_unique<random_policy>(seed);
}

}  // namespace spindle::green
