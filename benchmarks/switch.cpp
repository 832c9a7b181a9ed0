// benchmarks/switch.cpp — switch/<subject>: nanoseconds per context switch.
//
// Two contexts hand the processor to each other in a loop; each handover is one
// switch, and one benchmark iteration (KeepRunningBatch(2) counts a round trip as two).
//   switch/spindle_green   two green threads yield to each other: the whole yield path
//                          (policy, exception-state swap, switch hooks, Boost's jump);
//   switch/boost_context   two boost::context::fiber resume each other: the floor, the
//                          register save and restore that every switch pays;
//   switch/boost_fiber     two Boost.Fiber fibers call this_fiber::yield: a peer runtime.
// Explained in: docs/08-performance.md. Read next: benchmarks/spawn_join.cpp.
#include <benchmark/benchmark.h>
#include <boost/context/fiber.hpp>
#include <boost/fiber/all.hpp>

#include <spindle/green.hpp>

#include <utility>

namespace {

namespace g = spindle::green;

// The calling thread is the root green thread; its partner yields back until stopped.
void switch_spindle_green(benchmark::State& state) {
  bool stop = false;
  auto partner = g::spawn([&] {
    while (!stop) g::this_thread::yield();
  });
  while (state.KeepRunningBatch(2)) g::this_thread::yield();
  stop = true;
  partner.join();
}

// A fiber that resumes whoever resumed it, until stopped.
void switch_boost_context(benchmark::State& state) {
  namespace ctx = boost::context;
  bool stop = false;
  ctx::fiber partner{[&](ctx::fiber&& caller) {
    while (!stop) caller = std::move(caller).resume();
    return std::move(caller);
  }};
  while (state.KeepRunningBatch(2)) partner = std::move(partner).resume();
  stop = true;
  partner = std::move(partner).resume();
}

// The calling thread's main fiber and one more, under Boost.Fiber's round robin.
void switch_boost_fiber(benchmark::State& state) {
  bool stop = false;
  boost::fibers::fiber partner([&] {
    while (!stop) boost::this_fiber::yield();
  });
  while (state.KeepRunningBatch(2)) boost::this_fiber::yield();
  stop = true;
  partner.join();
}

}  // namespace

BENCHMARK(switch_spindle_green)->Name("switch/spindle_green");
BENCHMARK(switch_boost_context)->Name("switch/boost_context");
BENCHMARK(switch_boost_fiber)->Name("switch/boost_fiber");
