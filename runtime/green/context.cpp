// runtime/green/context.cpp — the context switch: how one green thread stops and
// another continues, on one kernel thread.
//
// Concept: switch_to saves the running thread's registers on its own stack, loads the
// next thread's, and jumps (runtime/green/context.hpp: jump, 21 instructions on x86-64).
// When the first thread is switched back to, the jump returns — possibly much later, and
// handed by a different thread than the one it switched to. Every switch is announced
// to the tools that track stacks (AddressSanitizer) through runtime/green/switch_hooks.hpp:
// before_switch just before the jump, after_switch as the first act after landing.
// Explained in: docs/03-context-switch.md. Read next: runtime/green/thread.cpp.
#include <cxxabi.h>

#include <cassert>
#include <cstring>
#include <utility>

#include "scheduler.hpp"
#include "switch_hooks.hpp"

// exception_state mirrors the Itanium C++ ABI's __cxa_eh_globals, two fields everywhere
// but under the 32-bit ARM EABI unwinder, which adds a third.
#if defined(__ARM_EABI_UNWINDER__)
#error "spindle: exception_state does not match __cxa_eh_globals under the ARM EABI unwinder"
#endif

namespace spindle::green::detail {

// The only place a green thread's code stops running (other than finishing). Called by
// the running thread on its own stack, with another thread (never itself: yield keeps
// running a thread that is alone, and says so first); returns when some thread switches
// back to it.
// The trace check comes first and leads elsewhere, so that the switch itself calls
// nothing but the jump and needs no frame to keep its values across a call.
void scheduler::switch_to(record* next) {
  if (tracing_) [[unlikely]]
    return traced_switch_to(next);
  jump_to(running_, next);
}

void scheduler::traced_switch_to(record* next) {
  if (next != running_) note(event_kind::run, next);
  jump_to(running_, next);
}

// `self` is running_, passed by callers that have it in a register already.
void scheduler::jump_to(record* self, record* next) {
  // A context is valid for one switch: null here means this context was already switched
  // to and is running or finished. Jumping to it again would corrupt its stack. The one
  // assertion also catches a switch to itself, since the running thread's context is
  // null. Taken first, so that the assertion tests the value the jump uses.
  context to = std::exchange(next->context, nullptr);
  assert(to && "a context resumed twice");
  swap_exceptions(self, next);
  running_ = next;
  next->st = state::running;
  switch_hooks::departure kept = switch_hooks::before_switch(stack_of(next));
  // With nothing to do after it (after_switch is empty but under ASan), the jump is a
  // tail call: this function needs no frame, and the jump returns to its caller.
  jump(to, &self->context);
  switch_hooks::after_switch(kept);
}

// The first act of every context that starts running, on its new stack.
void scheduler::started() noexcept { switch_hooks::after_switch(); }

// The finishing thread's last act: it switches to the next thread and is never switched
// back to. The record and the stack stay until join or reap, which run on another stack.
void scheduler::finish_running() noexcept {
  record* self = running_;
  self->st = state::finished;
  if (self->mutexes_held != 0) [[unlikely]]
    remember_finished_owner(self);
  note(event_kind::exit, self);
  if (self->joiner) wake(self->joiner);
  if (self->detached) finished_.push_back(self);
  last_switch(next_to_run());
}

// The loop's last act, when ~scheduler stops it: switch to the root thread for good.
void scheduler::leave_scheduler() noexcept { last_switch(&root_); }

// A switch from a context that will never run again: there is no point saving its
// exception state, and the context the jump leaves behind is stored where no one looks.
void scheduler::last_switch(record* next) noexcept {
  assert(next != running_ && next->context);
  load_exceptions(next);
  running_ = next;
  next->st = state::running;
  note(event_kind::run, next);
  context to = std::exchange(next->context, nullptr);
  // From here on this context's ASan fake frames are gone (an unoptimised build keeps
  // temporaries such as std::exchange's argument there): nothing but the jump follows.
  switch_hooks::before_last_switch(stack_of(next));
  jump(to, &abandoned_context_);
  __builtin_unreachable();
}

// The C++ runtime keeps "exceptions being handled" per kernel thread. Green threads
// share one kernel thread, so each keeps its own copy, swapped at every switch; without
// it, a thread that parks inside a catch block could resume to find another thread's
// exception in flight (`throw;` would rethrow the wrong one).
void scheduler::swap_exceptions(record* from, const record* to) noexcept {
  exception_state* here = eh_globals_;  // loaded once: the copies might alias the field
  std::memcpy(&from->eh, here, sizeof(exception_state));
  std::memcpy(here, &to->eh, sizeof(exception_state));
}

void scheduler::load_exceptions(const record* r) noexcept {
  std::memcpy(eh_globals_, &r->eh, sizeof(exception_state));
}

}  // namespace spindle::green::detail
