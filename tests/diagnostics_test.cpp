// tests/diagnostics_test.cpp — the statistics, the thread dump and the dump signal
// (spindle/diagnostics.hpp) tell what each thread is doing, on both backends.
#include "spindle/diagnostics.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>

#include "harness.hpp"

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

template <class B>
spindle::runtime_statistics statistics_of() {
  if constexpr (spindle_test::is_green<B>) {
    return spindle::green::statistics();
  } else if constexpr (spindle_test::is_mn<B>) {
    return spindle::mn::statistics();
  } else {
    return spindle::clone::statistics();
  }
}

template <class B>
std::string dump_of() {
  std::ostringstream out;
  if constexpr (spindle_test::is_green<B>) {
    spindle::green::dump_threads(out);
  } else if constexpr (spindle_test::is_mn<B>) {
    spindle::mn::dump_threads(out);
  } else {
    spindle::clone::dump_threads(out);
  }
  return out.str();
}

// Lets other threads run until `blocked` threads are parked: one yield on the green
// backend (deterministic), a wait for the outcome on the clone one.
template <class B>
void until_blocked(std::size_t blocked) {
  while (statistics_of<B>().threads_blocked < blocked) B::this_thread::yield();
}

std::size_t blocked_on(const spindle::runtime_statistics& stats, const std::string& kind) {
  for (const auto& [what, n] : stats.blocked_by_kind)
    if (what == kind) return n;
  return 0;
}

}  // namespace

TEST_SUITE("diagnostics") {
// A thread waits for a mutex the caller holds: do the statistics count it, by kind?
TEST_CASE_TEMPLATE("statistics_count_a_thread_blocked_on_a_mutex_by_its_kind", B,
                   SPINDLE_TEST_BACKENDS) {
  typename B::mutex held;
  std::unique_lock lock(held);
  auto before = statistics_of<B>();
  auto locker = B::spawn([&] { std::lock_guard taken(held); });
  until_blocked<B>(before.threads_blocked + 1);
  auto during = statistics_of<B>();
  CHECK(blocked_on(during, "mutex") == blocked_on(before, "mutex") + 1);
  CHECK(during.spawns == before.spawns + 1);
  CHECK(during.parks > before.parks);
  CHECK(during.threads_alive == before.threads_alive + 1);
  lock.unlock();
  locker.join();
  CHECK(statistics_of<B>().threads_blocked == before.threads_blocked);
}

// Does the dump name each thread, its state, and what it waits on as the deadlock
// report would?
TEST_CASE_TEMPLATE("dump_threads_names_a_blocked_thread_and_what_it_waits_on", B,
                   SPINDLE_TEST_BACKENDS) {
  typename B::mutex held;
  std::unique_lock lock(held);
  std::size_t blocked = statistics_of<B>().threads_blocked;
  auto locker =
      B::spawn(spindle::spawn_options{.name = "locker"}, [&] { std::lock_guard taken(held); });
  until_blocked<B>(blocked + 1);
  std::string dump = dump_of<B>();
  INFO(dump);
  CHECK(contains(dump, "\"locker\" "));
  CHECK(contains(dump, " blocked on mutex 0x"));
  CHECK(contains(dump, "threads_blocked_on:mutex=1"));
  lock.unlock();
  locker.join();
}

// The signal, once enabled: is the dump printed on standard error, by the scheduler
// (green) or the dump thread (clone), not by the handler?
TEST_CASE_TEMPLATE("the_dump_signal_prints_the_thread_dump_on_standard_error", B,
                   SPINDLE_TEST_BACKENDS) {
  if constexpr (spindle_test::is_green<B>) {
    spindle::green::enable_thread_dump_signal(SIGUSR2);
  } else if constexpr (spindle_test::is_mn<B>) {
    spindle::mn::enable_thread_dump_signal(SIGUSR2);
  } else {
    spindle::clone::enable_thread_dump_signal(SIGUSR2);
  }
  char path[] = "/tmp/spindle-dump-XXXXXX";
  int file = ::mkstemp(path);
  REQUIRE(file >= 0);
  std::fflush(stderr);
  int saved_stderr = ::dup(2);
  ::dup2(file, 2);
  REQUIRE(::raise(SIGUSR2) == 0);
  std::string text;
  std::string expected = spindle_test::is_green<B> ? "spindle: green threads of kernel thread"
                         : spindle_test::is_mn<B>  ? "spindle: M:N threads on"
                                                   : "spindle: clone threads:";
  // The scheduler's loop runs while the caller sleeps; the clone dump thread runs at once.
  for (int tries = 0; tries < 1000 && !contains(text, "stack_bytes_cached:"); ++tries) {
    B::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::ifstream in(path);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  ::dup2(saved_stderr, 2);
  ::close(saved_stderr);
  ::close(file);
  ::unlink(path);
  INFO(text);
  CHECK(contains(text, expected));
  CHECK(contains(text, "stack_bytes_cached:"));
  // Ignored from here on, so that no later SIGUSR2 prints into another test's output.
  ::signal(SIGUSR2, SIG_IGN);
}

// Bad input: a signal that cannot be caught is refused with a message.
TEST_CASE_TEMPLATE("enabling_the_dump_on_sigkill_is_refused", B, SPINDLE_TEST_BACKENDS) {
  if constexpr (spindle_test::is_green<B>) {
    CHECK_THROWS_AS(spindle::green::enable_thread_dump_signal(SIGKILL), std::invalid_argument);
  } else if constexpr (spindle_test::is_mn<B>) {
    CHECK_THROWS_AS(spindle::mn::enable_thread_dump_signal(SIGKILL), std::invalid_argument);
  } else {
    CHECK_THROWS_AS(spindle::clone::enable_thread_dump_signal(SIGKILL), std::invalid_argument);
  }
}
// The time figures are measured on the green backend alone: the clone backend's
// threads are scheduled by the kernel, which keeps their times (/proc/PID/task).

// Does the longest run name the thread that held the processor longest, and is the
// figure at least what that thread measured itself?
TEST_CASE("the_longest_run_names_the_green_thread_that_spun_longest_without_yielding") {
  spindle::green::measure_run_times();
  std::chrono::nanoseconds long_spin{};
  auto spin = [](std::chrono::nanoseconds d) {
    auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < d) {
    }
    return std::chrono::steady_clock::now() - start;
  };
  auto brief = spindle::green::spawn([&] { spin(std::chrono::milliseconds(1)); });
  // 30 times the brief one: a run is wall time, and a loaded machine stretches a 1 ms
  // spin by the time the kernel gives another process (4.8 ms was seen).
  auto longer = spindle::green::spawn([&] { long_spin = spin(std::chrono::milliseconds(30)); });
  auto longer_id = longer.get_id().value();
  brief.join();
  longer.join();
  auto stats = spindle::green::statistics();
  spindle::green::measure_run_times(false);
  CHECK(stats.longest_run_thread == longer_id);
  CHECK(stats.longest_run_ns >= static_cast<std::uint64_t>(long_spin.count()));
  std::ostringstream text;
  spindle::write_statistics(text, stats);
  CHECK(contains(text.str(), "longest_run_ns:" + std::to_string(stats.longest_run_ns)));
}

// Does the dump tell each blocked thread's time in its state, longer for the one that
// parked first? (Green measures it when asked; clone stamps every park.)
TEST_CASE_TEMPLATE("the_dump_shows_a_longer_time_blocked_for_the_thread_that_parked_first", B,
                   SPINDLE_TEST_BACKENDS) {
  if constexpr (spindle_test::is_green<B>) spindle::green::measure_run_times();
  typename B::mutex m;
  std::unique_lock held(m);
  auto blocked_on_mutex = [] {
    for (const auto& [kind, n] : statistics_of<B>().blocked_by_kind)
      if (kind == "mutex") return n;
    return std::size_t{0};
  };
  auto wait_until_blocked = [&](std::size_t n) {
    while (blocked_on_mutex() < n) B::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  auto first = B::spawn({.name = "first"}, [&] { std::lock_guard g(m); });
  wait_until_blocked(1);
  B::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto second = B::spawn({.name = "second"}, [&] { std::lock_guard g(m); });
  wait_until_blocked(2);
  std::string text = dump_of<B>();
  held.unlock();
  first.join();
  second.join();
  if constexpr (spindle_test::is_green<B>) spindle::green::measure_run_times(false);
  auto in_state = [&](const std::string& name) {  // "... parks ago) for 2.1 ms" in ns, or -1
    auto line = text.find('"' + name + '"');
    if (line == std::string::npos) return -1.0;
    auto at = text.find(" parks ago) for ", line);
    if (at == std::string::npos || at > text.find('\n', line)) return -1.0;
    std::istringstream figure(text.substr(at + 16, 20));
    double value = 0;
    std::string unit;
    figure >> value >> unit;
    double scale = unit == "ns"   ? 1
                   : unit == "us" ? 1e3
                   : unit == "ms" ? 1e6
                   : unit == "s"  ? 1e9
                                  : -1;
    return value * scale;
  };
  INFO(text);
  CHECK(in_state("second") >= 0);
  CHECK(in_state("first") > in_state("second"));
}
}  // TEST_SUITE("diagnostics")
