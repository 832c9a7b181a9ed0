// tests/condition_variable_test.cpp — waiting for conditions, timeouts, misuse.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <system_error>
#include <vector>

#include "harness.hpp"

using namespace std::chrono_literals;
using spindle_test::under_many_schedules;

TEST_SUITE("condition_variable") {

// Producers and consumers through a condition variable: is every item consumed once?
TEST_CASE_TEMPLATE("predicate_waits_see_every_item_a_producer_makes", B, SPINDLE_TEST_BACKENDS) {
  under_many_schedules<B>([] {
    typename B::mutex m;
    typename B::condition_variable changed;
    std::deque<int> items;
    bool finished = false;
    long consumed_sum = 0;
    int consumed = 0;
    std::vector<typename B::template thread<void>> consumers;
    for (int c = 0; c < 3; ++c) {
      consumers.push_back(B::spawn([&] {
        std::unique_lock lock(m);
        for (;;) {
          changed.wait(lock, [&] { return !items.empty() || finished; });
          if (items.empty()) return;
          consumed_sum += items.front();
          ++consumed;
          items.pop_front();
        }
      }));
    }
    for (int i = 1; i <= 50; ++i) {
      std::lock_guard lock(m);
      items.push_back(i);
      changed.notify_one();
      if (i % 7 == 0) B::this_thread::yield();
    }
    {
      std::lock_guard lock(m);
      finished = true;
      changed.notify_all();
    }
    for (auto& c : consumers) c.join();
    CHECK(consumed == 50);
    CHECK(consumed_sum == 50 * 51 / 2);
  });
}

// Does wait_for report a timeout when nobody notifies, and no timeout when someone does?
TEST_CASE_TEMPLATE("wait_for_reports_timeout_only_when_nobody_notified", B, SPINDLE_TEST_BACKENDS) {
  typename B::mutex m;
  typename B::condition_variable cv;
  {
    std::unique_lock lock(m);
    CHECK(cv.wait_for(lock, 5ms) == std::cv_status::timeout);
    CHECK(lock.owns_lock());
  }
  bool ready = false;
  auto notifier = B::spawn([&] {
    B::this_thread::sleep_for(1ms);
    std::lock_guard lock(m);
    ready = true;
    cv.notify_one();
  });
  {
    std::unique_lock lock(m);
    CHECK(cv.wait_for(lock, 60s, [&] { return ready; }));
  }
  notifier.join();
}

// Does a predicate wait_until return false when the time runs out first?
TEST_CASE_TEMPLATE("wait_until_with_a_predicate_returns_false_on_timeout", B,
                   SPINDLE_TEST_BACKENDS) {
  typename B::mutex m;
  typename B::condition_variable cv;
  std::unique_lock lock(m);
  CHECK_FALSE(cv.wait_until(lock, std::chrono::steady_clock::now() + 3ms, [] { return false; }));
  CHECK(lock.owns_lock());
}

// What if wait is called without holding the mutex?
TEST_CASE_TEMPLATE("waiting_without_holding_the_mutex_throws", B, SPINDLE_TEST_BACKENDS) {
  typename B::mutex m;
  typename B::condition_variable cv;
  std::unique_lock lock(m, std::defer_lock);
  CHECK_THROWS_AS(cv.wait(lock), std::system_error);
}

// Does notify_all wake every waiter?
TEST_CASE_TEMPLATE("notify_all_wakes_every_waiter", B, SPINDLE_TEST_BACKENDS) {
  under_many_schedules<B>([] {
    typename B::mutex m;
    typename B::condition_variable cv;
    bool go = false;
    int waiting = 0, woke = 0;
    std::vector<typename B::template thread<void>> threads;
    for (int i = 0; i < 5; ++i) {
      threads.push_back(B::spawn([&] {
        std::unique_lock lock(m);
        ++waiting;
        cv.wait(lock, [&] { return go; });
        ++woke;
      }));
    }
    for (bool all_waiting = false; !all_waiting;) {
      {
        std::lock_guard lock(m);
        all_waiting = waiting == 5;
        if (all_waiting) {
          go = true;
          cv.notify_all();
        }
      }
      B::this_thread::yield();
    }
    for (auto& t : threads) t.join();
    CHECK(woke == 5);
  });
}

}  // TEST_SUITE("condition_variable")
