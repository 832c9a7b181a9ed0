// tests/deadlock_test.cpp — a program that can never progress is reported, not hung.
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>

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
TEST_CASE_TEMPLATE("a_lock_order_deadlock_fails_one_thread_with_a_report", B,
                   SPINDLE_TEST_BACKENDS) {
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
    cv.notify_one();  // the waiter now needs m, which this thread keeps
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
TEST_CASE_TEMPLATE("receiving_from_a_channel_nobody_sends_on_is_reported", B,
                   SPINDLE_TEST_BACKENDS) {
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
TEST_CASE_TEMPLATE("a_join_that_fails_with_deadlock_gives_the_thread_up", B,
                   SPINDLE_TEST_BACKENDS) {
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

// A thread locks a mutex and finishes without unlocking it, and is joined (its record is
// freed); then main blocks on that mutex for ever: does the report name the owner by id
// and name, say that it finished, and read nothing that was freed?
TEST_CASE_TEMPLATE("a_mutex_whose_owner_finished_without_unlocking_is_reported_as_such", B,
                   SPINDLE_TEST_BACKENDS) {
  typename B::mutex m;
  auto leaves_locked = B::spawn(spindle::spawn_options{.name = "leaves-locked"}, [&] {
    m.lock();
    return B::this_thread::get_id();
  });
  auto owner = leaves_locked.join();
  try {
    m.lock();
    FAIL("lock of a mutex whose owner finished returned");
  } catch (const spindle::deadlock_error& e) {
    INFO(e.what());
    CHECK(contains(e.what(), "waits on mutex"));
    CHECK(contains(e.what(), "held by \"leaves-locked\" (id " + std::to_string(owner.value()) +
                                 "), which finished without unlocking"));
  }
}

// A thread finishes holding a mutex and the next thread is spawned where it was (its
// stack or its record's memory reused): does the newcomer own nothing? Its unlock must
// be refused, its try_lock must fail, and its lock must be reported as a deadlock naming
// the thread that finished, not the newcomer.
TEST_CASE_TEMPLATE("a_thread_spawned_after_an_owner_finished_does_not_inherit_its_mutex", B,
                   SPINDLE_TEST_BACKENDS) {
  typename B::mutex m;
  B::spawn(spindle::spawn_options{.name = "leaves-locked"}, [&] { m.lock(); }).join();
  auto newcomer = B::spawn(spindle::spawn_options{.name = "newcomer"}, [&]() -> std::string {
    try {
      m.unlock();
      return "unlock of a mutex the newcomer never locked succeeded";
    } catch (const std::system_error& e) {
      if (e.code() != std::errc::operation_not_permitted) return e.what();
    }
    if (m.try_lock()) return "try_lock of a mutex held by a finished thread succeeded";
    try {
      m.lock();
      return "lock of a mutex held by a finished thread returned";
    } catch (const spindle::deadlock_error& e) {
      return e.what();
    } catch (const std::exception& e) {
      return std::string("lock threw something else: ") + e.what();
    }
  });
  std::string report = newcomer.join();
  INFO(report);
  CHECK(contains(report, "\"newcomer\" (id "));
  CHECK(contains(report, "held by \"leaves-locked\""));
  CHECK(contains(report, "which finished without unlocking"));
}

// Two threads wait on a mutex; its first owner unlocks, handing it to one of them, then
// finishes and is joined. Does the report name the mutex's owner at the time of the
// report (the thread it was handed to), rather than the owner seen when the other
// thread began waiting, which is gone?
TEST_CASE_TEMPLATE("the_report_names_the_owner_a_mutex_was_handed_to_while_others_waited", B,
                   SPINDLE_TEST_BACKENDS) {
  typename B::mutex m;
  typename B::template channel<int> silent(0);
  auto take_and_stay = [&]() -> std::string {
    try {
      std::lock_guard hold(m);
      silent.recv();  // never sends: the one that gets m keeps it
    } catch (const spindle::deadlock_error& e) {
      return e.what();
    }
    return {};
  };
  typename B::latch locked(1);
  auto first = B::spawn(spindle::spawn_options{.name = "first-owner"}, [&] {
    m.lock();
    locked.count_down();
    B::this_thread::sleep_for(std::chrono::milliseconds(50));  // both others queue on m
    m.unlock();
  });
  locked.wait();
  auto a = B::spawn(spindle::spawn_options{.name = "waiter-a"}, take_and_stay);
  auto b = B::spawn(spindle::spawn_options{.name = "waiter-b"}, take_and_stay);
  first.join();
  std::string ra = a.join(), rb = b.join();
  // The thread that got m blocked last, on the channel: it is failed first, with the
  // other waiting on m, held by it. (Then, m released, the other is failed on the channel.)
  const std::string& first_report = contains(ra, "waits on mutex") ? ra : rb;
  const char* keeper = &first_report == &ra ? "\"waiter-a\"" : "\"waiter-b\"";
  INFO(ra);
  INFO(rb);
  CHECK(contains(first_report, std::string("held by ") + keeper));
  CHECK_FALSE(contains(first_report, "first-owner"));
}

// The thread the detector fails is detached: its deadlock_error escapes with nobody to
// join it. Does the program end (SIGABRT) with the report on stderr, naming the thread,
// rather than lose the report? main waits on a condition variable first (it releases the
// mutex only as it parks, so the detached thread, which takes the mutex, blocks after
// it): the detached thread is the last to block.
TEST_CASE_TEMPLATE("a_detached_thread_failed_by_the_detector_ends_the_program_with_the_report", B,
                   SPINDLE_TEST_BACKENDS) {
  auto outcome = spindle_test::run_in_child([] {
    typename B::mutex m;
    typename B::condition_variable never_notified;
    typename B::template channel<int> silent(0);
    std::unique_lock lock(m);
    B::spawn(spindle::spawn_options{.name = "detached-victim"}, [&] {
      { std::lock_guard after_main_waits(m); }
      silent.recv();
    }).detach();
    never_notified.wait(lock);
    return 0;
  });
  INFO(outcome.describe());
  CHECK(outcome.killed_by(SIGABRT));
  CHECK(contains(outcome.err, "detached " + std::string(B::name) + " thread \"detached-victim\""));
  CHECK(contains(outcome.err, "spindle::deadlock_error: spindle: deadlock"));
  CHECK(contains(outcome.err, "\"detached-victim\" (id "));
  CHECK(contains(outcome.err, "waits on channel (receive)"));
}

}  // TEST_SUITE("deadlock")
