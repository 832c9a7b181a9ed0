// spindle/green/local.hpp — green-thread-local storage.
//
// Concept: C++ `thread_local` is per KERNEL thread, and every green thread of a
// scheduler runs on the same kernel thread, so they all share one copy (a test shows
// it). spindle::green::local<T> gives each green thread its own T, made on first use
// and destroyed when that thread finishes.
//
//     spindle::green::local<int> calls;   // usually static or global
//     ++*calls;                           // this green thread's own counter
//
// Explained in: docs/05-synchronisation.md (green-thread-local storage).
// Read next: runtime/green/local.cpp.
#pragma once

#include <cstddef>

#include "spindle/green/detail/record.hpp"

namespace spindle::green {

namespace detail {
// A key no other local has had or will have in this process.
std::size_t new_local_key() noexcept;
// The running green thread's slot for `key`, made empty on first use.
record::local_slot& local_slot_of_running(std::size_t key);
}  // namespace detail

template <class T>
class local {
public:
  local() : key_(detail::new_local_key()) {}
  local(const local&) = delete;
  local& operator=(const local&) = delete;

  // The running green thread's T, value-initialised on first use.
  T& get() {
    record_slot& slot = detail::local_slot_of_running(key_);
    if (!slot.value) {
      slot.value = new T();
      slot.destroy = [](void* p) { delete static_cast<T*>(p); };
    }
    return *static_cast<T*>(slot.value);
  }
  T& operator*() { return get(); }
  T* operator->() { return &get(); }

private:
  using record_slot = detail::record::local_slot;
  std::size_t key_;
};

}  // namespace spindle::green
