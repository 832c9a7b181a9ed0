// runtime/common/scheduling_attributes.cpp — the ranges of a thread's scheduling
// attributes (spawn_options::priority and ::tickets), checked alike by both backends.
// Explained in: docs/14-scheduling-policies.md (attributes). Read next:
// runtime/include/spindle/green/policy.hpp.
#include <stdexcept>
#include <string>

#include "spindle/backend.hpp"

namespace spindle::detail {

void check_priority(int priority, const char* who) {
  if (priority < min_priority || priority > max_priority) {
    throw std::invalid_argument(std::string(who) + ": priority " + std::to_string(priority) +
                                " is outside [" + std::to_string(min_priority) + ", " +
                                std::to_string(max_priority) + "]");
  }
}

void check_tickets(std::uint32_t tickets, const char* who) {
  if (tickets < 1 || tickets > max_tickets) {
    throw std::invalid_argument(std::string(who) + ": tickets " + std::to_string(tickets) +
                                " is outside [1, " + std::to_string(max_tickets) + "]");
  }
}

}  // namespace spindle::detail
