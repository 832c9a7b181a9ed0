// spindle/green/detail/record.hpp — the thread record: everything the green runtime
// knows about one green thread.
//
// Concept: a green thread is a record plus a stack plus a saved context. The record
// lives at the top of the thread's own stack (one mapping, no malloc per spawn), so it
// outlives the thread's code and is freed with the stack when the thread is joined or,
// if detached, reaped by the scheduler.
// Explained in: docs/03-context-switch.md and docs/05-scheduler.md.
// Read next: runtime/green/scheduler.hpp (the scheduler that moves records between
// states), then spindle/green/thread.hpp (the handle users hold).
//
// The states (docs/00-glossary.md has them too):
//
//     spawn ──> runnable ──(picked)──> running ──(return)──> finished ──(join/reap)──> freed
//                  ^                     │  │
//                  │                     │  └──(yield)──> runnable
//                  └──(wake, timeout)── blocked <──(park)──┘
#pragma once

#include <boost/context/detail/fcontext.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "spindle/backend.hpp"
#include "spindle/detail/task.hpp"
#include "spindle/detail/thread_queue.hpp"
#include "spindle/detail/wait_reason.hpp"
#include "spindle/local.hpp"

namespace spindle::green::detail {

using clock = std::chrono::steady_clock;

enum class state : std::uint8_t { runnable, running, blocked, finished };

using wake_status = spindle::detail::wake_status;

class scheduler;
struct record;
using thread_queue = spindle::detail::thread_queue<record>;

using wait_reason = spindle::detail::wait_reason<record>;

// Where a suspended thread continues: the stack pointer at which Boost.Context's
// jump_fcontext saved its registers (docs/03-context-switch.md). Valid for one switch.
using context = boost::context::detail::fcontext_t;

// A thread's stack: [low, low + size) is usable; [low - guard, low) is the guard.
struct stack_span {
  void* low = nullptr;       // the lowest usable byte; the stack grows down towards it
  std::size_t size = 0;      // usable bytes, whole pages
  std::size_t guard = 0;     // PROT_NONE bytes just below low: one page, or 0 if pooled
  unsigned valgrind_id = 0;  // VALGRIND_STACK_REGISTER's answer, for DEREGISTER
  std::byte* high() const noexcept { return static_cast<std::byte*>(low) + size; }
};

// The C++ runtime's per-kernel-thread exception state (the Itanium ABI's
// __cxa_eh_globals), saved per green thread so that a thread that parks inside a catch
// block finds its own caught exception when it resumes.
struct exception_state {
  void* caught = nullptr;
  unsigned int uncaught = 0;
};

struct record {
  record() = default;
  record(const record&) = delete;
  record& operator=(const record&) = delete;
  virtual ~record() = default;

  // Runs the thread's function and stores its result or exception. Called once, on the
  // thread's own stack, by the entry function in runtime/green/thread.cpp.
  virtual void run() noexcept {}

  // Identity: set by spawn, then constant.
  std::uint64_t id = 0;
  std::string name;
  stack_span stack;  // empty for the root thread (the kernel stack)

  // Scheduling: owned by the scheduler of the kernel thread that spawned this thread.
  scheduler* home = nullptr;  // that scheduler; threads never move
  state st = state::runnable;
  detail::context context = nullptr;  // where to resume; null while running or finished
  exception_state eh;                 // saved while not running
  record* prev = nullptr;             // links in the run queue or in one wait queue
  record* next = nullptr;
  thread_queue* queue = nullptr;  // the run or wait queue holding this record, if any

  // Scheduling attributes: set by spawn (spawn_options), changed by set_priority and
  // set_tickets (spindle/green/thread.hpp); read by the policies that rank or share.
  std::int32_t priority = 0;    // higher runs first (priority, aging, MLFQ's start)
  std::uint32_t tickets = 100;  // a share, in proportion to others' (lottery, stride)
  // The chosen policy's own per-thread data (spindle/green/policy.hpp: policy_data), so
  // that a policy needs no side table. Zeroed by the scheduler when the thread is spawned
  // under a policy and when a policy is chosen; left as it is under the built-in FIFO,
  // which never reads it, so that a spawn pays nothing for it. Words, not bytes: a char
  // array would tell the compiler that a store into any record may change any memory,
  // and the wake path reloaded two links after each store (2 instructions, counted).
  static constexpr std::size_t policy_area_size = 32;
  std::uint64_t policy_area[policy_area_size / 8];
  // While the scheduler measures runs (docs/14-scheduling-policies.md): when, on its
  // clock (CLOCK_MONOTONIC, ns), this thread entered its state. Unset otherwise.
  std::int64_t state_since;

  // Blocking: valid while st == blocked.
  wait_reason waiting_on;
  wake_status woke_by = wake_status::woken;
  std::uint64_t park_number = 0;      // orders parks; the deadlock report fails the latest
  clock::time_point deadline{};       // when a timed park times out
  std::size_t timer_slot = no_timer;  // index in the timer queue, or no_timer
  static constexpr std::size_t no_timer = ~std::size_t{0};

  // Ownership: how many mutexes this thread holds, counted by whoever gives or takes one
  // (runtime/green/mutex.cpp). A thread that finishes with a count leaves its name to
  // the deadlock report (runtime/common/finished_owners.hpp).
  std::uint32_t mutexes_held = 0;

  // Lifetime: who frees the record and its stack, and who receives its exception.
  record* joiner = nullptr;  // parked in join() on this thread
  bool detached = false;
  // What escaped run(): join rethrows it; if the thread is detached, it ends the
  // program (runtime/common/escaped_exception.hpp).
  std::exception_ptr error;

  // All live records of one scheduler, for the deadlock report and teardown.
  record* all_prev = nullptr;
  record* all_next = nullptr;

  // Thread-local storage (spindle/local.hpp): slot i belongs to key i.
  std::vector<local_slot> locals;
};

template <class R>
using result_record = spindle::detail::result_record<record, R>;
template <class R, class F, class... Args>
using task = spindle::detail::task<record, R, F, Args...>;

// Entry points into runtime/green/thread.cpp, used by the templates in thread.hpp.

// Maps a stack for a new thread and returns where, at its top, a record of `bytes`
// bytes aligned to `align` goes. Throws std::system_error when no stack can be mapped.
void* reserve_stack(const spawn_options& options, std::size_t bytes, std::size_t align,
                    stack_span& stack);
// Gives back a stack reserved but never started (the record's constructor threw).
void unreserve_stack(const stack_span& stack) noexcept;
// Makes a constructed record runnable. Does not switch: the spawner keeps running.
// If it throws, it has destroyed the record and freed the stack.
void start(record* thread, const spawn_options& options, const stack_span& stack);
// Parks the caller until `thread` has finished. Throws if the caller is `thread`.
void wait_for_finish(record* thread);
// Frees a finished record and its stack. Precondition: nobody will touch it again.
void reap(record* thread) noexcept;
// Marks the thread detached; frees it at once if it has already finished.
void detach(record* thread) noexcept;
// Called by a thread handle destroyed while joinable: prints who, then terminates.
[[noreturn]] void abandon_joinable(const record* thread) noexcept;
// The record of the running green thread (creating the scheduler on first use).
record* running();

}  // namespace spindle::green::detail
