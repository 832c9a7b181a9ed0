// runtime/common/finished_owners.hpp — threads that finished while holding a mutex.
//
// Concept: a mutex names its owner by id, never by pointer, so a mutex whose owner
// finished without unlocking it points at nothing freed. What the deadlock report then
// needs, the owner's name, the owner leaves here as it finishes: each backend keeps one
// table (the green scheduler per kernel thread, the clone parking lot per process), and
// only threads that finish still counting a mutex held are entered, so the table costs
// nothing to a program that unlocks what it locks.
// Explained in: docs/07-deadlock.md (a mutex whose owner finished).
// Read next: runtime/common/deadlock_report.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

namespace spindle::detail {

class finished_owners {
 public:
  // What an owner left: its name, and how it came to hold the mutex for good (the words
  // the report puts after the name).
  struct entry {
    std::string name;
    const char* how;
  };
  static constexpr const char* finished = "which finished without unlocking";
  static constexpr const char* left_at_fork =
      "which stayed in the parent process at fork() holding it";

  // Called by a finishing thread that still holds a mutex, or, in a forked child, for a
  // thread that did not cross the fork while holding one. Its entry stays for the life
  // of the table: the mutex can never be unlocked, only destroyed, and it tells no one.
  // Without memory for the name, nothing is kept (the report then gives the id alone).
  void remember(std::uint64_t id, const std::string& name, const char* how = finished) noexcept {
    try {
      entries_.insert_or_assign(id, entry{name, how});
    } catch (...) {
    }
  }
  // What a finished owner left, or nullptr if `id` left nothing.
  const entry* find(std::uint64_t id) const noexcept {
    auto found = entries_.find(id);
    return found == entries_.end() ? nullptr : &found->second;
  }

 private:
  std::unordered_map<std::uint64_t, entry> entries_;
};

}  // namespace spindle::detail
