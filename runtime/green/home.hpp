// runtime/green/home.hpp — the slow half of a green object's home check
// (spindle/green/detail/home.hpp has the concept).
// Explained in: docs/07-deadlock.md (used from another kernel thread).
// Read next: runtime/green/home.cpp.
#pragma once

#include "scheduler.hpp"
#include "spindle/green/detail/home.hpp"

namespace spindle::green::detail {

// How a failed home check names the object: the call, the object's kind and address,
// and, for a condition variable inside another object (a channel's), that object.
struct object_name {
  const char* call;  // "spindle::green::mutex::lock"
  const char* kind;  // "mutex"
  const void* address;
  const char* owner_kind = nullptr;  // from the condition variable's wait_label, if any
  const void* owner = nullptr;
};

// Throws spindle::foreign_thread_error: `object`, whose home is `home`, was called from
// a kernel thread whose scheduler is not `home`. Called by the slow paths only.
[[noreturn, gnu::cold, gnu::noinline]] void throw_foreign_use(const object_name& object,
                                                              const void* home);

// Called when the fast compare of `home` with current_scheduler failed: on the object's
// first call, binds it to the caller's scheduler (made if the kernel thread has none
// yet) and returns that; otherwise throws as throw_foreign_use, making no scheduler on
// the foreign kernel thread.
scheduler& enter_home(const void*& home, const object_name& object);

}  // namespace spindle::green::detail
