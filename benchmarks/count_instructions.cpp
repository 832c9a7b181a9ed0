// benchmarks/count_instructions.cpp — spindle-instructions: repeats one operation a
// given number of times, for scripts/count_instructions.sh to run under callgrind.
//
// Instruction counts do not depend on the load of a shared machine, so they show what
// an optimisation saved where timings are too noisy. The script runs each operation
// twice, n and 2n times, and divides the difference by n: what one operation costs,
// without the program's start and exit.
//   spindle-instructions switch N       2N switches between two yielding green threads
//   spindle-instructions spawn_join N   N spawns and joins of an empty green thread
//   spindle-instructions spawn_join_pooled N   the same on pooled stacks
//   spindle-instructions lock_unlock N         N locks and unlocks of a free mutex (the
//                                              fast paths alone)
//   spindle-instructions mutex_handover N      2N hand-overs of a mutex between two threads
//   spindle-instructions notify N              2N notify+wait hand-overs between two threads
//   spindle-instructions rendezvous N          2N values passed back and forth through two
//                                              unbuffered channels
//   spindle-instructions boost_switch N 2N switches between two boost::context fibers
//   spindle-instructions switch_measured N   switch, with run times measured
//   spindle-instructions switch_under_P N    switch under the policy named P (make_policy:
//                                            random, stride, mlfq, ...)
// Explained in: docs/11-performance.md (what a switch costs, what a spawn costs).
#include <boost/context/fiber.hpp>
#include <cstdio>
#include <cstdlib>
#include <spindle/diagnostics.hpp>
#include <spindle/green.hpp>
#include <string_view>
#include <utility>

#include "handoffs.hpp"

namespace {

namespace g = spindle::green;

void yield_to_each_other(long rounds) {
  bool stop = false;
  auto partner = g::spawn([&] {
    while (!stop) g::this_thread::yield();
  });
  for (long i = 0; i < rounds; ++i) g::this_thread::yield();
  stop = true;
  partner.join();
}

void spawn_and_join(long count) {
  for (long i = 0; i < count; ++i) g::spawn([] {}).join();
}

void spawn_and_join_pooled(long count) {
  spindle::spawn_options pooled;
  pooled.stack = spindle::stack_kind::pooled;
  for (long i = 0; i < count; ++i) g::spawn(pooled, [] {}).join();
}

// No other thread: every lock finds the mutex free, every unlock finds no waiter.
void lock_and_unlock(long count) {
  g::mutex m;
  for (long i = 0; i < count; ++i) {
    m.lock();
    m.unlock();
  }
}

// `rounds` calls of more() that say yes.
auto times(long rounds) {
  return [rounds]() mutable { return rounds-- > 0; };
}

void resume_each_other(long rounds) {
  namespace ctx = boost::context;
  bool stop = false;
  ctx::fiber partner{[&](ctx::fiber&& caller) {
    while (!stop) caller = std::move(caller).resume();
    return std::move(caller);
  }};
  for (long i = 0; i < rounds; ++i) partner = std::move(partner).resume();
  stop = true;
  partner = std::move(partner).resume();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(
        stderr,
        "usage: %s switch|boost_switch|spawn_join|spawn_join_pooled|"
        "lock_unlock|mutex_handover|notify|rendezvous|switch_measured|switch_under_POLICY N\n",
        argv[0]);
    return 2;
  }
  std::string_view what = argv[1];
  long n = std::atol(argv[2]);
  g::this_thread::get_id();  // the scheduler exists before counting starts, in every mode
  if (what == "switch") {
    yield_to_each_other(n);
  } else if (what == "spawn_join") {
    spawn_and_join(n);
  } else if (what == "spawn_join_pooled") {
    spawn_and_join_pooled(n);
  } else if (what == "lock_unlock") {
    lock_and_unlock(n);
  } else if (what == "mutex_handover") {
    spindle_bench::hand_a_mutex_back_and_forth(times(n));
  } else if (what == "notify") {
    spindle_bench::notify_each_other(times(n));
  } else if (what == "rendezvous") {
    spindle_bench::rendezvous_back_and_forth(times(n));
  } else if (what == "switch_measured") {
    g::measure_run_times(true);
    yield_to_each_other(n);
  } else if (what.starts_with("switch_under_")) {
    g::use_policy(g::make_policy(what.substr(sizeof "switch_under_" - 1), 1));
    yield_to_each_other(n);
  } else if (what == "boost_switch") {
    resume_each_other(n);
  } else {
    std::fprintf(stderr, "unknown operation %s\n", argv[1]);
    return 2;
  }
  return 0;
}
