// tests/local_test.cpp — thread-local storage: each thread its own value.
#include <string>
#include <vector>

#include "harness.hpp"

using spindle_test::under_many_schedules;

namespace {
struct counts_destruction {
  static inline int destroyed = 0;
  int value = 0;
  ~counts_destruction() { ++destroyed; }
};
}  // namespace

TEST_SUITE("local") {

// Does each thread get its own value of a local<T>, even when they interleave?
TEST_CASE_TEMPLATE("each_thread_has_its_own_local_value", B, SPINDLE_TEST_BACKENDS) {
  static typename B::template local<int> mine;
  under_many_schedules<B>([] {
    std::vector<typename B::template thread<int>> threads;
    for (int i = 1; i <= 5; ++i) {
      threads.push_back(B::spawn([i] {
        *mine = i;
        B::this_thread::yield();
        *mine += 10;
        B::this_thread::yield();
        return *mine;
      }));
    }
    int i = 1;
    for (auto& t : threads) CHECK(t.join() == 10 + i++);
  });
}

// Is a thread's local value destroyed when that thread finishes?
TEST_CASE_TEMPLATE("a_threads_local_value_is_destroyed_when_it_finishes", B,
                   SPINDLE_TEST_BACKENDS) {
  static typename B::template local<counts_destruction> tracked;
  counts_destruction::destroyed = 0;
  auto t = B::spawn([] {
    tracked->value = 5;
    return counts_destruction::destroyed;
  });
  CHECK(t.join() == 0);
  CHECK(counts_destruction::destroyed == 1);
}

// A local whose constructor uses locals made after it: do both work?
TEST_CASE_TEMPLATE("a_local_value_may_use_other_locals_while_it_is_made", B,
                   SPINDLE_TEST_BACKENDS) {
  struct uses_later_locals {
    int sum = 0;
    uses_later_locals() {
      static typename B::template local<int> first, second, third;
      *first = 1;
      *second = 2;
      *third = 3;
      sum = *first + *second + *third;
    }
  };
  static typename B::template local<uses_later_locals> outer;
  auto t = B::spawn([] { return outer->sum; });
  CHECK(t.join() == 6);
}

// C++ thread_local is per kernel thread: do all green threads share one copy? (This is
// why spindle::green::local exists; docs/06-synchronisation.md.)
TEST_CASE("cxx_thread_local_is_shared_by_all_green_threads_of_a_kernel_thread") {
  static thread_local int shared = 0;
  auto writer = spindle::green::spawn([] { shared = 99; });
  writer.join();
  auto reader = spindle::green::spawn([] { return shared; });
  CHECK(reader.join() == 99);
  CHECK(shared == 99);
}

}  // TEST_SUITE("local")
