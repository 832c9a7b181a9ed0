// tests/semaphore_latch_barrier_test.cpp — counting semaphore, latch and barrier.
#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <vector>

#include "harness.hpp"

using namespace std::chrono_literals;
using spindle_test::under_many_schedules;

TEST_SUITE("semaphore, latch, barrier") {

// Does a semaphore of N keep at most N threads inside at once?
TEST_CASE_TEMPLATE("a_semaphore_admits_at_most_its_count_at_once", B, SPINDLE_TEST_BACKENDS) {
  under_many_schedules<B>([] {
    typename B::template counting_semaphore<8> slots(2);
    typename B::mutex m;
    int inside = 0, most = 0;
    std::vector<typename B::template thread<void>> threads;
    for (int i = 0; i < 6; ++i) {
      threads.push_back(B::spawn([&] {
        for (int round = 0; round < 3; ++round) {
          slots.acquire();
          {
            std::lock_guard lock(m);
            most = std::max(most, ++inside);
          }
          B::this_thread::yield();
          {
            std::lock_guard lock(m);
            --inside;
          }
          slots.release();
        }
      }));
    }
    for (auto& t : threads) t.join();
    CHECK(most <= 2);
    // One kernel thread interleaves deterministically: there both permits are used at
    // once under every schedule. Kernel threads may happen to run one at a time.
    if constexpr (spindle_test::is_green<B>) CHECK(most == 2);
  });
  typename B::template counting_semaphore<8> two(2);
  CHECK(two.try_acquire());
  CHECK(two.try_acquire());
  CHECK_FALSE(two.try_acquire());
}

// Do try_acquire and try_acquire_for fail when no permit comes?
TEST_CASE_TEMPLATE("try_acquire_for_times_out_without_a_permit", B, SPINDLE_TEST_BACKENDS) {
  typename B::template counting_semaphore<1> s(0);
  CHECK_FALSE(s.try_acquire());
  CHECK_FALSE(s.try_acquire_for(3ms));
  s.release();
  CHECK(s.try_acquire_for(1s));
}

// Is releasing past the maximum, or by a negative amount, refused?
TEST_CASE_TEMPLATE("releasing_past_the_maximum_throws", B, SPINDLE_TEST_BACKENDS) {
  typename B::template counting_semaphore<2> s(2);
  CHECK_THROWS_AS(s.release(), std::invalid_argument);
  CHECK_THROWS_AS(s.release(-1), std::invalid_argument);
  using too_many = typename B::template counting_semaphore<2>;
  CHECK_THROWS_AS(too_many(3), std::invalid_argument);
}

// Does latch::wait return only after every count_down?
TEST_CASE_TEMPLATE("a_latch_releases_waiters_after_the_last_count_down", B, SPINDLE_TEST_BACKENDS) {
  under_many_schedules<B>([] {
    typename B::latch done(4);
    std::vector<int> finished(4, 0);
    std::vector<typename B::template thread<void>> threads;
    for (int i = 0; i < 4; ++i) {
      threads.push_back(B::spawn([&, i] {
        B::this_thread::yield();
        finished[static_cast<std::size_t>(i)] = 1;
        done.count_down();
      }));
    }
    auto waiter = B::spawn([&] {
      done.wait();
      return std::count(finished.begin(), finished.end(), 1);
    });
    done.wait();
    CHECK(done.try_wait());
    CHECK(waiter.join() == 4);
    for (auto& t : threads) t.join();
  });
}

// Is counting a latch down past zero refused?
TEST_CASE_TEMPLATE("counting_a_latch_below_zero_throws", B, SPINDLE_TEST_BACKENDS) {
  typename B::latch l(1);
  CHECK_THROWS_AS(l.count_down(2), std::invalid_argument);
  l.count_down();
  CHECK_THROWS_AS(l.count_down(), std::invalid_argument);
}

// Does no thread start phase k+1 before all have finished phase k, with the completion
// run once per phase?
TEST_CASE_TEMPLATE("a_barrier_keeps_threads_in_step_and_runs_its_completion_once_per_phase", B,
                   SPINDLE_TEST_BACKENDS) {
  under_many_schedules<B>([] {
    constexpr int threads_n = 4, phases = 5;
    int completions = 0;
    std::vector<int> phase_of(threads_n, 0);
    bool out_of_step = false;
    auto on_completion = [&]() noexcept { ++completions; };
    typename B::template barrier<decltype(on_completion)> sync(threads_n, on_completion);
    typename B::mutex m;
    std::vector<typename B::template thread<void>> threads;
    for (int i = 0; i < threads_n; ++i) {
      threads.push_back(B::spawn([&, i] {
        for (int p = 0; p < phases; ++p) {
          {
            std::lock_guard lock(m);
            phase_of[static_cast<std::size_t>(i)] = p;
            for (int other : phase_of) out_of_step |= other < p - 1 || other > p + 1;
          }
          B::this_thread::yield();
          sync.arrive_and_wait();
          std::lock_guard lock(m);
          out_of_step |= completions < p + 1;
        }
      }));
    }
    for (auto& t : threads) t.join();
    CHECK_FALSE(out_of_step);
    CHECK(completions == phases);
  });
}

// Does arrive_and_drop shrink every later phase?
TEST_CASE_TEMPLATE("arrive_and_drop_removes_a_thread_from_later_phases", B, SPINDLE_TEST_BACKENDS) {
  typename B::template barrier<> sync(2);
  auto leaver = B::spawn([&] { sync.arrive_and_drop(); });
  sync.arrive_and_wait();
  sync.arrive_and_wait();  // would block for ever if the leaver still counted
  leaver.join();
}

}  // TEST_SUITE("semaphore, latch, barrier")
