// runtime/green/context.cpp — the context switch: how one green thread stops and
// another continues, on one kernel thread.
//
// Concept: switch_to saves the running thread's registers on its own stack, loads the
// next thread's, and jumps (Boost.Context's jump_fcontext: 24 instructions). When
// the first thread is switched back to, resume() returns — possibly much later, and
// handed by a different thread than the one it switched to. Every switch is announced
// to the tools that track stacks (AddressSanitizer) through runtime/green/switch_hooks.hpp:
// before_switch just before the jump, after_switch as the first act after landing.
// Explained in: docs/03-context-switch.md. Read next: runtime/green/thread.cpp.
#include <cxxabi.h>

#include <cassert>
#include <cstring>

#include "scheduler.hpp"
#include "switch_hooks.hpp"

// exception_state mirrors the Itanium C++ ABI's __cxa_eh_globals, two fields everywhere
// but under the 32-bit ARM EABI unwinder, which adds a third.
#if defined(__ARM_EABI_UNWINDER__)
#error "spindle: exception_state does not match __cxa_eh_globals under the ARM EABI unwinder"
#endif

namespace spindle::green::detail {

// The only place a green thread's code stops running (other than finishing). Called by
// the running thread on its own stack; returns when some thread switches back to it.
void scheduler::switch_to(record* next) {
  record* self = running_;
  if (next == self) {
    self->st = state::running;
    return;
  }
  // A fiber handle is consumed by resume(): an empty one here means this context was
  // already resumed and is running or finished — resuming it again would corrupt it.
  assert(next->context && "a context resumed twice");
  save_exceptions(self);
  load_exceptions(next);
  switched_from_ = self;
  running_ = next;
  next->st = state::running;
  note(event_kind::run, next);
  switch_hooks::departure kept = switch_hooks::before_switch(stack_of(next));
  boost::context::fiber back = std::move(next->context).resume();
  switch_hooks::after_switch(kept);
  // Running again. Whoever switched here set switched_from_ to itself before resuming
  // us, and `back` is its suspended context; it is empty if that thread finished.
  switched_from_->context = std::move(back);
}

// A context starting for the first time has no switch_to frame to return into, so it
// stores the context that switched to it here, exactly as switch_to would have.
void scheduler::arrived(boost::context::fiber&& from) noexcept {
  switch_hooks::after_switch();
  switched_from_->context = std::move(from);
}

// The finishing thread's last act: it does not switch (nothing will resume it), it
// returns the context to continue, and Boost jumps there. The record and the stack stay
// until join or reap, which run on another stack.
boost::context::fiber scheduler::finish_running() noexcept {
  record* self = running_;
  self->st = state::finished;
  if (self->mutexes_held != 0) [[unlikely]]
    remember_finished_owner(self);
  note(event_kind::exit, self);
  if (self->joiner) wake(self->joiner);
  if (self->detached) finished_.push_back(self);
  record* next = next_to_run();
  assert(next != self && next->context);
  load_exceptions(next);
  switched_from_ = self;
  running_ = next;
  next->st = state::running;
  note(event_kind::run, next);
  switch_hooks::before_last_switch(stack_of(next));
  return std::move(next->context);
}

// The loop's last act, when ~scheduler stops it: return to the root thread.
boost::context::fiber scheduler::leave_scheduler() noexcept {
  load_exceptions(&root_);
  switched_from_ = &loop_;
  running_ = &root_;
  root_.st = state::running;
  switch_hooks::before_last_switch(root_stack_);
  return std::move(root_.context);
}

// The C++ runtime keeps "exceptions being handled" per kernel thread. Green threads
// share one kernel thread, so each keeps its own copy, swapped at every switch; without
// it, a thread that parks inside a catch block could resume to find another thread's
// exception in flight (`throw;` would rethrow the wrong one).
void scheduler::save_exceptions(record* r) noexcept {
  std::memcpy(&r->eh, eh_globals_, sizeof(exception_state));
}

void scheduler::load_exceptions(const record* r) noexcept {
  std::memcpy(eh_globals_, &r->eh, sizeof(exception_state));
}

}  // namespace spindle::green::detail
