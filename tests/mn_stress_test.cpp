// tests/mn_stress_test.cpp — what only the M:N backend needs tested: threads that move
// between workers while they lock, send, sleep and use their locals; C++ thread_local
// seen from a thread that moves; the number of workers chosen at start.
//
// Every test runs under SPINDLE_SEEDS seeds (harness.hpp); a seed chooses each thread's
// mix of steps, so a failure names a seed whose mix can be run again (the interleaving
// across kernel threads is the kernel's and cannot be replayed).
// Explained in: docs/15-many-to-many.md and runtime/mn/README.md.
// Read next: tests/harness.hpp.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <random>
#include <stdexcept>
#include <vector>

#include "harness.hpp"

namespace mn = spindle::mn;
using namespace std::chrono_literals;

namespace {

// How often the threads of a run found themselves on another worker after a yield or park.
struct migration_count {
  std::atomic<long> moves{0};
  void note(int before) {
    if (mn::this_thread::worker_index() != before) moves.fetch_add(1, std::memory_order_relaxed);
  }
};

thread_local int per_kernel_thread = 0;

// The variable's address, looked up afresh: within one function the compiler may compute
// a thread_local's address once and keep it across a yield (it assumes the kernel thread
// cannot change under a call), which is the trap itself, seen by the compiler too.
[[gnu::noinline]] const int* address_of_per_kernel_thread() {
  asm volatile("" ::: "memory");
  return &per_kernel_thread;
}

}  // namespace

TEST_SUITE("mn") {
// Do many threads that lock one mutex, yield inside and outside it and park on it, on
// every worker at once, keep a shared counter exact, and do they move between workers?
TEST_CASE("threads_migrating_while_they_lock_keep_a_counter_exact") {
  migration_count migrations;
  for (int seed = 1; seed <= spindle_test::seeds(); ++seed) {
    INFO("seed " << seed);
    mn::mutex m;
    long counter = 0;
    constexpr int threads = 32, rounds = 200;
    std::vector<mn::thread<void>> running;
    for (int t = 0; t < threads; ++t) {
      running.push_back(mn::spawn([&, t] {
        std::minstd_rand random(static_cast<unsigned>(seed * 1000 + t));
        for (int r = 0; r < rounds; ++r) {
          int before = mn::this_thread::worker_index();
          std::unique_lock hold(m);
          ++counter;
          if (random() % 8 == 0) mn::this_thread::yield();  // others park on m meanwhile
          hold.unlock();
          if (random() % 4 == 0) mn::this_thread::yield();
          migrations.note(before);
        }
      }));
    }
    for (auto& t : running) t.join();
    CHECK(counter == long{threads} * rounds);
  }
  if (mn::workers() > 1) CHECK(migrations.moves.load() > 0);
}

// Does every value sent through channels of every capacity arrive exactly once, with
// senders and receivers parking and waking across workers?
TEST_CASE("senders_and_receivers_on_many_workers_lose_and_duplicate_nothing") {
  for (int seed = 1; seed <= spindle_test::seeds(); ++seed) {
    INFO("seed " << seed);
    std::minstd_rand random(static_cast<unsigned>(seed));
    std::size_t capacity = random() % 5;  // 0: a rendezvous channel
    mn::channel<int> ch(capacity);
    constexpr int senders = 6, receivers = 5, each = 400;
    std::vector<std::atomic<int>> seen(senders * each);
    std::vector<mn::thread<void>> sending, receiving;
    for (int s = 0; s < senders; ++s) {
      sending.push_back(mn::spawn([&, s] {
        for (int i = 0; i < each; ++i) {
          ch.send(s * each + i);
          if (i % 37 == 0) mn::this_thread::yield();
        }
      }));
    }
    for (int r = 0; r < receivers; ++r) {
      receiving.push_back(mn::spawn([&] {
        for (int v : ch) seen[static_cast<std::size_t>(v)].fetch_add(1);
      }));
    }
    for (auto& t : sending) t.join();
    ch.close();
    for (auto& t : receiving) t.join();
    int wrong = 0;
    for (auto& n : seen) wrong += n.load() != 1;
    CHECK(wrong == 0);
  }
}

// Do sleepers and timed waits on every worker all come back, the timed-out ones with
// cv_status::timeout and the notified ones holding the mutex, while others compute?
TEST_CASE("sleepers_and_timed_waiters_on_many_workers_all_wake") {
  for (int seed = 1; seed <= spindle_test::seeds(); ++seed) {
    INFO("seed " << seed);
    mn::mutex m;
    mn::condition_variable cv;
    int released = 0;
    std::atomic<int> timed_out{0}, notified{0}, slept{0};
    std::vector<mn::thread<void>> running;
    for (int t = 0; t < 24; ++t) {
      running.push_back(mn::spawn([&, t] {
        std::minstd_rand random(static_cast<unsigned>(seed * 100 + t));
        mn::this_thread::sleep_for(std::chrono::microseconds(random() % 2000));
        slept.fetch_add(1);
        std::unique_lock hold(m);
        if (t % 2 == 0) {
          if (cv.wait_for(hold, 1ms) == std::cv_status::timeout) timed_out.fetch_add(1);
        } else {
          cv.wait(hold, [&] { return released > 0; });
          CHECK(hold.owns_lock());
          notified.fetch_add(1);
        }
      }));
    }
    mn::this_thread::sleep_for(3ms);
    {
      std::lock_guard hold(m);
      released = 1;
    }
    cv.notify_all();
    for (auto& t : running) t.join();
    CHECK(slept.load() == 24);
    CHECK(notified.load() == 12);
    CHECK(timed_out.load() <= 12);
  }
}

// Does a spindle local follow its thread to every worker it runs on, while a C++
// thread_local, which belongs to the kernel thread, changes under a thread that moved?
// (The trap runtime/mn/README.md describes: a thread_local read before and after a
// yield is two different variables when the thread moved in between.)
TEST_CASE("a_local_follows_its_thread_across_workers_and_a_thread_local_does_not") {
  static mn::local<int> mine;
  std::atomic<int> local_wrong{0}, thread_local_mismatch{0};
  std::atomic<long> moves{0};
  for (int seed = 1; seed <= spindle_test::seeds(); ++seed) {
    // Spawned by one M:N thread, so all start on its worker's queue: another worker,
    // woken for them, finds its own queue empty and steals half.
    mn::spawn([&] {
      std::vector<mn::thread<void>> running;
      for (int t = 0; t < 16; ++t) {
        running.push_back(mn::spawn([&, t] {
          *mine = t + 1;
          // Until the thread has moved once, with a bound (and none on one worker).
          const int bound = mn::workers() > 1 ? 100000 : 100;
          bool moved_once = false;
          for (int r = 0; r < 100 || (!moved_once && r < bound); ++r) {
            int before = mn::this_thread::worker_index();
            const int* address = address_of_per_kernel_thread();
            mn::this_thread::yield();
            bool moved = mn::this_thread::worker_index() != before;
            if (*mine != t + 1) local_wrong.fetch_add(1);
            // The same variable exactly when the same kernel thread runs the thread.
            if ((address != address_of_per_kernel_thread()) != moved) {
              thread_local_mismatch.fetch_add(1);
            }
            if (moved) moves.fetch_add(1);
            moved_once = moved_once || moved;
          }
        }));
      }
      for (auto& t : running) t.join();
    }).join();
  }
  CHECK(local_wrong.load() == 0);
  CHECK(thread_local_mismatch.load() == 0);
  if (mn::workers() > 1) CHECK(moves.load() > 0);
}

// Does an exception thrown and caught on one worker, with the thread parked inside the
// catch block and woken on another, still rethrow its own exception (the C++ runtime's
// caught-exception state is per kernel thread and follows the thread)?
TEST_CASE("a_thread_parked_in_a_catch_block_rethrows_its_own_exception_on_any_worker") {
  for (int seed = 1; seed <= spindle_test::seeds(); ++seed) {
    std::vector<mn::thread<int>> running;
    for (int t = 0; t < 16; ++t) {
      running.push_back(mn::spawn([t] {
        try {
          throw t;
        } catch (int) {
          for (int r = 0; r < 10; ++r) mn::this_thread::yield();
          try {
            throw;
          } catch (int again) {
            return again;
          }
        }
        return -1;
      }));
    }
    for (int t = 0; t < 16; ++t) CHECK(running[static_cast<std::size_t>(t)].join() == t);
  }
}

// Bad input: a count of workers the backend cannot have is refused with a message, in
// the call or in the environment variable; one worker behaves as green does, in order.
TEST_CASE("the_number_of_workers_is_checked_and_one_worker_runs_threads_in_order") {
  CHECK_THROWS_AS(mn::start(0), std::invalid_argument);
  CHECK_THROWS_AS(mn::start(mn::max_workers + 1), std::invalid_argument);
  mn::spawn([] {}).join();
  unsigned now = mn::workers();
  CHECK(now >= 1);
  CHECK_NOTHROW(mn::start(now));
  CHECK_THROWS_AS(mn::start(now + 1), std::logic_error);

  auto refused = spindle_test::run_in_child([] {
    ::setenv("SPINDLE_MN_THREADS", "many", 1);
    try {
      mn::spawn([] {}).join();
    } catch (const std::invalid_argument& e) {
      std::printf("%s", e.what());
      return 3;
    }
    return 0;
  });
  INFO(refused.describe());
  CHECK(refused.exited_with(3));
  CHECK(refused.out.find("SPINDLE_MN_THREADS") != std::string::npos);

  auto one = spindle_test::run_in_child([] {
    ::setenv("SPINDLE_MN_THREADS", "1", 1);
    std::vector<int> order;
    // Spawned by one M:N thread, so that none runs before all four are queued.
    mn::spawn([&] {
      std::vector<mn::thread<void>> running;
      for (int t = 0; t < 4; ++t) {
        running.push_back(mn::spawn([&, t] {
          for (int r = 0; r < 3; ++r) {
            order.push_back(t);
            mn::this_thread::yield();
          }
        }));
      }
      for (auto& t : running) t.join();
    }).join();
    // One worker, first in first out: the threads take turns, as on green.
    std::vector<int> turns = {0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3};
    return mn::workers() == 1 && order == turns ? 1 : 2;
  });
  INFO(one.describe());
  CHECK(one.exited_with(1));
}
}
