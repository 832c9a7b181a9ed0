// tests/clone_process_test.cpp — clone threads and events of the whole process.
//
// Concept: credentials are per thread in Linux, so a privilege drop must reach every
// clone thread; fork() from a clone thread must give a working child; exit() from a
// clone thread must run the process's atexit handlers. Each test runs in a forked
// child, whose exit status is the verdict (0 = all held).
// Explained in: docs/09-clone-backend.md. Read next: runtime/clone/README.md.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "clone/stack.hpp"
#include "clone_test_support.hpp"

using namespace clone_test;

namespace {

constexpr unsigned nobody = 65534;

// Counts the tasks of this process whose uids, gids and groups are not all `nobody`.
int tasks_not_nobody() {
  const std::string all = "\t65534\t65534\t65534\t65534";
  int wrong = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    auto tid = static_cast<pid_t>(std::stol(task.path().filename().string()));
    bool ok = task_status(tid, "Uid:") == all && task_status(tid, "Gid:") == all &&
              task_status(tid, "Groups:").find("65534") != std::string::npos &&
              task_status(tid, "Groups:").find_first_of("012345678") ==
                  task_status(tid, "Groups:").find("65534");
    if (!ok)
      std::fprintf(stderr, "task %d still has Uid:%s\n", tid, task_status(tid, "Uid:").c_str());
    wrong += !ok;
  }
  return wrong;
}

// Whether the calling thread is refused a file only root may read.
bool denied_root_file() {
  int fd = open("/etc/shadow", O_RDONLY);
  if (fd >= 0) close(fd);
  return fd < 0 && errno == EACCES;
}

}  // namespace

// After the main thread drops to nobody, does any clone thread keep root, even one
// that blocked every signal?
TEST_CASE("setuid_drops_privileges_in_every_clone_thread") {
  int status = exit_status_of_child([] {
    gate go;
    std::atomic<int> denied{0};
    auto parked = [&] {
      go.wait();
      denied += denied_root_file();
    };
    auto blocks_every_signal = [&] {
      sigset_t all;
      sigfillset(&all);
      pthread_sigmask(SIG_BLOCK, &all, nullptr);
      parked();
    };
    std::vector<kt::kernel_thread*> started;
    for (int i = 0; i < 3; ++i) started.push_back(start_running(parked));
    started.push_back(start_running(blocks_every_signal));
    std::thread glibc_thread(parked);
    gid_t group = nobody;
    if (setgroups(1, &group) != 0 || setgid(nobody) != 0 || setuid(nobody) != 0) return 1;
    int wrong = tasks_not_nobody();
    go.open();
    for (auto* t : started) kt::join(t);
    glibc_thread.join();
    return wrong != 0 ? 2 : denied.load() != 5 ? 3 : 0;
  });
  CHECK(status == 0);
}

// When a clone thread drops privileges, do the main thread, glibc's threads and the
// other clone threads drop them too?
TEST_CASE("a_clone_thread_dropping_privileges_drops_them_for_the_whole_process") {
  int status = exit_status_of_child([] {
    gate go;
    auto parked = [&] { go.wait(); };
    std::vector<kt::kernel_thread*> started;
    for (int i = 0; i < 3; ++i) started.push_back(start_running(parked));
    std::thread glibc_thread(parked);
    int result = -1;
    auto drops = [&] {
      result = initgroups("nobody", nobody) | setresgid(nobody, nobody, nobody) |
               setresuid(nobody, nobody, nobody);
    };
    kt::join(start_running(drops));
    int wrong = tasks_not_nobody();
    go.open();
    for (auto* t : started) kt::join(t);
    glibc_thread.join();
    return result != 0 ? 1 : wrong != 0 ? 2 : !denied_root_file() ? 3 : 0;
  });
  CHECK(status == 0);
}

// Does a process forked by a clone thread work: malloc, stdio, new threads of both kinds?
TEST_CASE("fork_from_a_clone_thread_gives_a_working_child") {
  int child_status = -1;
  auto forks = [&] {
    child_status = exit_status_of_child([] {
      bool alone = getpid() == static_cast<pid_t>(syscall(SYS_gettid));
      std::string text(100000, 'y');
      std::atomic<int> ran{0};
      auto body = [&] { ran += 1; };
      kt::join(start_running(body));
      std::thread([&] { ran += 1; }).join();
      std::snprintf(text.data(), text.size(), "%d", ran.load());
      return alone && ran.load() == 2 && text[0] == '2' ? 42 : 1;
    });
  };
  kt::join(start_running(forks));
  CHECK(child_status == 42);
}

// In a forked child, does joining a thread that stayed in the parent return at once,
// without putting that thread's memory (its TLS as the fork found it) in the cache?
TEST_CASE("join_in_a_forked_child_returns_for_threads_left_in_the_parent") {
  gate go;
  auto parked = [&] { go.wait(); };
  kt::kernel_thread* t = start_running(parked);
  int status = exit_status_of_child([&] {
    std::size_t cached = kt::count_thread_memory().cached;
    kt::join(t);
    if (kt::count_thread_memory().cached != cached) return 3;
    auto nothing = [] {};
    kt::join(start_running(nothing));
    return 0;
  });
  go.open();
  kt::join(t);
  CHECK(status == 0);
}

// fork() while detached threads still run (their memory waits for their exit): does the
// child give that memory up, since the kernel will never clear their tid words there,
// and still start and join threads?
TEST_CASE("a_forked_child_discards_the_memory_of_detached_threads_left_in_the_parent") {
  static gate go;  // static: detached threads may outlive this test's locals
  for (int i = 0; i < 8; ++i) kt::detach(kt::start([](void*) noexcept { go.wait(); }, nullptr));
  int status = exit_status_of_child([] {
    if (kt::count_thread_memory().awaiting_exit != 0) return 3;
    std::atomic<int> ran{0};
    auto body = [&] { ran += 1; };
    for (int i = 0; i < 20; ++i) kt::join(start_running(body));
    return ran.load() == 20 ? 0 : 4;
  });
  go.open();
  CHECK(status == 0);
}

namespace {
void exit_with_nine() { _exit(9); }
}  // namespace

// A clone thread forked, and in the child it is the process's only thread: when it
// returns from its function, does the child end as a process whose last thread returned
// (exit(0): atexit handlers run, stdio is flushed), not by a bare exit of the task?
TEST_CASE("a_child_forked_by_a_clone_thread_exits_when_its_last_thread_returns") {
  std::fflush(nullptr);
  pid_t child = -1;
  auto forks = [&] {
    child = fork();
    if (child == 0) {
      std::atexit(exit_with_nine);
      auto nothing = [] {};
      kt::join(start_running(nothing));
    }
  };
  kt::join(start_running(forks));
  int status = 0;
  waitpid(child, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 9);
}

namespace {
void exit_with_seven() { _exit(7); }
}  // namespace

// Does exit() called in a clone thread run the atexit handlers (whose pointers glibc
// stores mangled with the pointer guard)?
TEST_CASE("exit_from_a_clone_thread_runs_atexit_handlers") {
  int status = exit_status_of_child([] {
    std::atexit(exit_with_seven);
    auto exits = [] { std::exit(3); };
    kt::join(start_running(exits));
    return 1;
  });
  CHECK(status == 7);
}
