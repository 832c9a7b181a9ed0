// runtime/mn/fork.cpp — what fork() leaves of the M:N backend in the child.
//
// Concept: POSIX gives the child of fork() one kernel thread, the caller's. The workers
// are gone, and with them every thread they ran or had queued; as on the clone backend
// (runtime/clone/thread.cpp), only the thread that called fork goes on, the others are
// marked as left in the parent (join says so: std::errc::no_such_process), and the
// child's next spawn starts workers again. A fork from an M:N thread keeps its worker:
// the child runs its threads on that one worker. The lot's lock is held across fork, so
// that the child does not copy it in the middle of a park or a wake.
// Explained in: docs/15-many-to-many.md and runtime/mn/README.md (fork). Read next:
// runtime/mn/lot.cpp.
#include <pthread.h>

#include <cstdio>
#include <cstdlib>

#include "lot.hpp"
#include "reactor.hpp"
#include "worker.hpp"

namespace spindle::mn::detail {

namespace {

// The forking thread's record, if the backend knows it: a root that used the backend,
// or the M:N thread a worker runs. Read without making a root.
record* forking_record() noexcept;

void prepare() noexcept { lot::instance().before_fork(); }
void in_parent() noexcept { lot::instance().after_fork_in_parent(); }
void in_child() noexcept {
  reactor::after_fork_in_child();
  detail::after_fork_in_child();
  lot::instance().after_fork_in_child(forking_record());
}

}  // namespace

void install_fork_handlers() noexcept {
  if (pthread_atfork(prepare, in_parent, in_child) != 0) {
    std::fputs("spindle: the M:N backend could not install its fork handlers\n", stderr);
    std::abort();
  }
}

namespace {
record* forking_record() noexcept {
  if (record* r = running_on_worker()) return r;
  return root_if_any();
}
}  // namespace

}  // namespace spindle::mn::detail
