// tests/gdb_parked_threads.cpp — a program whose threads are parked in each way a
// spindle thread can wait, for the gdb extension's test (tests/gdb_extension_test.sh)
// and the transcript of docs/13-debugging.md.
//
// Usage: gdb_parked_threads green|clone. Five threads park: in a channel's recv, a
// mutex's lock, a sleep, an io::read and a join; when all five are blocked
// (wait_until_five_are_parked), the root thread calls everyone_is_parked, where the test's gdb
// has a breakpoint, and then the program ends at once (_Exit: its threads never wake).
#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "spindle/clone.hpp"
#include "spindle/diagnostics.hpp"
#include "spindle/green.hpp"

// Where gdb stops: every thread but the root one is parked. noinline and an asm
// statement keep it a real function with a real call.
extern "C" [[gnu::noinline]] void everyone_is_parked() { asm volatile(""); }

namespace {

// Kernel tasks of this process, other than the caller, asleep (state S in /proc).
std::size_t other_tasks_asleep() {
  std::size_t asleep = 0;
  DIR* tasks = ::opendir("/proc/self/task");
  if (!tasks) std::abort();
  std::string self = std::to_string(::gettid());
  while (dirent* task = ::readdir(tasks)) {
    if (task->d_name[0] == '.' || self == task->d_name) continue;
    std::ifstream stat(std::string("/proc/self/task/") + task->d_name + "/stat");
    std::string line;
    std::getline(stat, line);
    auto end_of_name = line.rfind(')');
    if (end_of_name != std::string::npos && line.compare(end_of_name, 3, ") S") == 0) ++asleep;
  }
  ::closedir(tasks);
  return asleep;
}

// Green: the five are parked once the statistics count five blocked. Clone: the
// parking lot knows the three that park in it; a sleep and an io::read block in the
// kernel, so the test also waits until every other task sleeps there, twice in a row.
template <class B>
void wait_until_five_are_parked() {
  if constexpr (B::name == std::string_view("green")) {
    while (spindle::green::statistics().threads_blocked < 5) B::this_thread::yield();
  } else {
    for (int quiet = 0; quiet < 2;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      bool parked = spindle::clone::statistics().threads_blocked >= 3 && other_tasks_asleep() == 5;
      quiet = parked ? quiet + 1 : 0;
    }
  }
}

template <class B>
[[noreturn]] void park_five_threads() {
  typename B::template channel<int> numbers(0);
  typename B::mutex held;
  int ends[2];
  if (::pipe(ends) != 0) std::abort();
  std::unique_lock<typename B::mutex> lock(held);

  auto receiver = B::spawn(spindle::spawn_options{.name = "receiver"},
                           [&] { return numbers.recv().value_or(0); });
  auto locker = B::spawn(spindle::spawn_options{.name = "locker"},
                         [&] { std::lock_guard<typename B::mutex> taken(held); });
  auto sleeper = B::spawn(spindle::spawn_options{.name = "sleeper"},
                          [] { B::this_thread::sleep_for(std::chrono::hours(1)); });
  auto reader = B::spawn(spindle::spawn_options{.name = "reader"}, [&] {
    char byte;
    return B::io::read(ends[0], &byte, 1);
  });
  auto joiner = B::spawn(spindle::spawn_options{.name = "joiner"}, [&] { return receiver.join(); });
  wait_until_five_are_parked<B>();
  everyone_is_parked();
  std::fflush(stdout);
  std::_Exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  std::string_view backend = argc > 1 ? argv[1] : "";
  if (backend == "green") park_five_threads<spindle::green::backend>();
  if (backend == "clone") park_five_threads<spindle::clone::backend>();
  std::fprintf(stderr, "usage: gdb_parked_threads green|clone\n");
  return 2;
}
