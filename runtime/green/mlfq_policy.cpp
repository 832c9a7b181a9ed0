// runtime/green/mlfq_policy.cpp — the multi-level feedback queue, after OSTEP chapter 8.
//
// Concept: MLFQ learns which threads are interactive (short runs, then they block) and
// which are CPU hogs, from how long they run, and favours the first. Its rules, as OSTEP
// numbers them:
//   1. If A's level is above B's, A runs.      2. Equal levels take turns (round robin).
//   3. A new thread enters at the top level (0).
//   4. When a thread has used up its allotment at a level, however many times it gave
//      up the processor on the way, it moves down one level. (Counting the total time at
//      the level, not each run, is the fix for gaming: a thread that yields just before
//      each slice would otherwise stay on top for ever.)
//   5. Every boost_interval, every thread moves back to the top (so that hogs do not
//      starve, and a thread that turned interactive is noticed).
// The allotment doubles at each level down: lower levels hold the long runners and give
// them longer turns, as OSTEP's slices grow. On a cooperative scheduler a run lasts until
// the thread yields or blocks, so the allotment is what the levels enforce; a timer that
// takes the processor away at the end of a slice is preemption's business (docs/14).
// Time is the runs' time as the scheduler reports it (stopped), and the boost's clock is
// their sum: time spent idle, when nothing runs, does not count towards a boost.
// A boost moves the runnable threads at once; a blocked thread's data is brought up to
// date when it next becomes runnable or stops, by comparing its boost epoch with ours.
// Explained in: docs/14-scheduling-policies.md (MLFQ). Read next:
// runtime/green/thread.cpp.
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "spindle/green/policy.hpp"

namespace spindle::green {
namespace {

struct mlfq_data {
  std::int64_t used;    // ns run at the current level since the thread arrived there
  std::uint32_t epoch;  // the boost it has seen; behind the policy's: back to the top
  std::uint32_t level;  // 0 the top
};

class mlfq_policy final : public policy {
 public:
  explicit mlfq_policy(mlfq_options options)
      : queues_(options.levels),
        allotment_(std::chrono::nanoseconds(options.allotment).count()),
        boost_interval_(std::chrono::nanoseconds(options.boost_interval).count()),
        next_boost_(boost_interval_) {}

  void awakened(detail::record* thread) noexcept override {
    mlfq_data& d = current(thread);
    queues_[d.level].push_back(thread);
  }

  detail::record* pick_next() noexcept override {
    for (detail::thread_queue& q : queues_)
      if (detail::record* picked = q.pop_front()) return picked;
    return nullptr;
  }

  bool has_ready() const noexcept override {
    for (const detail::thread_queue& q : queues_)
      if (!q.empty()) return true;
    return false;
  }

  void stopped(detail::record* thread, std::chrono::nanoseconds ran,
               stop_reason) noexcept override {
    mlfq_data& d = current(thread);
    d.used += ran.count();
    if (d.used >= allotment_at(d.level) && d.level + 1 < queues_.size()) {  // rule 4
      ++d.level;
      d.used = 0;
    }
    run_time_ += ran.count();
    if (run_time_ >= next_boost_) boost();
  }

  std::string describe(const detail::record* thread) const override {
    mlfq_data d = policy_data<mlfq_data>(thread);
    if (d.epoch != epoch_) d = {0, epoch_, 0};
    return "mlfq level " + std::to_string(d.level) + " of " + std::to_string(queues_.size()) +
           ", " + std::to_string(d.used / 1000) + " of " +
           std::to_string(allotment_at(d.level) / 1000) + " us used";
  }

 private:
  std::int64_t allotment_at(std::uint32_t level) const noexcept { return allotment_ << level; }

  // The thread's data, moved to the top if a boost happened since it last looked; a
  // thread that was never seen has epoch 0, and epoch_ starts at 1: rule 3.
  mlfq_data& current(detail::record* thread) noexcept {
    mlfq_data& d = policy_data<mlfq_data>(thread);
    if (d.epoch != epoch_) d = {0, epoch_, 0};
    return d;
  }

  // Rule 5: every runnable thread joins the back of the top queue, in level order.
  void boost() noexcept {
    ++epoch_;
    next_boost_ = run_time_ + boost_interval_;
    for (std::size_t level = 1; level < queues_.size(); ++level) {
      while (detail::record* r = queues_[level].pop_front()) {
        policy_data<mlfq_data>(r) = {0, epoch_, 0};
        queues_[0].push_back(r);
      }
    }
  }

  std::vector<detail::thread_queue> queues_;  // runnable threads by level, 0 the top
  const std::int64_t allotment_;              // ns allowed at level 0; doubled per level
  const std::int64_t boost_interval_;         // ns of run time between boosts
  std::int64_t run_time_ = 0;                 // ns run by all threads so far
  std::int64_t next_boost_;                   // run_time_ at which the next boost comes
  std::uint32_t epoch_ = 1;                   // boosts so far, plus one
};

}  // namespace

std::unique_ptr<policy> make_mlfq_policy(mlfq_options options) {
  if (options.levels < 1 || options.levels > 16) {
    throw std::invalid_argument("spindle::green::make_mlfq_policy: levels must be 1 to 16");
  }
  if (options.allotment.count() <= 0 || options.boost_interval.count() <= 0) {
    throw std::invalid_argument(
        "spindle::green::make_mlfq_policy: allotment and boost_interval must be positive");
  }
  return std::make_unique<mlfq_policy>(options);
}

}  // namespace spindle::green
