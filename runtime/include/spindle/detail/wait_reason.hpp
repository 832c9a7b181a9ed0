// spindle/detail/wait_reason.hpp — what a blocked thread waits on, and why it woke.
//
// Concept: both backends record, for every blocked thread, what it waits on (for the
// deadlock report) and, when it wakes, why: woken by another thread, timed out, or
// failed by the deadlock detector. Record is the backend's thread record.
// Explained in: docs/07-deadlock.md. Read next: spindle/green/detail/record.hpp.
#pragma once

#include <cstdint>

namespace spindle::detail {

// Why a parked thread came back to life.
enum class wake_status : std::uint8_t { woken, timed_out, deadlock };

template <class Record>
struct wait_reason {
  const char* what = "";            // "mutex", "join", "sleep", a wait_label's name...
  const void* object = nullptr;     // the object waited on, printed as an address
  const Record* holder = nullptr;   // who holds it, when one thread does (a mutex owner)
};

}  // namespace spindle::detail
