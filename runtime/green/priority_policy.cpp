// runtime/green/priority_policy.cpp — strict priority: the most important thread runs.
//
// Concept: every thread has a priority (spawn_options::priority, this_thread::
// set_priority), and the scheduler always runs a runnable thread of the highest priority;
// threads of equal priority take turns, first in first out. That is the rule of
// real-time schedulers (SCHED_FIFO) and its flaw is the lesson: a high thread that never
// blocks starves every lower one for ever. runtime/green/aging_policy.cpp is the fix.
// The structure is the Linux O(1) scheduler's: one FIFO queue per priority and a bitmap
// of the non-empty ones, so that a pick finds the highest non-empty queue with one
// count-leading-zeros per 64 priorities, and nothing is allocated.
// Explained in: docs/14-scheduling-policies.md (strict priority).
// Read next: runtime/green/aging_policy.cpp.
#include <array>
#include <bit>
#include <cstdint>

#include "spindle/green/policy.hpp"

namespace spindle::green {
namespace {

class priority_policy final : public policy {
 public:
  void awakened(detail::record* thread) noexcept override {
    int level = thread->priority - min_priority;  // 0 the lowest
    queues_[level].push_back(thread);
    nonempty_[level / 64] |= std::uint64_t{1} << (level % 64);
  }

  detail::record* pick_next() noexcept override {
    int level = highest_nonempty();
    if (level < 0) return nullptr;
    detail::record* picked = queues_[level].pop_front();
    if (queues_[level].empty()) nonempty_[level / 64] &= ~(std::uint64_t{1} << (level % 64));
    return picked;
  }

  bool has_ready() const noexcept override { return highest_nonempty() >= 0; }

  std::string describe(const detail::record* thread) const override {
    return "priority " + std::to_string(thread->priority);
  }

 private:
  static constexpr int levels = max_priority - min_priority + 1;
  static constexpr int words = (levels + 63) / 64;

  // The highest level with a runnable thread, or -1.
  int highest_nonempty() const noexcept {
    for (int w = words - 1; w >= 0; --w)
      if (nonempty_[w]) return w * 64 + 63 - std::countl_zero(nonempty_[w]);
    return -1;
  }

  std::array<detail::thread_queue, levels> queues_;  // runnable threads by priority
  std::array<std::uint64_t, words> nonempty_{};      // bit l: queues_[l] is not empty
};

}  // namespace

std::unique_ptr<policy> make_priority_policy() { return std::make_unique<priority_policy>(); }

}  // namespace spindle::green
