// spindle/local.hpp — thread-local storage that follows spindle's threads.
//
// Concept: C++ `thread_local` is per KERNEL thread. On the clone backend that is the
// same thing as a spindle thread, but every green thread of a scheduler runs on the same
// kernel thread, so they all share one copy (a test shows it). local<T> gives each
// spindle thread its own T on both backends, made on first use and destroyed when that
// thread finishes.
//
//     static spindle::green::local<int> calls;
//     ++*calls;                                  // this thread's own counter
//
// Written once; a backend supplies the running thread's slots (Sync::local_slot).
// Explained in: docs/06-synchronisation.md (thread-local storage).
// Read next: runtime/green/local.cpp.
#pragma once

#include <cstddef>
#include <vector>

namespace spindle {

// One thread's value for one key, and how to destroy it.
struct local_slot {
  void* value = nullptr;
  void (*destroy)(void*) = nullptr;
};

namespace detail {
// A key no other local has had or will have in this process.
std::size_t new_local_key() noexcept;
// Destroys a finishing thread's values, on that thread (runtime/common/local.cpp).
void destroy_local_values(std::vector<local_slot>& slots) noexcept;
}  // namespace detail

template <class T, class Sync>
class basic_local {
 public:
  basic_local() : key_(detail::new_local_key()) {}
  basic_local(const basic_local&) = delete;
  basic_local& operator=(const basic_local&) = delete;

  // The running thread's T, value-initialised on first use.
  T& get() {
    if (void* value = Sync::local_slot(key_).value) return *static_cast<T*>(value);
    // T's constructor may use other locals and so grow the slots: look the slot up again.
    T* made = new T();
    local_slot& slot = Sync::local_slot(key_);
    slot.value = made;
    slot.destroy = [](void* p) { delete static_cast<T*>(p); };
    return *made;
  }
  T& operator*() { return get(); }
  T* operator->() { return &get(); }

 private:
  std::size_t key_;
};

}  // namespace spindle
