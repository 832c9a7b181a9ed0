// runtime/green/policy.cpp — choosing the calling kernel thread's policy.
// Explained in: docs/05-scheduler.md (policies). Read next: runtime/green/thread.cpp.
#include "scheduler.hpp"
#include "spindle/green/policy.hpp"

namespace spindle::green {

void use_policy(std::unique_ptr<policy> next) {
  detail::scheduler::here().use_policy(std::move(next));
}

}  // namespace spindle::green
