// runtime/green/tracer.hpp — the buffer behind spindle/green/trace.hpp.
//
// Concept: an event is a time, a thread id, a kind and at most a short static text and
// one number; recording one is a bounds check and a store. Names of threads are kept
// aside once per thread, at spawn. Export is the slow part, and happens after the run.
// Explained in: docs/05-scheduler.md (seeing the scheduler). Read next: runtime/green/trace.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace spindle::green::detail {

enum class event_kind : std::uint8_t { spawn, run, park, wake, exit, timer, preempt };

struct event {
  std::int64_t ns;       // steady_clock time
  std::uint64_t thread;  // the green thread's id (0: the scheduler loop)
  event_kind kind;
  const char* what;        // park: what it waits on; wake: why; else nullptr
  std::uint64_t argument;  // spawn: the parent's id; wake: the waker's id
};

class tracer {
 public:
  explicit tracer(std::size_t capacity) { events_.reserve(capacity); }

  // Out of line on purpose: the switch functions that call it must stay free of
  // addressable locals, or ASan's fake stack gives finish_running a frame it never
  // returns from normally (the crash this avoids: tests/green_trace_test.cpp under ASan).
  [[gnu::noinline]] void add(event_kind kind, std::uint64_t thread, const char* what,
                             std::uint64_t argument) noexcept;
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
