// runtime/mn/overflow.cpp — the M:N backend's part of the overflow reports: which thread
// owns the guard page a fault hit.
//
// find_mn_overflow runs inside the SIGSEGV handler (runtime/common/overflow.cpp), on the
// faulting worker's signal stack (the clone layer gives every kernel thread it makes one):
// the thread that overflowed is the one the worker runs, and its guard page lies just
// below its stack (green's guarded stacks; the M:N backend uses no other kind). It reads
// only initial-exec thread_locals and what the faulting kernel thread itself wrote.
// Explained in: docs/04-stacks.md (what an overflow looks like) and runtime/mn/README.md.
// Read next: runtime/common/overflow.cpp.
#include "overflow.hpp"

#include <cstdint>

#include "../common/overflow.hpp"
#include "worker.hpp"

namespace spindle::mn::detail {

namespace {

using spindle::detail::overflowed_stack;

[[gnu::tls_model("initial-exec")]] constinit thread_local const record* root_record_here = nullptr;

// The overflow_finder of this backend: the guard page of the thread the calling worker
// runs, or the main thread's stack while it is a root of this backend.
bool find_mn_overflow(const void* fault, overflowed_stack& out) noexcept {
  if (const record* self = running_on_worker()) {
    auto a = reinterpret_cast<std::uintptr_t>(fault);
    auto low = reinterpret_cast<std::uintptr_t>(self->stack.low);
    if (self->stack.guard == 0 || a >= low || a < low - self->stack.guard) return false;
    out.kind = "M:N thread";
    out.name = self->name;
    out.id = self->id;
    out.guard_low = reinterpret_cast<const void*>(low - self->stack.guard);
    out.guard_high = self->stack.low;
    out.stack_low = self->stack.low;
    out.stack_high = self->stack.high();
    out.remedy = "Give it a larger spawn_options::stack_size, or make its recursion shallower.";
    return true;
  }
  const record* root = root_record_here;
  if (!root || !spindle::detail::main_stack_holds(fault, out)) return false;
  out.name = root->name;
  out.id = root->id;
  return true;
}

}  // namespace

void install_overflow_reports() noexcept {
  spindle::detail::install_overflow_handler(find_mn_overflow);
}

void name_in_overflow_reports(const record* root, bool main_thread) noexcept {
  root_record_here = root;
  if (main_thread) {
    static void* const main_signal_stack = spindle::detail::give_thread_a_signal_stack();
    (void)main_signal_stack;
  }
}

}  // namespace spindle::mn::detail
