// benchmarks/handoff.cpp — handoff/<subject>: nanoseconds per blocking hand-over between
// two green threads, to set beside switch/spindle_green (a hand-over by yield).
//   handoff/spindle_green_mutex    unlock hands the mutex to the parked other, lock parks;
//   handoff/spindle_green_notify   notify_one wakes the other, wait parks;
//   handoff/spindle_green_channel  a value through an unbuffered channel each way.
// One iteration is one hand-over (KeepRunningBatch(2) counts a round trip as two).
// Explained in: docs/11-performance.md. Read next: benchmarks/parked.cpp.
#include <benchmark/benchmark.h>

#include "handoffs.hpp"

namespace {

auto while_running(benchmark::State& state) {
  return [&state] { return state.KeepRunningBatch(2); };
}

void handoff_mutex(benchmark::State& state) {
  spindle_bench::hand_a_mutex_back_and_forth(while_running(state));
}
void handoff_notify(benchmark::State& state) {
  spindle_bench::notify_each_other(while_running(state));
}
void handoff_channel(benchmark::State& state) {
  spindle_bench::rendezvous_back_and_forth(while_running(state));
}

}  // namespace

BENCHMARK(handoff_mutex)->Name("handoff/spindle_green_mutex");
BENCHMARK(handoff_notify)->Name("handoff/spindle_green_notify");
BENCHMARK(handoff_channel)->Name("handoff/spindle_green_channel");
