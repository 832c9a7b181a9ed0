// runtime/green/fifo_policy.cpp — the default policy: first in, first out.
//
// Concept: round robin. A thread that yields goes to the back of the run queue, so every
// runnable thread runs once before the yielder runs again. The run queue is the same
// intrusive list as a wait queue: no allocation, O(1) both ends. The scheduler keeps
// this rule itself, in its own run queue, so that a hand-over makes no indirect call
// (docs/05-scheduler.md, "the fast path"): use_policy recognises this class and drops it.
// Explained in: docs/05-scheduler.md (policies). Read next: runtime/green/random_policy.cpp.
#include "spindle/green/detail/record.hpp"
#include "spindle/green/policy.hpp"

namespace spindle::green {
namespace {

class fifo_policy final : public policy {
 public:
  void awakened(detail::record* thread) noexcept override { run_queue_.push_back(thread); }
  detail::record* pick_next() noexcept override { return run_queue_.pop_front(); }
  bool has_ready() const noexcept override { return !run_queue_.empty(); }

 private:
  detail::thread_queue run_queue_;
};

}  // namespace

std::unique_ptr<policy> make_fifo_policy() { return std::make_unique<fifo_policy>(); }

bool is_fifo_policy(const policy& p) noexcept { return dynamic_cast<const fifo_policy*>(&p); }

}  // namespace spindle::green
