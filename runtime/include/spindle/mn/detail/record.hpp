// spindle/mn/detail/record.hpp — what the M:N backend knows about one thread.
//
// Concept: an M:N thread is a green thread (a record, a stack and a saved context, as in
// spindle/green/detail/record.hpp) that any of N worker kernel threads may run, so
// everything that blocks or wakes it is shared between kernel threads: its state and
// wait-queue links are guarded by the backend's one parking-lot lock (runtime/mn/lot.hpp),
// its run-queue link by the lock of the run queue it is in. A kernel thread that is not a
// worker (the program's main thread, a std::thread) gets a root record when it first uses
// the backend; a root never runs on a worker: it sleeps on its own futex word.
//
//     spawn ──> runnable ──(a worker picks it)──> running ──(return)──> finished
//                  ^                                │  │
//                  │                                │  └──(yield)──> runnable
//                  └──(wake, timeout)── blocked <──(park)──┘
//
// Explained in: runtime/mn/README.md and docs/15-many-to-many.md.
// Read next: runtime/mn/lot.hpp.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "spindle/backend.hpp"
#include "spindle/detail/task.hpp"
#include "spindle/detail/thread_queue.hpp"
#include "spindle/detail/wait_reason.hpp"
#include "spindle/green/detail/record.hpp"
#include "spindle/local.hpp"

namespace spindle::mn {
class mutex;
}  // namespace spindle::mn

namespace spindle::mn::detail {

using clock = std::chrono::steady_clock;

enum class state : std::uint8_t { runnable, running, blocked, finished };

using wake_status = spindle::detail::wake_status;

struct record;
using thread_queue = spindle::detail::thread_queue<record>;
using wait_reason = spindle::detail::wait_reason<record>;

// The green backend's pieces that an M:N thread is made of.
using stack_span = green::detail::stack_span;
using context = green::detail::context;
using exception_state = green::detail::exception_state;

struct record {
  record() = default;
  record(const record&) = delete;
  record& operator=(const record&) = delete;
  virtual ~record() = default;

  // Runs the thread's function and stores its result or exception, on its own stack.
  virtual void run() noexcept {}

  // Identity: set by spawn (or when a root first uses the backend), then constant.
  std::uint64_t id = 0;
  std::string name;
  stack_span stack;   // empty for a root
  bool root = false;  // a kernel thread that is not a worker: parks on wake_word

  // Running: touched by the worker that runs the thread, handed on through a run queue.
  detail::context context = nullptr;  // where to resume; null while running or finished
  exception_state eh;                 // the C++ runtime's caught exceptions, while not running

  // Blocking: guarded by the parking lot's lock (runtime/mn/lot.cpp), and the run-queue
  // link `next` by the lock of the run queue holding it (a runnable thread is in no wait
  // queue, so the two uses of `next` never overlap).
  state st = state::runnable;
  wait_reason waiting_on;
  wake_status woke_by = wake_status::woken;
  bool counted = false;            // blocked with no deadline: counts for deadlock
  std::uint64_t park_number = 0;   // orders parks; the deadlock report fails the latest
  std::int64_t blocked_since = 0;  // CLOCK_MONOTONIC ns at the park, for the dump
  clock::time_point deadline{};    // when a timed park of a green thread times out
  bool timed = false;              // in the timer queue
  record* prev = nullptr;          // links in one wait queue; `next` also in a run queue
  record* next = nullptr;
  thread_queue* queue = nullptr;
  std::string deadlock_report;              // set when this thread is the one failed
  std::atomic<std::uint32_t> wake_word{0};  // a root's futex: 1 once woken
  // The mutex a thread waiting in condition_variable::wait will take again (wait
  // morphing, as on the clone backend: runtime/mn/condition_variable.cpp).
  mutex* relocks = nullptr;

  // Ownership: mutexes held, changed by the thread or by an unlock handing it one.
  std::uint32_t mutexes_held = 0;

  // Lifetime: guarded by the parking lot's lock.
  record* joiner = nullptr;  // parked in join() on this thread
  bool detached = false;
  // What escaped run(): join rethrows it; a detached thread's ends the program.
  std::exception_ptr error;
  bool left_in_parent = false;  // in a forked child: the thread did not cross fork()
  record* all_prev = nullptr;   // every live thread, for the deadlock report
  record* all_next = nullptr;

  // Thread-local storage (spindle/local.hpp): the slots travel with the record, so a
  // local<T> follows its thread from worker to worker.
  std::vector<local_slot> locals;
};

template <class R>
using result_record = spindle::detail::result_record<record, R>;
template <class R, class F, class... Args>
using task = spindle::detail::task<record, R, F, Args...>;

// Entry points into runtime/mn/thread.cpp, used by the templates in spindle/mn/thread.hpp.

// Starts the workers if they are not running yet, then maps a stack and returns where,
// at its top, a record of `bytes` bytes aligned to `align` goes. Throws as green's does.
void* reserve_stack(const spawn_options& options, std::size_t bytes, std::size_t align,
                    stack_span& stack);
void unreserve_stack(const stack_span& stack) noexcept;
// Makes a constructed record runnable on some worker. If it throws, it has destroyed the
// record and freed the stack.
void start(record* thread, const spawn_options& options, const stack_span& stack);
void wait_for_finish(record* thread);
void reap(record* thread) noexcept;
void detach(record* thread) noexcept;
[[noreturn]] void abandon_joinable(const record* thread) noexcept;
// The calling thread's record: the green thread a worker runs, or the caller's root
// record (made on first use). Never cached across a park: the caller may wake on
// another kernel thread (runtime/mn/README.md, "what migration breaks").
record* running();

}  // namespace spindle::mn::detail
