// tests/preemption_test.cpp — a thread that computes without yielding no longer freezes
// the others once preemption is on, and the switches the timer makes are safe: taken
// only in the program's own code, deferred inside malloc, spindle's locks and
// no_preemption sections. Explained in: docs/08-reactor.md (preemption).
//
// The behaviour tests are written once over both backends: on the clone backend the
// kernel preempts, and the same programs must give the same answers. The preemption
// setting is the process's, so each test turns it on for its own duration (preempting).
// No green thread calls doctest while preemption is on: doctest's reporter takes a
// std::mutex, a kernel thread's lock that the safe-point rule cannot see (a preempted
// holder would block the next green thread that reports). Threads record what they saw,
// and the test checks it after joining them.
#include <doctest/doctest.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

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

#include "green/preemption.hpp"
#include "green/scheduler.hpp"
#include "harness.hpp"
#include "spindle/green/preemption.hpp"

namespace green = spindle::green;
using namespace std::chrono_literals;
using spindle_test::is_green;

namespace {

constexpr auto patience = std::chrono::seconds(120);  // a bound for valgrind, not a measure

// Turns green preemption on with `slice` for the life of the object (on the clone
// backend it does nothing: the kernel preempts its threads anyway).
template <class B>
class preempting {
 public:
  explicit preempting(std::chrono::microseconds slice) {
    if constexpr (is_green<B>) green::preemption::set_slice(slice);
  }
  ~preempting() {
    if constexpr (is_green<B>) green::preemption::set_slice(0us);
  }
  preempting(const preempting&) = delete;
  preempting& operator=(const preempting&) = delete;
};

// The kernel checks CPU-clock timers at its scheduler tick (CONFIG_HZ: every 4 ms on
// this book's machine), so the preemption timer of a short test run fires a few times
// only. A test that must hit the narrow places where a switch would do harm (inside
// malloc, or a lock's few instructions) adds a timer of its own on CLOCK_MONOTONIC, every
// 50 µs, that sends the same signal with the same value: the handler cannot tell its
// ticks from the scheduler's own, and takes or defers each by the same rule.
class faster_ticks {
 public:
  faster_ticks() {
    auto& s = green::detail::scheduler::here();
    s.preemption_state().apply(s);  // installs the handler, if no spawn has yet
    sigevent to_this_thread{};
    to_this_thread.sigev_notify = SIGEV_THREAD_ID;
    to_this_thread.sigev_signo = green::detail::preemption_signal();
    to_this_thread.sigev_value.sival_ptr = &s.preemption_state();
    to_this_thread._sigev_un._tid = static_cast<pid_t>(syscall(SYS_gettid));
    made_ = to_this_thread.sigev_signo != 0 &&
            timer_create(CLOCK_MONOTONIC, &to_this_thread, &timer_) == 0;
    itimerspec every{{0, 50'000}, {0, 50'000}};
    if (made_) timer_settime(timer_, 0, &every, nullptr);
  }
  ~faster_ticks() {
    if (made_) timer_delete(timer_);
  }
  faster_ticks(const faster_ticks&) = delete;
  faster_ticks& operator=(const faster_ticks&) = delete;
  bool made() const { return made_; }

 private:
  timer_t timer_{};
  bool made_ = false;
};

// Computes in the program's own code until `enough()` or the patience runs out; returns
// whether `enough()` came true. The clock is read once per million rounds only, so that
// the timer nearly always finds the spinner here and not in the C library.
template <class Enough>
bool spin_until(Enough enough) {
  auto give_up = std::chrono::steady_clock::now() + patience;
  volatile std::uint64_t work = 0;
  for (std::uint64_t round = 1;; ++round) {
    if (enough()) return true;
    work = work + round;
    if (round % 1'000'000 == 0 && std::chrono::steady_clock::now() > give_up) return false;
  }
}

}  // namespace

// Does a ticker that sleeps 1 ms per tick keep ticking while another thread computes
// without ever calling spindle? With preemption (and on kernel threads), yes: the spinner
// stops only once it has seen the ticker advance.
TEST_CASE_TEMPLATE("a_spinning_thread_does_not_freeze_a_sleeping_ticker_with_preemption_on", B,
                   SPINDLE_TEST_BACKENDS) {
  preempting<B> on(1ms);
  std::atomic<int> ticks{0};
  std::atomic<bool> stop{false};
  bool ticker_advanced = false;
  auto ticker = B::spawn(spindle::spawn_options{.name = "ticker"}, [&] {
    while (!stop.load()) {
      B::this_thread::sleep_for(1ms);
      ticks.fetch_add(1);
    }
  });
  auto spinner = B::spawn(spindle::spawn_options{.name = "spinner"}, [&] {
    int seen_first = ticks.load();
    ticker_advanced = spin_until([&] { return ticks.load() >= seen_first + 3; });
    stop.store(true);
  });
  spinner.join();
  ticker.join();
  CHECK(ticker_advanced);
}

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

// What one worker of the mixed program saw go wrong; all zero when all went well.
struct worker_findings {
  int wrong_exception_text = 0;  // a caught exception's message was not the one thrown
  int wrong_buffer = 0;          // an allocated buffer did not keep what was written
  int wrong_line = 0;            // a formatted line was not the expected text
};

// One worker's rounds: allocate and fill, throw and catch, format a line into a string
// stream and print it into a memory stream (stdio, with its FILE lock), compute a little,
// then add to the shared total under a spindle mutex. Each step is one the timer may
// interrupt anywhere.
template <class B>
void mixed_rounds(int worker, int rounds, typename B::mutex& m, long& total, FILE* printed,
                  worker_findings& found) {
  for (int round = 0; round < rounds; ++round) {
    std::size_t size = 16 + static_cast<std::size_t>((worker * 131 + round * 17) % 4000);
    auto buffer = std::make_unique<unsigned char[]>(size);
    std::memset(buffer.get(), worker + 1, size);
    std::string expected = "worker " + std::to_string(worker) + " round " + std::to_string(round);
    try {
      throw std::runtime_error(expected);
    } catch (const std::runtime_error& e) {
      if (expected != e.what()) ++found.wrong_exception_text;
    }
    std::ostringstream line;
    line << expected << " of " << rounds;
    if (line.str() != expected + " of " + std::to_string(rounds)) ++found.wrong_line;
    std::fprintf(printed, "%s\n", line.str().c_str());
    for (std::size_t i = 0; i < size; ++i) {
      if (buffer[i] != worker + 1) {
        ++found.wrong_buffer;
        break;
      }
    }
    std::lock_guard hold(m);
    total += round;
  }
}

}  // namespace

// What if the timer interrupts threads that allocate, throw, print and lock, anywhere in
// all of that? Nothing deadlocks, every value is what it should be, and every line is
// printed once, whole; on the green backend the run took some preemptions.
TEST_CASE_TEMPLATE("a_preempted_program_that_allocates_throws_prints_and_locks_stays_correct", B,
                   SPINDLE_TEST_BACKENDS) {
  preempting<B> on(100us);
  std::optional<faster_ticks> faster;
  if constexpr (is_green<B>) REQUIRE(faster.emplace().made());
  constexpr int workers = 4, rounds = 200;
  auto before = green::preemption::statistics();
  spindle_test::under_many_schedules<B>([&] {
    typename B::mutex m;
    long total = 0;
    char* text = nullptr;
    std::size_t length = 0;
    FILE* printed = open_memstream(&text, &length);
    REQUIRE(printed);
    std::vector<worker_findings> found(workers);
    std::vector<typename B::template thread<void>> threads;
    for (int w = 0; w < workers; ++w) {
      threads.push_back(B::spawn(spindle::spawn_options{.name = "worker " + std::to_string(w)},
                                 [&, w] { mixed_rounds<B>(w, rounds, m, total, printed, found[w]); }));
    }
    for (auto& t : threads) t.join();
    std::fclose(printed);
    std::string all(text, length);
    std::free(text);
    CHECK(total == workers * (rounds * (rounds - 1) / 2));
    for (int w = 0; w < workers; ++w) {
      INFO("worker " << w);
      CHECK(found[w].wrong_exception_text == 0);
      CHECK(found[w].wrong_buffer == 0);
      CHECK(found[w].wrong_line == 0);
      for (int round = 0; round < rounds; round += 29) {
        std::string line = "worker " + std::to_string(w) + " round " + std::to_string(round) +
                           " of " + std::to_string(rounds) + "\n";
        CHECK(all.find(line) != std::string::npos);
      }
    }
    CHECK(static_cast<int>(std::count(all.begin(), all.end(), '\n')) == workers * rounds);
  });
  if constexpr (is_green<B>) CHECK(green::preemption::statistics().taken > before.taken);
}

namespace {

// Turns green preemption on for the test's duration (the green-only tests below).
struct green_preempting {
  explicit green_preempting(std::chrono::microseconds slice) { green::preemption::set_slice(slice); }
  ~green_preempting() { green::preemption::set_slice(0us); }
};

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
  green_preempting on(100us);
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
        if (*static_cast<unsigned char*>(held[slot]) != static_cast<unsigned char>(slot)) ++heap_errors;
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
                << "; deferred in a library " << after.deferred_in_library - before.deferred_in_library
                << ", in spindle " << after.deferred_in_spindle - before.deferred_in_spindle
                << ", in a section " << after.deferred_in_section - before.deferred_in_section);
  CHECK(all_seen);
  CHECK(heap_errors == 0);
  CHECK(counted_under_lock == rounds_of[0] + rounds_of[1]);
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
