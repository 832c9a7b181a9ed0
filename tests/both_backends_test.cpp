// tests/both_backends_test.cpp — both backends in one process.
//
// In the clone suite: ASan cannot follow clone threads, so the sanitized configuration
// leaves these out (meson.build).
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>
#include <system_error>
#include <utility>

#include "harness.hpp"

namespace green = spindle::green;

TEST_SUITE("both backends") {

// Both backends in one process: can a clone thread run green threads of its own?
TEST_CASE("a_clone_thread_runs_a_green_scheduler_of_its_own") {
  auto kernel_thread = spindle::clone::spawn([] {
    green::channel<int> numbers(0);
    auto producer = green::spawn([&] {
      for (int i = 1; i <= 100; ++i) numbers.send(i);
      numbers.close();
    });
    int sum = 0;
    for (int n : numbers) sum += n;
    producer.join();
    return std::pair{sum, std::string(green::this_thread::name())};
  });
  auto [sum, root_name] = kernel_thread.join();
  CHECK(sum == 5050);
  CHECK(root_name.find("root of kernel thread") == 0);
}

// A detached clone thread's thread_local destructor asks for its name: is the thread
// still known then (valgrind's configuration checks no freed record is read)?
TEST_CASE("a_detached_clone_threads_thread_local_destructors_still_see_the_thread") {
  static spindle::clone::latch destroyed(1);
  static std::string seen;
  struct asks_its_name {
    ~asks_its_name() {
      seen = std::string(spindle::clone::this_thread::name());
      destroyed.count_down();
    }
  };
  spindle::clone::spawn({.name = "leaving"}, [] {
    static thread_local asks_its_name on_exit;
    (void)&on_exit;
  }).detach();
  destroyed.wait();
  CHECK(seen == "leaving");
}

// fork from a process with clone threads: in the child, does joining a thread that
// stayed behind in the parent say so at once, rather than hang or return a result the
// thread never produced, and can its handle then be detached?
TEST_CASE("joining_in_a_forked_child_a_thread_that_stayed_in_the_parent_throws_no_such_process") {
  spindle::clone::latch release(1);
  auto stays = spindle::clone::spawn({.name = "stays"}, [&] {
    release.wait();
    return 5;
  });
  auto outcome = spindle_test::run_in_child(
      [&] {
        try {
          stays.join();
          std::printf("join returned\n");
        } catch (const std::system_error& e) {
          std::printf("%s|%s\n", e.code() == std::errc::no_such_process ? "ESRCH" : "other",
                      e.what());
        }
        bool joinable = stays.joinable();
        stays.detach();
        return joinable ? 7 : 1;
      },
      std::chrono::seconds(60));
  release.count_down();
  CHECK(stays.join() == 5);
  INFO(outcome.describe());
  CHECK(outcome.exited_with(7));
  CHECK(outcome.out.find("ESRCH|") == 0);
  CHECK(outcome.out.find("\"stays\"") != std::string::npos);
  CHECK(outcome.out.find("did not cross fork()") != std::string::npos);
}

// fork while a clone thread holds a mutex: in the child the owner does not exist, so a
// lock there can never be granted. Is it reported as a deadlock that names the owner
// and says it stayed behind, rather than hanging or naming a thread that finished?
TEST_CASE("a_mutex_held_by_a_thread_that_stayed_in_the_parent_is_reported_as_such") {
  spindle::clone::mutex m;
  spindle::clone::latch locked(1), release(1);
  auto holder = spindle::clone::spawn({.name = "holds-at-fork"}, [&] {
    std::lock_guard hold(m);
    locked.count_down();
    release.wait();
    return spindle::clone::this_thread::get_id();
  });
  locked.wait();
  auto outcome = spindle_test::run_in_child(
      [&] {
        try {
          m.lock();
          std::printf("lock returned\n");
        } catch (const spindle::deadlock_error& e) {
          std::printf("%s\n", e.what());
        }
        holder.detach();
        return 7;
      },
      std::chrono::seconds(60));
  release.count_down();
  auto id = holder.join();
  INFO(outcome.describe());
  CHECK(outcome.exited_with(7));
  CHECK(outcome.out.find("held by \"holds-at-fork\" (id " + std::to_string(id.value()) +
                         "), which stayed in the parent process at fork() holding it") !=
        std::string::npos);
}

namespace {
std::atomic<int> destructors_in_child{0};
std::string destroyed_in{"nobody"};
struct notes_its_thread {
  ~notes_its_thread() {
    destructors_in_child.fetch_add(1);
    destroyed_in = std::string(spindle::clone::this_thread::name());
  }
};
thread_local notes_its_thread noted;
}  // namespace

// The reproduction: in a child forked while a clone thread (with a thread_local
// destructor pending) ran, the child detaches that thread's handle, then spawns and
// joins a new thread. Does the new thread run its own destructor once, and never the
// old thread's (its memory must not be reused)?
TEST_CASE("a_forked_child_spawns_and_joins_without_reusing_a_thread_that_stayed_behind") {
  spindle::clone::latch release(1);
  spindle::clone::latch registered(1);
  auto stays = spindle::clone::spawn({.name = "stays"}, [&] {
    (void)&noted;
    registered.count_down();
    release.wait();
  });
  registered.wait();
  auto outcome = spindle_test::run_in_child(
      [&] {
        try {
          stays.join();
        } catch (const std::system_error&) {
          stays.detach();
        }
        destructors_in_child = 0;
        spindle::clone::spawn({.name = "born in the child"}, [] { (void)&noted; }).join();
        auto sum = spindle::clone::spawn([](int a, int b) { return a + b; }, 20, 22).join();
        std::printf("destructors=%d last=%s sum=%d\n", destructors_in_child.load(),
                    destroyed_in.c_str(), sum);
        return 0;
      },
      std::chrono::seconds(60));
  release.count_down();
  stays.join();
  INFO(outcome.describe());
  CHECK(outcome.exited_with(0));
  CHECK(outcome.out == "destructors=1 last=born in the child sum=42\n");
}

// A thread that had finished before the fork: can the child still join it and get its
// result, as the thread's work was done before the process was copied?
TEST_CASE("a_forked_child_joins_a_thread_that_finished_before_the_fork") {
  std::atomic<pid_t> tid{0};
  auto finished = spindle::clone::spawn([&] {
    tid = static_cast<pid_t>(syscall(SYS_gettid));
    return std::string("done before fork");
  });
  while (tid.load() == 0 ||
         access(("/proc/self/task/" + std::to_string(tid.load())).c_str(), F_OK) == 0)
    sched_yield();  // until the kernel task is gone
  auto outcome = spindle_test::run_in_child(
      [&] {
        std::printf("%s\n", finished.join().c_str());
        return 0;
      },
      std::chrono::seconds(60));
  CHECK(outcome.exited_with(0));
  CHECK(outcome.out == "done before fork\n");
  CHECK(finished.join() == "done before fork");
}

}  // TEST_SUITE("both backends")
