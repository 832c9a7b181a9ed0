// tests/once_test.cpp — call_once: exactly once, retried after an exception.
#include <stdexcept>
#include <system_error>
#include <vector>

#include "harness.hpp"

using spindle_test::under_many_schedules;

TEST_SUITE("once") {

// Many threads race to initialise: does the function run exactly once, and does every
// caller return only after it has finished?
TEST_CASE_TEMPLATE("call_once_runs_the_function_once_and_everyone_sees_its_effect", B,
                   SPINDLE_TEST_BACKENDS) {
  under_many_schedules<B>([] {
    typename B::once_flag flag;
    int runs = 0;
    bool initialised = false;
    std::vector<typename B::template thread<bool>> threads;
    for (int i = 0; i < 6; ++i) {
      threads.push_back(B::spawn([&] {
        B::call_once(flag, [&] {
          ++runs;
          B::this_thread::yield();
          initialised = true;
        });
        return initialised;
      }));
    }
    for (auto& t : threads) CHECK(t.join());
    CHECK(runs == 1);
  });
}

// If the function throws, does the next caller try again?
TEST_CASE_TEMPLATE("call_once_tries_again_after_the_function_throws", B, SPINDLE_TEST_BACKENDS) {
  typename B::once_flag flag;
  int attempts = 0;
  auto fail = [&] {
    ++attempts;
    throw std::runtime_error("not yet");
  };
  CHECK_THROWS_AS(B::call_once(flag, fail), std::runtime_error);
  auto t = B::spawn([&] { B::call_once(flag, [&] { ++attempts; }); });
  t.join();
  B::call_once(flag, [&] { ++attempts; });
  CHECK(attempts == 2);
}

// What if the function calls call_once on its own flag?
TEST_CASE_TEMPLATE("call_once_from_inside_its_own_function_throws", B, SPINDLE_TEST_BACKENDS) {
  typename B::once_flag flag;
  bool inner_threw = false;
  B::call_once(flag, [&] {
    try {
      B::call_once(flag, [] {});
    } catch (const std::system_error& e) {
      inner_threw = e.code() == std::errc::resource_deadlock_would_occur;
    }
  });
  CHECK(inner_threw);
}

}  // TEST_SUITE("once")
