// runtime/green/lottery_policy.cpp — lottery scheduling (Waldspurger and Weihl, 1994;
// OSTEP chapter 9).
//
// Concept: each thread holds tickets (spawn_options::tickets, this_thread::set_tickets),
// and each pick is a lottery: draw a number below the total of the runnable threads'
// tickets and walk the list until the running sum passes it. A thread with twice the
// tickets wins twice as often, on average: shares are right in expectation, and only
// over many picks (over a few, luck shows: docs/14's exercise). The draws come from a
// seeded splitmix64, so the same seed replays the same schedule, as the random policy
// does. A thread's tickets are read when it becomes runnable and kept in its policy
// data, so that a set_tickets while it waits cannot unbalance the total.
// Explained in: docs/14-scheduling-policies.md (lottery). Read next:
// runtime/green/stride_policy.cpp.
#include <cstdint>
#include <exception>
#include <vector>

#include "spindle/green/policy.hpp"
#include "splitmix64.hpp"

namespace spindle::green {
namespace {

struct lottery_data {
  std::uint32_t tickets;  // held in the current lottery
};

class lottery_policy final : public policy {
 public:
  explicit lottery_policy(std::uint64_t seed) : random_(seed) {}

  void awakened(detail::record* thread) noexcept override {
    policy_data<lottery_data>(thread).tickets = thread->tickets;
    try {
      ready_.push_back(thread);
    } catch (...) {
      std::terminate();  // out of memory while making a thread runnable: cannot continue
    }
    total_ += thread->tickets;
  }

  detail::record* pick_next() noexcept override {
    if (ready_.empty()) return nullptr;
    std::uint64_t winner = random_.next() % total_;
    std::size_t i = 0;
    for (std::uint64_t sum = tickets_of(ready_[0]); sum <= winner; sum += tickets_of(ready_[++i])) {
    }
    detail::record* picked = ready_[i];
    total_ -= tickets_of(picked);
    ready_[i] = ready_.back();
    ready_.pop_back();
    return picked;
  }

  bool has_ready() const noexcept override { return !ready_.empty(); }

  std::string describe(const detail::record* thread) const override {
    return std::to_string(thread->tickets) + " tickets";
  }

 private:
  static std::uint64_t tickets_of(const detail::record* r) noexcept {
    return policy_data<lottery_data>(r).tickets;
  }

  detail::splitmix64 random_;
  std::vector<detail::record*> ready_;  // the runnable threads, in no order that matters
  std::uint64_t total_ = 0;             // their tickets
};

}  // namespace

std::unique_ptr<policy> make_lottery_policy(std::uint64_t seed) {
  return std::make_unique<lottery_policy>(seed);
}

}  // namespace spindle::green
