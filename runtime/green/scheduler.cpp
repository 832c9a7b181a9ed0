// runtime/green/scheduler.cpp — the scheduler loop and the verbs that block and wake.
//
// Start at scheduler::run: one round finds a runnable thread and runs it; when none is
// runnable, it fails a deadlocked thread or sleeps until the next timer.
// Explained in: docs/05-scheduler.md and docs/07-deadlock.md.
// Read next: runtime/green/context.cpp (how switch_to changes stacks).
#include "scheduler.hpp"

#include <time.h>
#include <unistd.h>

#include <cassert>
#include <cstdio>
#include <cstring>
#include <exception>
#include <sstream>
#include <utility>

#include "../common/thread_dump_signal.hpp"
#include "overflow.hpp"
#include "remote.hpp"
#include "spindle/errors.hpp"
#include "stack.hpp"
#include "switch_hooks.hpp"

namespace spindle::green::detail {

// The scheduler loop. Runs on the scheduler's own stack (loop_) whenever no thread can
// be switched to directly, and every switches_per_round hand-overs otherwise. Each step
// is one named call. Returns only when ~scheduler sets stopping_.
void scheduler::run() {
  while (!stopping_) {
    if (thread_dump_requests() != dumps_answered_) [[unlikely]]
      answer_dump_request();
    reap_finished();
    fire_expired_timers();
    poll_io();
    drain_inbox();
    if (record* next = pick_runnable()) {
      watchdog_.wake_if_asleep(*this);  // asleep if a tick found the loop idle
      if (measuring_) [[unlikely]]
        account_start();
      switch_to(next);
    } else if (timers_.empty() && !reactor_.has_waiters() && !remote_ends_open()) {
      fail_one_deadlocked_thread();
    } else {
      wait_for_events();
    }
  }
}

// Whom the running thread hands the processor to: the next runnable thread directly
// (the fast path, no detour through the loop), or the loop when the run queue is empty
// or the budget is spent: every switches_per_round-th hand-over. Counting them is also
// what tells the watchdog that the scheduler makes progress (runtime/green/watchdog.cpp).
// The one test of the gate also keeps tracing and chosen policies off the fast path:
// with either, gate_closed_ keeps the budget at one and every hand-over takes
// next_on_slow_path, so the fast path is the built-in FIFO's pop with no indirect call
// and no trace check (docs/05-scheduler.md, "the fast path"). Called by finish_running
// alone.
record* scheduler::next_to_run() noexcept {
  if (spend_budget()) [[likely]] {
    if (record* next = run_queue_.pop_front()) return next;
    return &loop_;
  }
  return next_after_finish_on_slow_path();
}

record* scheduler::next_after_finish_on_slow_path() noexcept {
  account_stop(stop_reason::finished);
  return next_on_slow_path();
}

// Reached when the budget is spent, so handovers_ is the count of hand-overs so far.
record* scheduler::next_on_slow_path() noexcept {
  bool round_due = handovers_ % switches_per_round == 0;
  refill_budget();
  if (!round_due) {
    if (record* next = pick_runnable()) return next;
  }
  return &loop_;
}

// Up to the next multiple of switches_per_round with the gate open, one otherwise.
// handovers_ is credited with the whole budget now, so that handovers() stays exact.
void scheduler::refill_budget() noexcept {
  std::uint64_t fill = gate_closed_ ? 1 : switches_per_round - handovers_ % switches_per_round;
  budget_ = fill;
  handovers_ += fill;
}

// Closing the gate takes back all but one hand-over of the budget: the next goes slow.
void scheduler::update_gate() noexcept {
  gate_closed_ = policy_ || tracing_ || measuring_;
  if (gate_closed_ && budget_ > 1) {
    handovers_ -= budget_ - 1;
    budget_ = 1;
  }
}

// Run times (docs/14-scheduling-policies.md). Everything here is behind the gate: the
// built-in FIFO with tracing off never reads the clock.
void scheduler::account_stop(stop_reason why) noexcept {
  if (!measuring_) return;
  record* self = running_;
  std::int64_t now = clock_ns();
  std::int64_t ran = now - run_started_;
  run_started_ = now;  // the next run, the pick's or the loop's, starts here
  self->state_since = now;
  if (ran > longest_run_) {
    longest_run_ = ran;
    longest_run_id_ = self->id;
  }
  if (policy_) policy_->stopped(self, std::chrono::nanoseconds(ran), why);
}

void scheduler::account_start() noexcept { run_started_ = clock_ns(); }

// Asking again starts the longest run afresh.
void scheduler::measure_run_times(bool on) noexcept {
  if (on) longest_run_ = longest_run_id_ = 0;
  measuring_asked_ = on;
  update_measuring();
}

// Run times are measured while asked for or while a policy is chosen. When measuring
// begins it stamps every live thread: their times in state count from then.
void scheduler::update_measuring() noexcept {
  bool was = measuring_;
  measuring_ = measuring_asked_ || policy_;
  if (measuring_ && !was) {
    std::int64_t now = clock_ns();
    run_started_ = now;
    for (record* r = all_; r; r = r->all_next) r->state_since = now;
  }
  update_gate();
}

void scheduler::admit(record* fresh) noexcept {
  fresh->home = this;
  fresh->st = state::runnable;
  ++spawns_;
  link(fresh);
  if (gate_closed_) [[unlikely]]
    return admit_on_slow_path(fresh);
  run_queue_.push_back(fresh);
  watchdog_.wake_if_asleep(*this);  // asleep while the root thread was alone
  preemption_.apply_if_changed(*this);
}

// A thread spawned while tracing, measuring or under a chosen policy: the policy's area
// starts as zero bytes (spindle/green/policy.hpp: policy_data).
void scheduler::admit_on_slow_path(record* fresh) noexcept {
  if (tracing_) note_spawn(fresh);
  if (measuring_) fresh->state_since = clock_ns();
  if (policy_) std::memset(fresh->policy_area, 0, sizeof fresh->policy_area);
  make_runnable(fresh);
  watchdog_.wake_if_asleep(*this);
  preemption_.apply_if_changed(*this);
}

// The fast path of yield is inline, in runtime/green/scheduler.hpp: scheduler::yield.
void scheduler::yield_on_slow_path() {
  record* self = running_;
  self->st = state::runnable;
  account_stop(stop_reason::yielded);
  make_runnable(self);
  record* next = next_on_slow_path();
  if (next == self) {  // alone, or the policy picked it again
    self->st = state::running;
    return;
  }
  switch_to(next);
}

// The preempted thread goes behind the threads that the expired timers and ready
// descriptors wake, which have waited at least as long: a thread sleeping 1 ms beside a
// thread that computes runs once per slice, not once per switches_per_round slices (the
// fast path of yield would not look at the timers).
void scheduler::preempt() {
  record* self = running_;
  note(event_kind::preempt, self);
  fire_expired_timers();
  poll_io();
  self->st = state::runnable;
  account_stop(stop_reason::preempted);
  make_runnable(self);
  ++handovers_;  // past the budget, which counts the hand-overs of next_to_run
  record* next = pick_runnable();
  if (next == self) {
    self->st = state::running;
    return;
  }
  switch_to(next);
}

// Marks the running thread blocked. The caller has already checked the condition it
// waits for; nothing can run between that check and the switch in park, which is why
// a green thread cannot lose a wake-up (docs/06-synchronisation.md). Inlined into park
// and park_until, which have a frame anyway: a call of its own cost a call, a return and
// a frame of its own on every park.
void scheduler::block(thread_queue* queue, const wait_reason& why) noexcept {
  record* self = running_;
  assert(self != &loop_ && "the scheduler loop cannot block");
  self->st = state::blocked;
  self->waiting_on = why;
  self->woke_by = wake_status::woken;
  self->park_number = ++parks_;
  ++blocked_;
  if (queue) queue->push_back(self);
}

// park's switch: next_to_run and switch_to with the gate tested once. Tracing closes the
// gate, so the open gate needs neither the park's trace event nor the switch's trace
// check; both are on the slow path.
void scheduler::switch_after_block(const char* what) {
  if (!spend_budget()) [[unlikely]]
    return switch_after_block_on_slow_path(what);
  record* next = run_queue_.pop_front();
  jump_to(running_, next ? next : &loop_);
}

void scheduler::switch_after_block_on_slow_path(const char* what) {
  note(event_kind::park, running_, what);
  account_stop(stop_reason::blocked);
  switch_to(next_on_slow_path());
}

// The test inline, the throw out of line and cold: a park that was woken costs one
// compare, and no call.
void scheduler::throw_if_deadlocked(const record* self) {
  if (self->woke_by == wake_status::deadlock) [[unlikely]]
    throw_deadlock_report();
}

void scheduler::throw_deadlock_report() {
  throw deadlock_error(std::exchange(deadlock_report_, {}));
}

void scheduler::park(thread_queue* queue, const wait_reason& why) {
  block(queue, why);
  switch_after_block(why.what);
  throw_if_deadlocked(running_);
}

bool scheduler::park_until(clock::time_point deadline, thread_queue* queue,
                           const wait_reason& why) {
  if (deadline <= clock::now()) return false;
  record* self = running_;
  self->deadline = deadline;
  timers_.add(self);  // first: it may throw bad_alloc, and then nothing has changed
  block(queue, why);
  switch_after_block(why.what);
  throw_if_deadlocked(self);
  return self->woke_by != wake_status::timed_out;
}

// What needs a call (a timer to cancel, a policy, the tracer) is on the slow path, tested
// at once with the gate's mask, so that the common wake calls nothing and needs no frame.
void scheduler::wake(record* blocked, wake_status why) noexcept {
  assert(blocked->st == state::blocked && "wake of a thread that is not blocked");
  assert(blocked->home == this && "a green object was shared between kernel threads");
  if (blocked->queue) blocked->queue->remove(blocked);
  blocked->st = state::runnable;
  blocked->woke_by = why;
  --blocked_;
  if (blocked->timer_slot != record::no_timer || gate_closed_) [[unlikely]] {
    return wake_on_slow_path(blocked, why);
  }
  run_queue_.push_back(blocked);
}

void scheduler::wake_on_slow_path(record* woken, wake_status why) noexcept {
  if (woken->timer_slot != record::no_timer) timers_.remove(woken);
  note(event_kind::wake, woken,
       why == wake_status::woken       ? "woken"
       : why == wake_status::timed_out ? "timed out"
                                       : "deadlock",
       running_->id);
  if (measuring_) woken->state_since = clock_ns();
  make_runnable(woken);
}

void scheduler::fire_expired_timers() noexcept {
  if (timers_.empty()) return;
  clock::time_point now = clock::now();
  while (!timers_.empty() && timers_.next_deadline() <= now) {
    note(event_kind::timer, timers_.earliest());
    ++timer_wakeups_;
    wake(timers_.earliest(), wake_status::timed_out);
  }
}

// Runs what other kernel threads posted (runtime/green/remote.cpp): new threads, and
// wakes of the threads waiting on a remote_event. A load when nothing was posted.
void scheduler::drain_inbox() noexcept {
  if (inbox_) inbox_->drain();
}

bool scheduler::remote_ends_open() const noexcept { return inbox_ && inbox_->has_open_ends(); }

std::shared_ptr<inbox> scheduler::remote_inbox() {
  if (!inbox_) {
    auto made = std::make_shared<inbox>(*this);
    reactor_.watch_wakeups(made->wakeup_fd());
    inbox_ = std::move(made);
  }
  return inbox_;
}

// Wakes threads whose descriptors are ready, without blocking.
void scheduler::poll_io() noexcept {
  if (reactor_.has_waiters()) reactor_.poll(*this, timespec{0, 0});
}

// With nothing runnable, the kernel thread sleeps in the kernel until the earliest
// deadline or, with threads parked on descriptors, until one is ready: one wait for
// timers and I/O, so an idle program costs no processor time. Before it sleeps, it gives
// back the pages of the stacks a burst of threads left kept (docs/04-stacks.md): that
// costs system calls, so it is done here, when nothing is waiting to run, and not when
// a thread is spawned or reaped.
void scheduler::wait_for_events() noexcept {
  trim_stacks();
  constexpr auto forever = std::chrono::hours(24 * 365);
  auto now = clock::now();
  auto left = timers_.empty() ? forever : timers_.next_deadline() - now;
  if (left < left.zero()) left = left.zero();
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(left);
  timespec timeout{static_cast<time_t>(seconds.count()),
                   static_cast<long>((left - seconds).count())};
  // The watchdog's tick, like any signal, may end either wait early with EINTR: it
  // just means look again, the loop comes round either way. A tick that finds the
  // scheduler idle puts the watchdog to sleep until the loop next switches to a thread.
  idle_.store(true, std::memory_order_relaxed);
  if (reactor_.has_waiters() || inbox_) {  // the reactor also watches the inbox's eventfd
    reactor_.poll(*this, timeout);
  } else {
    nanosleep(&timeout, nullptr);
  }
  idle_.store(false, std::memory_order_relaxed);
  ++handovers_;  // the time asleep was no stall: a stall is measured from here
}

// Finishing threads cannot free the stack they run on; detached ones wait here until the
// loop, running on its own stack, frees them (docs/04-stacks.md).
void scheduler::reap_finished() noexcept {
  while (record* done = finished_.pop_front()) reap(done);
}

void scheduler::reap(record* finished) noexcept {
  assert(finished->st == state::finished && finished != running_);
  unlink(finished);
  check_pooled_stack(*finished);
  stack_span stack = finished->stack;
  finished->~record();
  switch_hooks::frames_abandoned(stack);
  free_stack(stack);
}

void scheduler::link(record* r) noexcept {
  r->all_prev = nullptr;
  r->all_next = all_;
  if (all_) all_->all_prev = r;
  all_ = r;
}

record* scheduler::find(std::uint64_t id) noexcept {
  for (record* r = all_; r; r = r->all_next)
    if (r->id == id && r->st != state::finished) return r;
  return nullptr;
}

void scheduler::unlink(record* r) noexcept {
  (r->all_prev ? r->all_prev->all_next : all_) = r->all_next;
  if (r->all_next) r->all_next->all_prev = r->all_prev;
}

// The FIFO policy is never installed: the scheduler's own run queue follows the same rule
// without an indirect call (is_fifo_policy, runtime/green/fifo_policy.cpp).
// A chosen policy finds every thread's area zeroed (policy_data), and run times measured.
void scheduler::use_policy(std::unique_ptr<policy> next) {
  assert(next);
  if (is_fifo_policy(*next)) next.reset();
  if (!policy_ && !next) return;
  std::unique_ptr<policy> old = std::exchange(policy_, std::move(next));
  // The runnable threads are taken from the old policy before their areas are zeroed:
  // its pick_next may read them (lottery's tickets), and would misread zeroes.
  thread_queue moving;
  while (record* r = old ? old->pick_next() : run_queue_.pop_front()) moving.push_back(r);
  for (record* r = all_; r; r = r->all_next) std::memset(r->policy_area, 0, sizeof r->policy_area);
  update_measuring();
  while (record* r = moving.pop_front()) make_runnable(r);
}

}  // namespace spindle::green::detail
