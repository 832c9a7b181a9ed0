// runtime/green/fifo_policy.cpp — the default policy: first in, first out.
//
// Concept: round robin. A thread that yields goes to the back of the run queue, so every
// runnable thread runs once before the yielder runs again. The run queue is the same
// intrusive list as a wait queue: no allocation, O(1) both ends.
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

}  // namespace spindle::green
