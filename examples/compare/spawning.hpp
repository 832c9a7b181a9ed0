// examples/compare/spawning.hpp — the ways of starting a unit of execution and waiting
// for it to end, each as one function the comparisons time.
//
// Concept: a green or clone thread (spindle's spawn and join, written once over the
// backend concept), a pthread, and a child process made by fork, vfork or posix_spawn.
// Each child process _exits at once (posix_spawn's runs /bin/true), each thread returns
// at once: what is timed is the starting and the waiting, not the work.
// Explained in: docs/12-comparisons.md (spawn cost).
// Read next: examples/compare/spawning.cpp.
#pragma once

#include <sys/types.h>

#include "spindle/backend.hpp"

namespace compare {

// Spawns a thread of backend B that does nothing, and joins it.
template <spindle::backend B>
void spawn_and_join() {
  B::spawn([] {}).join();
}

// pthread_create of a thread that returns at once, then pthread_join.
// Throws std::system_error if pthread_create fails.
void pthread_create_and_join();

// fork, the child _exits, waitpid. Throws std::system_error if fork fails.
void fork_and_wait();

// vfork, the child _exits, waitpid. Throws std::system_error if vfork fails.
void vfork_and_wait();

// posix_spawn of /bin/true, waitpid. Throws std::system_error if posix_spawn fails.
void posix_spawn_and_wait();

// Waits for the child process `pid` to end. Throws std::runtime_error unless it exited
// with status 0, and std::system_error if waitpid fails.
void wait_for_child(pid_t pid);

// Throws std::system_error for errno, saying `what` failed.
[[noreturn]] void throw_errno(const char* what);

}  // namespace compare
