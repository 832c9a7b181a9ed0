// spindle/diagnostics.hpp — looking inside a running program without a debugger: the
// runtime's statistics, a dump of every thread, and a signal that asks for that dump.
//
// Concept: the runtime already knows each thread's name, state and what it waits on
// (the deadlock report prints them when nothing can run). These calls print the same
// facts on demand, and count what the scheduler does, at no cost on its hot paths: the
// counts are the ones it keeps anyway (hand-overs, parks) or one increment on a path
// that is slow already (a spawn, a timer firing, an epoll wait), and everything else is
// computed when asked, by walking the list of threads. Each backend defines them in its
// own diagnostics.cpp (runtime/green/, runtime/clone/).
// Explained in: docs/13-debugging.md. Read next: runtime/green/diagnostics.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

namespace spindle {

// A snapshot of one green scheduler (the calling kernel thread's), or of every clone
// thread. Counters a backend does not have are 0 (the clone backend does not switch or
// poll: the kernel does).
struct runtime_statistics {
  std::size_t threads_alive = 0;     // spawned and not finished (the root thread included)
  std::size_t threads_runnable = 0;  // green: in the run queue (the running one apart)
  std::size_t threads_blocked = 0;   // parked, for any reason (sleeping included)
  // Blocked threads by what they wait on ("mutex", "join", "sleep", "read", "channel
  // (receive)", ...), in the order first met.
  std::vector<std::pair<std::string, std::size_t>> blocked_by_kind;
  std::uint64_t switches = 0;          // green: hand-overs of the processor so far
  std::uint64_t spawns = 0;            // threads started so far
  std::uint64_t parks = 0;             // times a thread blocked so far
  std::uint64_t timer_wakeups = 0;     // green: threads woken by their deadline
  std::uint64_t io_wakeups = 0;        // green: descriptors found ready by the reactor
  std::size_t stack_bytes_in_use = 0;  // green: stacks of live threads and of the loop
  std::size_t stack_bytes_cached = 0;  // green: freed stacks kept for reuse, slabs' spare
  // Green, while the scheduler measures run times (green::measure_run_times, or a chosen
  // policy other than FIFO): the longest a thread held the processor without yielding or
  // blocking, in ns, and which thread; 0 when not measured.
  std::uint64_t longest_run_ns = 0;
  std::uint64_t longest_run_thread = 0;
};

// Writes the statistics as `name:value` lines, in spindle-kv's INFO manner.
void write_statistics(std::ostream& out, const runtime_statistics& stats);

namespace green {
// The calling kernel thread's scheduler (made if it has none yet).
runtime_statistics statistics();
// Writes each green thread of the calling kernel thread's scheduler: id, name, state,
// what it waits on, how many parks ago it parked, how long it has been in its state
// (while run times are measured), its place in the chosen policy, and its stack; then
// the statistics. The running thread is the caller.
void dump_threads(std::ostream& out);
// Makes the calling kernel thread's scheduler read the clock at every hand-over (on
// CLOCK_MONOTONIC through the vDSO), so that the statistics know the longest run and the
// dump each thread's time in its state; times in state count from when measuring
// began, the longest run from this call. Off by
// default: it sends every hand-over to the slow path (docs/14-scheduling-policies.md
// has the cost). A chosen policy other than FIFO measures run times anyway.
void measure_run_times(bool on = true);
// Makes signal `signo` (SIGQUIT by default, as Go and the JVM use it) print the green
// thread dump on standard error. The handler only counts the request; each scheduler
// prints its own dump from its loop, the next time it comes round: at once if it sleeps,
// within 64 switches if threads switch, never while one thread computes without
// yielding. No kernel thread is made. Throws std::invalid_argument for a signal that
// cannot be caught, std::system_error if the handler cannot be installed.
void enable_thread_dump_signal(int signo = 3 /* SIGQUIT */);
}  // namespace green

namespace clone {
// Every clone thread the runtime knows (spawned ones, and root threads that called it).
runtime_statistics statistics();
// Writes each clone thread: id, name, kernel tid, state, what it waits on; then the
// statistics. Takes the parking lot's lock while it reads.
void dump_threads(std::ostream& out);
// As green::enable_thread_dump_signal, for the clone threads: the handler writes a byte
// to a pipe, and a kernel thread made for the purpose (not a spindle thread: it never
// counts as alive for the deadlock detector) reads it and prints the dump. Both may be
// enabled, on the same signal: one signal then prints both dumps.
void enable_thread_dump_signal(int signo = 3 /* SIGQUIT */);
}  // namespace clone

namespace mn {
runtime_statistics statistics();
void dump_threads(std::ostream& out);
void enable_thread_dump_signal(int signo = 3 /* SIGQUIT */);
}  // namespace mn

}  // namespace spindle
