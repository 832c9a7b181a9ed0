// tests/green_watchdog_test.cpp — the watchdog names a green thread that blocks its
// scheduler in a system call, or hogs it computing, and says nothing about a program that
// blocks only through spindle and yields, or whose hog is preempted.
// Explained in: docs/08-reactor.md (the watchdog, the hog watchdog).
//
// Each scenario sets the process's threshold, so each runs in a child process
// (tests/child_process.hpp); a child that hangs on purpose is killed once its stderr
// shows the report. The threshold is 200 ms, to keep the tests short.
#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <thread>
#include <utility>

#include "child_process.hpp"
#include "green/watchdog.hpp"
#include "spindle/clone.hpp"
#include "spindle/green.hpp"
#include "spindle/green/preemption.hpp"

namespace green = spindle::green;
namespace kernel = spindle::clone;
using namespace std::chrono_literals;
using spindle_test::run_in_child;

namespace {

constexpr auto short_threshold = 200ms;
constexpr auto patience = std::chrono::seconds(120);  // a bound for valgrind, not a measure

bool says(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The kernel thread beside the green ones: a clone thread, but under ASan, which cannot
// follow threads glibc did not make (docs/09-clone-backend.md), a std::thread.
#if defined(__SANITIZE_ADDRESS__)
using other_kernel_thread = std::thread;
#else
class other_kernel_thread {
 public:
  template <class F>
  explicit other_kernel_thread(F f) : thread_(kernel::spawn(std::move(f))) {}
  void join() { thread_.join(); }

 private:
  kernel::thread<void> thread_;
};
#endif

}  // namespace

// What if a green thread reads a pipe with libc's read, and the writer is another green
// thread? It waits forever, and the watchdog says who and in which call.
TEST_CASE(
    "a_green_thread_in_libc_read_on_a_pipe_its_green_writer_cannot_fill_is_named_with_the_call") {
  auto outcome = run_in_child(
      [] {
        green::watchdog::set_threshold(short_threshold);
        int pipe_ends[2];
        if (pipe(pipe_ends) != 0) return 3;
        auto reader = green::spawn({.name = "reader"}, [&] {
          char byte;
          [[maybe_unused]] ssize_t got = ::read(pipe_ends[0], &byte, 1);  // never returns
        });
        auto writer =
            green::spawn({.name = "writer"}, [&] { green::io::write(pipe_ends[1], "x", 1); });
        reader.join();
        writer.join();
        return 0;
      },
      patience, "in the system call read(2)");
  INFO(outcome.describe());
  CHECK(outcome.stopped_at_cue);
  CHECK(says(outcome.err, "\"reader\" has blocked its scheduler for "));
  CHECK(says(outcome.err, "spindle::green::io::read"));
}

// What if a green thread locks a clone mutex that a clone thread holds? Its futex wait
// freezes the scheduler: the watchdog names it, and once the holder unlocks, all ends well.
TEST_CASE(
    "a_green_thread_waiting_for_a_clone_mutex_is_named_with_futex_and_completes_once_it_is_"
    "unlocked") {
  auto outcome = run_in_child(
      [] {
        green::watchdog::set_threshold(short_threshold);
        // The holder keeps the mutex until it has read the report, which stderr, turned
        // into a pipe here, brings it; then it passes the report on to the real stderr.
        int report[2];
        if (pipe(report) != 0) return 3;
        int real_stderr = dup(STDERR_FILENO);
        dup2(report[1], STDERR_FILENO);
        kernel::mutex m;
        std::atomic<bool> held{false}, done{false};
        other_kernel_thread holder([&] {
          m.lock();
          held = true;
          std::string seen;
          char buffer[512];
          while (!says(seen, "futex(2)")) {
            ssize_t n = ::read(report[0], buffer, sizeof buffer);
            if (n <= 0) break;
            seen.append(buffer, static_cast<std::size_t>(n));
          }
          [[maybe_unused]] ssize_t written = ::write(real_stderr, seen.data(), seen.size());
          m.unlock();
        });
        while (!held) std::this_thread::yield();
        auto ticker = green::spawn({.name = "ticker"}, [&] {
          while (!done) green::this_thread::sleep_for(10ms);
        });
        auto locker = green::spawn({.name = "locker"}, [&] {
          m.lock();
          m.unlock();
          done = true;
        });
        locker.join();
        ticker.join();
        holder.join();
        dup2(real_stderr, STDERR_FILENO);
        return 0;
      },
      patience);
  INFO(outcome.describe());
  CHECK(outcome.exited_with(0));
  CHECK(says(outcome.err, "\"locker\" has blocked its scheduler for "));
  CHECK(says(outcome.err, "in the system call futex(2)"));
}

// Does a healthy program, which switches often, sleeps and does its I/O through spindle,
// hear from the watchdog, or from the hog watchdog? Never, though its ticks come all along.
TEST_CASE("a_busy_green_program_that_blocks_only_through_spindle_gets_no_report") {
  auto outcome = run_in_child(
      [] {
        green::watchdog::set_threshold(short_threshold);
        green::watchdog::set_hog_limit(short_threshold);
        std::uint64_t ticks_before = green::detail::watchdog_ticks();
        int pipe_ends[2];
        if (pipe(pipe_ends) != 0) return 3;
        auto until = std::chrono::steady_clock::now() + 4 * short_threshold;
        green::channel<int> numbers(4);
        auto producer = green::spawn({.name = "producer"}, [&] {
          for (int i = 0; std::chrono::steady_clock::now() < until; ++i) numbers.send(i);
          numbers.close();
        });
        auto consumer = green::spawn({.name = "consumer"}, [&] {
          while (numbers.recv()) green::this_thread::yield();
        });
        auto sleeper_and_writer = green::spawn({.name = "writer"}, [&] {
          for (char c = 'a'; std::chrono::steady_clock::now() < until; c = c == 'z' ? 'a' : c + 1) {
            green::this_thread::sleep_for(1ms);
            green::io::write(pipe_ends[1], &c, 1);
          }
          green::io::close(pipe_ends[1]);
        });
        auto reader = green::spawn({.name = "reader"}, [&] {
          char buffer[64];
          while (green::io::read(pipe_ends[0], buffer, sizeof buffer) > 0) {
          }
        });
        producer.join();
        consumer.join();
        sleeper_and_writer.join();
        reader.join();
        return green::detail::watchdog_ticks() > ticks_before ? 0 : 4;
      },
      patience);
  INFO(outcome.describe());
  CHECK(outcome.exited_with(0));
  CHECK_FALSE(says(outcome.err, "spindle:"));
}

// Does the watchdog's signal disturb the scheduler's own idle wait? Its ticks end the
// wait early (EINTR), and the loop just waits again: the read and the sleep complete.
TEST_CASE("the_scheduler_idle_wait_for_a_descriptor_and_a_timer_is_not_disturbed_by_the_ticks") {
  auto outcome = run_in_child(
      [] {
        green::watchdog::set_threshold(20ms);  // a tick every 10 ms
        std::uint64_t ticks_before = green::detail::watchdog_ticks();
        int pipe_ends[2];
        if (pipe(pipe_ends) != 0) return 3;
        other_kernel_thread outsider([&] {
          std::this_thread::sleep_for(300ms);
          kernel::io::write(pipe_ends[1], "x", 1);
        });
        char got = 0;
        auto reader =
            green::spawn({.name = "reader"}, [&] { green::io::read(pipe_ends[0], &got, 1); });
        auto sleeper =
            green::spawn({.name = "sleeper"}, [] { green::this_thread::sleep_for(200ms); });
        reader.join();
        sleeper.join();
        outsider.join();
        if (got != 'x') return 5;
        return green::detail::watchdog_ticks() > ticks_before ? 0 : 4;
      },
      patience);
  INFO(outcome.describe());
  CHECK(outcome.exited_with(0));
  CHECK_FALSE(says(outcome.err, "spindle:"));
}

// A computation that never yields, for the hog tests: exported with C linkage (the test
// is linked with export_dynamic), so that dladdr finds its name for the report.
extern "C" [[gnu::noinline]] void spin_without_yielding_for_the_watchdog(
    const std::atomic<bool>& stop) {
  volatile std::uint64_t work = 0;
  while (!stop.load(std::memory_order_relaxed)) work = work + 1;
}

// What if a green thread computes for a long time without yielding while another is
// runnable? The hog watchdog names it, says how long, and where the tick found it.
TEST_CASE("a_green_thread_that_computes_without_yielding_is_named_with_the_function_it_runs") {
  auto outcome = run_in_child(
      [] {
        green::watchdog::set_hog_limit(short_threshold);
        std::atomic<bool> stop{false};
        auto spinner = green::spawn({.name = "spinner"},
                                    [&] { spin_without_yielding_for_the_watchdog(stop); });
        auto waiting = green::spawn({.name = "waiting"}, [&] { stop = true; });
        spinner.join();  // never: the child is killed at the report
        waiting.join();
        return 0;
      },
      patience, "without yielding");
  INFO(outcome.describe());
  CHECK(outcome.stopped_at_cue);
  CHECK(says(outcome.err, "\"spinner\" has run for at least "));
  CHECK(says(outcome.err, " s without yielding; it was at 0x"));
  CHECK(says(outcome.err, "(spin_without_yielding_for_the_watchdog+0x"));
  CHECK(says(outcome.err, "SPINDLE_HOG_LIMIT=off"));
}

// Does a thread that computes just as long, but with preemption on, hear from the hog
// watchdog? No: each slice ends in a switch, and the switches are progress.
TEST_CASE("a_computing_green_thread_that_is_preempted_gets_no_hog_report") {
  auto outcome = run_in_child(
      [] {
        green::watchdog::set_hog_limit(short_threshold);
        green::preemption::set_slice(std::chrono::milliseconds(5));
        std::uint64_t ticks_before = green::detail::watchdog_ticks();
        std::atomic<bool> stop{false};
        std::atomic<int> rounds{0};
        auto spinner = green::spawn({.name = "spinner"},
                                    [&] { spin_without_yielding_for_the_watchdog(stop); });
        auto ticker = green::spawn({.name = "ticker"}, [&] {
          auto until = std::chrono::steady_clock::now() + 4 * short_threshold;
          while (std::chrono::steady_clock::now() < until) {
            green::this_thread::sleep_for(std::chrono::milliseconds(1));
            ++rounds;
          }
          stop = true;
        });
        spinner.join();
        ticker.join();
        if (rounds < 2) return 5;
        return green::detail::watchdog_ticks() > ticks_before ? 0 : 4;
      },
      patience);
  INFO(outcome.describe());
  CHECK(outcome.exited_with(0));
  CHECK_FALSE(says(outcome.err, "spindle:"));
}

namespace {

// The settings this test executable reads from its environment (the threshold, the hog
// limit, the preemption slice), printed by the helper case below when the test runs a
// fresh copy of itself with `variable`=`value` in the environment (a copy, since a
// process reads each variable only once). Returns what the copy printed on stdout and
// stderr.
spindle_test::child_outcome threshold_read_from_environment(
    const char* value, const char* variable = "SPINDLE_WATCHDOG") {
  return run_in_child(
      [value, variable] {
        setenv(variable, value, 1);
        setenv("SPINDLE_WATCHDOG_TEST_HELPER", "1", 1);
        // The path, not /proc/self/exe: under valgrind that names valgrind's own tool,
        // while readlink answers with the test's path.
        char self[4096];
        ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
        if (length <= 0) return 3;
        self[length] = '\0';
        execl(self, self, "--test-case=print_the_threshold*", "--no-version", "--minimal",
              static_cast<char*>(nullptr));
        return 3;
      },
      patience);
}

}  // namespace

// Not a test by itself: prints the settings, for threshold_read_from_environment.
TEST_CASE("print_the_threshold_when_run_by_threshold_read_from_environment") {
  if (!std::getenv("SPINDLE_WATCHDOG_TEST_HELPER")) return;
  std::printf("threshold %lld ms\n", static_cast<long long>(green::watchdog::threshold().count()));
  std::printf("hog limit %lld ms\n", static_cast<long long>(green::watchdog::hog_limit().count()));
  std::printf("slice %lld us\n", static_cast<long long>(green::preemption::slice().count()));
}

namespace {

// What one environment variable should make of a value: the line the helper prints.
struct reading {
  const char* value;
  const char* printed;
};

// Runs the helper once per reading of `variable`, checking what it printed; `refused`
// is a value that is no duration, which keeps `printed_when_refused` and is named on
// stderr.
void check_readings(const char* variable, std::initializer_list<reading> readings,
                    const char* refused, const char* printed_when_refused) {
  for (const reading& r : readings) {
    auto outcome = threshold_read_from_environment(r.value, variable);
    INFO(variable << "=" << r.value << ": " << outcome.describe());
    CHECK(says(outcome.out, r.printed));
  }
  auto outcome = threshold_read_from_environment(refused, variable);
  INFO(variable << "=" << refused << ": " << outcome.describe());
  CHECK(says(outcome.out, printed_when_refused));
  CHECK(says(outcome.err,
             std::string(variable) + "=\"" + refused + "\" is neither a number of seconds"));
}

}  // namespace

// What does SPINDLE_WATCHDOG accept, and what does it say about a value it refuses?
TEST_CASE("spindle_watchdog_takes_seconds_or_off_and_names_a_value_it_refuses") {
  check_readings("SPINDLE_WATCHDOG", {{"0.25", "threshold 250 ms"}, {"off", "threshold 0 ms"}},
                 "soon", "threshold 1000 ms");
}

// And SPINDLE_HOG_LIMIT, for the hog watchdog, which leaves the threshold alone?
TEST_CASE("spindle_hog_limit_takes_seconds_or_off_and_names_a_value_it_refuses") {
  check_readings(
      "SPINDLE_HOG_LIMIT",
      {{"0.3", "hog limit 300 ms"}, {"0.3", "threshold 1000 ms"}, {"off", "hog limit 0 ms"}},
      "later", "hog limit 1000 ms");
}

// And SPINDLE_PREEMPT, which turns preemption on (it is off by default)?
TEST_CASE("spindle_preempt_takes_a_slice_in_seconds_or_off_and_names_a_value_it_refuses") {
  check_readings("SPINDLE_PREEMPT",
                 {{"", "slice 0 us"}, {"0.005", "slice 5000 us"}, {"off", "slice 0 us"}}, "often",
                 "slice 0 us");
}

// Can a program turn the watchdog off, and back on?
TEST_CASE("set_threshold_turns_the_watchdog_off_with_zero_and_on_again") {
  auto before = green::watchdog::threshold();
  green::watchdog::set_threshold(0ms);
  CHECK(green::watchdog::threshold() == 0ms);
  green::watchdog::set_threshold(1500ms);
  CHECK(green::watchdog::threshold() == 1500ms);
  green::watchdog::set_threshold(before);
}

// And the hog watchdog, apart from the other?
TEST_CASE("set_hog_limit_turns_the_hog_watchdog_off_with_zero_and_on_again") {
  auto before = green::watchdog::hog_limit();
  auto threshold = green::watchdog::threshold();
  green::watchdog::set_hog_limit(0ms);
  CHECK(green::watchdog::hog_limit() == 0ms);
  CHECK(green::watchdog::threshold() == threshold);
  green::watchdog::set_hog_limit(700ms);
  CHECK(green::watchdog::hog_limit() == 700ms);
  green::watchdog::set_hog_limit(before);
}
