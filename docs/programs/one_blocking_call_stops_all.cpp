// docs/programs/one_blocking_call_stops_all.cpp — the weakness of every 1:N runtime.
// A green thread ticks every 10 ms while main waits 100 ms for a byte on a pipe (sent by
// a kernel thread of its own). With the plain read system call the whole kernel thread
// sleeps in the kernel and the ticker stops; with spindle::green::io::read only main
// parks, and the ticker keeps ticking.
// Shown in: docs/08-reactor.md. Regenerate the output: docs/programs/run_all.sh.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "spindle/green.hpp"

namespace green = spindle::green;
using std::chrono::milliseconds;

// Counts the ticks of a green ticker while main reads one byte with `read_one`.
template <class ReadOne>
int ticks_while_main_reads(ReadOne read_one) {
  int pipe_ends[2];
  if (pipe(pipe_ends) != 0) return -1;
  bool got_it = false;
  int ticks = 0;
  auto ticker = green::spawn({.name = "ticker"}, [&] {
    for (;;) {
      green::this_thread::sleep_for(milliseconds(10));
      if (got_it) return;
      ++ticks;
    }
  });
  green::this_thread::yield();  // the ticker starts and parks in its first sleep
  std::thread sender([&] {
    std::this_thread::sleep_for(milliseconds(100));
    (void)!write(pipe_ends[1], "x", 1);
  });
  char byte;
  read_one(pipe_ends[0], &byte);
  got_it = true;
  ticker.join();
  sender.join();
  close(pipe_ends[0]);
  close(pipe_ends[1]);
  return ticks;
}

int main() {
  int blocked = ticks_while_main_reads([](int fd, char* c) { (void)!::read(fd, c, 1); });
  std::printf("plain read(2):            the ticker ticked %2d times in 100 ms\n", blocked);
  int parked = ticks_while_main_reads([](int fd, char* c) { green::io::read(fd, c, 1); });
  std::printf("spindle::green::io::read: the ticker ticked %2d times in 100 ms\n", parked);
}
