// tests/clone_stress_test.cpp — clone threads under load and at the end of resources.
//
// Concept: the stress from the feasibility note (2 to 64 threads using malloc, strings,
// exceptions, errno, thread_local and stdio at once), memory use over 100k threads, and
// exhausted limits (in forked children, which may lower their limits).
// Explained in: docs/09-clone-backend.md. Read next: tests/clone_process_test.cpp.
#include <dlfcn.h>
#include <doctest/doctest.h>
#include <locale.h>
#include <malloc.h>
#include <netdb.h>
#include <resolv.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "child_process.hpp"
#include "clone_test_support.hpp"

using namespace clone_test;

namespace {

std::atomic<int> stress_destroyed{0};
struct stress_local {
  int rounds = 0;
  ~stress_local() { stress_destroyed.fetch_add(1); }
};
thread_local stress_local stress_state;

constexpr int stress_rounds = 6;

std::string expected_line(int thread, int round, const char* via) {
  char line[64];
  std::snprintf(line, sizeof line, "thread %02d round %d via %s", thread, round, via);
  return line;
}

// One thread's share of the stress; returns how many checks failed.
int stress_one_thread(int id) {
  constexpr std::size_t sizes[] = {1, 8, 24, 100, 1000, 4096, 65536, 300000, 1 << 20, 4 << 20};
  int failures = 0;
  for (int round = 0; round < stress_rounds; ++round) {
    for (std::size_t size : sizes) {
      auto* bytes = static_cast<unsigned char*>(std::malloc(size));
      auto first = static_cast<unsigned char>(id);
      auto last = static_cast<unsigned char>(size == 1 ? id : id + round);
      bytes[0] = first;
      bytes[size - 1] = last;
      sched_yield();
      failures += bytes[0] != first || bytes[size - 1] != last;
      std::free(bytes);
    }
    std::vector<std::string> words;
    for (int i = 0; i < 200; ++i)
      words.push_back("word " + std::to_string(id) + "/" + std::to_string(i));
    failures += words[199] != "word " + std::to_string(id) + "/199";
    try {
      throw std::runtime_error(expected_line(id, round, "exception"));
    } catch (const std::runtime_error& e) {
      failures += e.what() != expected_line(id, round, "exception");
    }
    errno = id + 1;
    sched_yield();
    failures += errno != id + 1;
    failures += ++stress_state.rounds != round + 1;
    std::printf("%s\n", expected_line(id, round, "printf").c_str());
    std::cout << expected_line(id, round, "iostream") + "\n";
  }
  return failures;
}

// Sends stdout (stdio and iostream) to a temporary file until finish().
class captured_stdout {
 public:
  captured_stdout() {
    std::fflush(stdout);
    saved_ = dup(STDOUT_FILENO);
    file_ = std::tmpfile();
    dup2(fileno(file_), STDOUT_FILENO);
  }
  std::string finish() {
    std::cout.flush();
    std::fflush(stdout);
    dup2(saved_, STDOUT_FILENO);
    close(saved_);
    std::string text;
    std::rewind(file_);
    for (int c; (c = std::fgetc(file_)) != EOF;) text += static_cast<char>(c);
    std::fclose(file_);
    return text;
  }

 private:
  int saved_;
  std::FILE* file_;
};

struct stress_outcome {
  int failures = 0;
  int destroyed = 0;
  std::map<std::string, int> lines;
};

stress_outcome run_stress(int threads) {
  stress_destroyed = 0;
  std::vector<int> failures(threads, 0);
  std::vector<std::pair<int, int*>> work;
  for (int i = 0; i < threads; ++i) work.emplace_back(i, &failures[i]);
  auto body = [](void* p) noexcept {
    auto* job = static_cast<std::pair<int, int*>*>(p);
    *job->second = stress_one_thread(job->first);
  };
  captured_stdout capture;
  std::vector<kt::kernel_thread*> started;
  for (auto& job : work) started.push_back(kt::start(body, &job));
  for (auto* t : started) kt::join(t);
  std::istringstream text(capture.finish());
  stress_outcome outcome;
  for (int f : failures) outcome.failures += f;
  outcome.destroyed = stress_destroyed.load();
  for (std::string line; std::getline(text, line);) ++outcome.lines[line];
  return outcome;
}

int stress_repetitions() {
  const char* runs = std::getenv("SPINDLE_STRESS_RUNS");
  return runs != nullptr ? std::atoi(runs) : 1;
}

// In a child process whose limit is already lowered: starts parked threads until start
// refuses (at most `at_most`), releases and joins them, then starts `again` threads one
// after another. Returns 0 if the refusal was a std::system_error with errno `expected`
// naming `limit` after at least one thread started, and the layer then recovered.
int fill_the_limit_then_recover(int at_most, int expected, const char* limit, int again) {
  std::vector<kt::kernel_thread*> started;
  started.reserve(static_cast<std::size_t>(at_most));
  gate go;
  auto parked = [&] { go.wait(); };
  std::string message;
  int code = 0;
  try {
    for (int i = 0; i < at_most; ++i) started.push_back(start_running(parked));
  } catch (const std::system_error& e) {
    message = e.what();
    code = e.code().value();
  }
  go.open();
  for (auto* t : started) kt::join(t);
  std::fprintf(stderr, "after %zu threads: %s\n", started.size(), message.c_str());
  if (code != expected || message.find(limit) == std::string::npos || started.empty()) return 2;
  auto nothing = [] {};
  for (int i = 0; i < again; ++i) kt::join(start_running(nothing));
  return 0;
}

// In a child: lowers RLIMIT_AS to 96 MiB above what the process maps now. Returns false
// if the limit could not be set.
bool leave_96_mib_of_address_space() {
  long pages = 0;
  std::FILE* statm = std::fopen("/proc/self/statm", "r");
  if (statm == nullptr || std::fscanf(statm, "%ld", &pages) != 1) return false;
  std::fclose(statm);
  rlimit limit{};
  limit.rlim_cur = limit.rlim_max = pages * sysconf(_SC_PAGESIZE) + (96 << 20);
  return setrlimit(RLIMIT_AS, &limit) == 0;
}

// Starts parked threads with stacks of `stack_size` until start refuses (at most 4096),
// prints how many fit and the message as <label>_threads and <label>_message, then
// releases and joins them all.
void count_threads_that_fit(const char* label, std::size_t stack_size) {
  std::vector<kt::kernel_thread*> started;
  started.reserve(4096);
  gate go;
  auto parked = [&] { go.wait(); };
  std::string message = "none";
  try {
    while (started.size() < 4096) started.push_back(start_running(parked, stack_size));
  } catch (const std::system_error& e) {
    message = e.what();
  }
  std::printf("%s_threads=%zu\n%s_message=%s\n", label, started.size(), label, message.c_str());
  go.open();
  for (auto* t : started) kt::join(t);
}

std::string field(const std::string& report, const std::string& key) {
  std::size_t at = report.find(key + "=");
  if (at == std::string::npos) return {};
  at += key.size() + 1;
  return report.substr(at, report.find('\n', at) - at);
}

}  // namespace

// Do malloc, strings, exceptions, errno, thread_local and stdio all hold up when 2 to
// 64 clone threads use them at once?
TEST_CASE("stress_of_2_to_64_threads_keeps_every_thread_state_private") {
  for (int repetition = 0; repetition < stress_repetitions(); ++repetition)
    for (int threads : {2, 4, 8, 16, 32, 64}) {
      CAPTURE(threads);
      stress_outcome outcome = run_stress(threads);
      CHECK(outcome.failures == 0);
      CHECK(outcome.destroyed == threads);
      CHECK(outcome.lines.size() == static_cast<std::size_t>(threads * stress_rounds * 2));
      for (int id = 0; id < threads; ++id)
        for (int round = 0; round < stress_rounds; ++round) {
          CHECK(outcome.lines[expected_line(id, round, "printf")] == 1);
          CHECK(outcome.lines[expected_line(id, round, "iostream")] == 1);
        }
    }
}

// Does memory stay flat over 100k threads that each use malloc (glibc frees a thread's
// malloc cache only for its own threads; a lost cache costs about 1 KiB a thread)?
TEST_CASE("a_hundred_thousand_threads_using_malloc_leave_memory_use_flat") {
  const char* asked = std::getenv("SPINDLE_RSS_THREADS");
  const int total = asked != nullptr ? std::atoi(asked) : 100000;
  auto body = [] {
    void* small = std::malloc(200);
    void* medium = std::malloc(20000);
    std::string text(500, 'x');
    std::free(medium);
    std::free(small);
  };
  for (int i = 0; i < total / 10; ++i) kt::join(start_running(body));
  long after_tenth = memory_in_use_kib();
  for (int i = total / 10; i < total; ++i) kt::join(start_running(body));
  long after_all = memory_in_use_kib();
  MESSAGE("KiB in use after " << total / 10 << " threads: " << after_tenth << ", after " << total
                              << ": " << after_all);
  CHECK(after_all - after_tenth < 8 * 1024);
}

namespace {

struct keeps_a_text {
  std::string text = std::string(300, 't');  // heap-allocated, freed by the destructor
  ~keeps_a_text() { text.clear(); }
};
thread_local keeps_a_text per_thread_text;

// Touches every piece of per-thread libc state that glibc frees or resets when one of
// its own threads exits (docs/09-clone-backend.md lists them).
void touch_per_thread_libc_state(int round, locale_t own_locale) {
  (void)std::strerror(100000 + round % 1000);  // allocates "Unknown error N"
  (void)strsignal(SIGRTMIN + 1 + round % 4);   // allocates "Real-time signal N"
  if (dlopen("libspindle-no-such-library.so", RTLD_NOW) == nullptr && round % 2 == 0)
    (void)dlerror();  // one thread in two leaves its error pending
  h_errno = TRY_AGAIN;
  per_thread_text.text += 'x';  // registers the thread_local's destructor
  uselocale(own_locale);
  if (round % 100 == 0) res_init();
}

// Bytes malloc has handed out and not had back (glibc's count; not valgrind's).
long malloc_in_use_kib() { return static_cast<long>(mallinfo2().uordblks / 1024); }

}  // namespace

// Does memory stay flat over 100k threads that each leave behind every piece of libc
// state glibc frees at a thread's exit: the texts of strerror and strsignal for unknown
// numbers, a pending dlerror, a thread_local destructor, a locale, a resolver state?
TEST_CASE("a_hundred_thousand_threads_touching_libc_state_leave_memory_use_flat") {
  const char* asked = std::getenv("SPINDLE_RSS_THREADS");
  const int total = asked != nullptr      ? std::atoi(asked)
                    : RUNNING_ON_VALGRIND ? 2000  // memcheck's exit report finds any leak
                                          : 100000;
  locale_t own_locale = newlocale(LC_ALL_MASK, "C", nullptr);
  REQUIRE(own_locale != nullptr);
  int round = 0;
  auto body = [&] { touch_per_thread_libc_state(round, own_locale); };
  for (; round < total / 10; ++round) kt::join(start_running(body));
  long memory_after_tenth = memory_in_use_kib(), malloc_after_tenth = malloc_in_use_kib();
  for (; round < total; ++round) kt::join(start_running(body));
  long memory_after_all = memory_in_use_kib(), malloc_after_all = malloc_in_use_kib();
  freelocale(own_locale);
  MESSAGE("KiB in use after " << total / 10 << " threads: " << memory_after_tenth << " (malloc "
                              << malloc_after_tenth << "), after " << total << ": "
                              << memory_after_all << " (malloc " << malloc_after_all << ")");
  CHECK(memory_after_all - memory_after_tenth < 1024);
  if (!RUNNING_ON_VALGRIND) CHECK(malloc_after_all - malloc_after_tenth < 64);
}

// Is running out of address space a std::system_error naming RLIMIT_AS, after which
// threads can be started again?
TEST_CASE("exhausted_address_space_gives_system_error_and_the_layer_recovers") {
  // Under valgrind the lowered limit starves valgrind itself (its own allocator runs
  // out first): the plain configuration runs this case.
  if (RUNNING_ON_VALGRIND) {
    MESSAGE("not run under valgrind: a lowered RLIMIT_AS starves valgrind itself");
    return;
  }
  int status = exit_status_of_child([] {
    long pages = 0;
    std::FILE* statm = std::fopen("/proc/self/statm", "r");
    if (std::fscanf(statm, "%ld", &pages) != 1) return 1;
    std::fclose(statm);
    rlimit limit{};
    limit.rlim_cur = limit.rlim_max = pages * sysconf(_SC_PAGESIZE) + (64 << 20);
    setrlimit(RLIMIT_AS, &limit);
    return fill_the_limit_then_recover(4096, ENOMEM, "RLIMIT_AS", 10);
  });
  CHECK(status == 0);
}

// Is hitting the task limit a std::system_error naming RLIMIT_NPROC, after which
// threads can be started again?
TEST_CASE("exhausted_task_limit_gives_system_error_and_the_layer_recovers") {
  int status = exit_status_of_child([] {
    rlimit limit{20, 20};
    if (setrlimit(RLIMIT_NPROC, &limit) != 0 || setuid(65534) != 0) return 1;
    return fill_the_limit_then_recover(100, EAGAIN, "RLIMIT_NPROC", 1);
  });
  CHECK(status == 0);
}

// After small stacks filled the address space and were all joined, does the cache of
// their memory (up to 40 MiB) stand in the way of stacks of another size?
TEST_CASE(
    "after_small_stacks_fill_RLIMIT_AS_and_are_joined_as_many_default_stacks_fit_as_in_a_fresh_"
    "process") {
  if (RUNNING_ON_VALGRIND) {
    MESSAGE("not run under valgrind: a lowered RLIMIT_AS starves valgrind itself");
    return;
  }
  auto fresh = spindle_test::run_in_child([] {
    if (!leave_96_mib_of_address_space()) return 3;
    count_threads_that_fit("default", 0);
    return 0;
  });
  INFO(fresh.describe());
  REQUIRE(fresh.exited_with(0));
  auto after = spindle_test::run_in_child([] {
    if (!leave_96_mib_of_address_space()) return 3;
    count_threads_that_fit("small", 256 * 1024);
    count_threads_that_fit("default", 0);
    return 0;
  });
  INFO(after.describe());
  REQUIRE(after.exited_with(0));
  long in_fresh = std::stol(field(fresh.out, "default_threads"));
  long small = std::stol(field(after.out, "small_threads"));
  long fitted = std::stol(field(after.out, "default_threads"));
  MESSAGE("1 MiB stacks that fit: " << in_fresh << " in a fresh process, " << fitted << " after "
                                    << small << " of 256 KiB were joined");
  REQUIRE(in_fresh > 20);
  CHECK(fitted >= in_fresh - 1);
  std::string full_of_small = field(after.out, "small_message");
  CHECK(full_of_small.find("RLIMIT_AS") != std::string::npos);
  CHECK(full_of_small.find("spindle holds " + std::to_string(small) +
                           " clone threads alive or not yet joined") != std::string::npos);
  CHECK(full_of_small.find("Join finished threads") != std::string::npos);
  std::string full_of_default = field(after.out, "default_message");
  CHECK(full_of_default.find("spindle holds " + std::to_string(fitted) +
                             " clone threads alive or not yet joined") != std::string::npos);
  CHECK(full_of_default.find("and 0 MiB of cached stacks") != std::string::npos);
}
