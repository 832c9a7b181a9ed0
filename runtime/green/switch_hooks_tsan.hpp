// runtime/green/switch_hooks_tsan.hpp — the switch hooks of a ThreadSanitizer build:
// TSan's fiber API (<sanitizer/tsan_interface.h>).
//
// Concept: TSan keeps, per thread it knows, a shadow call stack and a vector clock (what
// that thread has seen happen). A context switch moves the kernel thread to another
// call stack without telling it, so each context gets a TSan fiber of its own, made by
// __tsan_create_fiber, and every switch says which fiber runs next with
// __tsan_switch_to_fiber, just before the jump, with no instrumented code in between.
// Flag 0 (not __tsan_switch_to_fiber_no_sync) makes each switch a synchronisation, as it
// is: what one context did before it switched away happened before what the next does.
// A context's fiber is found by the stack it runs on (a stack holds one context at a
// time, from its first switch until frames_abandoned), in one table for the process, so
// that a context may be resumed on another kernel thread than the one it left (an M:N
// scheduler uses these hooks as they are). The root context of a kernel thread is the
// fiber TSan made for that thread, adopted when the scheduler asks for kernel_stack().
// Chosen by runtime/green/switch_hooks.hpp, which states the contract of each hook.
// Explained in: docs/11-performance.md (the checked configurations).
// Read next: runtime/green/context.cpp.
#pragma once

#include <sanitizer/tsan_interface.h>

#include <mutex>
#include <unordered_map>

#include "spindle/green/detail/record.hpp"
#include "stack.hpp"

namespace spindle::green::detail::switch_hooks {

// The fiber of each context, by its stack's lowest address. Never destroyed: a kernel
// thread may still switch while the process's static objects are being destroyed.
class tsan_fibers {
 public:
  static tsan_fibers& table() {
    static tsan_fibers* const all = new tsan_fibers;
    return *all;
  }

  // The fiber of the context on `stack_low`, made on its first switch.
  void* of(const void* stack_low) {
    std::lock_guard held(lock_);
    void*& fiber = fibers_[stack_low];
    if (!fiber) fiber = __tsan_create_fiber(0);
    return fiber;
  }
  // The root context runs on TSan's own fiber for the kernel thread, not on one of ours.
  void adopt(const void* stack_low, void* fiber) {
    std::lock_guard held(lock_);
    fibers_[stack_low] = fiber;
  }
  // The context on `stack_low` finished; the next context there gets a fiber of its own.
  void forget(const void* stack_low) {
    std::lock_guard held(lock_);
    auto found = fibers_.find(stack_low);
    if (found == fibers_.end()) return;
    __tsan_destroy_fiber(found->second);
    fibers_.erase(found);
  }

 private:
  std::mutex lock_;
  std::unordered_map<const void*, void*> fibers_;  // guarded by lock_
};

struct departure {};  // TSan keeps each fiber's state itself

// Always inlined: a hook of its own, out of line, would leave by __tsan_func_exit after
// the switch, popping a frame off the shadow stack of the context switched to (seen: the
// root lost one per spawn and join, and TSan crashed walking past its stack's start).
[[gnu::always_inline]] inline departure before_switch(const stack_span& to) noexcept {
  __tsan_switch_to_fiber(tsan_fibers::table().of(to.low), 0);
  return {};
}

[[gnu::always_inline]] inline void before_last_switch(const stack_span& to) noexcept {
  __tsan_switch_to_fiber(tsan_fibers::table().of(to.low), 0);
}

inline void after_switch(const departure& = {}) noexcept {}

// Called on another context than the one that finished there, so its fiber is not the
// running one.
inline void frames_abandoned(const stack_span& stack) noexcept {
  tsan_fibers::table().forget(stack.low);
}

// Called by the scheduler's constructor on its kernel thread, in the root context: the
// root's fiber is the one TSan runs that thread on now.
inline stack_span kernel_stack() noexcept {
  stack_span root = kernel_thread_stack();
  tsan_fibers::table().adopt(root.low, __tsan_get_current_fiber());
  return root;
}

}  // namespace spindle::green::detail::switch_hooks
