// benchmarks/handoffs.hpp — two green threads hand the processor to each other by
// blocking, three ways: a mutex, a condition variable, an unbuffered channel. Shared by
// spindle-bench (benchmarks/handoff.cpp) and spindle-instructions
// (benchmarks/count_instructions.cpp), so both measure the same loops.
//
// The calling green thread runs `more()` until it returns false; each call stands for two
// hand-overs (one each way). Compared with a yield's switch (issue 10's target: each
// hand-over within 2x of one), a blocking hand-over adds the waiting: park on a wait
// queue, and a wake that takes the thread off it.
// Explained in: docs/11-performance.md. Read next: benchmarks/handoff.cpp.
#pragma once

#include <mutex>
#include <spindle/green.hpp>

namespace spindle_bench {

namespace g = spindle::green;

// Each unlock hands the mutex to the other thread, parked in lock; each lock parks.
template <class More>
void hand_a_mutex_back_and_forth(More more) {
  g::mutex m;
  bool stop = false;
  m.lock();
  auto partner = g::spawn([&] {
    for (;;) {
      m.lock();
      bool last = stop;
      m.unlock();
      if (last) return;
    }
  });
  g::this_thread::yield();  // the partner parks in lock
  while (more()) {
    m.unlock();
    m.lock();
  }
  stop = true;
  m.unlock();
  partner.join();
}

// A turn passed by notify_one and wait, one condition variable per direction.
template <class More>
void notify_each_other(More more) {
  g::mutex m;
  g::condition_variable to_partner, to_root;
  bool partners_turn = false, stop = false;
  auto partner = g::spawn([&] {
    std::unique_lock lock(m);
    for (;;) {
      to_partner.wait(lock, [&] { return partners_turn; });
      if (stop) return;
      partners_turn = false;
      to_root.notify_one();
    }
  });
  std::unique_lock lock(m);
  while (more()) {
    partners_turn = true;
    to_partner.notify_one();
    to_root.wait(lock, [&] { return !partners_turn; });
  }
  stop = partners_turn = true;
  to_partner.notify_one();
  lock.unlock();
  partner.join();
}

// A value there and back through two unbuffered channels (rendezvous).
template <class More>
void rendezvous_back_and_forth(More more) {
  g::channel<long> ping(0), pong(0);
  auto partner = g::spawn([&] {
    while (auto value = ping.recv()) pong.send(*value);
  });
  for (long i = 0; more(); ++i) {
    ping.send(i);
    pong.recv();
  }
  ping.close();
  partner.join();
}

}  // namespace spindle_bench
