// tests/green_scheduler_test.cpp — exact interleavings of the green scheduler.
//
// One kernel thread makes the green backend deterministic, so these tests may assert the
// exact order of events, which a kernel-thread backend can never promise.
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <spindle/diagnostics.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "harness.hpp"

namespace green = spindle::green;
using namespace std::chrono_literals;

namespace {

// A short program whose event order depends only on scheduling decisions.
std::string interleaving_of_three_yielders() {
  std::string trace;
  std::vector<green::thread<void>> threads;
  for (char name : {'a', 'b', 'c'}) {
    threads.push_back(green::spawn([&trace, name] {
      for (int i = 0; i < 4; ++i) {
        trace += name;
        green::this_thread::yield();
      }
    }));
  }
  for (auto& t : threads) t.join();
  return trace;
}

}  // namespace

TEST_SUITE("green scheduler") {

// Under FIFO, does a yield run every ready thread once before the yielder resumes?
TEST_CASE("yield_runs_every_ready_thread_before_the_caller_resumes") {
  std::string trace;
  std::vector<green::thread<void>> threads;
  for (const char* name : {"A", "B", "C"}) {
    threads.push_back(green::spawn([&trace, name] {
      trace += std::string(name) + "1 ";
      green::this_thread::yield();
      trace += std::string(name) + "2 ";
    }));
  }
  green::this_thread::yield();
  trace += "main ";
  for (auto& t : threads) t.join();
  CHECK(trace == "A1 B1 C1 main A2 B2 C2 ");
}

// A yield with no other thread runnable must not switch at all: the fast path (no thread
// in the run queue), the budget's round through the loop, and a policy that picks the
// yielder again (the slow path) must each leave it running, with its state running.
TEST_CASE("a_thread_alone_keeps_running_through_every_kind_of_yield") {
  int yields = 0;
  green::thread<void> alone = green::spawn([&yields] {
    for (int i = 0; i < 200; ++i) {  // more than a round of the budget
      green::this_thread::yield();
      ++yields;
    }
    green::use_random_policy(7);
    for (int i = 0; i < 10; ++i) {
      green::this_thread::yield();
      ++yields;
    }
    green::use_fifo_policy();
  });
  alone.join();
  CHECK(yields == 210);
}

// Does the count of switches stay exact across the budget's rounds through the loop, with
// the fast path's gate open and closed (run times measured send every hand-over slow)?
TEST_CASE("the_statistics_count_every_hand_over_across_the_budget_and_the_gate") {
  bool stop = false;
  auto partner = green::spawn([&stop] {
    while (!stop) green::this_thread::yield();
  });
  green::this_thread::yield();  // the partner is in its loop
  for (bool measured : {false, true, false}) {
    green::measure_run_times(measured);
    std::uint64_t before = green::statistics().switches;
    for (int i = 0; i < 1000; ++i) green::this_thread::yield();  // 15 rounds of the budget
    CHECK(green::statistics().switches - before == 2000);        // there and back, each yield
  }
  stop = true;
  partner.join();
}

// When a mutex is released with threads waiting, does the first waiter get it, even
// ahead of a thread that asks later but runs sooner?
TEST_CASE("unlock_hands_the_mutex_to_the_first_waiter") {
  green::mutex m;
  std::string order;
  auto take = [&](std::string name) {
    std::lock_guard lock(m);
    order += name;
  };
  m.lock();
  auto a = green::spawn(take, "A");
  auto b = green::spawn(take, "B");
  green::this_thread::yield();  // A and B now wait, in that order
  m.unlock();
  CHECK_FALSE(m.try_lock());  // already handed to A, though A has not run yet
  auto c = green::spawn(take, "C");
  a.join();
  b.join();
  c.join();
  CHECK(order == "ABC");
}

// Does the same seed replay the same interleaving, and do seeds differ?
TEST_CASE("the_same_random_seed_replays_the_same_interleaving") {
  green::use_random_policy(7);
  std::string first = interleaving_of_three_yielders();
  green::use_random_policy(7);
  std::string again = interleaving_of_three_yielders();
  std::set<std::string> different;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    green::use_random_policy(seed);
    different.insert(interleaving_of_three_yielders());
  }
  green::use_fifo_policy();
  CHECK(first == again);
  CHECK(different.size() > 1);
  CHECK(interleaving_of_three_yielders() == "abcabcabcabc");
}

// Do sleepers wake in deadline order, whatever order they went to sleep in?
TEST_CASE("sleepers_wake_in_the_order_of_their_deadlines") {
  std::string order;
  std::vector<green::thread<void>> threads;
  for (auto [name, delay] : {std::pair{"late ", 60ms}, {"early ", 10ms}, {"middle ", 35ms}}) {
    threads.push_back(green::spawn([&order, name, delay] {
      green::this_thread::sleep_for(delay);
      order += name;
    }));
  }
  for (auto& t : threads) t.join();
  CHECK(order == "early middle late ");
}

// Is the deadlock report handed to the thread that blocked last?
TEST_CASE("the_deadlock_report_fails_the_thread_that_blocked_last") {
  green::mutex a, b;
  auto first = green::spawn(green::spawn_options{.name = "first"}, [&] {
    std::lock_guard hold(a);
    green::this_thread::yield();
    std::lock_guard want(b);
  });
  auto second = green::spawn(green::spawn_options{.name = "second"}, [&] {
    std::lock_guard hold(b);
    green::this_thread::yield();
    green::this_thread::yield();
    std::lock_guard want(a);  // blocks after "first" blocked: the last to block
  });
  first.join();
  CHECK_THROWS_WITH_AS(second.join(), doctest::Contains("The blocking call of \"second\""),
                       spindle::deadlock_error);
}

// Is the code already running in main() a green thread, called "main"?
TEST_CASE("main_is_a_green_thread_named_main") {
  CHECK(green::this_thread::name() == "main");
  CHECK(green::this_thread::get_id() != green::thread_id{});
}

// A kernel thread not made by spindle: does it get a scheduler of its own?
TEST_CASE("a_kernel_thread_made_by_other_means_gets_its_own_scheduler") {
  auto main_id = green::this_thread::get_id();
  std::string root_name;
  int sum = 0;
  bool distinct = false;
  std::thread other([&] {
    root_name = green::this_thread::name();
    auto t = green::spawn([] { return 5; });
    auto u = green::spawn([] { return 6; });
    distinct = t.get_id() != main_id && green::this_thread::get_id() != main_id;
    sum = t.join() + u.join();
  });
  other.join();
  CHECK(root_name.find("root of kernel thread") == 0);
  CHECK(distinct);
  CHECK(sum == 11);
}

// Two threads park inside catch blocks: does each rethrow its own exception later?
TEST_CASE("a_thread_that_parks_inside_a_catch_block_rethrows_its_own_exception") {
  auto catcher = [](std::string name) -> std::string {
    try {
      throw std::runtime_error(name);
    } catch (...) {
      green::this_thread::yield();
      green::this_thread::yield();
      try {
        throw;
      } catch (const std::runtime_error& e) {
        return e.what();
      }
    }
  };
  auto a = green::spawn(catcher, "from a");
  auto b = green::spawn(catcher, "from b");
  CHECK(a.join() == "from a");
  CHECK(b.join() == "from b");
}

}  // TEST_SUITE("green scheduler")

// Each scheduler hands out ids from a block it took from a process-wide counter, so that
// a spawn needs no atomic: are they still unique when several kernel threads spawn past
// the end of their first block at the same time?
TEST_CASE("thread_ids_stay_unique_across_kernel_threads_spawning_past_their_first_block") {
  constexpr int per_kernel_thread = 2500;  // more than two blocks of 1024
  std::vector<std::uint64_t> ids[2];
  auto spawn_many = [](std::vector<std::uint64_t>& into) {
    into.push_back(green::this_thread::get_id().value());  // the root's
    for (int i = 0; i < per_kernel_thread; ++i) {
      into.push_back(green::spawn([] { return green::this_thread::get_id().value(); }).join());
    }
  };
  std::thread other(spawn_many, std::ref(ids[1]));
  spawn_many(ids[0]);
  other.join();
  std::set<std::uint64_t> all(ids[0].begin(), ids[0].end());
  all.insert(ids[1].begin(), ids[1].end());
  CHECK(all.size() == 2 * (per_kernel_thread + 1));
  CHECK(all.count(0) == 0);
  for (const auto& one : ids) {  // in spawn order, within each kernel thread
    for (std::size_t i = 1; i < one.size(); ++i) CHECK(one[i] > one[i - 1]);
  }
}
