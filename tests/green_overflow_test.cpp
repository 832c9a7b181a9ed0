// tests/green_overflow_test.cpp — a green thread that overflows its guarded stack is
// named on stderr before the process aborts, one that overflows its pooled stack when it
// finishes; every other SIGSEGV keeps its usual fate. Both backends' threads and main
// threads: tests/overflow_test.cpp.
// Explained in: docs/04-stacks.md (overflow).
//
// Each scenario ends a process, so each runs in a child (tests/child_process.hpp) that
// starts as a plain program, without the test runner's signal handlers.
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "child_process.hpp"
#include "runaway_recursion.hpp"
#include "spindle/green.hpp"

namespace green = spindle::green;
using spindle::spawn_options;
using spindle_test::child_outcome;
using spindle_test::descend;
using spindle_test::printed_id;
using spindle_test::run_in_child;

namespace {

// In the child: spawns a thread named `name` that recurses without end, prints its id
// and an address inside its stack on stdout, and joins it. Does not return normally.
int overflow_a_green_thread(const char* name) {
  auto t = green::spawn(spawn_options{.name = name}, [] {
    volatile char first[2] = {0, 0};
    std::printf("frame=%p\n", static_cast<void*>(const_cast<char*>(first)));
    std::fflush(stdout);
    return descend(0, first);
  });
  std::printf("id=%llu\n", static_cast<unsigned long long>(t.get_id().value()));
  std::fflush(stdout);
  return t.join() == 0 ? 10 : 11;
}

int write_through_null_in_a_green_thread() {
  green::spawn(spawn_options{.name = "null_writer"}, [] {
    int* nowhere = nullptr;
    asm volatile("" : "+r"(nowhere));  // hides the value: the store cannot be dropped
    *nowhere = 1;
  }).join();
  return 10;
}

void program_handler(int, siginfo_t* info, void*) {
  char line[64];
  int n = std::snprintf(line, sizeof line, "program handler: fault at %p\n", info->si_addr);
  if (write(STDERR_FILENO, line, static_cast<std::size_t>(n)) < 0) _exit(43);
  _exit(42);
}

void install_program_handler() {
  struct sigaction own {};
  own.sa_sigaction = program_handler;
  own.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &own, nullptr);
}

std::uintptr_t hex_after(const std::string& text, const std::string& key) {
  std::size_t at = text.find(key);
  return at == std::string::npos ? 0 : std::stoull(text.substr(at + key.size()), nullptr, 16);
}

// The numbers in the report line, as the handler printed them.
struct overflow_report {
  std::uintptr_t fault = 0, guard_low = 0, guard_high = 0, stack_low = 0, stack_high = 0;
  unsigned long kib = 0;
  bool parsed = false;
};

overflow_report parse_report(const std::string& err) {
  overflow_report r;
  std::size_t at = err.find("the fault at ");
  if (at == std::string::npos) return r;
  int fields =
      std::sscanf(err.c_str() + at,
                  "the fault at %lx is in the guard page [%lx, %lx) below its %lu "
                  "KiB stack [%lx, %lx)",
                  &r.fault, &r.guard_low, &r.guard_high, &r.kib, &r.stack_low, &r.stack_high);
  r.parsed = fields == 6;
  return r;
}

bool mentions(const child_outcome& outcome, const std::string& text) {
  return outcome.err.find(text) != std::string::npos;
}

}  // namespace

// What does a runaway recursion in a green thread look like?
TEST_CASE(
    "a green thread that overflows its stack dies by SIGABRT with a report naming "
    "the thread and its stack") {
  auto outcome = run_in_child([] { return overflow_a_green_thread("deep_recursion"); });
  INFO(outcome.describe());
  REQUIRE(outcome.killed_by(SIGABRT));
  std::string id = printed_id(outcome);
  REQUIRE(!id.empty());
  CHECK(mentions(outcome,
                 "spindle: green thread \"deep_recursion\" (id " + id + ") overflowed its stack"));
  overflow_report r = parse_report(outcome.err);
  REQUIRE(r.parsed);
  std::uintptr_t frame = hex_after(outcome.out, "frame=0x");
  CHECK(r.kib == 256);
  CHECK(r.stack_high - r.stack_low == 256 * 1024);
  CHECK(r.guard_high == r.stack_low);
  CHECK(r.guard_high - r.guard_low == static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE)));
  CHECK((r.guard_low <= r.fault && r.fault < r.guard_high));
  CHECK((r.stack_low <= frame && frame < r.stack_high));
  MESSAGE("the report: " << outcome.err);
}

// Is a stray pointer mistaken for an overflow?
TEST_CASE(
    "a write through a null pointer in a green thread still dies by SIGSEGV, "
    "without an overflow report") {
  auto outcome = run_in_child(write_through_null_in_a_green_thread);
  INFO(outcome.describe());
  CHECK(outcome.killed_by(SIGSEGV));
  CHECK_FALSE(mentions(outcome, "overflowed"));
}

// Does spindle swallow a SIGSEGV that someone sends on purpose?
TEST_CASE("a SIGSEGV sent with kill ends the process as it would without spindle") {
  auto outcome = run_in_child([] {
    green::spawn([] { kill(getpid(), SIGSEGV); }).join();
    return 10;
  });
  INFO(outcome.describe());
  CHECK(outcome.killed_by(SIGSEGV));
  CHECK_FALSE(mentions(outcome, "overflowed"));
}

// Does spindle's handler push aside one the program installed first?
TEST_CASE(
    "a SIGSEGV handler the program installed first still gets faults that are not "
    "overflows") {
  auto outcome = run_in_child([] {
    install_program_handler();
    return write_through_null_in_a_green_thread();
  });
  INFO(outcome.describe());
  CHECK(outcome.exited_with(42));
  CHECK(mentions(outcome, "program handler: fault at (nil)"));
  CHECK_FALSE(mentions(outcome, "overflowed"));
}

// ...and does that handler hide overflows from spindle?
TEST_CASE("an overflow is reported even when the program installed a SIGSEGV handler first") {
  auto outcome = run_in_child([] {
    install_program_handler();
    return overflow_a_green_thread("deep_under_handler");
  });
  INFO(outcome.describe());
  CHECK(outcome.killed_by(SIGABRT));
  CHECK(mentions(outcome, "green thread \"deep_under_handler\""));
  CHECK_FALSE(mentions(outcome, "program handler"));
}

// Does a second kernel thread, with a scheduler of its own, get a signal stack too?
TEST_CASE("an overflow on a kernel thread other than the first is reported too") {
  auto outcome = run_in_child([] {
    green::spawn([] {}).join();  // the first kernel thread's scheduler exists
    int result = 0;
    std::thread([&result] { result = overflow_a_green_thread("deep_elsewhere"); }).join();
    return result;
  });
  INFO(outcome.describe());
  CHECK(outcome.killed_by(SIGABRT));
  CHECK(mentions(outcome, "green thread \"deep_elsewhere\""));
  CHECK(mentions(outcome, "overflowed its stack"));
}

namespace {

// Recurses until its frame lies below `stop_at`, then returns. Below the stack's low
// end, that is an overflow that runs into the stack below and comes back, as a pooled
// stack allows. Its frames are small (about a hundred bytes), as most recursions' are.
[[gnu::noinline]] int descend_below(std::uintptr_t stop_at, volatile char* caller_frame) {
  volatile char frame[64];
  frame[0] = static_cast<char>(caller_frame[0] + 1);
  if (reinterpret_cast<std::uintptr_t>(frame) < stop_at) return frame[0];
  return descend_below(stop_at, frame) + frame[1];
}

// The low end of the calling thread's 256 KiB stack, from a frame near its top.
std::uintptr_t low_end_of_my_stack(const volatile char* top_frame) {
  auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  auto high = (reinterpret_cast<std::uintptr_t>(top_frame) + page - 1) / page * page;
  return high - 256 * 1024;
}

}  // namespace

// In the child: spawns a thread named `name` on a pooled stack, just above a parked
// neighbour, that overflows its stack by 2 KiB and returns; prints its id, and whether it
// ran on the stack of a thread joined just before (when `reuse`), then joins it. Does not
// return normally: the join's reap aborts.
int overflow_a_pooled_stack(const char* name, bool reuse) {
  spawn_options pooled{.stack = spindle::stack_kind::pooled};
  green::latch release(1);
  // Carved first, so the next stack lies just above it in the slab.
  auto below = green::spawn(pooled, [&release] { release.wait(); });
  std::uintptr_t joined_low = 0;
  if (reuse) {
    joined_low = green::spawn(pooled, [] {
                   volatile char first[2] = {0, 0};
                   return low_end_of_my_stack(first);
                 }).join();
  }
  pooled.name = name;
  auto deep = green::spawn(pooled, [joined_low] {
    volatile char first[2] = {0, 0};
    std::printf("reused=%d\n", low_end_of_my_stack(first) == joined_low ? 1 : 0);
    std::fflush(stdout);
    return descend_below(low_end_of_my_stack(first) - 2048, first);
  });
  std::printf("id=%llu\n", static_cast<unsigned long long>(deep.get_id().value()));
  std::fflush(stdout);
  int result = deep.join();
  std::printf("joined=%d\n", result);
  release.count_down();
  below.join();
  return 10;
}

// The report of overflow_a_pooled_stack's thread `name`.
void check_pooled_overflow_report(const child_outcome& outcome, const std::string& name) {
  REQUIRE(outcome.killed_by(SIGABRT));
  std::string id = printed_id(outcome);
  REQUIRE(!id.empty());
  CHECK(mentions(outcome, "spindle: green thread \"" + name + "\" (id " + id +
                              ") overflowed its 256 KiB pooled stack ["));
  CHECK(mentions(outcome, "a stack overflow, seen when it finished"));
  CHECK(mentions(outcome, "spindle::stack_kind::guarded"));
  CHECK(outcome.out.find("joined=") == std::string::npos);
  MESSAGE("the report: " << outcome.err);
}

// What can be seen of an overflow of a pooled stack, which has no guard page?
TEST_CASE(
    "a green thread that overflows its pooled stack and returns is named when it "
    "finishes") {
  auto outcome = run_in_child([] { return overflow_a_pooled_stack("pooled_deep", false); });
  INFO(outcome.describe());
  check_pooled_overflow_report(outcome, "pooled_deep");
}

// A joined thread's stack is kept in its kind's LIFO and handed to the next spawn: is an
// overflow of such a reused stack still seen?
TEST_CASE(
    "a green thread that overflows a pooled stack reused from a joined thread is named "
    "when it finishes") {
  auto outcome = run_in_child([] { return overflow_a_pooled_stack("pooled_reused", true); });
  INFO(outcome.describe());
  CHECK(outcome.out.find("reused=1") != std::string::npos);
  check_pooled_overflow_report(outcome, "pooled_reused");
}

// Does a thread that uses its pooled stack deeply, but within it, pass the check?
TEST_CASE("a green thread that uses its pooled stack almost to the bottom finishes normally") {
  auto outcome = run_in_child([] {
    spawn_options pooled{.stack = spindle::stack_kind::pooled};
    for (int round = 0; round < 3; ++round) {  // reused stacks pass too
      green::spawn(pooled, [] {
        volatile char first[2] = {0, 0};
        return descend_below(low_end_of_my_stack(first) + 4096, first);
      }).join();
    }
    return 10;
  });
  INFO(outcome.describe());
  CHECK(outcome.exited_with(10));
}
