// runtime/green/overflow.cpp — the green backend's part of the overflow reports: which
// green thread owns a guard page, the alternate signal stack of each kernel thread with
// a scheduler, and the check of a pooled stack's lowest bytes.
//
// owner_of_guard and find_green_overflow run inside the SIGSEGV handler
// (runtime/common/overflow.cpp): they only read the scheduler's records.
// Explained in: docs/04-stacks.md (overflow). Read next: runtime/green/thread.cpp.
#include "overflow.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "../common/overflow.hpp"
#include "../common/signal_safe_text.hpp"
#include "scheduler.hpp"
#include "stack.hpp"

namespace spindle::green::detail {
namespace {

using spindle::detail::overflowed_stack;

// The lowest bytes of a pooled stack that check_pooled_stack reads: an overflow whose
// frames are smaller than this writes at least a return address there.
constexpr std::size_t pooled_check_bytes = 256;

constexpr std::string_view remedy =
    "Give it a larger spawn_options::stack_size, or make its recursion shallower.";

// The alternate signal stack arm_overflow_reports mapped on this kernel thread (its
// guard page first), or null when it kept the program's own or had no memory.
thread_local void* own_signal_stack = nullptr;

void describe(const record& r, overflowed_stack& out) noexcept {
  out.kind = "green thread";
  out.name = r.name;
  out.id = r.id;
  out.remedy = remedy;
}

// The overflow_finder of this backend: a guard page of a green thread of this kernel
// thread, or the main thread's stack while this kernel thread's root runs on it.
bool find_green_overflow(const void* fault, overflowed_stack& out) noexcept {
  const scheduler* s = scheduler::here_if_any();
  if (!s) return false;
  if (const record* owner = s->owner_of_guard(fault)) {
    const stack_span& stack = owner->stack;
    describe(*owner, out);
    out.guard_low = static_cast<const std::byte*>(stack.low) - stack.guard;
    out.guard_high = stack.low;
    out.stack_low = stack.low;
    out.stack_high = stack.high();
    return true;
  }
  if (!spindle::detail::main_stack_holds(fault, out)) return false;
  out.name = s->running()->name;
  out.id = s->running()->id;
  return true;
}

}  // namespace

const record* scheduler::owner_of_guard(const void* address) const noexcept {
  auto holds = [a = reinterpret_cast<std::uintptr_t>(address)](const stack_span& s) {
    auto low = reinterpret_cast<std::uintptr_t>(s.low);
    return s.guard != 0 && a < low && a >= low - s.guard;
  };
  if (holds(loop_.stack)) return &loop_;
  // No lock is needed: the handler interrupts the one kernel thread that changes all_,
  // and a fault does not strike halfway through link or unlink, which touch only
  // records that are alive.
  for (const record* r = all_; r; r = r->all_next) {
    if (holds(r->stack)) return r;
  }
  return nullptr;
}

void arm_overflow_reports() noexcept {
  spindle::detail::install_overflow_handler(find_green_overflow);
  own_signal_stack = spindle::detail::give_thread_a_signal_stack();
}

void disarm_overflow_reports() noexcept {
  spindle::detail::take_back_signal_stack(own_signal_stack);
  own_signal_stack = nullptr;
}

void check_pooled_stack_bytes(const record& finished) noexcept {
  const stack_span& stack = finished.stack;
  // Memcheck holds stack memory below the deepest frame undefined, whatever it holds:
  // the check would read its own guess. Natively the test is a load and a branch.
  if (under_valgrind) return;
  const auto* lowest = static_cast<const std::uint64_t*>(stack.low);
  std::uint64_t written = 0;
  for (std::size_t i = 0; i < pooled_check_bytes / 8; ++i) written |= lowest[i];
  if (written == 0) [[likely]]
    return;
  spindle::detail::signal_safe_text r;
  r.text("spindle: green thread \"").text(finished.name.empty() ? "unnamed" : finished.name);
  r.text("\" (id ").number(finished.id).text(") overflowed its ").number(stack.size / 1024);
  r.text(" KiB pooled stack [").address(stack.low).text(", ").address(stack.high());
  r.text("): a stack overflow, seen when it finished: its lowest ").number(pooled_check_bytes);
  r.text(
      " bytes, which no frame reaches without overflowing, were written. A pooled stack has no "
      "guard page, so "
      "the stack below it (another thread's) may be damaged too. ");
  r.text(remedy).text(
      " Or spawn it with a guarded stack (spawn_options::stack = "
      "spindle::stack_kind::guarded), whose overflow is caught where it "
      "happens. Aborting.\n");
  r.write_to(2);
  std::abort();
}

}  // namespace spindle::green::detail
