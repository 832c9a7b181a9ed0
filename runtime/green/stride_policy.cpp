// runtime/green/stride_policy.cpp — stride scheduling (Waldspurger, 1995; OSTEP
// chapter 9): lottery's deterministic counterpart.
//
// Concept: each thread has a stride, stride1 / tickets, and a pass that starts at the
// current global pass. The runnable thread with the lowest pass runs; when its run ends
// (a yield, a park: the cooperative quantum), its pass grows by its stride. A thread with
// twice the tickets has half the stride, so it must run twice as often to keep its pass
// level with the others: over any stretch of picks among the same runnable threads,
// each one's count of runs is within one of its ticket share, with no luck involved.
// A thread that blocked and comes back starts from the global pass (the pass of the last
// thread picked) if it is behind it, so that sleeping earns no credit to monopolise the
// processor with afterwards. Runs are charged per run, not per nanosecond, which keeps
// the schedule exact on one kernel thread; docs/14 has charging by time as an exercise.
// Explained in: docs/14-scheduling-policies.md (stride). Read next:
// runtime/green/mlfq_policy.cpp.
#include <algorithm>
#include <cstdint>

#include "ready_heap.hpp"
#include "spindle/green/policy.hpp"

namespace spindle::green {
namespace {

struct stride_data {
  std::int64_t pass;    // grows by stride with each run (2^33 runs of a 1-ticket thread fit)
  std::int64_t stride;  // stride1 / tickets; 0 until the thread first becomes runnable
};

class stride_policy final : public policy {
 public:
  // Large enough that 1 / tickets keeps three figures for max_tickets.
  static constexpr std::int64_t stride1 = std::int64_t{max_tickets} << 10;

  void awakened(detail::record* thread) noexcept override {
    stride_data& d = policy_data<stride_data>(thread);
    d.stride = stride1 / thread->tickets;
    d.pass = std::max(d.pass, global_pass_);
    ready_.push(d.pass, thread);
  }

  detail::record* pick_next() noexcept override {
    if (ready_.empty()) return nullptr;
    auto picked = ready_.pop();
    global_pass_ = picked.key;
    return picked.thread;
  }

  bool has_ready() const noexcept override { return !ready_.empty(); }

  void stopped(detail::record* thread, std::chrono::nanoseconds, stop_reason) noexcept override {
    stride_data& d = policy_data<stride_data>(thread);
    d.pass += d.stride;
  }

  std::string describe(const detail::record* thread) const override {
    const stride_data& d = policy_data<stride_data>(thread);
    return "pass " + std::to_string(d.pass) + ", stride " + std::to_string(d.stride);
  }

 private:
  std::int64_t global_pass_ = 0;  // the pass of the thread picked last
  detail::ready_heap ready_;      // key: the thread's pass when it became runnable
};

}  // namespace

std::unique_ptr<policy> make_stride_policy() { return std::make_unique<stride_policy>(); }

}  // namespace spindle::green
