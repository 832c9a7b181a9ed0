// tests/mutex_test.cpp — mutual exclusion, misuse, and the standard lock helpers.
#include <mutex>
#include <string>
#include <system_error>
#include <vector>

#include "harness.hpp"

using spindle_test::under_many_schedules;

TEST_SUITE("mutex") {

// With threads yielding inside the critical section, is it still exclusive?
TEST_CASE_TEMPLATE("a_mutex_lets_one_thread_at_a_time_into_the_critical_section", B,
                   SPINDLE_TEST_BACKENDS) {
  under_many_schedules<B>([] {
    typename B::mutex m;
    int inside = 0, most_inside = 0, total = 0;
    std::vector<typename B::template thread<void>> threads;
    for (int i = 0; i < 6; ++i) {
      threads.push_back(B::spawn([&] {
        for (int round = 0; round < 20; ++round) {
          std::lock_guard lock(m);
          ++inside;
          most_inside = std::max(most_inside, inside);
          B::this_thread::yield();
          ++total;
          --inside;
        }
      }));
    }
    for (auto& t : threads) t.join();
    CHECK(most_inside == 1);
    CHECK(total == 120);
  });
}

// Do std::unique_lock and std::scoped_lock (two mutexes, deadlock-avoiding) work with it?
TEST_CASE_TEMPLATE("a_mutex_works_with_unique_lock_and_scoped_lock", B, SPINDLE_TEST_BACKENDS) {
  under_many_schedules<B>([] {
    typename B::mutex a, b;
    int transfers = 0;
    auto forward = B::spawn([&] {
      for (int i = 0; i < 10; ++i) {
        std::scoped_lock both(a, b);
        B::this_thread::yield();
        ++transfers;
      }
    });
    auto backward = B::spawn([&] {
      for (int i = 0; i < 10; ++i) {
        std::scoped_lock both(b, a);
        B::this_thread::yield();
        ++transfers;
      }
    });
    forward.join();
    backward.join();
    std::unique_lock lock(a, std::defer_lock);
    CHECK(lock.try_lock());
    CHECK(transfers == 20);
  });
}

// Is try_lock refused while another thread holds the mutex?
TEST_CASE_TEMPLATE("try_lock_fails_while_another_thread_holds_the_mutex", B,
                   SPINDLE_TEST_BACKENDS) {
  typename B::mutex m;
  m.lock();
  auto t = B::spawn([&] { return m.try_lock(); });
  CHECK_FALSE(t.join());
  m.unlock();
  auto u = B::spawn([&] {
    bool took = m.try_lock();
    if (took) m.unlock();
    return took;
  });
  CHECK(u.join());
}

// What if a thread unlocks a mutex another thread holds?
TEST_CASE_TEMPLATE("unlocking_a_mutex_you_do_not_own_throws", B, SPINDLE_TEST_BACKENDS) {
  typename B::mutex m;
  m.lock();
  auto t = B::spawn([&]() -> std::error_code {
    try {
      m.unlock();
    } catch (const std::system_error& e) {
      return e.code();
    }
    return {};
  });
  CHECK(t.join() == std::errc::operation_not_permitted);
  m.unlock();
  CHECK_THROWS_AS(m.unlock(), std::system_error);
}

// What if the owner locks again? (The mutex is not recursive.)
TEST_CASE_TEMPLATE("locking_a_mutex_you_own_throws_resource_deadlock_would_occur", B,
                   SPINDLE_TEST_BACKENDS) {
  typename B::mutex m;
  m.lock();
  try {
    m.lock();
    FAIL("relock did not throw");
  } catch (const std::system_error& e) {
    CHECK(e.code() == std::errc::resource_deadlock_would_occur);
  }
  m.unlock();
}

}  // TEST_SUITE("mutex")
