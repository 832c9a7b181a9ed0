// runtime/clone/overflow.cpp — the clone backend's part of the overflow reports: the
// thread's signal stack, and which thread owns the guard page a fault hit.
//
// find_clone_overflow runs inside the SIGSEGV handler (runtime/common/overflow.cpp): it
// reads only initial-exec thread_locals (a load at a fixed offset from the thread
// pointer, no call to __tls_get_addr) and what the thread itself wrote.
// Explained in: docs/09-clone-backend.md (stack overflow). Read next:
// runtime/clone/kernel_thread.cpp.
#include "overflow.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdint>

#include "../common/overflow.hpp"
#include "spindle/clone/detail/record.hpp"

namespace spindle::clone::detail {
namespace {

using spindle::detail::overflowed_stack;

// The calling thread's memory (null on a root thread) and record (null until the API
// layer names it, and for threads of the kernel-thread layer used alone).
[[gnu::tls_model("initial-exec")]] constinit thread_local const thread_memory* memory_here =
    nullptr;
[[gnu::tls_model("initial-exec")]] constinit thread_local const record* record_here = nullptr;

void name_from_record(overflowed_stack& out) noexcept {
  if (const record* self = record_here) {
    out.name = self->name;
    out.id = self->id;
  }
}

// The overflow_finder of this backend: the calling clone thread's guard page, or the
// main thread's stack while a root thread known to this backend runs on it.
bool find_clone_overflow(const void* fault, overflowed_stack& out) noexcept {
  if (const thread_memory* memory = memory_here) {
    auto a = reinterpret_cast<std::uintptr_t>(fault);
    auto guard = reinterpret_cast<std::uintptr_t>(memory->guard);
    auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
    if (a < guard || a >= guard + page) return false;
    out.kind = "clone thread";
    out.guard_low = memory->guard;
    out.guard_high = memory->guard + page;
    out.stack_low = out.guard_high;
    out.stack_high = memory->stack_top;
    out.remedy = "Give it a larger spawn_options::stack_size, or make its recursion shallower.";
    name_from_record(out);
    return true;
  }
  if (!record_here || !spindle::detail::main_stack_holds(fault, out)) return false;
  name_from_record(out);
  return true;
}

}  // namespace

void install_overflow_reports() noexcept {
  spindle::detail::install_overflow_handler(find_clone_overflow);
}

void arm_overflow_reports(const thread_memory* memory) noexcept {
  stack_t own{};
  own.ss_sp = memory->base;
  own.ss_size = signal_stack_size();
  sigaltstack(&own, nullptr);  // cannot fail: the stack is big enough and not in use
  memory_here = memory;
}

void name_in_overflow_reports(const record* self, bool main_thread) noexcept {
  record_here = self;
  if (main_thread) {
    static void* const main_signal_stack = spindle::detail::give_thread_a_signal_stack();
    (void)main_signal_stack;
  }
}

}  // namespace spindle::clone::detail
