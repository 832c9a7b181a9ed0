// tests/runaway_recursion.hpp — a recursion the compiler cannot shorten, for the tests
// that overflow a stack on purpose (tests/green_overflow_test.cpp, tests/overflow_test.cpp).
// Explained in: docs/04-stacks.md (what an overflow looks like).
#pragma once

#include <climits>
#include <string>

#include "child_process.hpp"

namespace spindle_test {

// Read at run time, so the compiler cannot see where the recursion ends.
inline volatile int recursion_limit = INT_MAX;

// Each call keeps half a kilobyte alive and hands its address down, and uses it after
// the inner call returns: no tail call, no loop, a new frame per level.
[[gnu::noinline]] inline int descend(int depth, volatile char* caller_frame) {
  volatile char frame[512];
  frame[0] = static_cast<char>(caller_frame[0] + 1);
  if (depth == recursion_limit) return frame[0];
  return descend(depth + 1, frame) + frame[1];
}

// The value a child printed on stdout as "id=<value>", or an empty string.
inline std::string printed_id(const child_outcome& outcome) {
  std::size_t at = outcome.out.find("id=");
  if (at == std::string::npos) return {};
  return outcome.out.substr(at + 3, outcome.out.find('\n', at) - at - 3);
}

}  // namespace spindle_test
