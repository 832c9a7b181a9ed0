// benchmarks/spawn_join.cpp — spawn_join/<subject>: nanoseconds to start a thread that
// does nothing and wait for it to finish.
//
// One iteration spawns an empty thread and joins it at once, so the thread's stack comes
// back to the stack cache and is reused by the next iteration: this is the steady state
// of a program that spawns short tasks, not the cost of mapping a fresh stack (see
// parked/spindle_green for that). The join parks the spawner, the new thread runs and
// finishes, and the spawner resumes: two switches and one context made, per iteration.
//   spawn_join/spindle_green   spindle::green::spawn + thread::join, default options (a
//                              guarded stack);
//   spawn_join/spindle_green_pooled   the same on a pooled stack;
//   spawn_join/boost_fiber     boost::fibers::fiber + join, default stack allocator.
// With kernel threads, the new thread runs on its own kernel task, maybe on the other
// processor, while the spawner waits in the kernel; the benchmark thread's processor time
// would miss the new thread's, so these two count the whole process's processor time and
// also report wall time (docs/11-performance.md):
//   spawn_join/spindle_clone   spindle::clone::spawn + thread::join, default options (its
//                              memory, stack and control block, comes from its cache);
//   spawn_join/pthread         pthread_create + pthread_join of an empty function, default
//                              attributes (glibc reuses stacks from its own cache).
// Explained in: docs/11-performance.md. Read next: benchmarks/handoff.cpp.
#include <benchmark/benchmark.h>
#include <pthread.h>

#include <boost/fiber/all.hpp>
#include <cstring>
#include <spindle/clone.hpp>
#include <spindle/green.hpp>
#include <string>

namespace {

void spawn_join_spindle_green(benchmark::State& state) {
  for (auto _ : state) {
    auto thread = spindle::green::spawn([] {});
    thread.join();
  }
}

void spawn_join_spindle_green_pooled(benchmark::State& state) {
  spindle::spawn_options pooled;
  pooled.stack = spindle::stack_kind::pooled;
  for (auto _ : state) {
    auto thread = spindle::green::spawn(pooled, [] {});
    thread.join();
  }
}

void spawn_join_boost_fiber(benchmark::State& state) {
  for (auto _ : state) {
    boost::fibers::fiber fiber([] {});
    fiber.join();
  }
}

void spawn_join_spindle_clone(benchmark::State& state) {
  for (auto _ : state) {
    auto thread = spindle::clone::spawn([] {});
    thread.join();
  }
}

void* do_nothing(void*) { return nullptr; }

void spawn_join_pthread(benchmark::State& state) {
  for (auto _ : state) {
    pthread_t thread;
    if (int error = pthread_create(&thread, nullptr, do_nothing, nullptr); error != 0) {
      state.SkipWithError(("pthread_create: " + std::string(std::strerror(error))).c_str());
      break;
    }
    pthread_join(thread, nullptr);
  }
}

}  // namespace

BENCHMARK(spawn_join_spindle_green)->Name("spawn_join/spindle_green");
BENCHMARK(spawn_join_spindle_green_pooled)->Name("spawn_join/spindle_green_pooled");
BENCHMARK(spawn_join_boost_fiber)->Name("spawn_join/boost_fiber");
BENCHMARK(spawn_join_spindle_clone)
    ->Name("spawn_join/spindle_clone")
    ->MeasureProcessCPUTime()
    ->UseRealTime();
BENCHMARK(spawn_join_pthread)->Name("spawn_join/pthread")->MeasureProcessCPUTime()->UseRealTime();
