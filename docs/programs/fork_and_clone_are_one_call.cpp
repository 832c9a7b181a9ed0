// docs/programs/fork_and_clone_are_one_call.cpp — fork, vfork, pthread_create and a
// spindle clone thread are one kernel function (kernel_clone) asked for different things:
// each is one system call, clone, clone3 or vfork, and only the flags differ. The program
// also asks the kernel for two combinations of flags that copy_process refuses (EINVAL).
// Shown in: docs/01-three-models.md (One kernel function: fork and clone). Regenerate the
// output: docs/programs/run_all.sh; the trace is compared with a fresh one by
// tests/kernel_clone_trace_test.py (SPINDLE_UPDATE_TRANSCRIPT=1 rewrites it).
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "spindle/clone.hpp"

namespace {

void say(const char* what) {
  std::printf("%s\n", what);
  std::fflush(stdout);  // before the call, so that the line is not copied into a child
}

// Asks the raw clone system call for `flags` with no stack of its own, as fork would.
// copy_process refuses both combinations below before it copies anything; were one
// accepted, the child would be a plain copy of this process, and leave at once.
void try_flags(const char* name, unsigned long flags) {
  long pid = syscall(SYS_clone, flags, nullptr, nullptr, nullptr, nullptr);
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid(static_cast<pid_t>(pid), nullptr, __WALL);
  std::printf("clone(%s): %s\n", name, pid < 0 ? std::strerror(errno) : "accepted");
  std::fflush(stdout);
}

void* nothing(void*) { return nullptr; }

}  // namespace

int main() {
  say("fork");
  pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);

  say("vfork");
  if (vfork() == 0) _exit(0);  // the parent resumes once the child has exited
  wait(nullptr);

  say("pthread_create");
  pthread_t thread;
  pthread_create(&thread, nullptr, nothing, nullptr);
  pthread_join(thread, nullptr);

  say("spindle::clone::spawn");
  spindle::clone::spawn([] {}).join();

  try_flags("CLONE_SIGHAND", CLONE_SIGHAND);  // handlers shared, memory not
  try_flags("CLONE_THREAD", CLONE_THREAD);    // one thread group, handlers not shared
}
