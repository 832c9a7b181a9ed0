// tests/preemption_test.cpp — with preemption on, a thread that computes without
// yielding no longer freezes the others, and a program whose threads allocate, throw,
// print and lock while the timer interrupts them stays correct. Explained in:
// docs/08-reactor.md (preemption). The green-only tests are in
// tests/green_preemption_test.cpp.
//
// Written once over both backends: on the clone backend the kernel preempts, and the same
// programs must give the same answers. The preemption setting is the process's, so each
// test turns it on for its own duration (tests/preemption_support.hpp: preempting).
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

namespace green = spindle::green;
using namespace std::chrono_literals;
using namespace spindle_test;

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
      threads.push_back(
          B::spawn(spindle::spawn_options{.name = "worker " + std::to_string(w)},
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
