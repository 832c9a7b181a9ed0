// runtime/green/scheduler.hpp — the green scheduler of one kernel thread.
//
// Concept: the scheduler owns every green thread spawned on its kernel thread and moves
// each between the four states (runnable, running, blocked, finished). It has a run
// queue (inside the policy), a timer queue, and its own context and stack on which the
// scheduler loop runs when no thread is runnable. Threads never migrate between kernel
// threads: a kernel thread that uses the green API gets a scheduler of its own.
// Explained in: docs/05-scheduler.md. Read next: runtime/green/scheduler.cpp, where
// scheduler::run is the loop.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "../common/finished_owners.hpp"
#include "../common/run_clock.hpp"
#include "context.hpp"
#include "preemption.hpp"
#include "reactor.hpp"
#include "spindle/detail/thread_queue.hpp"
#include "spindle/diagnostics.hpp"
#include "spindle/green/detail/record.hpp"
#include "spindle/green/policy.hpp"
#include "timer_queue.hpp"
#include "tracer.hpp"
#include "watchdog.hpp"

namespace spindle::green::detail {

class scheduler;
class inbox;

// The clock of run times (runtime/common/run_clock.hpp: why CLOCK_MONOTONIC).
using spindle::detail::clock_ns;

// The scheduler's own run queue: first in, first out, singly linked through the records'
// `next` field. A wait queue (thread_queue) is doubly linked because a thread leaves it
// from anywhere (woken, timed out); a runnable thread only ever leaves from the front,
// so one link and no owner pointer do, and each end costs a few stores.
class run_queue {
 public:
  bool empty() const noexcept { return head_ == nullptr; }
  void push_back(record* r) noexcept {
    r->next = nullptr;
    (head_ ? tail_->next : head_) = r;
    tail_ = r;
  }
  // tail_ is left behind when the queue empties: push_back looks at head_ first.
  record* pop_front() noexcept {
    record* r = head_;
    if (r) head_ = r->next;
    return r;
  }

 private:
  record* head_ = nullptr;
  record* tail_ = nullptr;
};

// The calling kernel thread's scheduler, or nullptr before its first green call. Read on
// every green call, so it is one load from static TLS: constinit tells other files that
// it needs no dynamic initialisation (no TLS wrapper call), initial-exec that it sits at
// a fixed offset from the thread pointer. Set by scheduler::make_here.
[[gnu::tls_model("initial-exec")]] extern constinit thread_local scheduler* current_scheduler;

// Every scheduler of the process, linked by scheduler::listed_next_, guarded by a lock of
// runtime/green/lifetime.cpp. Kept for the tools that look from outside: the gdb
// extension (runtime/gdb/spindle-gdb.py) starts here, in a live process or a core file,
// since another kernel thread's current_scheduler is hard to read without running code.
extern scheduler* all_schedulers;

class scheduler {
 public:
  // The calling kernel thread's scheduler, made on first use; the caller becomes the
  // root thread ("main" on the process's first thread).
  static scheduler& here() {
    if (scheduler* s = current_scheduler) [[likely]]
      return *s;
    return make_here();
  }
  // The calling kernel thread's scheduler, or nullptr if it has none yet. Never makes
  // one; async-signal-safe (one load from static TLS), for the overflow handler.
  static scheduler* here_if_any() noexcept;

  scheduler();
  ~scheduler();
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;

  record* running() const noexcept { return running_; }
  // The stack the running thread runs on, where the switch hooks need it.
  const stack_span& running_stack() const noexcept { return stack_of(running_); }

  // The kernel thread id of the live scheduler at `home`, or 0 if none is there (its
  // kernel thread has exited). Callable from any thread; takes the list's lock.
  static long kernel_tid_of(const void* home) noexcept;

  // Frees the scheduler of an exiting kernel thread if only its root thread is left.
  static void retire(scheduler* s) noexcept;

  // --- The verbs. Each is called by the running thread, on its own stack. ---

  // A new thread, its id already given (new_thread_id), enters: it joins the list of live
  // threads and the run queue. Does not switch.
  void admit(record* fresh) noexcept;
  // An id no other thread of the process has had: the next of this scheduler's block of
  // ids, which it takes from the process-wide counter ids_per_block at a time, so that
  // a spawn pays no atomic read-modify-write (runtime/green/lifetime.cpp).
  std::uint64_t new_thread_id() noexcept {
    if (next_id_ == ids_end_) [[unlikely]]
      take_ids();
    return next_id_++;
  }
  // running -> runnable, then switch to the next thread; returns when picked again.
  // Inline (below the class), so that this_thread::yield is this and the switch.
  inline void yield();
  // yield, for a thread whose time slice is spent (runtime/green/preemption.cpp): called
  // by the preemption handler at a safe point, on the thread's stack, or when a
  // no_preemption section ends. Fires expired timers and polls I/O first, so that the
  // threads they wake run before the preempted one; returns when it is picked again.
  void preempt();
  // running -> blocked, linked in `queue` if not null, until wake(). Throws
  // deadlock_error if the deadlock detector picks this thread to report.
  void park(thread_queue* queue, const wait_reason& why);
  // As park, but also wakes at `deadline`. Returns false when the deadline passed.
  bool park_until(clock::time_point deadline, thread_queue* queue, const wait_reason& why);
  // blocked -> runnable: unlinks it from its wait queue and the timer queue. Never
  // switches, so a waker may wake many threads before it blocks or yields.
  void wake(record* blocked) noexcept { wake(blocked, wake_status::woken); }

  // --- Thread entry and exit, in runtime/green/thread.cpp's entry function. ---

  // First act of every context that starts running, on its new stack: tells the switch
  // hooks it has landed.
  static void started() noexcept;
  // Last act of a finishing thread: running -> finished, wake the joiner, and switch to
  // the next thread; never returns. The thread's stack stays alive until reap(). A thread
  // that still holds a mutex leaves its name in finished_owners_ for the deadlock report.
  [[noreturn]] void finish_running() noexcept;
  // Frees a finished thread's record and stack. Never called on the stack being freed.
  void reap(record* finished) noexcept;

  void use_policy(std::unique_ptr<policy> next);
  // The live thread with this id, or nullptr: a walk of all_, for set_priority.
  record* find(std::uint64_t id) noexcept;
  const policy* chosen_policy() const noexcept { return policy_.get(); }

  // Run times (docs/14-scheduling-policies.md, "what the interface tells the policy"):
  // measured while a policy is chosen or measure_run_times asked for them.
  void measure_run_times(bool on) noexcept;
  bool measuring() const noexcept { return measuring_; }

  // Tracing (spindle/green/trace.hpp, runtime/green/trace.cpp).
  void start_trace(std::size_t capacity);
  void stop_trace() noexcept;
  const tracer* trace_log() const noexcept { return tracer_.get(); }

  // The reactor of this kernel thread, for spindle's I/O calls (runtime/green/io.cpp).
  detail::reactor& io() noexcept { return reactor_; }

  // The inbox other kernel threads post to (runtime/green/remote.cpp), made on first use
  // with its eventfd, which the reactor then watches. Throws std::system_error if the
  // eventfd cannot be made.
  std::shared_ptr<inbox> remote_inbox();

  // The thread whose stack has its guard page at `address`, or nullptr. Called by the
  // SIGSEGV handler (runtime/green/overflow.cpp) on the alternate signal stack: it only
  // reads, and allocates nothing.
  const record* owner_of_guard(const void* address) const noexcept;

  // --- What the watchdog (runtime/green/watchdog.cpp) samples from its signal handler,
  // which interrupts this kernel thread anywhere: they only read, async-signal-safe. ---

  // Hand-overs so far: a stalled scheduler's count stands still.
  std::uint64_t handovers() const noexcept { return handovers_ - budget_; }
  // Whether the loop sleeps in its own wait for timers and I/O (wait_for_events).
  bool idle() const noexcept { return idle_.load(std::memory_order_relaxed); }
  // Whether the root thread is the only live thread (it is always last in all_).
  bool only_root_alive() const noexcept { return all_ == &root_; }
  bool is_loop(const record* r) const noexcept { return r == &loop_; }
  // Whether a thread other than the running one would run if the scheduler got the
  // processor: one is runnable, or waits for a deadline or a descriptor.
  bool others_could_run() const noexcept {
    return (policy_ ? policy_->has_ready() : !run_queue_.empty()) || !timers_.empty() ||
           reactor_.has_waiters();
  }
  detail::watchdog& watchdog_state() noexcept { return watchdog_; }
  detail::preemption& preemption_state() noexcept { return preemption_; }

  // --- Diagnostics (spindle/diagnostics.hpp, runtime/green/diagnostics.cpp), on the
  // scheduler's own kernel thread. ---
  runtime_statistics statistics() const;
  void dump(std::ostream& out) const;
  std::int64_t time_in_state(const record* r, std::int64_t now) const noexcept;

 private:
  // Records an event while tracing; otherwise one load and one predicted branch.
  void note(event_kind kind, const record* r, const char* what = nullptr,
            std::uint64_t argument = 0) noexcept {
    if (tracing_) [[unlikely]]
      tracer_->add(kind, r->id, what, argument);
  }
  void note_spawn(const record* fresh) noexcept;
  [[gnu::cold, gnu::noinline]] void answer_dump_request() noexcept;
  static scheduler& make_here();
  [[gnu::noinline]] void take_ids() noexcept;
  void run();
  static void loop_entry() noexcept;
  [[noreturn]] void leave_scheduler() noexcept;
  [[noreturn]] void last_switch(record* next) noexcept;
  void switch_to(record* next);
  [[gnu::cold, gnu::noinline]] void traced_switch_to(record* next);
  // The switch itself, without the trace check: for callers that passed the gate of
  // next_to_run, which is closed while tracing.
  void jump_to(record* self, record* next);
  void switch_after_block(const char* what);
  [[gnu::cold, gnu::noinline]] void switch_after_block_on_slow_path(const char* what);
  record* next_to_run() noexcept;
  record* next_on_slow_path() noexcept;
  [[gnu::cold, gnu::noinline]] void yield_on_slow_path();
  // The run queue's two verbs: the built-in FIFO's, or the policy's when one was chosen.
  // A policy's code may be the program's, which the preemption handler would take for a
  // safe point: its calls are a no-preemption section.
  void make_runnable(record* r) noexcept {
    if (policy_) [[unlikely]]
      return awakened_by_policy(r);
    run_queue_.push_back(r);
  }
  record* pick_runnable() noexcept {
    if (policy_) [[unlikely]]
      return picked_by_policy();
    return run_queue_.pop_front();
  }
  void awakened_by_policy(record* r) noexcept {
    preemption_.hold();
    policy_->awakened(r);
    preemption_.release();
  }
  record* picked_by_policy() noexcept {
    preemption_.hold();
    record* next = policy_->pick_next();
    preemption_.release();
    return next;
  }
  // The gate's test: false when the budget is spent and the slow path must be taken.
  bool spend_budget() noexcept { return --budget_ != 0; }
  void refill_budget() noexcept;
  void update_gate() noexcept;
  void update_measuring() noexcept;
  // The running thread stops for `why`: with run times measured, charges the run to it,
  // stamps its state change, and tells the policy (before the policy sees it awakened).
  void account_stop(stop_reason why) noexcept;
  // A run starts now: with run times measured, the loop has picked a thread.
  void account_start() noexcept;
  [[gnu::cold, gnu::noinline]] void admit_on_slow_path(record* fresh) noexcept;
  [[gnu::cold, gnu::noinline]] record* next_after_finish_on_slow_path() noexcept;
  [[gnu::always_inline]] inline void block(thread_queue* queue, const wait_reason& why) noexcept;
  [[gnu::always_inline]] inline void throw_if_deadlocked(const record* self);
  [[noreturn, gnu::cold, gnu::noinline]] void throw_deadlock_report();
  void wake(record* blocked, wake_status why) noexcept;
  [[gnu::noinline]] void wake_on_slow_path(record* woken, wake_status why) noexcept;
  void fire_expired_timers() noexcept;
  void reap_finished() noexcept;
  void drain_inbox() noexcept;
  // Whether a handle or remote_event could still bring work from another kernel thread.
  bool remote_ends_open() const noexcept;
  void poll_io() noexcept;
  void wait_for_events() noexcept;
  void fail_one_deadlocked_thread();
  void remember_finished_owner(const record* finished) noexcept;
  std::string describe_deadlock(const record* failed) const;
  void link(record* r) noexcept;
  void unlink(record* r) noexcept;
  void swap_exceptions(record* from, const record* to) noexcept;
  void load_exceptions(const record* r) noexcept;
  // The stack `r` runs on, as the switch hooks need it (runtime/green/switch_hooks.hpp).
  const stack_span& stack_of(const record* r) const noexcept {
    return r == &root_ ? root_stack_ : r->stack;
  }

  // Every switches_per_round-th hand-over goes through the loop, to fire timers and reap,
  // even when another thread is runnable (docs/05-scheduler.md, "the fast path").
  static constexpr unsigned switches_per_round = 64;
  static_assert((switches_per_round & (switches_per_round - 1)) == 0, "a power of two");

  // Who runs: changed only by the switching functions of runtime/green/context.cpp.
  record* running_;                      // the thread whose code is executing now
  context abandoned_context_ = nullptr;  // where a finishing context's last jump leaves it
  // The hand-overs so far are handovers_ - budget_ (handovers()): the watchdog's measure
  // of progress. The fast path only counts budget_ down, one instruction and a branch.
  std::uint64_t handovers_ = switches_per_round;  // credited a whole budget at each refill
  std::uint64_t budget_ = switches_per_round;     // fast hand-overs left, then the slow path
  bool gate_closed_ = false;  // the gate: keeps budget_ at one, so that every hand-over
                              // takes the slow path (a policy chosen, tracing, or run
                              // times measured)

  // Run times: kept only while measuring_, on the slow path the gate sends them to.
  bool measuring_ = false;            // a policy is chosen, or measure_run_times(true)
  bool measuring_asked_ = false;      // measure_run_times(true) was called
  std::int64_t run_started_ = 0;      // clock_ns() when the running thread got the processor
  std::int64_t longest_run_ = 0;      // the longest run so far, ns
  std::uint64_t longest_run_id_ = 0;  // the thread that ran it

  // Thread ids: [next_id_, ids_end_) are this scheduler's to give (new_thread_id).
  std::uint64_t next_id_ = 0;
  std::uint64_t ids_end_ = 0;
  static constexpr std::uint64_t ids_per_block = 1024;

  // The threads: owned by this scheduler alone (one kernel thread, no locks).
  record root_;                     // the kernel thread's own stack and context
  stack_span root_stack_;           // root_'s stack, if the switch hooks need it
  record loop_;                     // the scheduler loop's context and stack
  record* all_ = nullptr;           // every live thread but loop_, linked by all_next
  run_queue run_queue_;             // the runnable threads, first in first out
  std::unique_ptr<policy> policy_;  // null, or a policy chosen to replace run_queue_
  timer_queue timers_;
  detail::reactor reactor_;                           // threads parked on descriptors
  std::shared_ptr<inbox> inbox_;                      // made by the first handle or remote_event
  std::unique_ptr<tracer> tracer_;                    // the last recording, if any
  bool tracing_ = false;                              // whether events are recorded now
  thread_queue finished_;                             // detached threads that finished, to reap
  std::size_t blocked_ = 0;                           // threads in state blocked
  std::uint64_t parks_ = 0;                           // numbers each park, for the deadlock report
  std::string deadlock_report_;                       // handed to the failed thread's park
  spindle::detail::finished_owners finished_owners_;  // names of threads that finished
                                                      // holding a mutex, for the report
  bool stopping_ = false;                             // set by ~scheduler to make run() return
  std::atomic<bool> idle_{false};                     // set by wait_for_events around its wait
  detail::watchdog watchdog_;                         // ticks while a thread could stall the others
  detail::preemption preemption_;                     // ticks once per slice when preemption is on

  exception_state* eh_globals_;  // this kernel thread's C++ exception state

  // Counted for the statistics, each on a path that is slow already.
  std::uint64_t spawns_ = 0;          // admitted threads
  std::uint64_t timer_wakeups_ = 0;   // threads woken by fire_expired_timers
  std::uint64_t dumps_answered_ = 0;  // thread dump requests printed (runtime/common/
                                      // thread_dump_signal.hpp)

  // The list of every scheduler (all_schedulers): set at birth and retirement, under
  // its lock, and read by debuggers, never by the hot paths.
  scheduler* listed_prev_ = nullptr;
  scheduler* listed_next_ = nullptr;
  long kernel_tid_ = 0;  // the kernel thread this scheduler belongs to
  void list() noexcept;
  void unlist() noexcept;
};

// The gate of next_to_run, tested first: the fast path then makes no call but the switch
// (a tail call), so it needs no frame; everything else is yield_on_slow_path's. The next
// thread is taken before the yielding one joins the queue: an empty queue means it is
// alone and keeps running, so switch_to never needs to test for a switch to itself.
// Defined here rather than in scheduler.cpp so that this_thread::yield (thread.cpp)
// inlines it: one jump fewer per switch.
void scheduler::yield() {
  if (!spend_budget()) [[unlikely]]
    return yield_on_slow_path();
  record* next = run_queue_.pop_front();
  if (!next) return;  // alone: still running
  record* self = running_;
  self->st = state::runnable;
  run_queue_.push_back(self);
  jump_to(self, next);  // the gate was open, so tracing is off: no trace check
}

}  // namespace spindle::green::detail
