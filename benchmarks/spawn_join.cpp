// benchmarks/spawn_join.cpp — spawn_join/<subject>: nanoseconds to start a thread that
// does nothing and wait for it to finish.
//
// One iteration spawns an empty thread and joins it at once, so the thread's stack comes
// back to the stack cache and is reused by the next iteration: this is the steady state
// of a program that spawns short tasks, not the cost of mapping a fresh stack (see
// parked/spindle_green for that). The join parks the spawner, the new thread runs and
// finishes, and the spawner resumes: two switches and one context made, per iteration.
//   spawn_join/spindle_green   spindle::green::spawn + thread::join, default options;
//   spawn_join/boost_fiber     boost::fibers::fiber + join, default stack allocator.
// Explained in: docs/08-performance.md. Read next: benchmarks/parked.cpp.
#include <benchmark/benchmark.h>
#include <boost/fiber/all.hpp>

#include <spindle/green.hpp>

namespace {

void spawn_join_spindle_green(benchmark::State& state) {
  for (auto _ : state) {
    auto thread = spindle::green::spawn([] {});
    thread.join();
  }
}

void spawn_join_boost_fiber(benchmark::State& state) {
  for (auto _ : state) {
    boost::fibers::fiber fiber([] {});
    fiber.join();
  }
}

}  // namespace

BENCHMARK(spawn_join_spindle_green)->Name("spawn_join/spindle_green");
BENCHMARK(spawn_join_boost_fiber)->Name("spawn_join/boost_fiber");
