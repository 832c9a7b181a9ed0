// runtime/mn/worker.hpp — the worker kernel threads and their run queues.
//
// Concept: a worker is a kernel thread (made by runtime/clone/kernel_thread.hpp) whose
// one job is its scheduler loop (worker.cpp: worker::run): take a runnable thread from
// its own run queue, or steal half of another worker's; switch to it with green's
// context switch; when it switches back, finish what it asked for (requeue a yield,
// release the lot's lock after a park, wake the joiner after a finish). A worker with
// nothing to run sleeps on a futex until work appears; one of the sleepers waits with a
// timeout for the earliest timer.
// Explained in: docs/15-many-to-many.md and runtime/mn/README.md. Read next: runtime/mn/worker.cpp.
#pragma once

#include "spindle/mn/detail/record.hpp"

namespace spindle::mn::detail {

struct worker;

// Starts the workers, once: `requested` of them, or SPINDLE_MN_THREADS, or one per
// processor the process may use (0 means choose). Thread-safe. Throws as mn::start says.
void ensure_started(unsigned requested = 0);
unsigned worker_count() noexcept;

// The worker the calling kernel thread is, or nullptr on any other kernel thread. Read
// afresh from thread-local storage on every call (never inlined, so never cached by the
// compiler across a park after which the caller runs on another worker).
worker* current_worker() noexcept;
int index_of(const worker* w) noexcept;
// The green thread the calling worker runs, or nullptr off the workers.
record* running_on_worker() noexcept;

// What a green thread asks its worker's loop to do once its switch away has landed.
enum class after_switch : unsigned char {
  yielded,   // put it back on the run queue
  parked,    // release the lot's lock, which the thread holds
  finished,  // wake its joiner or free it if detached, then release the lot's lock
};
// Called by the running green thread, on its own stack: saves its context and switches
// to its worker's loop, which does `what`; returns when some worker runs it again.
// Never returns for `finished`.
void switch_to_loop(after_switch what);

// The first act of every thread, on its new stack: keeps the loop context it was
// started from (the jump's transfer), for its first switch away.
void started(context loop) noexcept;

// A thread becomes runnable (spawned or woken): it goes on the calling worker's run
// queue, or on one chosen in turn when the caller is not a worker, and a sleeping worker
// is woken if there is one. Callable with or without the lot's lock.
void make_runnable(record* r) noexcept;

// Called with the lot's lock held when a timer earlier than every other was set: the
// worker waiting for the earliest deadline must wait less.
void earliest_deadline_moved(clock::time_point deadline) noexcept;

// In a forked child, from the lot's fork handler: only the calling kernel thread exists,
// so the workers are forgotten but for it, if it is one, which goes on as the only worker
// with an empty run queue; if it is not, the next spawn starts new workers.
void after_fork_in_child() noexcept;

// Called with the lot's lock held when the first thread starts to wait for I/O: the
// sleeper that keeps time must sleep in the reactor from now on.
void io_wait_began() noexcept;

}  // namespace spindle::mn::detail
