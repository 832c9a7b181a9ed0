// tests/both_backends_test.cpp — both backends in one process.
//
// In the clone suite: ASan cannot follow clone threads, so the sanitized configuration
// leaves these out (meson.build).
#include <string>
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
// stayed behind in the parent return at once rather than hang?
TEST_CASE("joining_in_a_forked_child_a_thread_that_stayed_in_the_parent_does_not_hang") {
  spindle::clone::latch release(1);
  auto stays = spindle::clone::spawn([&] { release.wait(); });
  auto outcome = spindle_test::run_in_child([&] {
    stays.join();  // in the child the thread does not exist
    return 7;
  }, std::chrono::seconds(60));
  release.count_down();
  stays.join();
  CHECK(outcome.exited_with(7));
}

}  // TEST_SUITE
