// tests/stop_test.cpp — cooperative cancellation: jthread, and a stop request ending each
// kind of block that takes a std::stop_token (channel send and receive, sleep, condition
// variable waits), written once for both backends.
#include <atomic>
#include <chrono>
#include <csignal>
#include <mutex>
#include <stdexcept>
#include <stop_token>
#include <string>

#include "harness.hpp"

using spindle::channel_status;
using spindle_test::under_many_schedules;
using namespace std::chrono_literals;

TEST_SUITE("stop") {

// Does a jthread hand its function a token, and does its destructor request the stop
// and wait for the thread to finish?
TEST_CASE_TEMPLATE("a_jthread_destroyed_requests_a_stop_and_joins", B, SPINDLE_TEST_BACKENDS) {
  under_many_schedules<B>([] {
    std::atomic<bool> finished{false};
    {
      auto worker = spindle::spawn_jthread<B>([&](std::stop_token stop) {
        while (spindle::sleep_for<B>(60s, stop)) {
        }
        finished = true;
      });
      CHECK(worker.joinable());
      CHECK(worker.get_stop_token().stop_possible());
    }
    CHECK(finished);
  });
}

// A thread parked in each kind of stoppable block: does request_stop end every one of
// them early, each with its status, and move nothing?
TEST_CASE_TEMPLATE("a_stop_request_ends_every_kind_of_block_early", B, SPINDLE_TEST_BACKENDS) {
  under_many_schedules<B>([] {
    typename B::template channel<std::string> empty(0), full(1);
    full.send("old");
    typename B::mutex m;
    typename B::condition_variable cv;
    bool never = false;
    std::stop_source source;
    auto token = source.get_token();
    auto receiving = B::spawn([&] { return empty.receive(token).status; });
    auto timed_receiving = B::spawn([&] { return empty.receive_for(60s, token).status; });
    auto sending = B::spawn([&] {
      std::string kept = "new";
      channel_status status = full.send(std::move(kept), token);
      return status == channel_status::stopped && kept == "new";
    });
    auto sleeping = B::spawn([&] { return spindle::sleep_for<B>(60s, token); });
    auto waiting = B::spawn([&] {
      std::unique_lock lock(m);
      bool satisfied = cv.wait(lock, token, [&] { return never; });
      return !satisfied && lock.owns_lock();
    });
    auto timed_waiting = B::spawn([&] {
      std::unique_lock lock(m);
      return cv.wait_for(lock, token, 60s, [&] { return never; });
    });
    B::this_thread::yield();
    CHECK(source.request_stop());
    CHECK(receiving.join() == channel_status::stopped);
    CHECK(timed_receiving.join() == channel_status::stopped);
    CHECK(sending.join());
    CHECK_FALSE(sleeping.join());
    CHECK(waiting.join());
    CHECK_FALSE(timed_waiting.join());
    CHECK(full.try_recv() == "old");                        // the stopped send left nothing behind
    CHECK(empty.try_send("x") == channel_status::timeout);  // nor the stopped receives
  });
}

// A stop already requested: does a call that would wait return at once, and one that
// needs no wait still go, as with a deadline already past?
TEST_CASE_TEMPLATE("a_stop_requested_before_the_call_ends_only_what_would_wait", B,
                   SPINDLE_TEST_BACKENDS) {
  typename B::template channel<int> ch(1);
  std::stop_source source;
  source.request_stop();
  CHECK(ch.send(1, source.get_token()) == channel_status::ok);
  CHECK(ch.send(2, source.get_token()) == channel_status::stopped);
  auto got = ch.receive(source.get_token());
  CHECK(got.status == channel_status::ok);
  CHECK(got.value == 1);
  CHECK(ch.receive(source.get_token()).status == channel_status::stopped);
  CHECK_FALSE(spindle::sleep_for<B>(60s, source.get_token()));
  typename B::mutex m;
  typename B::condition_variable cv;
  std::unique_lock lock(m);
  CHECK(cv.wait(lock, source.get_token(), [] { return true; }));
  CHECK_FALSE(cv.wait(lock, source.get_token(), [] { return false; }));
}

// The stop requested by a thread that holds the condition variable's mutex: is the
// waiter still woken (the callback must not take the mutex again)?
TEST_CASE_TEMPLATE("a_stop_requested_inside_the_critical_section_still_wakes_the_waiter", B,
                   SPINDLE_TEST_BACKENDS) {
  under_many_schedules<B>([] {
    typename B::mutex m;
    typename B::condition_variable cv;
    std::stop_source source;
    bool started = false;
    auto waiter = B::spawn([&] {
      std::unique_lock lock(m);
      started = true;
      cv.notify_all();
      return cv.wait(lock, source.get_token(), [] { return false; });
    });
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return started; });
    source.request_stop();
    lock.unlock();
    CHECK_FALSE(waiter.join());
  });
}

// A token with no stop state (a default std::stop_token): does each call behave as its
// plain form, waiting until the counterpart comes?
TEST_CASE_TEMPLATE("a_token_that_can_never_stop_changes_nothing", B, SPINDLE_TEST_BACKENDS) {
  typename B::template channel<int> ch(0);
  auto receiver = B::spawn([&] { return ch.receive(std::stop_token{}); });
  ch.send(5);
  auto got = receiver.join();
  CHECK(got.status == channel_status::ok);
  CHECK(got.value == 5);
  CHECK(spindle::sleep_for<B>(1ms, std::stop_token{}));
}

// join after a stop: does it still return the result, or rethrow what the thread threw?
TEST_CASE_TEMPLATE("join_of_a_stopped_jthread_returns_or_rethrows_as_any_join", B,
                   SPINDLE_TEST_BACKENDS) {
  typename B::template channel<int> ch(0);
  auto counting = spindle::spawn_jthread<B>([&](std::stop_token stop) {
    int received = 0;
    while (ch.receive(stop).status == channel_status::ok) ++received;
    return received;
  });
  ch.send(1);
  ch.send(2);
  counting.request_stop();
  CHECK(counting.join() == 2);
  auto failing = spindle::spawn_jthread<B>([&](std::stop_token stop) {
    ch.receive(stop);
    throw std::runtime_error("stopped and failed");
  });
  failing.request_stop();
  CHECK_THROWS_WITH_AS(failing.join(), "stopped and failed", std::runtime_error);
}

// A jthread destroyed over a thread that failed: nobody can receive the exception. Does
// the program end with a message naming it, as for a detached thread, rather than lose it?
TEST_CASE_TEMPLATE("a_jthread_destroyed_over_a_failed_thread_terminates_naming_the_exception", B,
                   SPINDLE_TEST_BACKENDS) {
  auto outcome = spindle_test::run_in_child([] {
    auto failing = spindle::spawn_jthread<B>([] { throw std::runtime_error("nobody hears this"); });
    return 0;
  });
  CHECK(outcome.killed_by(SIGABRT));
  CHECK(outcome.err.find("nobody hears this") != std::string::npos);
  CHECK(outcome.err.find("jthread") != std::string::npos);
}

// Every thread blocked, each with a stop token, and nobody left to request the stop:
// is it a deadlock? (Yes: the detector does not wait for a stop nobody can request.)
TEST_CASE_TEMPLATE("threads_blocked_with_stop_tokens_that_nobody_can_request_are_deadlocked", B,
                   SPINDLE_TEST_BACKENDS) {
  typename B::template channel<int> ch(0);
  std::stop_source source;
  auto stuck = B::spawn([&] {
    try {
      ch.receive(source.get_token());
    } catch (const spindle::deadlock_error&) {
      return true;
    }
    return false;
  });
  CHECK(stuck.join());
}

}  // TEST_SUITE("stop")
