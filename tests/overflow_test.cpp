// tests/overflow_test.cpp — a stack overflow on either backend, in a spawned thread or in
// the main thread, is named on stderr before the process aborts.
// Explained in: docs/04-stacks.md (what an overflow looks like) and
// docs/09-clone-backend.md (stack overflow). The green backend's guard-page bounds and
// pooled stacks are tested in tests/green_overflow_test.cpp.
//
// Each scenario ends a process, so each runs in a child (tests/child_process.hpp) that
// starts as a plain program, without the test runner's signal handlers. Suite native:
// ASan and valgrind handle SIGSEGV themselves.
#include <signal.h>
#include <sys/resource.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "harness.hpp"
#include "runaway_recursion.hpp"

using spindle::spawn_options;
using spindle_test::child_outcome;
using spindle_test::descend;
using spindle_test::printed_id;
using spindle_test::run_in_child;

namespace {

int recurse_without_end() {
  volatile char first[2] = {0, 0};
  return descend(0, first);
}

bool mentions(const child_outcome& outcome, const std::string& text) {
  return outcome.err.find(text) != std::string::npos;
}

}  // namespace

// What does a runaway recursion in a spawned thread look like, on either backend?
TEST_CASE_TEMPLATE("a_thread_that_overflows_its_stack_is_named_on_stderr_before_the_abort", B,
                   SPINDLE_TEST_BACKENDS) {
  auto outcome = run_in_child([] {
    // On kernel threads the thread may run at once: it starts its recursion only once
    // its id is printed, or the abort could come first.
    typename B::latch printed(1);
    auto t = B::spawn(spawn_options{.name = "runaway"}, [&printed] {
      printed.wait();
      return recurse_without_end();
    });
    std::printf("id=%llu\n", static_cast<unsigned long long>(t.get_id().value()));
    std::fflush(stdout);
    printed.count_down();
    return t.join() == 0 ? 10 : 11;
  });
  INFO(outcome.describe());
  REQUIRE(outcome.killed_by(SIGABRT));
  std::string kind = spindle_test::is_green<B> ? "green thread"
                     : spindle_test::is_mn<B>  ? "M:N thread"
                                               : "clone thread";
  std::string id = printed_id(outcome);
  REQUIRE(!id.empty());
  CHECK(mentions(outcome, "spindle: " + kind + " \"runaway\" (id " + id +
                              ") overflowed its stack: the fault at "));
  CHECK(mentions(outcome, "is in the guard page ["));
  CHECK(mentions(outcome, "a stack overflow. Give it a larger spawn_options::stack_size"));
  MESSAGE("the report: " << outcome.err);
}

// ...and in the program's main thread, which runs on the process's own stack?
TEST_CASE_TEMPLATE("the_main_thread_that_overflows_its_stack_is_named_with_the_limit_to_raise", B,
                   SPINDLE_TEST_BACKENDS) {
  auto outcome = run_in_child([] {
    B::spawn([] {}).join();  // the backend is ready: its handler and signal stacks exist
    return recurse_without_end() == 0 ? 10 : 11;
  });
  INFO(outcome.describe());
  REQUIRE(outcome.killed_by(SIGABRT));
  rlimit stack{};
  getrlimit(RLIMIT_STACK, &stack);
  CHECK(mentions(outcome, "spindle: main thread \"main\" (id "));
  CHECK(mentions(outcome, ") overflowed its stack: the fault at "));
  if (stack.rlim_cur != RLIM_INFINITY) {
    CHECK(mentions(outcome, std::to_string(stack.rlim_cur / 1024) + " KiB stack ["));
  }
  CHECK(mentions(outcome, "the most RLIMIT_STACK lets it grow to: a stack overflow"));
  CHECK(mentions(outcome, "(ulimit -s, in KiB)"));
  MESSAGE("the report: " << outcome.err);
}

// Is a stray pointer in a spawned thread mistaken for an overflow?
TEST_CASE_TEMPLATE("a_write_through_a_null_pointer_is_still_a_plain_sigsegv", B,
                   SPINDLE_TEST_BACKENDS) {
  auto outcome = run_in_child([] {
    B::spawn([] {
      int* nowhere = nullptr;
      asm volatile("" : "+r"(nowhere));  // hides the value: the store cannot be dropped
      *nowhere = 1;
    }).join();
    return 10;
  });
  INFO(outcome.describe());
  CHECK(outcome.killed_by(SIGSEGV));
  CHECK_FALSE(mentions(outcome, "overflowed"));
}
