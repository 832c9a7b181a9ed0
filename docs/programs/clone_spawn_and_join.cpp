// docs/programs/clone_spawn_and_join.cpp — the system calls behind spawn and join on
// the clone backend. The first spawn also runs the backend's one-time checks of glibc;
// the first thread's memory is mapped, the second thread reuses it.
// Shown in: docs/09-clone-backend.md. Regenerate the output: docs/programs/run_all.sh.
// Traced by run_all.sh: strace -f -e trace=clone,clone3,mmap,mprotect,futex,futex_waitv,write
#include <cstdio>

#include "spindle/clone.hpp"

int main() {
  std::printf("first spawn\n");
  std::fflush(stdout);
  spindle::clone::spawn([] { return 1; }).join();
  std::printf("second spawn\n");
  std::fflush(stdout);
  spindle::clone::spawn([] { return 2; }).join();
}
