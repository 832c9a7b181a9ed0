// runtime/green/policy.cpp — choosing the calling kernel thread's policy, by object or
// by name.
// Explained in: docs/05-scheduler.md (policies) and docs/14-scheduling-policies.md.
// Read next: runtime/green/thread.cpp.
#include "spindle/green/policy.hpp"

#include <stdexcept>
#include <string>

#include "scheduler.hpp"

namespace spindle::green {

const char* const policy_names = "fifo, random, priority, aging, lottery, stride, mlfq";

void use_policy(std::unique_ptr<policy> next) {
  detail::scheduler::here().use_policy(std::move(next));
}

std::unique_ptr<policy> make_policy(std::string_view name, std::uint64_t seed) {
  if (name == "fifo") return make_fifo_policy();
  if (name == "random") return make_random_policy(seed);
  if (name == "priority") return make_priority_policy();
  if (name == "aging") return make_aging_policy();
  if (name == "lottery") return make_lottery_policy(seed);
  if (name == "stride") return make_stride_policy();
  if (name == "mlfq") return make_mlfq_policy();
  throw std::invalid_argument("spindle::green::make_policy: no policy named \"" +
                              std::string(name) + "\"; the policies are " + policy_names);
}

}  // namespace spindle::green
