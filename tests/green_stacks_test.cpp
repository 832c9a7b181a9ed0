// tests/green_stacks_test.cpp — guarded and pooled stacks, their reuse, and what happens
// when no more can be mapped. Explained in: docs/04-stacks.md.
//
// Stacks are observed from outside, the way a reader would check them: a thread reports
// where its frame is, and /proc/self/maps says which mapping holds it and what lies
// below. The tests that fill a per-process limit run in a child process.
#include <doctest/doctest.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "child_process.hpp"
#include "spindle/green.hpp"

namespace green = spindle::green;
using spindle::spawn_options;
using spindle::stack_kind;
using spindle_test::run_in_child;

namespace {

constexpr std::uintptr_t default_stack_bytes = 256 * 1024;

struct mapping {
  std::uintptr_t start = 0;
  std::uintptr_t end = 0;
  std::string perms;
};

std::vector<mapping> read_maps() {
  std::ifstream in("/proc/self/maps");
  std::vector<mapping> maps;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    mapping m;
    char dash;
    fields >> std::hex >> m.start >> dash >> m.end >> m.perms;
    maps.push_back(m);
  }
  return maps;
}

std::size_t count_maps() { return read_maps().size(); }

std::optional<mapping> mapping_where(const std::vector<mapping>& maps, auto&& wanted) {
  for (const mapping& m : maps) {
    if (wanted(m)) return m;
  }
  return std::nullopt;
}

std::optional<mapping> mapping_holding(const std::vector<mapping>& maps, std::uintptr_t at) {
  return mapping_where(maps, [at](const mapping& m) { return m.start <= at && at < m.end; });
}

// Where the calling thread's frame is: an address inside its stack.
[[gnu::noinline]] std::uintptr_t frame_address() {
  return reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
}

// True if `at` lies on a guarded stack: within the stack size above the start of its
// mapping, and right below that start, one inaccessible page.
bool on_guarded_stack(std::uintptr_t at) {
  auto maps = read_maps();
  auto stack = mapping_holding(maps, at);
  if (!stack || stack->perms != "rw-p" || at - stack->start >= default_stack_bytes) return false;
  auto guard = mapping_where(maps, [&](const mapping& m) { return m.end == stack->start; });
  return guard && guard->perms == "---p" &&
         guard->end - guard->start == static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
}

// Spawns `count` threads of `kind`, all alive at once, and returns their frame addresses.
std::vector<std::uintptr_t> frames_of_threads_alive_together(int count, stack_kind kind) {
  green::latch arrived(count), release(1);
  std::vector<std::uintptr_t> frames(static_cast<std::size_t>(count));
  std::vector<green::thread<void>> threads;
  for (int i = 0; i < count; ++i) {
    threads.push_back(green::spawn(spawn_options{.stack = kind}, [&, i] {
      frames[static_cast<std::size_t>(i)] = frame_address();
      arrived.count_down();
      release.wait();
    }));
  }
  arrived.wait();
  release.count_down();
  for (auto& t : threads) t.join();
  return frames;
}

std::uintptr_t frame_of_a_thread(spawn_options options) {
  return green::spawn(options, frame_address).join();
}

long max_map_count() {
  std::ifstream in("/proc/sys/vm/max_map_count");
  long value = -1;
  in >> value;
  return value;
}

// The value after "key=" in a child's report, or an empty string.
std::string field(const std::string& report, const std::string& key) {
  std::size_t at = report.find(key + "=");
  if (at == std::string::npos) return {};
  at += key.size() + 1;
  return report.substr(at, report.find('\n', at) - at);
}

long number_field(const std::string& report, const std::string& key) {
  std::string value = field(report, key);
  return value.empty() ? -1 : std::stol(value);
}

}  // namespace

// Does a guard page really sit below every thread's stack by default?
TEST_CASE("a guarded stack is a mapping of its own with an inaccessible page just below it") {
  green::thread<bool> t = green::spawn([] { return on_guarded_stack(frame_address()); });
  CHECK(t.join());
}

// Do pooled stacks really share mappings, with nothing between them?
TEST_CASE("pooled stacks alive at the same time lie side by side in one mapping") {
  auto frames = frames_of_threads_alive_together(3, stack_kind::pooled);
  auto maps = read_maps();
  auto shared = mapping_holding(maps, frames[0]);
  REQUIRE(shared);
  for (std::uintptr_t frame : frames) {
    CHECK(mapping_holding(maps, frame)->start == shared->start);
    CHECK_FALSE(on_guarded_stack(frame));
  }
  for (std::size_t i = 0; i < frames.size(); ++i) {
    for (std::size_t j = i + 1; j < frames.size(); ++j) {
      std::uintptr_t apart = std::max(frames[i], frames[j]) - std::min(frames[i], frames[j]);
      CHECK(apart % default_stack_bytes == 0);
      CHECK(apart >= default_stack_bytes);
    }
  }
}

// Is a finished thread's stack handed to the next thread instead of a fresh mapping?
TEST_CASE("the next spawn reuses the stack of a joined thread of the same kind") {
  for (stack_kind kind : {stack_kind::guarded, stack_kind::pooled}) {
    std::uintptr_t first = frame_of_a_thread({.stack = kind});
    std::uintptr_t second = frame_of_a_thread({.stack = kind});
    CHECK(first == second);
  }
}

// Freed stacks of the default size wait in a LIFO per kind: the last one freed, whose
// pages and cache lines are the warmest, is the first one handed out again.
TEST_CASE("stacks freed by joins are reused most recently freed first, for each kind") {
  for (stack_kind kind : {stack_kind::guarded, stack_kind::pooled}) {
    auto first = frames_of_threads_alive_together(3, kind);  // joined in spawn order
    auto second = frames_of_threads_alive_together(3, kind);
    CHECK(second[0] == first[2]);
    CHECK(second[1] == first[1]);
    CHECK(second[2] == first[0]);
  }
}

// Could a guarded spawn be fobbed off with a kept pooled stack?
TEST_CASE("a guarded spawn never gets a pooled stack, even when one is kept for reuse") {
  std::uintptr_t pooled = frame_of_a_thread({.stack = stack_kind::pooled});
  green::thread<bool> t = green::spawn(spawn_options{.stack = stack_kind::guarded},
                                       [] { return on_guarded_stack(frame_address()); });
  CHECK(t.join());
  CHECK(frame_of_a_thread({.stack = stack_kind::pooled}) == pooled);
}

// Does the program-wide default decide what a plain spawn gets, and can it be undone?
TEST_CASE("set_default_stack makes plain spawns pooled until it is set back") {
  REQUIRE(green::default_stack() == stack_kind::guarded);
  CHECK(green::set_default_stack(stack_kind::pooled) == stack_kind::guarded);
  CHECK(green::default_stack() == stack_kind::pooled);
  auto frames = frames_of_threads_alive_together(2, stack_kind::program_default);
  auto maps = read_maps();
  CHECK(mapping_holding(maps, frames[0])->start == mapping_holding(maps, frames[1])->start);
  CHECK(green::set_default_stack(stack_kind::guarded) == stack_kind::pooled);
  green::thread<bool> t = green::spawn([] { return on_guarded_stack(frame_address()); });
  CHECK(t.join());
}

// What if the options name no kind of stack at all?
TEST_CASE("a stack kind that is no stack_kind is refused with invalid_argument") {
  CHECK_THROWS_AS(green::set_default_stack(stack_kind::program_default), std::invalid_argument);
  CHECK_THROWS_AS(green::set_default_stack(static_cast<stack_kind>(9)), std::invalid_argument);
  CHECK_THROWS_AS(green::spawn(spawn_options{.stack = static_cast<stack_kind>(9)}, [] {}),
                  std::invalid_argument);
  CHECK(green::default_stack() == stack_kind::guarded);
  CHECK(green::spawn([] { return 7; }).join() == 7);
}

// What if a stack is asked for that no address space could hold?
TEST_CASE("a stack larger than the address space is refused with a system_error about memory") {
  CHECK_THROWS_AS(green::spawn(spawn_options{.stack_size = SIZE_MAX}, [] {}),
                  std::invalid_argument);
  for (stack_kind kind : {stack_kind::guarded, stack_kind::pooled}) {
    try {
      spawn_options petabyte{.stack_size = std::size_t{1} << 50, .stack = kind};
      green::spawn(petabyte, [] {}).join();
      FAIL("a 1 PiB stack was mapped");
    } catch (const std::system_error& e) {
      INFO(std::string(e.what()));
      CHECK(e.code() == std::errc::not_enough_memory);
      CHECK(std::string(e.what()).find("the kernel refused") != std::string::npos);
      CHECK(std::string(e.what()).find("RLIMIT_AS is") != std::string::npos);
    }
  }
  CHECK(green::spawn([] { return 7; }).join() == 7);
}

// Spawns guarded threads that park until spawn throws; reports how many fit and why not.
int fill_with_guarded_threads(const char* label, std::size_t capacity) {
  green::latch release(1);
  std::vector<green::thread<void>> parked;
  parked.reserve(capacity);
  std::size_t maps_before = count_maps();
  try {
    while (parked.size() < capacity) {
      parked.push_back(green::spawn([&release] { release.wait(); }));
      green::this_thread::yield();  // the new thread runs and parks on the latch
    }
    std::printf("%s_error=none\n", label);
  } catch (const std::system_error& e) {
    std::printf("%s_error=%d\n%s_message=%s\n", label, e.code().value(), label, e.what());
  }
  std::printf("%s_maps_before=%zu\n%s_threads=%zu\n", label, maps_before, label, parked.size());
  release.count_down();
  for (auto& t : parked) t.join();
  return 0;
}

// What happens when the guarded stacks use up vm.max_map_count, and after?
TEST_CASE(
    "spawning guarded threads until vm.max_map_count runs out throws a system_error "
    "naming the limit, and spawns succeed again once the threads are joined") {
  long limit = max_map_count();
  REQUIRE(limit > 0);
  if (limit > 1'000'000) {
    MESSAGE("skipped: vm.max_map_count is " << limit << ", too high to fill in a test");
    return;
  }
  auto outcome = run_in_child([limit] {
    std::size_t capacity = static_cast<std::size_t>(limit) / 2 + 100;
    fill_with_guarded_threads("first", capacity);
    std::printf("between=%d\n", green::spawn([] { return 42; }).join());
    fill_with_guarded_threads("second", capacity);
    return 0;
  });
  INFO(outcome.describe());
  REQUIRE(outcome.exited_with(0));
  std::string message = field(outcome.out, "first_message");
  CHECK(number_field(outcome.out, "first_error") == ENOMEM);
  CHECK(message.find("vm.max_map_count is " + std::to_string(limit)) != std::string::npos);
  CHECK(message.find("guarded stack") != std::string::npos);
  CHECK(message.find("spindle::stack_kind::pooled") != std::string::npos);
  CHECK(message.find("sysctl -w vm.max_map_count=") != std::string::npos);
  long fitted = number_field(outcome.out, "first_threads");
  long maps_before = number_field(outcome.out, "first_maps_before");
  MESSAGE("guarded green threads alive at once: " << fitted << " (vm.max_map_count " << limit
                                                  << ", " << maps_before
                                                  << " mappings before); then: " << message);
  // Two mappings per guarded stack, whatever the process already had (give or take the
  // few stacks it had cached, and the heap's growth).
  CHECK(fitted >= (limit - maps_before) / 2 - 16);
  CHECK(fitted <= (limit - maps_before) / 2 + 16);
  CHECK(field(outcome.out, "between") == "42");
  CHECK(number_field(outcome.out, "second_error") == ENOMEM);
  CHECK(number_field(outcome.out, "second_threads") >= fitted - 8);
}

// Do pooled stacks lift the cap that vm.max_map_count sets on guarded ones?
TEST_CASE("more pooled threads than vm.max_map_count allows guarded ones can be alive at once") {
  long limit = max_map_count();
  REQUIRE(limit > 0);
  if (limit > 1'000'000) {
    MESSAGE("skipped: vm.max_map_count is " << limit << ", too high to exceed in a test");
    return;
  }
  auto outcome = run_in_child([limit] {
    std::size_t maps_before = count_maps();
    std::size_t count = (static_cast<std::size_t>(limit) - maps_before) / 2 + 1000;
    green::latch release(1);
    std::vector<green::thread<void>> parked;
    parked.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      parked.push_back(
          green::spawn(spawn_options{.stack = stack_kind::pooled}, [&release] { release.wait(); }));
      green::this_thread::yield();
    }
    std::printf("threads=%zu\nnew_maps=%zu\n", parked.size(), count_maps() - maps_before);
    release.count_down();
    for (auto& t : parked) t.join();
    return 0;
  });
  INFO(outcome.describe());
  REQUIRE(outcome.exited_with(0));
  long threads = number_field(outcome.out, "threads");
  long new_maps = number_field(outcome.out, "new_maps");
  MESSAGE("pooled green threads alive at once: " << threads << ", new mappings: " << new_maps);
  CHECK(threads > limit / 2);
  CHECK(new_maps <= threads / 32);
}

// The calling process's resident memory and minor page faults so far.
long resident_kib() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}
long minor_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// A burst of pooled threads, each using a few pages of its stack: do their stacks keep
// their pages for the next burst (no faults, no system calls on spawn and join), and go
// back to the kernel, but for the hot ones, once the scheduler has nothing to run?
TEST_CASE(
    "pooled stacks keep their pages for reuse, and give all but the hot ones back when "
    "the scheduler is idle") {
  auto outcome = run_in_child([] {
    constexpr int threads = 5000;
    constexpr std::size_t touched = 12 * 1024;  // three pages of each thread's stack
    auto burst = [] {
      green::latch release(1);
      std::vector<green::thread<void>> alive;
      alive.reserve(threads);
      for (int i = 0; i < threads; ++i) {
        alive.push_back(green::spawn(spawn_options{.stack = stack_kind::pooled}, [&release] {
          [[maybe_unused]] volatile char frame[touched];
          for (std::size_t at = 0; at < touched; at += 512) frame[at] = 1;
          release.wait();
        }));
        green::this_thread::yield();
      }
      release.count_down();
      for (auto& t : alive) t.join();
    };
    burst();
    long faults_before = minor_faults();
    burst();
    long faults_of_second_burst = minor_faults() - faults_before;
    long kept_kib = resident_kib();
    green::this_thread::sleep_for(std::chrono::milliseconds(1));  // the scheduler idles
    long idle_kib = resident_kib();
    std::printf("faults_of_second_burst=%ld\nkept_kib=%ld\nidle_kib=%ld\n", faults_of_second_burst,
                kept_kib, idle_kib);
    return 0;
  });
  INFO(outcome.describe());
  REQUIRE(outcome.exited_with(0));
  long faults = number_field(outcome.out, "faults_of_second_burst");
  long kept = number_field(outcome.out, "kept_kib");
  long idle = number_field(outcome.out, "idle_kib");
  MESSAGE("second burst of 5000: " << faults << " minor faults; resident " << kept
                                   << " KiB after it, " << idle << " KiB once idle");
  // Reused stacks are already resident: the second burst faults far less than once per
  // thread (the first faulted three times per thread).
  CHECK(faults < 5000 / 4);
  // Idle, all but the 1024 hot stacks give their three pages back: about 46 MiB.
  CHECK(kept - idle >= (5000 - 1024) * 12 * 3 / 4);
}

// Lowers RLIMIT_AS to 64 MiB above what the process maps now, after making the
// scheduler and its mappings and keeping 4 MiB of heap spare for the error's strings.
// Returns false if the limit could not be set.
bool leave_64_mib_of_address_space() {
  green::spawn([] {}).join();
  mallopt(M_TOP_PAD, 4 * 1024 * 1024);
  std::free(std::malloc(64));
  std::ifstream status("/proc/self/status");
  std::size_t kib = 0;
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmSize:", 0) == 0) kib = std::stoul(line.substr(7));
  }
  rlimit as{};
  getrlimit(RLIMIT_AS, &as);
  as.rlim_cur = (kib + 64 * 1024) * 1024;
  return setrlimit(RLIMIT_AS, &as) == 0;
}

// Spawns threads of `options` that park until spawn throws, prints how many fit and the
// message as <label>_threads and <label>_message, then joins them all. The handles go in
// `parked`, reserved once by the caller, so that no heap memory freed between two
// counts is held back (ASan's quarantine would hold it).
void count_threads_that_fit(const char* label, spawn_options options,
                            std::vector<green::thread<void>>& parked) {
  green::latch release(1);
  std::string message = "none";
  try {
    while (parked.size() < parked.capacity()) {
      parked.push_back(green::spawn(options, [&release] { release.wait(); }));
    }
  } catch (const std::system_error& e) {
    message = e.what();
  }
  std::printf("%s_threads=%zu\n%s_message=%s\n", label, parked.size(), label, message.c_str());
  release.count_down();
  for (auto& t : parked) t.join();
  parked.clear();
}

// A child's room for the handles of count_threads_that_fit.
std::vector<green::thread<void>> room_for_threads() {
  std::vector<green::thread<void>> parked;
  parked.reserve(100'000);
  return parked;
}

// What does a pooled spawn say when the address space itself runs out?
TEST_CASE(
    "a pooled spawn beyond RLIMIT_AS throws a system_error naming it, and spawns "
    "succeed again once the threads are joined") {
  auto outcome = run_in_child([] {
    std::vector<green::thread<void>> parked;
    parked.reserve(100'000);
    green::latch release(1);
    if (!leave_64_mib_of_address_space()) return 3;
    try {
      while (parked.size() < parked.capacity()) {
        parked.push_back(green::spawn(spawn_options{.stack = stack_kind::pooled},
                                      [&release] { release.wait(); }));
      }
    } catch (const std::system_error& e) {
      std::printf("error=%d\nmessage=%s\n", e.code().value(), e.what());
    }
    std::printf("threads=%zu\n", parked.size());
    release.count_down();
    for (auto& t : parked) t.join();
    auto again = green::spawn(spawn_options{.stack = stack_kind::pooled}, [] { return 42; });
    std::printf("again=%d\n", again.join());
    return 0;
  });
  INFO(outcome.describe());
  REQUIRE(outcome.exited_with(0));
  std::string message = field(outcome.out, "message");
  CHECK(number_field(outcome.out, "error") == ENOMEM);
  MESSAGE("pooled threads that fit under RLIMIT_AS: " << number_field(outcome.out, "threads")
                                                      << "; then: " << message);
  CHECK(message.find("pooled stacks of 256 KiB") != std::string::npos);
  CHECK(message.find("RLIMIT_AS is") != std::string::npos);
  CHECK(message.find("ulimit -v") != std::string::npos);
  CHECK(number_field(outcome.out, "threads") > 0);
  CHECK(field(outcome.out, "again") == "42");
}

// Once every pooled thread that filled the address space is joined, do its slabs stand
// in the way of stacks of another kind?
TEST_CASE(
    "after pooled threads fill RLIMIT_AS and are all joined, as many guarded threads "
    "fit as in a fresh process, and each message says what is held") {
  auto fresh = run_in_child([] {
    auto parked = room_for_threads();
    if (!leave_64_mib_of_address_space()) return 3;
    count_threads_that_fit("guarded", {}, parked);
    return 0;
  });
  INFO(fresh.describe());
  REQUIRE(fresh.exited_with(0));
  auto after = run_in_child([] {
    auto parked = room_for_threads();
    if (!leave_64_mib_of_address_space()) return 3;
    count_threads_that_fit("pooled", {.stack = stack_kind::pooled}, parked);
    count_threads_that_fit("guarded", {}, parked);
    return 0;
  });
  INFO(after.describe());
  REQUIRE(after.exited_with(0));
  long in_fresh = number_field(fresh.out, "guarded_threads");
  long pooled = number_field(after.out, "pooled_threads");
  long guarded = number_field(after.out, "guarded_threads");
  MESSAGE("guarded threads that fit: " << in_fresh << " in a fresh process, " << guarded
                                       << " after " << pooled << " pooled threads were joined");
  REQUIRE(in_fresh > 100);
  CHECK(guarded >= in_fresh - 1);  // the first fill's strings may keep a page
  std::string full_of_pooled = field(after.out, "pooled_message");
  CHECK(full_of_pooled.find("has " + std::to_string(pooled) +
                            " green threads alive (0 on "
                            "guarded stacks, " +
                            std::to_string(pooled) + " on pooled stacks") != std::string::npos);
  std::string full_of_guarded = field(after.out, "guarded_message");
  CHECK(full_of_guarded.find("has " + std::to_string(guarded) + " green threads alive (" +
                             std::to_string(guarded) +
                             " on guarded stacks, 0 on pooled stacks "
                             "in 0 MiB of slabs)") != std::string::npos);
  CHECK(full_of_guarded.find("fewer threads alive at once") != std::string::npos);
}

// And when no thread is alive at all, does the message blame the threads?
TEST_CASE(
    "a spawn refused under RLIMIT_AS with no green thread alive says the rest of the "
    "program holds the address space") {
  auto outcome = run_in_child([] {
    if (!leave_64_mib_of_address_space()) return 3;
    for (std::size_t block : {1 << 20, 1 << 12}) {  // the program takes all that is left
      while (mmap(nullptr, block, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED) {
      }
    }
    try {  // a size the cache has none of, so that spawn must map
      green::spawn(spawn_options{.stack_size = 512 * 1024}, [] {}).join();
      std::printf("message=none\n");
    } catch (const std::system_error& e) {
      std::printf("message=%s\n", e.what());
    }
    return 0;
  });
  INFO(outcome.describe());
  REQUIRE(outcome.exited_with(0));
  std::string message = field(outcome.out, "message");
  CHECK(message.find("has 0 green threads alive") != std::string::npos);
  CHECK(message.find("None of its green threads is alive, so the rest of the program holds "
                     "the address space") != std::string::npos);
  CHECK(message.find("fewer threads alive") == std::string::npos);
}
