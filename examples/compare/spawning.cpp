// examples/compare/spawning.cpp — pthread_create, fork, vfork and posix_spawn, each with
// its wait.
//
// Concept: see spawning.hpp.
// Explained in: docs/12-comparisons.md (spawn cost).
// Read next: examples/compare/spawn_cost.cpp.
#include "spawning.hpp"

#include <pthread.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

extern char** environ;

namespace compare {
namespace {

// The child of vfork runs on the parent's stack and memory until it calls _exit, and
// may do nothing else; a function of its own keeps the caller's variables out of reach.
[[gnu::noinline]] pid_t vfork_a_child_that_exits() {
  pid_t pid = vfork();
  if (pid == 0) _exit(0);
  return pid;
}

}  // namespace

void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

void pthread_create_and_join() {
  pthread_t thread;
  int error = pthread_create(
      &thread, nullptr, [](void*) -> void* { return nullptr; }, nullptr);
  if (error != 0) throw std::system_error(error, std::generic_category(), "pthread_create");
  pthread_join(thread, nullptr);
}

void wait_for_child(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw_errno("waitpid");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("child process " + std::to_string(pid) +
                             " did not exit with status 0");
  }
}

void fork_and_wait() {
  pid_t pid = fork();
  if (pid < 0) throw_errno("fork");
  if (pid == 0) _exit(0);
  wait_for_child(pid);
}

void vfork_and_wait() {
  pid_t pid = vfork_a_child_that_exits();
  if (pid < 0) throw_errno("vfork");
  wait_for_child(pid);
}

void posix_spawn_and_wait() {
  char name[] = "true";
  char* arguments[] = {name, nullptr};
  pid_t pid;
  int error = posix_spawn(&pid, "/bin/true", nullptr, nullptr, arguments, environ);
  if (error != 0) throw std::system_error(error, std::generic_category(), "posix_spawn /bin/true");
  wait_for_child(pid);
}

}  // namespace compare
