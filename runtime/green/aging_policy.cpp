// runtime/green/aging_policy.cpp — priority with aging: waiting raises a thread's priority.
//
// Concept: strict priority (runtime/green/priority_policy.cpp) starves a low thread
// behind a high one that never blocks. Aging fixes it: while a thread waits in the run
// queue its priority rises, one level for every `picks_per_level` picks of other
// threads, so that however low it started it eventually outranks everyone and runs.
// When it has run, it starts again from its own priority. Age is counted in picks, not
// in nanoseconds: on one kernel thread the schedule then depends on the program alone,
// and a test can say exactly when the starved thread gets its turn.
//
// The rule needs no periodic sweep that raises everyone: all waiting threads age at the
// same rate, so "priority + (now - enqueued) / picks_per_level is the highest" picks the
// same thread as "enqueued - priority * picks_per_level is the lowest", a key that does
// not change while the thread waits. The run queue is a heap on that key (ties: first
// come, first served: runtime/green/ready_heap.hpp).
// Explained in: docs/14-scheduling-policies.md (aging). Read next:
// runtime/green/lottery_policy.cpp.
#include <cstdint>
#include <stdexcept>

#include "ready_heap.hpp"
#include "spindle/green/policy.hpp"

namespace spindle::green {
namespace {

class aging_policy final : public policy {
 public:
  explicit aging_policy(aging_options options) : picks_per_level_(options.picks_per_level) {}

  void awakened(detail::record* thread) noexcept override {
    ready_.push(picks_ - std::int64_t{thread->priority} * picks_per_level_, thread);
  }

  detail::record* pick_next() noexcept override {
    if (ready_.empty()) return nullptr;
    ++picks_;
    return ready_.pop().thread;
  }

  bool has_ready() const noexcept override { return !ready_.empty(); }

  std::string describe(const detail::record* thread) const override {
    std::string text = "priority " + std::to_string(thread->priority);
    for (const auto& e : ready_.entries()) {
      if (e.thread != thread) continue;
      std::int64_t age = picks_ - (e.key + std::int64_t{thread->priority} * picks_per_level_);
      text += ", aged " + std::to_string(age / picks_per_level_) + " levels";
    }
    return text;
  }

 private:
  const std::int64_t picks_per_level_;  // picks a waiting thread waits per level gained
  std::int64_t picks_ = 0;              // threads picked so far: the clock of age
  detail::ready_heap ready_;            // key: picks_ at arrival - priority * picks_per_level_
};

}  // namespace

std::unique_ptr<policy> make_aging_policy(aging_options options) {
  if (options.picks_per_level < 1) {
    throw std::invalid_argument(
        "spindle::green::make_aging_policy: picks_per_level must be at least 1");
  }
  return std::make_unique<aging_policy>(options);
}

}  // namespace spindle::green
