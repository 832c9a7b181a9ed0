// tests/green_is_one_kernel_thread_test.cpp — the proof that green threads are 1:N:
// however many of them run, the process has one kernel thread and never asks the kernel
// for another. Explained in: docs/04-stacks.md (the proof of 1:N).
//
// Two witnesses. The kernel lists a process's threads in /proc/self/task: green threads
// sample it as they run. And a seccomp filter makes the kernel refuse every system call
// that creates a task (clone, clone3, fork, vfork): a real workload then runs to the end
// under it, while fork and pthread_create, tried as controls, fail.
#include <dirent.h>
#include <doctest/doctest.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "spindle/green.hpp"

namespace green = spindle::green;
using spindle_test::run_in_child;

namespace {

// How many tasks (kernel threads) the process has right now.
int count_tasks() {
  DIR* tasks = opendir("/proc/self/task");
  if (!tasks) return -1;
  int count = 0;
  while (dirent* entry = readdir(tasks)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(tasks);
  return count;
}

// Refuses, with EPERM, every system call that makes a task; kills the process if a
// system call arrives through another architecture's numbering, which the checks by
// number could not see. Returns 0, or the errno of the prctl that failed.
int forbid_new_tasks() {
  sock_filter program[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, __X32_SYSCALL_BIT, 0, 1),  // x32 numbers
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 4, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 3, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_fork, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_vfork, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
  };
  sock_fprog filter{static_cast<unsigned short>(std::size(program)), program};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &filter) != 0) return errno;
  return 0;
}

int seccomp_mode() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("Seccomp:", 0) == 0) return std::stoi(line.substr(8));
  }
  return -1;
}

// The controls: each must be refused, or the filter proves nothing.
void report_what_the_filter_refuses() {
  errno = 0;
  pid_t child = fork();
  if (child == 0) _exit(0);
  if (child > 0) waitpid(child, nullptr, 0);
  std::printf("fork=%s\n", child < 0 && errno == EPERM ? "EPERM" : "allowed");
  pthread_t thread;
  auto nothing = [](void*) -> void* { return nullptr; };
  int created = pthread_create(&thread, nullptr, nothing, nullptr);
  if (created == 0) pthread_join(thread, nullptr);
  std::printf("pthread_create=%s\n", created == EPERM ? "EPERM"
                                     : created == 0   ? "allowed"
                                                      : "other");
  errno = 0;
  long clone3 = syscall(SYS_clone3, nullptr, 0);
  std::printf("clone3=%s\n", clone3 < 0 && errno == EPERM ? "EPERM" : "other");
}

constexpr int workers = 10'000;

// Every worker sleeps, then blocks on a condition variable until all have arrived (so
// all are alive at once), throws and catches, sends its number down a channel, and one
// in a hundred lets an exception escape for join to rethrow.
green::thread<int> spawn_worker(int i, green::mutex& m, green::condition_variable& all_here,
                                int& arrived, green::channel<int>& numbers) {
  return green::spawn([i, &m, &all_here, &arrived, &numbers] {
    green::this_thread::sleep_for(std::chrono::microseconds(i % 3));
    {
      std::unique_lock lock(m);
      if (++arrived == workers) all_here.notify_all();
      all_here.wait(lock, [&] { return arrived == workers; });
    }
    int caught = 0;
    try {
      if (i % 10 == 0) throw std::runtime_error("worker " + std::to_string(i));
    } catch (const std::runtime_error& e) {
      caught = e.what() == "worker " + std::to_string(i) ? 1 : 0;
    }
    numbers.send(i);
    if (i % 100 == 0) throw std::out_of_range(std::to_string(i));
    return caught;
  });
}

// Runs the workload; prints what it counted, and the most tasks any sample saw.
void run_workload() {
  green::mutex m;
  green::condition_variable all_here;
  int arrived = 0, most_tasks = count_tasks();
  green::channel<int> numbers(64);
  auto sum = green::spawn([&] {
    long total = 0;
    for (int k = 0; k < workers; ++k) {
      total += numbers.recv().value();
      if (k % 1000 == 0) most_tasks = std::max(most_tasks, count_tasks());
    }
    return total;
  });
  std::vector<green::thread<int>> threads;
  for (int i = 0; i < workers; ++i) {
    threads.push_back(spawn_worker(i, m, all_here, arrived, numbers));
  }
  long caught = 0, escaped = 0, escaped_sum = 0;
  for (auto& t : threads) {
    try {
      caught += t.join();
    } catch (const std::out_of_range& e) {
      ++escaped;
      escaped_sum += std::stol(e.what());
    }
  }
  std::printf("threads=%zu\nsum=%ld\ncaught=%ld\nescaped=%ld\nescaped_sum=%ld\nmost_tasks=%d\n",
              threads.size(), sum.join(), caught, escaped, escaped_sum, most_tasks);
}

}  // namespace

// Could the green runtime be creating kernel threads behind our back?
TEST_CASE("a process has one task at every point of a green workload") {
  REQUIRE(count_tasks() == 1);
  std::vector<int> samples;
  green::mutex m;
  green::channel<int> handoff(2);
  std::vector<green::thread<void>> threads;
  for (int i = 0; i < 50; ++i) {
    threads.push_back(green::spawn([&, i] {
      samples.push_back(count_tasks());
      green::this_thread::sleep_for(std::chrono::milliseconds(1));
      samples.push_back(count_tasks());
      std::lock_guard lock(m);
      samples.push_back(count_tasks());
      handoff.send(i);
    }));
  }
  for (int i = 0; i < 50; ++i) {
    handoff.recv();
    samples.push_back(count_tasks());
  }
  for (auto& t : threads) t.join();
  CHECK(samples.size() == 200);
  CHECK(std::count(samples.begin(), samples.end(), 1) == 200);
}

// The strongest witness: with clone forbidden, does a real workload still finish?
TEST_CASE(
    "a green workload of 10000 threads runs to the end while the kernel refuses "
    "every clone, clone3, fork and vfork") {
  auto outcome = run_in_child([] {
    if (int error = forbid_new_tasks()) {
      std::printf("filter=%s\n", std::strerror(error));
      return 3;
    }
    std::printf("seccomp_mode=%d\n", seccomp_mode());
    report_what_the_filter_refuses();
    std::fflush(stdout);
    run_workload();
    return 0;
  });
  INFO(outcome.describe());
  REQUIRE(outcome.exited_with(0));
  const std::string& out = outcome.out;
  auto has = [&](const std::string& line) { return out.find(line + "\n") != std::string::npos; };
  CHECK(has("seccomp_mode=2"));
  CHECK(has("fork=EPERM"));
  CHECK(has("pthread_create=EPERM"));
  CHECK(has("clone3=EPERM"));
  CHECK(has("threads=10000"));
  CHECK(has("sum=" + std::to_string(long{workers} * (workers - 1) / 2)));
  CHECK(has("caught=900"));  // 1000 caught their own; the 100 that then throw return none
  CHECK(has("escaped=100"));
  CHECK(has("escaped_sum=" + std::to_string(100L * (99 * 100 / 2))));
  CHECK(has("most_tasks=1"));
}
