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
  const char* what = "";           // "mutex", "join", "sleep", a wait_label's name...
  const void* object = nullptr;    // the object waited on, printed as an address
  const Record* holder = nullptr;  // the thread that must act, if fixed (the one joined)
  // For an object whose holder changes while threads wait (a mutex, handed from one
  // owner to the next): reads the id of its holder now, 0 if none. The deadlock report
  // calls it, so that it names the holder of the moment, which may have finished.
  std::uint64_t (*holder_id)(const void* object) noexcept = nullptr;
};

}  // namespace spindle::detail
