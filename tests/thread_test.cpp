// tests/thread_test.cpp — spawn, join, detach, ids and names, on every backend.
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "harness.hpp"
#include "spindle/diagnostics.hpp"

using namespace std::chrono_literals;
using spindle_test::under_many_schedules;

TEST_SUITE("thread") {

// Does join hand back what the thread's function returned?
TEST_CASE_TEMPLATE("join_returns_the_result_of_the_threads_function", B, SPINDLE_TEST_BACKENDS) {
  auto t = B::spawn([](int x, std::string s) { return s + std::to_string(x * 2); }, 21, "x=");
  CHECK(t.join() == "x=42");
}

// Does an exception thrown in the thread come out of join, with its type and text?
TEST_CASE_TEMPLATE("join_rethrows_the_exception_that_escaped_the_thread", B,
                   SPINDLE_TEST_BACKENDS) {
  auto t = B::spawn([]() -> int { throw std::out_of_range("index 7 is past the end"); });
  CHECK_THROWS_WITH_AS(t.join(), "index 7 is past the end", std::out_of_range);
  CHECK_FALSE(t.joinable());
}

// Are the arguments copied, so the caller may change its own afterwards?
TEST_CASE_TEMPLATE("arguments_are_copied_into_the_new_thread", B, SPINDLE_TEST_BACKENDS) {
  std::vector<int> values{1, 2, 3};
  auto t = B::spawn(
      [](std::vector<int> v) {
        B::this_thread::yield();
        return v.size();
      },
      values);
  values.clear();
  CHECK(t.join() == 3);
}

// Can a thread return a move-only value?
TEST_CASE_TEMPLATE("a_thread_can_return_a_move_only_value", B, SPINDLE_TEST_BACKENDS) {
  auto t = B::spawn([] { return std::make_unique<int>(7); });
  CHECK(*t.join() == 7);
}

// What if a handle is joined twice?
TEST_CASE_TEMPLATE("joining_twice_throws_invalid_argument", B, SPINDLE_TEST_BACKENDS) {
  auto t = B::spawn([] {});
  t.join();
  try {
    t.join();
    FAIL("second join did not throw");
  } catch (const std::system_error& e) {
    CHECK(e.code() == std::errc::invalid_argument);
    CHECK(std::string(e.what()).find("already joined") != std::string::npos);
  }
}

// What if a detached thread is joined?
TEST_CASE_TEMPLATE("joining_a_detached_thread_throws_invalid_argument", B, SPINDLE_TEST_BACKENDS) {
  auto t = B::spawn([] {});
  t.detach();
  CHECK_FALSE(t.joinable());
  try {
    t.join();
    FAIL("join of a detached thread did not throw");
  } catch (const std::system_error& e) {
    CHECK(e.code() == std::errc::invalid_argument);
    CHECK(std::string(e.what()).find("detached") != std::string::npos);
  }
  CHECK_THROWS_AS(t.detach(), std::system_error);
}

// What if a thread joins itself?
TEST_CASE_TEMPLATE("joining_yourself_throws_resource_deadlock_would_occur", B,
                   SPINDLE_TEST_BACKENDS) {
  typename B::template thread<bool> slot;
  typename B::latch handle_stored(1);
  slot = B::spawn([&slot, &handle_stored] {
    handle_stored.wait();
    try {
      slot.join();
    } catch (const std::system_error& e) {
      return e.code() == std::errc::resource_deadlock_would_occur &&
             std::string(e.what()).find("itself") != std::string::npos;
    }
    return false;
  });
  handle_stored.count_down();
  CHECK(slot.join());
}

// A joinable handle going out of scope is a bug: does the program stop and say why?
TEST_CASE_TEMPLATE("destroying_a_joinable_handle_terminates_with_a_message", B,
                   SPINDLE_TEST_BACKENDS) {
  auto outcome = spindle_test::run_in_child([] {
    auto t = B::spawn(spindle::spawn_options{.name = "forgotten"}, [] {});
    return 0;
  });
  CHECK(outcome.killed_by(SIGABRT));
  CHECK(outcome.err.find("\"forgotten\"") != std::string::npos);
  CHECK(outcome.err.find("join() or detach()") != std::string::npos);
}

// Does a detached thread still run to completion?
TEST_CASE_TEMPLATE("a_detached_thread_runs_to_completion", B, SPINDLE_TEST_BACKENDS) {
  typename B::latch done(1);
  std::atomic<int> value{0};
  B::spawn([&] {
    value = 42;
    done.count_down();
  }).detach();
  done.wait();
  CHECK(value == 42);
}

// A detached thread's function throws: nobody can join it to receive the exception. Does
// the program end (SIGABRT, as std::terminate does) with a message naming the thread and
// the exception, as a std::thread's escaping exception ends it, rather than run on?
TEST_CASE_TEMPLATE("an_exception_escaping_a_detached_thread_terminates_naming_both", B,
                   SPINDLE_TEST_BACKENDS) {
  auto outcome = spindle_test::run_in_child([] {
    typename B::latch detached(1);
    auto t = B::spawn(spindle::spawn_options{.name = "doomed"}, [&] {
      detached.wait();
      throw std::runtime_error("the disk is full");
    });
    std::printf("%llu\n", static_cast<unsigned long long>(t.get_id().value()));
    std::fflush(stdout);
    t.detach();
    detached.count_down();
    B::this_thread::sleep_for(10s);  // ended long before this, by the thread
    return 0;
  });
  INFO(outcome.describe());
  CHECK(outcome.killed_by(SIGABRT));
  std::string id = outcome.out.substr(0, outcome.out.find('\n'));
  CHECK(outcome.err.find("detached " + std::string(B::name) + " thread \"doomed\" (id " + id +
                         ")") != std::string::npos);
  CHECK(outcome.err.find("std::runtime_error: the disk is full") != std::string::npos);
}

// The thread has already finished, with an exception, when it is detached: does detach
// end the program the same way, rather than free the exception unseen? (On the clone
// backend the thread may instead finish just after the detach; the outcome is the same.)
TEST_CASE_TEMPLATE("detaching_a_thread_that_finished_with_an_exception_terminates", B,
                   SPINDLE_TEST_BACKENDS) {
  auto outcome = spindle_test::run_in_child([] {
    auto t = B::spawn(spindle::spawn_options{.name = "failed-early"},
                      [] { throw std::invalid_argument("no such key"); });
    B::this_thread::sleep_for(50ms);  // it finishes meanwhile
    t.detach();
    B::this_thread::sleep_for(10s);
    return 0;
  });
  INFO(outcome.describe());
  CHECK(outcome.killed_by(SIGABRT));
  CHECK(outcome.err.find("\"failed-early\"") != std::string::npos);
  CHECK(outcome.err.find("std::invalid_argument: no such key") != std::string::npos);
}

// What escapes is not a std::exception: is its type named instead of a what()?
TEST_CASE_TEMPLATE("a_non_standard_exception_escaping_a_detached_thread_is_named_by_type", B,
                   SPINDLE_TEST_BACKENDS) {
  auto outcome = spindle_test::run_in_child([] {
    B::spawn(spindle::spawn_options{.name = "throws-an-int"}, [] { throw 42; }).detach();
    B::this_thread::sleep_for(10s);
    return 0;
  });
  INFO(outcome.describe());
  CHECK(outcome.killed_by(SIGABRT));
  CHECK(outcome.err.find("\"throws-an-int\"") != std::string::npos);
  CHECK(outcome.err.find("of type int") != std::string::npos);
}

// A detached thread that catches what it throws: does it finish quietly, the program
// going on?
TEST_CASE_TEMPLATE("a_detached_thread_that_catches_its_exception_ends_quietly", B,
                   SPINDLE_TEST_BACKENDS) {
  typename B::latch done(1);
  B::spawn([&] {
    try {
      throw std::runtime_error("handled");
    } catch (const std::exception&) {
    }
    done.count_down();
  }).detach();
  done.wait();
}

// Does every thread get its own id, the one this_thread::get_id reports inside it?
TEST_CASE_TEMPLATE("each_thread_has_a_unique_id_that_it_sees_itself", B, SPINDLE_TEST_BACKENDS) {
  std::vector<typename B::template thread<typename B::thread_id>> threads;
  std::vector<typename B::thread_id> handle_ids;
  for (int i = 0; i < 16; ++i) {
    threads.push_back(B::spawn([] { return B::this_thread::get_id(); }));
    handle_ids.push_back(threads.back().get_id());
  }
  std::set<typename B::thread_id> seen;
  for (std::size_t i = 0; i < threads.size(); ++i) {
    auto inside = threads[i].join();
    CHECK(inside == handle_ids[i]);
    CHECK(inside != B::this_thread::get_id());
    CHECK(inside != typename B::thread_id{});
    seen.insert(inside);
  }
  CHECK(seen.size() == 16);
}

// Is the name given at spawn the one the thread and its handle report?
TEST_CASE_TEMPLATE("a_thread_reports_the_name_it_was_spawned_with", B, SPINDLE_TEST_BACKENDS) {
  auto t = B::spawn(spindle::spawn_options{.name = "worker-7"},
                    [] { return std::string(B::this_thread::name()); });
  CHECK(t.name() == "worker-7");
  CHECK(t.join() == "worker-7");
}

// Can the options be a bare braced list as well as spelled out? B::spawn takes them as a
// spawn_options, not as a forwarded argument, so {.name = ...} converts (docs/02).
TEST_CASE_TEMPLATE("spawn_takes_its_options_as_a_bare_braced_list_or_spelled_out", B,
                   SPINDLE_TEST_BACKENDS) {
  auto name_inside = [] { return std::string(B::this_thread::name()); };
  auto braced = B::spawn({.name = "braced", .stack_size = 256 * 1024}, name_inside);
  auto spelled =
      B::spawn(spindle::spawn_options{.name = "spelled", .stack_size = 256 * 1024}, name_inside);
  CHECK(braced.name() == "braced");
  CHECK(spelled.name() == "spelled");
  CHECK(braced.join() == "braced");
  CHECK(spelled.join() == "spelled");
}

// Does sleep_for block only the caller, letting others run meanwhile?
TEST_CASE_TEMPLATE("a_sleeping_thread_lets_the_others_run", B, SPINDLE_TEST_BACKENDS) {
  std::atomic<bool> sleeper_done{false};
  std::atomic<int> progress{0};
  auto sleeper = B::spawn([&] {
    B::this_thread::sleep_for(20ms);
    sleeper_done = true;
  });
  auto worker = B::spawn([&] {
    do {
      ++progress;
      B::this_thread::yield();
    } while (!sleeper_done);
  });
  sleeper.join();
  worker.join();
  // On one kernel thread the worker runs only while the sleeper is parked, so it must
  // have come round more than once (a sleep that blocked the kernel thread would leave
  // it one round, after the sleep). Kernel threads promise no such interleaving.
  if constexpr (spindle_test::is_green<B>) {
    CHECK(progress > 1);
  } else {
    CHECK(progress >= 1);
  }
}

// Does sleep_until in the past return without blocking for ever?
TEST_CASE_TEMPLATE("sleep_until_a_past_time_returns", B, SPINDLE_TEST_BACKENDS) {
  B::this_thread::sleep_until(std::chrono::steady_clock::now() - 1s);
  B::this_thread::sleep_for(0ms);
  B::this_thread::sleep_for(-5ms);
}

// Many threads spawning threads, under many schedules: does every result come back?
TEST_CASE_TEMPLATE("threads_spawned_by_threads_all_return_their_results", B,
                   SPINDLE_TEST_BACKENDS) {
  under_many_schedules<B>([] {
    auto parent = B::spawn([] {
      std::vector<typename B::template thread<int>> children;
      for (int i = 0; i < 8; ++i) {
        children.push_back(B::spawn([i] {
          B::this_thread::yield();
          return i * i;
        }));
      }
      int sum = 0;
      for (auto& c : children) sum += c.join();
      return sum;
    });
    CHECK(parent.join() == 140);
  });
}

// Are the function and its arguments destroyed on the thread itself, as std::thread does?
TEST_CASE_TEMPLATE("the_threads_function_is_destroyed_on_the_thread", B, SPINDLE_TEST_BACKENDS) {
  struct records_where_destroyed {
    typename B::thread_id* where;
    bool armed = true;
    records_where_destroyed(typename B::thread_id* w) : where(w) {}
    records_where_destroyed(records_where_destroyed&& other) noexcept
        : where(other.where), armed(std::exchange(other.armed, false)) {}
    ~records_where_destroyed() {
      if (armed) *where = B::this_thread::get_id();
    }
    void operator()() const {}
  };
  typename B::thread_id destroyed_on{};
  auto t = B::spawn(records_where_destroyed{&destroyed_on});
  auto id = t.get_id();
  t.join();
  CHECK(destroyed_on == id);
}

// Can generic code pass the options as a braced list?
TEST_CASE_TEMPLATE("spawn_takes_options_as_a_braced_list", B, SPINDLE_TEST_BACKENDS) {
  auto t = B::spawn({.name = "braced"}, [] { return std::string(B::this_thread::name()); });
  CHECK(t.join() == "braced");
}

// fork() called by a spawned thread: can the child spawn threads of its own, join them,
// and exit with a status its parent sees? (It leaves by _exit: exit() from the middle of
// a copied test run would have LeakSanitizer report the runner's own state.)
TEST_CASE_TEMPLATE("a_child_forked_by_a_spawned_thread_spawns_joins_and_exits", B,
                   SPINDLE_TEST_BACKENDS) {
  auto outcome = spindle_test::run_in_child(
      [] {
        auto forks = B::spawn([] {
          std::fflush(nullptr);
          pid_t child = fork();
          if (child == 0) {
            std::vector<typename B::template thread<int>> workers;
            for (int i = 1; i <= 4; ++i) workers.push_back(B::spawn([i] { return i * i; }));
            int sum = 0;
            for (auto& w : workers) sum += w.join();
            std::printf("child sum %d", sum);
            std::fflush(nullptr);
            _exit(sum);
          }
          int status = 0;
          waitpid(child, &status, 0);
          return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        });
        return forks.join();
      },
      std::chrono::seconds(60));
  INFO(outcome.describe());
  CHECK(outcome.exited_with(1 + 4 + 9 + 16));
  CHECK(outcome.out == "child sum 30");
}

// fork() from main while another thread waits: what does the child have of it? In 1:N
// the kernel knows one thread, so the whole green program, every green thread, is
// copied and the waiting thread runs on in the child; a clone thread is a kernel thread
// that stays in the parent (POSIX), and joining it in the child says so.
TEST_CASE_TEMPLATE("a_thread_waiting_at_a_fork_is_copied_on_green_and_stays_behind_on_clone", B,
                   SPINDLE_TEST_BACKENDS) {
  typename B::latch release(1);
  auto waiting = B::spawn([&] {
    release.wait();
    return 6;
  });
  B::this_thread::yield();
  // On kernel threads the yield promises nothing: the thread may still hold the latch's
  // mutex, which would stay held in the child. Fork once it is parked (it has let go).
  if constexpr (std::is_same_v<B, spindle::clone::backend>) {
    while (spindle::clone::statistics().threads_blocked == 0) B::this_thread::yield();
  } else if constexpr (spindle_test::is_mn<B>) {
    while (spindle::mn::statistics().threads_blocked == 0) B::this_thread::yield();
  }
  auto outcome = spindle_test::run_in_child(
      [&] {
        release.count_down();
        try {
          int got = waiting.join();
          std::printf("joined %d", got);
        } catch (const std::system_error& e) {
          waiting.detach();
          std::printf("%s", e.code() == std::errc::no_such_process ? "no such process" : e.what());
        }
        auto later = B::spawn([] { return 1; });
        return later.join();
      },
      std::chrono::seconds(60));
  release.count_down();
  CHECK(waiting.join() == 6);
  INFO(outcome.describe());
  CHECK(outcome.exited_with(1));
  CHECK(outcome.out == (spindle_test::is_green<B> ? "joined 6" : "no such process"));
}

}  // TEST_SUITE("thread")
