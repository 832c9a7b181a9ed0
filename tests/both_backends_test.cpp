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

}  // TEST_SUITE
