// tests/green_preemption_test.cpp — what only the green backend has: a spinner that
// freezes the others when cooperative, and the safe-point rule, seen in the counts of
// switches deferred inside malloc, spindle's locks and no_preemption sections and taken
// later. Explained in: docs/08-reactor.md (preemption).
#include <doctest/doctest.h>
#include <stdio.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "preemption_support.hpp"
#include "spindle/green/trace.hpp"

namespace green = spindle::green;
using namespace std::chrono_literals;
using namespace spindle_test;

// And without preemption? The green ticker cannot tick while the spinner computes: its
// count is the same when the spinner stops as when it started (the spinner computes for
// a while, measured on the clock only to end its work, not to check anything).
TEST_CASE("a_spinning_green_thread_freezes_a_sleeping_ticker_when_cooperative") {
  REQUIRE(green::preemption::slice() == 0us);
  std::atomic<int> ticks{0};
  std::atomic<bool> stop{false};
  int at_start = -1, at_end = -1;
  auto ticker = green::spawn({.name = "ticker"}, [&] {
    while (!stop.load()) {
      green::this_thread::sleep_for(1ms);
      ticks.fetch_add(1);
    }
  });
  auto spinner = green::spawn({.name = "spinner"}, [&] {
    green::this_thread::sleep_for(3ms);  // the ticker is asleep in the timer queue now
    at_start = ticks.load();
    auto until = std::chrono::steady_clock::now() + 50ms;
    spin_until([&] { return std::chrono::steady_clock::now() > until; });
    at_end = ticks.load();
    stop.store(true);
  });
  spinner.join();
  ticker.join();
  CHECK(at_start >= 0);
  CHECK(at_end == at_start);
}

namespace {

// Whether every kind of deferral the test waits for has happened since `before`, and
// some switches were taken too.
bool saw_each_kind(const green::preemption::counts& before) {
  auto now = green::preemption::statistics();
  return now.deferred_in_library > before.deferred_in_library &&
         now.deferred_in_spindle > before.deferred_in_spindle &&
         now.deferred_in_section > before.deferred_in_section &&
         now.taken_at_section_end > before.taken_at_section_end && now.taken > before.taken;
}

}  // namespace

// What if the timer fires while a thread sits in malloc, or in a spindle mutex's lock and
// unlock, or in a no_preemption section? The switch waits (counted as deferred, by where)
// and is taken later at a safe point; the heap and the mutex's count stay whole.
TEST_CASE("the_timer_firing_inside_malloc_spindle_locks_and_sections_defers_the_switch") {
  preempting<green::backend> on(100us);
  faster_ticks faster;
  REQUIRE(faster.made());
  auto before = green::preemption::statistics();
  std::atomic<bool> done{false};
  green::mutex m;
  long counted_under_lock = 0;
  std::vector<long> rounds_of(2, 0);
  int heap_errors = 0;
  auto allocator = green::spawn({.name = "allocator"}, [&] {
    std::vector<void*> held(64, nullptr);
    for (std::uint64_t round = 0; !done.load(); ++round) {
      std::size_t slot = round % held.size(), size = 8 + (round * 37) % 2048;
      if (held[slot]) {
        if (*static_cast<unsigned char*>(held[slot]) != static_cast<unsigned char>(slot))
          ++heap_errors;
        std::free(held[slot]);
      }
      held[slot] = std::malloc(size);
      std::memset(held[slot], static_cast<int>(slot), size);
    }
    for (void* p : held) std::free(p);
  });
  // Each locker reads the count under the lock, computes, and writes it back: a switch
  // to the other locker while one holds the mutex must park it, or an update is lost.
  std::vector<green::thread<void>> lockers;
  for (int i = 0; i < 2; ++i) {
    lockers.push_back(green::spawn({.name = "locker " + std::to_string(i)}, [&, i] {
      while (!done.load()) {
        std::lock_guard hold(m);
        long seen = counted_under_lock;
        volatile int work = 0;
        for (int j = 0; j < 100; ++j) work = work + j;
        counted_under_lock = seen + 1;
        ++rounds_of[i];
      }
    }));
  }
  auto sectioned = green::spawn({.name = "in sections"}, [&] {
    volatile std::uint64_t work = 0;
    while (!done.load()) {
      green::preemption::no_preemption section;
      for (int i = 0; i < 200000; ++i) work = work + static_cast<std::uint64_t>(i);
    }
  });
  auto watcher = green::spawn({.name = "watcher"}, [&] {
    spin_until([&] { return saw_each_kind(before); });
    done.store(true);
  });
  watcher.join();
  bool all_seen = saw_each_kind(before);
  allocator.join();
  for (auto& t : lockers) t.join();
  sectioned.join();
  auto after = green::preemption::statistics();
  INFO("taken " << after.taken - before.taken << ", at a section's end "
                << after.taken_at_section_end - before.taken_at_section_end
                << "; deferred in a library "
                << after.deferred_in_library - before.deferred_in_library << ", in spindle "
                << after.deferred_in_spindle - before.deferred_in_spindle << ", in a section "
                << after.deferred_in_section - before.deferred_in_section);
  CHECK(all_seen);
  CHECK(heap_errors == 0);
  CHECK(counted_under_lock == rounds_of[0] + rounds_of[1]);
}

// Does a trace show where the timer took the processor? Each preemption is an instant
// "preempted" on the preempted thread's track, ending one of its "running" spans.
TEST_CASE("a_trace_marks_each_preemption_on_the_track_of_the_thread_it_stopped") {
  std::ostringstream json;
  {
    preempting<green::backend> on(1ms);
    std::atomic<int> ticks{0};
    std::atomic<bool> stop{false};
    green::trace::start();
    auto ticker = green::spawn({.name = "ticker"}, [&] {
      while (!stop.load()) {
        green::this_thread::sleep_for(1ms);
        ticks.fetch_add(1);
      }
    });
    auto spinner = green::spawn({.name = "spinner"}, [&] {
      spin_until([&] { return ticks.load() >= 2; });
      stop.store(true);
    });
    spinner.join();
    ticker.join();
    green::trace::stop();
  }
  green::trace::write_chrome_json(json);
  CHECK(json.str().find("\"name\":\"preempted\"") != std::string::npos);
}

// Can a program turn preemption on and off, and read back what it set?
TEST_CASE("set_slice_turns_preemption_on_and_off") {
  auto before = green::preemption::slice();
  green::preemption::set_slice(2ms);
  CHECK(green::preemption::slice() == 2ms);
  green::preemption::set_slice(10us);
  CHECK(green::preemption::slice() == 100us);  // the shortest slice
  green::preemption::set_slice(0us);
  CHECK(green::preemption::slice() == 0us);
  green::preemption::set_slice(before);
}
