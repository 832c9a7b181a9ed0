// docs/answers/claim.hpp — how an answer program states what it claims: claim(holds,
// what) prints "claim holds: what" or "CLAIM FAILED: what" and remembers a failure;
// main returns claims_failed() so that the test running the program (meson's suite
// 'answers') fails when any claim of the answer does not hold on this machine.
// Explained in: docs/appendix-answers.md. Read next: any docs/answers/*.cpp.
#pragma once

#include <cstdio>
#include <string>

namespace answer {

inline int& failures() {
  static int count = 0;
  return count;
}

// Prints the claim and whether it holds; returns `holds`.
inline bool claim(bool holds, const std::string& what) {
  std::printf("%s: %s\n", holds ? "claim holds" : "CLAIM FAILED", what.c_str());
  std::fflush(stdout);
  if (!holds) ++failures();
  return holds;
}

// The exit status of an answer program: 0 if every claim held, 1 otherwise.
inline int claims_failed() { return failures() == 0 ? 0 : 1; }

}  // namespace answer
