// tests/clone_test_support.hpp — helpers shared by the clone backend's tests.
//
// Concept: the tests start kernel threads on lambdas, park them behind a gate so that
// the main thread can look at them while they run, and run whatever changes the whole
// process (credentials, resource limits, exit) in a forked child whose exit status is
// the verdict.
// Explained in: docs/09-clone-backend.md. Read next: tests/clone_kernel_thread_test.cpp.
#pragma once

#include <sys/wait.h>
#include <unistd.h>
#include <valgrind/memcheck.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include "clone/futex.hpp"
#include "clone/kernel_thread.hpp"

namespace clone_test {

namespace kt = spindle::clone::detail;

// Starts a kernel thread that calls `body()`; `body` must outlive the thread.
template <class Body>
kt::kernel_thread* start_running(Body& body, std::size_t stack_size = 0) {
  return kt::start([](void* p) noexcept { (*static_cast<Body*>(p))(); }, &body, stack_size);
}

// A one-shot barrier: threads wait() until someone calls open().
class gate {
 public:
  void wait() const noexcept {
    while (is_open_.load(std::memory_order_acquire) == 0) kt::futex::wait_private(is_open_, 0u);
  }
  void open() noexcept {
    is_open_.store(1, std::memory_order_release);
    kt::futex::wake_private(is_open_);
  }

 private:
  std::atomic<std::uint32_t> is_open_{0};
};

// Runs `body` in a forked child and returns its exit status (128 + signal if killed).
template <class Body>
int exit_status_of_child(Body body) {
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int code = body();
    std::fflush(nullptr);
    _exit(code);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Resident set size of this process, in KiB.
inline long resident_kib() {
  long pages = 0, resident = 0;
  std::ifstream("/proc/self/statm") >> pages >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

// Memory this process uses, in KiB: natively its resident size; under valgrind, whose
// own bookkeeping fills the resident size and whose malloc replaces glibc's (so glibc's
// per-thread caches never exist there), the heap bytes memcheck finds allocated.
inline long memory_in_use_kib() {
  if (!RUNNING_ON_VALGRIND) return resident_kib();
  VALGRIND_DO_QUICK_LEAK_CHECK;
  unsigned long leaked = 0, dubious = 0, reachable = 0, suppressed = 0;
  VALGRIND_COUNT_LEAKS(leaked, dubious, reachable, suppressed);
  return static_cast<long>((leaked + dubious + reachable + suppressed) / 1024);
}

// The value of the line starting with `key` in /proc/self/task/<tid>/status, or "".
inline std::string task_status(pid_t tid, const std::string& key) {
  std::ifstream status("/proc/self/task/" + std::to_string(tid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind(key, 0) == 0) return line.substr(key.size());
  return "";
}

inline int count_lines(const char* path) {
  std::ifstream file(path);
  int lines = 0;
  for (std::string line; std::getline(file, line);) ++lines;
  return lines;
}

}  // namespace clone_test
