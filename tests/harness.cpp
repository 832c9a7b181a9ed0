// tests/harness.cpp — doctest's main and the child-process helper.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "harness.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

namespace spindle_test {

child_outcome run_in_child(void (*fn)()) {
  int pipe_ends[2];
  REQUIRE(pipe(pipe_ends) == 0);
  std::fflush(nullptr);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    dup2(pipe_ends[1], STDERR_FILENO);
    close(pipe_ends[0]);
    close(pipe_ends[1]);
    fn();
    std::fflush(nullptr);
    _exit(0);
  }
  close(pipe_ends[1]);
  child_outcome outcome{0, {}};
  char buffer[4096];
  for (ssize_t n; (n = read(pipe_ends[0], buffer, sizeof buffer)) > 0;) {
    outcome.errors.append(buffer, static_cast<std::size_t>(n));
  }
  close(pipe_ends[0]);
  waitpid(child, &outcome.status, 0);
  return outcome;
}

}  // namespace spindle_test
