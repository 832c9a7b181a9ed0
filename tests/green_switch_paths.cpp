// tests/green_switch_paths.cpp — every way a green context switch can happen, exercised
// so that the sanitizer (ASan+UBSan) and valgrind configurations check each of them.
//
// Concept: the runtime changes stacks behind the tools' backs at one switch point
// (runtime/green/context.cpp), announced through runtime/green/switch_hooks.hpp. These
// tests walk each path through it: a thread-to-thread yield, a park and a wake, the idle
// loop sleeping for a timer, a thread's first arrival and its last switch, an exception
// unwinding a green stack, a reused stack, a deadlock report, and a scheduler torn down
// when its kernel thread exits. They pass in every configuration of
// scripts/ci_configurations.sh; there the sanitizers and valgrind must stay silent.
// SPINDLE_SEEDS (default 100) is how many random-policy seeds the seeded case tries.
// Explained in: docs/11-performance.md (the checked configurations).
#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <numeric>
#include <spindle/green.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace g = spindle::green;
using namespace std::chrono_literals;

namespace {

std::uint64_t seeds_to_try() {
  const char* text = std::getenv("SPINDLE_SEEDS");
  return text ? std::strtoull(text, nullptr, 10) : 100;
}

// Fills a frame with a pattern, switches away, and checks the pattern survived: a switch
// that restored the wrong stack, or a tool that lost track of it, shows here.
int fill_yield_check(int seed, int depth) {
  std::array<int, 64> frame;
  std::iota(frame.begin(), frame.end(), seed);
  g::this_thread::yield();
  int below = depth > 0 ? fill_yield_check(seed + 1, depth - 1) : 0;
  for (int i = 0; i < 64; ++i) REQUIRE(frame[i] == seed + i);
  return below + 1;
}

[[noreturn]] void throw_from_deep_frames(int depth) {
  std::array<char, 256> frame{};
  frame[static_cast<std::size_t>(depth) % frame.size()] = 1;
  if (depth == 0) throw std::runtime_error("from the bottom");
  throw_from_deep_frames(depth - 1);
}

// Sends 0..count-1 through a rendezvous channel, each one crossing between two threads.
int sum_through_a_channel(int count) {
  g::channel<int> numbers(0);
  auto producer = g::spawn([&] {
    for (int i = 0; i < count; ++i) numbers.send(i);
    numbers.close();
  });
  int sum = 0;
  for (int n : numbers) sum += n;
  producer.join();
  return sum;
}

}  // namespace

// What if two threads switch to each other with live frames on both stacks?
TEST_CASE("yielding_threads_find_their_own_frames_intact") {
  auto a = g::spawn(fill_yield_check, 100, 8);
  auto b = g::spawn(fill_yield_check, 200, 8);
  CHECK(fill_yield_check(300, 4) == 5);
  CHECK(a.join() == 9);
  CHECK(b.join() == 9);
}

// What if a thread parks while it handles an exception, and another throws meanwhile?
TEST_CASE("a_thread_that_parks_inside_a_catch_block_rethrows_its_own_exception") {
  g::mutex gate;
  gate.lock();
  auto catcher = g::spawn([&]() -> std::string {
    try {
      throw std::runtime_error("mine");
    } catch (...) {
      std::lock_guard parked(gate);
      try {
        throw;
      } catch (const std::runtime_error& e) {
        return e.what();
      }
    }
  });
  g::this_thread::yield();
  try {
    throw_from_deep_frames(20);
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()) == "from the bottom");
  }
  gate.unlock();
  CHECK(catcher.join() == "mine");
}

// What if an exception unwinds a green stack and escapes the thread?
TEST_CASE("an_exception_escaping_a_thread_is_rethrown_by_join") {
  auto thrower = g::spawn([] { throw_from_deep_frames(30); });
  CHECK_THROWS_WITH_AS(thrower.join(), "from the bottom", std::runtime_error);
}

// What if a stack is reused by a thread whose record and frames sit where the last
// thread's unreturned frames were?
TEST_CASE("threads_on_reused_stacks_start_with_clean_frames") {
  std::array<char, 9000> bulky{};
  for (int round = 0; round < 300; ++round) {
    auto thrower = g::spawn([round] {
      try {
        throw_from_deep_frames(round % 7);
      } catch (const std::runtime_error&) {
      }
      return fill_yield_check(round, 3);
    });
    CHECK(thrower.join() == 4);
    bulky[static_cast<std::size_t>(round)] = 1;
    auto carrier = g::spawn([bulky, round] { return bulky[static_cast<std::size_t>(round)]; });
    CHECK(carrier.join() == 1);
  }
}

// What if nothing is runnable and the scheduler loop must sleep until a deadline?
// (Both deadlines are counted from the moment the first thread runs, and the later one
// parks first, so the order does not depend on how fast the machine is.)
TEST_CASE("sleeping_threads_wake_in_deadline_order") {
  std::chrono::steady_clock::time_point start;
  std::vector<int> woke;
  auto late = g::spawn([&] {
    start = std::chrono::steady_clock::now();
    g::this_thread::sleep_until(start + 30ms);
    woke.push_back(2);
  });
  auto early = g::spawn([&] {
    g::this_thread::sleep_until(start + 10ms);
    woke.push_back(1);
  });
  late.join();
  early.join();
  CHECK(woke == std::vector<int>{1, 2});
}

// What if every thread blocks on another, and the report unwinds one of them?
TEST_CASE("a_deadlock_fails_the_blocking_call_of_the_last_thread_to_block") {
  g::mutex a, b;
  auto first = g::spawn(g::spawn_options{.name = "first"}, [&] {
    std::lock_guard hold_a(a);
    g::this_thread::yield();
    std::lock_guard hold_b(b);
  });
  auto second = g::spawn(g::spawn_options{.name = "second"}, [&] {
    std::lock_guard hold_b(b);
    g::this_thread::yield();
    std::lock_guard hold_a(a);
  });
  CHECK_NOTHROW(first.join());
  CHECK_THROWS_AS(second.join(), spindle::deadlock_error);
}

// What if threads finish with nobody to join them?
TEST_CASE("detached_threads_finish_and_are_reaped_by_the_scheduler") {
  int finished = 0;
  for (int i = 0; i < 100; ++i) {
    g::spawn([&] {
      g::this_thread::yield();
      ++finished;
    }).detach();
  }
  while (finished < 100) g::this_thread::yield();
  g::this_thread::sleep_for(1ms);  // lets the loop run and reap them
  CHECK(finished == 100);
}

// What if a kernel thread other than main uses green threads, then exits?
TEST_CASE("a_kernel_thread_tears_down_its_scheduler_when_it_exits") {
  int sum = -1;
  std::thread kernel_thread([&] { sum = sum_through_a_channel(50); });
  kernel_thread.join();
  CHECK(sum == 50 * 49 / 2);
}

// What if the threads run in an order FIFO never produces?
TEST_CASE("every_seed_of_the_random_policy_moves_every_value_through_a_channel") {
  std::uint64_t seeds = seeds_to_try();
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    CAPTURE(seed);
    g::use_random_policy(seed);
    CHECK(sum_through_a_channel(20) == 20 * 19 / 2);
  }
  g::use_fifo_policy();
}
