// tests/deadlock_test.cpp — a program that can never progress is reported, not hung.
#include <chrono>
#include <mutex>
#include <string>

#include "harness.hpp"

using spindle_test::under_many_schedules;

namespace {
bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}
}  // namespace

TEST_SUITE("deadlock") {

// Two threads take two mutexes in opposite orders: is one of them told, with a report
// naming both threads and the mutexes, while the other then finishes?
TEST_CASE_TEMPLATE("a_lock_order_deadlock_fails_one_thread_with_a_report", B, SPINDLE_TEST_BACKENDS) {
  under_many_schedules<B>([] {
    typename B::mutex a, b;
    typename B::latch both_hold_one(2);
    auto take = [&](typename B::mutex& first, typename B::mutex& second) -> std::string {
      try {
        std::lock_guard hold(first);
        both_hold_one.arrive_and_wait();
        std::lock_guard want(second);
      } catch (const spindle::deadlock_error& e) {
        return e.what();
      }
      return {};
    };
    auto t1 = B::spawn(spindle::spawn_options{.name = "first"}, take, std::ref(a), std::ref(b));
    auto t2 = B::spawn(spindle::spawn_options{.name = "second"}, take, std::ref(b), std::ref(a));
    std::string r1 = t1.join(), r2 = t2.join();
    CHECK((r1.empty() != r2.empty()));
    const std::string& report = r1.empty() ? r2 : r1;
    CHECK(contains(report, "deadlock"));
    CHECK(contains(report, "\"first\""));
    CHECK(contains(report, "\"second\""));
    CHECK(contains(report, "waits on mutex"));
  });
}

// A waiter is notified by a thread that holds the mutex and then never lets it go (it
// joins the waiter). On the clone backend the notify moves the waiter straight into the
// mutex's queue (wait morphing); on either backend the waiter must be the one failed,
// once, with a report that it waits on the mutex, and must not own the mutex after.
TEST_CASE_TEMPLATE("a_waiter_notified_under_a_mutex_that_is_never_released_is_failed", B,
                   SPINDLE_TEST_BACKENDS) {
  under_many_schedules<B>([] {
    typename B::mutex m;
    typename B::condition_variable cv;
    bool ready = false, waiting = false;
    auto waiter = B::spawn(spindle::spawn_options{.name = "waiter"}, [&]() -> std::string {
      std::unique_lock lock(m);
      waiting = true;
      cv.notify_one();
      try {
        cv.wait(lock, [&] { return ready; });
      } catch (const spindle::deadlock_error& e) {
        CHECK(!lock.owns_lock());
        return e.what();
      }
      return {};
    });
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return waiting; });
    ready = true;
    cv.notify_one();     // the waiter now needs m, which this thread keeps
    std::string report = waiter.join();
    CHECK(contains(report, "deadlock"));
    CHECK(contains(report, "\"waiter\""));
    CHECK(contains(report, "waits on mutex"));
  });
}

// main blocks last, in a join: is a thread of the cycle failed rather than main?
TEST_CASE_TEMPLATE("a_joiner_is_not_failed_while_a_thread_of_the_cycle_can_be", B,
                   SPINDLE_TEST_BACKENDS) {
  typename B::mutex a, b;
  typename B::latch both_hold_one(2);
  auto take = [&](typename B::mutex& first, typename B::mutex& second) {
    std::lock_guard hold(first);
    both_hold_one.arrive_and_wait();
    std::lock_guard want(second);
  };
  auto t1 = B::spawn(take, std::ref(a), std::ref(b));
  auto t2 = B::spawn(take, std::ref(b), std::ref(a));
  B::this_thread::sleep_for(std::chrono::milliseconds(30));  // both are stuck by now
  int failed = 0;
  for (auto* t : {&t1, &t2}) {
    try {
      t->join();
    } catch (const spindle::deadlock_error& e) {
      ++failed;
      CHECK(contains(e.what(), "waits on mutex"));
    }
  }
  CHECK(failed == 1);
}

// Receiving on a channel that nobody will ever send on: does recv fail instead of hanging?
TEST_CASE_TEMPLATE("receiving_from_a_channel_nobody_sends_on_is_reported", B, SPINDLE_TEST_BACKENDS) {
  typename B::template channel<int> silent(0);
  try {
    silent.recv();
    FAIL("recv returned");
  } catch (const spindle::deadlock_error& e) {
    CHECK(contains(e.what(), "channel (receive)"));
  }
}

// Joining a thread that is stuck for ever: is the report clear about the join?
TEST_CASE_TEMPLATE("joining_a_thread_stuck_for_ever_is_reported", B, SPINDLE_TEST_BACKENDS) {
  typename B::template channel<int> silent(0);
  auto stuck = B::spawn(spindle::spawn_options{.name = "stuck"}, [&] { return silent.recv(); });
  try {
    stuck.join();
    FAIL("join returned");
  } catch (const spindle::deadlock_error& e) {
    CHECK(contains(e.what(), "join of \"stuck\""));
    CHECK(contains(e.what(), "channel (receive)"));
  }
}

// The joiner is the one failed: can its handle go out of scope without terminating?
TEST_CASE_TEMPLATE("a_join_that_fails_with_deadlock_gives_the_thread_up", B, SPINDLE_TEST_BACKENDS) {
  typename B::template channel<int> silent(0);
  typename B::latch receiving(1);
  {
    auto waiter = B::spawn(spindle::spawn_options{.name = "waiter"}, [&] {
      receiving.count_down();
      return silent.recv();
    });
    receiving.wait();
    B::this_thread::sleep_for(std::chrono::milliseconds(20));  // the waiter blocks first
    CHECK_THROWS_AS(waiter.join(), spindle::deadlock_error);
    CHECK_FALSE(waiter.joinable());
  }
  silent.close();  // lets the given-up thread finish; the runtime frees it
}

}  // TEST_SUITE
