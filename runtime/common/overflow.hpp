// runtime/common/overflow.hpp — the one SIGSEGV handler that names a thread whose stack
// overflowed, for both backends.
//
// Concept: a thread that runs off the end of its stack touches the PROT_NONE guard page
// below it (a green guarded stack, a clone thread's stack) or the gap below the main
// thread's stack that RLIMIT_STACK keeps it from growing into, and the kernel sends
// SIGSEGV. The overflowed stack has no room for the handler, so it runs on an alternate
// signal stack that each kernel thread must have been given. The handler asks each
// backend in turn (an overflow_finder) whether the fault lies in a guard it knows on the
// calling kernel thread; the one that does says whose stack it was, the handler writes
// the report to stderr and aborts. A fault nobody claims gets what it would have got
// without spindle: the program's earlier handler, or the default action.
// Explained in: docs/04-stacks.md (what an overflow looks like), and
// docs/09-clone-backend.md for clone threads. Read next: runtime/common/overflow.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace spindle::detail {

// What a backend knows about the stack a fault overflowed, for the report.
struct overflowed_stack {
  std::string_view kind;             // "green thread", "clone thread", "main thread"
  std::string_view name;             // the thread's name; empty is written as unnamed
  std::uint64_t id = 0;              // the thread's spindle id, 0 if it has none
  const void* guard_low = nullptr;   // the range the fault hit: a guard page, or for
  const void* guard_high = nullptr;  // the main thread the gap below its stack's limit
  const void* stack_low = nullptr;   // the usable stack
  const void* stack_high = nullptr;
  std::string_view remedy;  // what the user should change, one sentence
};

// Asked by the handler on the faulting kernel thread, on its signal stack: returns true
// and fills `out` if `fault` is in a guard of a stack the backend knows on this kernel
// thread. Must be async-signal-safe: it may only read what the thread itself wrote.
using overflow_finder = bool (*)(const void* fault, overflowed_stack& out) noexcept;

// Installs the SIGSEGV handler once per process, remembering the disposition it replaces
// (the program's handler, or the default) to pass unclaimed faults on to, and records
// the main thread's stack bounds; adds `finder` to those asked (a backend calls this once,
// before its first thread runs). A handler the program installs later replaces
// spindle's. Never throws.
void install_overflow_handler(overflow_finder finder) noexcept;

// For finders: true, with `out`'s bounds filled and kind "main thread", if the caller is
// the process's main thread and `fault` lies below its stack within the reach
// RLIMIT_STACK allows it, or in the gap just below; the finder then adds the name and id
// it knows. Async-signal-safe.
bool main_stack_holds(const void* fault, overflowed_stack& out) noexcept;

// Maps an alternate signal stack with a guard page below it and gives it to the calling
// kernel thread, unless it has one already (the program's own is kept). Returns the
// mapping, for take_back_signal_stack, or null (it had one, or there was no memory:
// an overflow on this kernel thread then dies by a plain SIGSEGV). Never throws.
void* give_thread_a_signal_stack() noexcept;

// Called on the kernel thread give_thread_a_signal_stack returned `mapping` to: takes the
// signal stack down if it is still the thread's, and unmaps it. Null does nothing.
void take_back_signal_stack(void* mapping) noexcept;

// Writes the report for an overflow of `stack` at `fault` to stderr. Async-signal-safe.
void write_overflow_report(const overflowed_stack& stack, const void* fault) noexcept;

}  // namespace spindle::detail
