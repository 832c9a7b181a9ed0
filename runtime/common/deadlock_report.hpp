// runtime/common/deadlock_report.hpp — the deadlock report, written once for both backends.
//
// Concept: when a backend proves that no thread can ever be woken, it fails one blocked
// call with a report listing every blocked thread and what it waits on. The two
// backends prove it differently (docs/07-deadlock.md); they word it the same way.
// Explained in: docs/07-deadlock.md. Read next: runtime/green/deadlock.cpp.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>

#include "finished_owners.hpp"

namespace spindle::detail {

inline void describe_thread(std::ostringstream& out, std::uint64_t id, const std::string& name) {
  out << '"' << (name.empty() ? std::string_view("unnamed") : std::string_view(name)) << "\" (id "
      << id << ')';
}

template <class Record>
void describe_thread(std::ostringstream& out, const Record* r) {
  describe_thread(out, r->id, r->name);
}

// `"name" (id 7)`, as threads are named in every message spindle prints.
template <class Record>
std::string describe_thread(const Record* r) {
  std::ostringstream out;
  describe_thread(out, r);
  return out.str();
}

// Who is who when the report is written: every registered thread by id, and the names
// that owners which finished holding a mutex left behind. A mutex names its owner by id
// (runtime/common/finished_owners.hpp), so the report finds the owner here and never
// follows a pointer to a thread that may be gone.
template <class Record>
class thread_directory {
 public:
  thread_directory(const Record* all, const finished_owners& finished) : finished_(finished) {
    for (const Record* r = all; r; r = r->all_next) live_.emplace(r->id, r);
  }

  // `"name" (id 7)` for a registered thread; `"name" (id 7), which finished without
  // unlocking` for an owner that finished holding the object (or stayed behind at fork).
  void describe_holder(std::ostringstream& out, std::uint64_t id) const {
    if (const finished_owners::entry* owner = finished_.find(id)) {
      describe_thread(out, id, owner->name);
      out << ", " << owner->how;
    } else if (auto found = live_.find(id); found != live_.end()) {
      describe_thread(out, found->second);
    } else {
      out << "thread " << id << ", which finished without unlocking";
    }
  }

 private:
  std::unordered_map<std::uint64_t, const Record*> live_;
  const finished_owners& finished_;
};

template <class Record>
void describe_wait(std::ostringstream& out, const Record* r,
                   const thread_directory<Record>& threads) {
  const auto& why = r->waiting_on;
  if (std::string_view(why.what) == "join") {
    out << "join of ";
    describe_thread(out, why.holder);
    return;
  }
  out << why.what << ' ' << why.object;
  if (why.holder) {
    out << ", held by ";
    describe_thread(out, why.holder);
  } else if (why.holder_id) {
    if (std::uint64_t id = why.holder_id(why.object)) {
      out << ", held by ";
      threads.describe_holder(out, id);
    }
  }
}

// Whom to fail: the thread that blocked last among those waiting on an object another
// thread holds or must signal (a mutex, a channel, ...), so that as it unwinds it may
// release what the others wait for; only if every blocked thread waits in a join, the
// last of those. A thread waiting in join is downstream of a deadlock, not part of it.
template <class Record, class IsBlocked>
Record* choose_deadlock_victim(Record* all, IsBlocked is_blocked) {
  Record* latest = nullptr;
  Record* latest_joiner = nullptr;
  for (Record* r = all; r; r = r->all_next) {
    if (!is_blocked(r)) continue;
    Record*& best = std::string_view(r->waiting_on.what) == "join" ? latest_joiner : latest;
    if (!best || r->park_number > best->park_number) best = r;
  }
  return latest ? latest : latest_joiner;
}

// The report: `headline`, one line per thread for which is_blocked(r) holds (walking the
// list linked by all_next from `all`), and who fails. `finished` holds the names of
// owners that finished holding a mutex. Throws std::bad_alloc when memory runs out.
template <class Record, class IsBlocked>
std::string describe_deadlock(std::string_view headline, const Record* all, IsBlocked is_blocked,
                              const Record* failed, const finished_owners& finished) {
  const thread_directory<Record> threads(all, finished);
  std::ostringstream out;
  out << headline << "\nBlocked threads:\n";
  for (const Record* r = all; r; r = r->all_next) {
    if (!is_blocked(r)) continue;
    out << "  ";
    describe_thread(out, r);
    out << " waits on ";
    describe_wait(out, r, threads);
    out << '\n';
  }
  out << "The blocking call of ";
  describe_thread(out, failed);
  out << " fails with this spindle::deadlock_error (the last to block on a resource).";
  return out.str();
}

}  // namespace spindle::detail
