// docs/programs/reactor_one_wait.cpp — what the green scheduler asks the kernel while
// threads wait for I/O and for a timer. A reader waits twice for data on a socket: first
// from a green thread that sleeps 20 ms before sending, then from a kernel thread that
// sends 60 ms in. docs/programs/run_all.sh also runs it under strace, to show the calls.
// Shown in: docs/08-reactor.md. Regenerate the output: docs/programs/run_all.sh.
// Traced by run_all.sh: strace -e trace=recvfrom,sendto,epoll_create1,epoll_ctl,epoll_pwait2
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "spindle/green.hpp"

namespace green = spindle::green;
using std::chrono::milliseconds;

int main() {
  int ends[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, ends) != 0) return 1;
  auto reader = green::spawn({.name = "reader"}, [&] {
    for (int i = 0; i < 2; ++i) {
      char buffer[16];
      std::size_t got = green::io::recv(ends[0], buffer, sizeof buffer);
      std::printf("reader: got \"%s\"\n", std::string(buffer, got).c_str());
    }
  });
  auto sleeper = green::spawn({.name = "sleeper"}, [&] {
    green::this_thread::sleep_for(milliseconds(20));
    green::io::send(ends[1], "one", 3);
  });
  std::thread outsider([&] {
    std::this_thread::sleep_for(milliseconds(60));
    (void)!send(ends[1], "two", 3, 0);
  });
  reader.join();
  sleeper.join();
  outsider.join();
  close(ends[0]);
  close(ends[1]);
}
