// docs/programs/clone_thread_anatomy.cpp — what a clone thread is made of: a kernel
// task of its own (same process id, its own thread id), a thread pointer of its own (glibc's
// struct pthread, which pthread_self() returns), and thread-local storage (errno, a
// thread_local variable) found at the same offsets below that pointer in every thread.
// Shown in: docs/09-clone-backend.md. Regenerate the output: docs/programs/run_all.sh.
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>

#include "spindle/clone.hpp"

thread_local int calls = 0;

// Sets errno and a thread_local to `mine`, waits until every thread has set its own,
// then reports what it reads back and where those variables live.
std::string look(const char* who, int mine, spindle::clone::latch& all_set) {
  errno = mine;
  calls = mine;
  all_set.arrive_and_wait();
  int on_stack = 0;
  auto tp = static_cast<std::intptr_t>(pthread_self());  // the thread pointer
  auto offset = [tp](const void* p) { return reinterpret_cast<std::intptr_t>(p) - tp; };
  char line[256];
  std::snprintf(line, sizeof line,
                "%-4s pid %d tid %d  errno %d at tp%+ld  calls %d at tp%+ld"
                "  stack at tp%+ld",
                who, getpid(), gettid(), errno, static_cast<long>(offset(&errno)), calls,
                static_cast<long>(offset(&calls)), static_cast<long>(offset(&on_stack)));
  return line;
}

int main() {
  spindle::clone::latch all_set(3);
  auto a = spindle::clone::spawn({.name = "a"}, look, "a", 11, std::ref(all_set));
  auto b = spindle::clone::spawn({.name = "b"}, look, "b", 22, std::ref(all_set));
  std::string mine = look("main", 33, all_set);
  std::printf("%s\n%s\n%s\n", mine.c_str(), a.join().c_str(), b.join().c_str());
}
