// docs/programs/remote_wake.cpp — other kernel threads hand work to green threads:
// a std::thread posts its results with scheduler_handle::post, a signal handler
// notifies a remote_event, and the green side parks in recv and wait meanwhile.
// Explained in: docs/02-the-api.md (from another kernel thread) and docs/08-reactor.md
// (the inbox).
#include <signal.h>

#include <cstdio>
#include <spindle/green.hpp>
#include <thread>

namespace green = spindle::green;

namespace {

green::remote_event* alarm_rang = nullptr;
extern "C" void on_alarm(int) { alarm_rang->notify(); }  // async-signal-safe

}  // namespace

int main() {
  green::channel<long> squares(0);
  auto home = green::this_scheduler();
  std::thread worker([home, &squares] {  // a kernel thread of its own
    for (long i = 1; i <= 5; ++i) {
      home.post([&squares, i] { squares.send(i * i); });  // runs on a green thread
    }
  });
  long sum = 0;
  for (int i = 0; i < 5; ++i) sum += *squares.recv();  // parks a green thread only
  worker.join();
  std::printf("sum of the squares the std::thread posted: %ld\n", sum);

  green::remote_event event;
  alarm_rang = &event;
  signal(SIGALRM, on_alarm);
  alarm(1);
  auto ticker = green::spawn([] {
    for (int i = 0; i < 3; ++i) green::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::puts("a green thread ran while main waited for the signal");
  });
  std::printf("notifications taken: %llu\n", static_cast<unsigned long long>(event.wait()));
  ticker.join();
}
