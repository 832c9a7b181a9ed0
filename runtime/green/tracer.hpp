// runtime/green/tracer.hpp — the buffer behind spindle/green/trace.hpp.
//
// Concept: an event is a time, a thread id, a kind and at most a short static text and
// one number; recording one is a bounds check and a store. Names of threads are kept
// aside once per thread, at spawn. Export is the slow part, and happens after the run.
// Explained in: docs/03-scheduler.md (seeing the scheduler). Read next: runtime/green/trace.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace spindle::green::detail {

enum class event_kind : std::uint8_t { spawn, run, park, wake, exit, timer };

struct event {
  std::int64_t ns;         // steady_clock time
  std::uint64_t thread;    // the green thread's id (0: the scheduler loop)
  event_kind kind;
  const char* what;        // park: what it waits on; wake: why; else nullptr
  std::uint64_t argument;  // spawn: the parent's id; wake: the waker's id
};

class tracer {
public:
  explicit tracer(std::size_t capacity) { events_.reserve(capacity); }

  void add(event_kind kind, std::uint64_t thread, const char* what = nullptr,
           std::uint64_t argument = 0) noexcept {
    if (events_.size() == events_.capacity()) {
      ++dropped_;
      return;
    }
    auto now = std::chrono::steady_clock::now().time_since_epoch();
    events_.push_back({std::chrono::duration_cast<std::chrono::nanoseconds>(now).count(), thread,
                       kind, what, argument});
  }
  void name(std::uint64_t thread, const std::string& name) { names_[thread] = name; }

  std::size_t recorded() const noexcept { return events_.size(); }
  std::size_t dropped() const noexcept { return dropped_; }
  void write_chrome_json(std::ostream& out) const;

private:
  std::vector<event> events_;
  std::map<std::uint64_t, std::string> names_;  // thread id -> name at spawn
  std::size_t dropped_ = 0;
};

}  // namespace spindle::green::detail
