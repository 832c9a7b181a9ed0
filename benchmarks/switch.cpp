// benchmarks/switch.cpp — switch/<subject>: nanoseconds per context switch.
//
// Two contexts hand the processor to each other in a loop; each handover is one
// switch, and one benchmark iteration (KeepRunningBatch(2) counts a round trip as two).
//   switch/spindle_green   two green threads yield to each other: the whole yield path
//                          (policy, exception-state swap, switch hooks, Boost's jump);
//   switch/spindle_green_measured, _random, _stride, _mlfq   the same with run times
//                          measured, or under that policy (docs/14-scheduling-policies.md);
//   switch/boost_context   two boost::context::fiber resume each other: the floor, the
//                          register save and restore that every switch pays;
//   switch/boost_fiber     two Boost.Fiber fibers call this_fiber::yield: a peer runtime.
//
// Kernel threads hand over by blocking: one thread wakes the other and goes to sleep
// until woken back, so one switch is a futex wake, a futex wait and the kernel's
// scheduler between them. Each runs twice: /one_cpu with both threads pinned to the
// same processor (the kernel switches from one to the other), /two_cpus with one thread
// on each (every hand-over wakes a sleeping processor: the latency of a cross-CPU wake).
//   switch/spindle_clone   two clone threads hand a token back and forth, a token per
//                          direction made of a spindle::clone::mutex, a condition
//                          variable and a flag: post, then take;
//   switch/pthread_condvar the same token with a pthread (std::thread), std::mutex and
//                          std::condition_variable: the like-for-like peer;
//   switch/pthread_futex   the same with a pthread (std::thread) and the smallest futex
//                          token there is: a word per direction, and a wake only when the
//                          other thread sleeps. The floor of a blocking hand-over.
// Both threads' processor time counts, so these measure the whole process's processor
// time, and report wall time beside it (docs/11-performance.md says which is compared).
// Explained in: docs/11-performance.md. Read next: benchmarks/spawn_join.cpp.
#include <benchmark/benchmark.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <boost/context/fiber.hpp>
#include <boost/fiber/all.hpp>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <spindle/clone.hpp>
#include <spindle/diagnostics.hpp>
#include <spindle/green.hpp>
#include <thread>
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

// The same with run times measured (measure_run_times: a clock read per switch on the
// slow path), or under a chosen policy by name (docs/14-scheduling-policies.md): what a
// time-aware policy costs a switch, beside the FIFO fast path above.
void switch_spindle_green_measured(benchmark::State& state) {
  spindle::green::measure_run_times(true);
  switch_spindle_green(state);
  spindle::green::measure_run_times(false);
}

void switch_spindle_green_under(benchmark::State& state, const char* policy) {
  g::use_policy(g::make_policy(policy, 1));
  switch_spindle_green(state);
  g::use_fifo_policy();
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

// --- Kernel threads: where they run. ---

enum class placement { one_cpu, two_cpus };

// The processors of each thread: the first two this process may use, or the first twice.
struct processors {
  int benchmark_thread;
  int partner;
};

std::optional<processors> choose_processors(placement where) {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return std::nullopt;
  int first = -1;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed)) continue;
    if (first < 0) {
      first = cpu;
      if (where == placement::one_cpu) return processors{cpu, cpu};
    } else {
      return processors{first, cpu};
    }
  }
  return std::nullopt;
}

bool pin_calling_thread(int cpu) {
  cpu_set_t only;
  CPU_ZERO(&only);
  CPU_SET(cpu, &only);
  return sched_setaffinity(0, sizeof only, &only) == 0;
}

// Pins the benchmark thread for the life of the object, then gives it back its
// processors. A thread started meanwhile inherits the pin.
class pinned_benchmark_thread {
 public:
  explicit pinned_benchmark_thread(int cpu) {
    sched_getaffinity(0, sizeof saved_, &saved_);
    pinned_ = pin_calling_thread(cpu);
  }
  ~pinned_benchmark_thread() { sched_setaffinity(0, sizeof saved_, &saved_); }
  pinned_benchmark_thread(const pinned_benchmark_thread&) = delete;
  pinned_benchmark_thread& operator=(const pinned_benchmark_thread&) = delete;
  bool pinned() const { return pinned_; }

 private:
  cpu_set_t saved_;
  bool pinned_ = false;
};

// Runs one hand-over benchmark with its threads placed: `run(state, partner_cpu)`.
template <class Run>
void placed(benchmark::State& state, placement where, Run run) {
  auto cpus = choose_processors(where);
  if (!cpus) {
    state.SkipWithError("this process may not run on two processors");
    return;
  }
  pinned_benchmark_thread pin(cpus->benchmark_thread);
  if (!pin.pinned()) {
    state.SkipWithError("sched_setaffinity refused to pin the benchmark thread");
    return;
  }
  run(state, cpus->partner);
}

// A token for one direction, made of a mutex, a condition variable and a flag: post,
// then take. Instantiated with spindle's clone primitives and with the C library's
// (std::mutex and std::condition_variable are pthread_mutex_t and pthread_cond_t), so
// that the two libraries build the same hand-over from their own parts. The notify
// comes after the unlock, as futex_token's wake comes after its store: a woken thread
// then never finds the mutex still held by its waker. (spindle's semaphores notify
// while they hold their mutex, so that a semaphore may be destroyed as soon as it is
// acquired; on one processor that costs extra switches: docs/11-performance.md.)
template <class Mutex, class ConditionVariable>
class condvar_token {
 public:
  void post() {
    {
      std::lock_guard lock(mutex_);
      posted_ = true;
    }
    posted_changed_.notify_one();
  }
  void take() {
    std::unique_lock lock(mutex_);
    posted_changed_.wait(lock, [&] { return posted_; });
    posted_ = false;
  }

 private:
  Mutex mutex_;
  ConditionVariable posted_changed_;
  bool posted_ = false;  // guarded by mutex_
};

using spindle_clone_token =
    condvar_token<spindle::clone::mutex, spindle::clone::condition_variable>;

// The benchmark thread posts the partner's token and takes its own; the partner does
// the opposite, so each post finds the other thread asleep (or about to be). `start`
// runs a function on a new kernel thread and returns something to join.
template <class Token, class Start>
void ping_pong(benchmark::State& st, int partner_cpu, Start start) {
  Token to_partner, to_benchmark;
  std::atomic<bool> stop{false};
  auto partner = start([&] {
    pin_calling_thread(partner_cpu);
    for (;;) {
      to_partner.take();
      if (stop.load(std::memory_order_relaxed)) return;
      to_benchmark.post();
    }
  });
  while (st.KeepRunningBatch(2)) {
    to_partner.post();
    to_benchmark.take();
  }
  stop = true;
  to_partner.post();
  partner.join();
}

void switch_spindle_clone(benchmark::State& state, placement where) {
  placed(state, where, [](benchmark::State& st, int partner_cpu) {
    ping_pong<spindle_clone_token>(st, partner_cpu,
                                   [](auto body) { return spindle::clone::spawn(body); });
  });
}

// A token for one direction: 0 empty, 1 posted, 2 empty with the taker asleep. A post
// makes a system call only when the taker sleeps; a take only when nothing is posted.
class futex_token {
 public:
  void post() {
    if (word_.exchange(1, std::memory_order_release) == 2) futex(FUTEX_WAKE_PRIVATE, 1);
  }
  void take() {
    for (;;) {
      std::uint32_t seen = 1;
      if (word_.compare_exchange_strong(seen, 0, std::memory_order_acquire)) return;
      seen = 0;
      if (word_.compare_exchange_strong(seen, 2, std::memory_order_relaxed) || seen == 2) {
        futex(FUTEX_WAIT_PRIVATE, 2);
      }
    }
  }

 private:
  void futex(int op, std::uint32_t value) {
    syscall(SYS_futex, &word_, op, value, nullptr, nullptr, 0);
  }
  std::atomic<std::uint32_t> word_{0};
};

void switch_pthread_condvar(benchmark::State& state, placement where) {
  placed(state, where, [](benchmark::State& st, int partner_cpu) {
    ping_pong<condvar_token<std::mutex, std::condition_variable>>(
        st, partner_cpu, [](auto body) { return std::thread(body); });
  });
}

void switch_pthread_futex(benchmark::State& state, placement where) {
  placed(state, where, [](benchmark::State& st, int partner_cpu) {
    ping_pong<futex_token>(st, partner_cpu, [](auto body) { return std::thread(body); });
  });
}

}  // namespace

BENCHMARK(switch_spindle_green)->Name("switch/spindle_green");
BENCHMARK(switch_spindle_green_measured)->Name("switch/spindle_green_measured");
BENCHMARK_CAPTURE(switch_spindle_green_under, random, "random")
    ->Name("switch/spindle_green_random");
BENCHMARK_CAPTURE(switch_spindle_green_under, stride, "stride")
    ->Name("switch/spindle_green_stride");
BENCHMARK_CAPTURE(switch_spindle_green_under, mlfq, "mlfq")->Name("switch/spindle_green_mlfq");
BENCHMARK(switch_boost_context)->Name("switch/boost_context");
BENCHMARK(switch_boost_fiber)->Name("switch/boost_fiber");
BENCHMARK_CAPTURE(switch_spindle_clone, one_cpu, placement::one_cpu)
    ->Name("switch/spindle_clone/one_cpu")
    ->MeasureProcessCPUTime()
    ->UseRealTime();
BENCHMARK_CAPTURE(switch_pthread_condvar, one_cpu, placement::one_cpu)
    ->Name("switch/pthread_condvar/one_cpu")
    ->MeasureProcessCPUTime()
    ->UseRealTime();
BENCHMARK_CAPTURE(switch_pthread_futex, one_cpu, placement::one_cpu)
    ->Name("switch/pthread_futex/one_cpu")
    ->MeasureProcessCPUTime()
    ->UseRealTime();
BENCHMARK_CAPTURE(switch_spindle_clone, two_cpus, placement::two_cpus)
    ->Name("switch/spindle_clone/two_cpus")
    ->MeasureProcessCPUTime()
    ->UseRealTime();
BENCHMARK_CAPTURE(switch_pthread_condvar, two_cpus, placement::two_cpus)
    ->Name("switch/pthread_condvar/two_cpus")
    ->MeasureProcessCPUTime()
    ->UseRealTime();
BENCHMARK_CAPTURE(switch_pthread_futex, two_cpus, placement::two_cpus)
    ->Name("switch/pthread_futex/two_cpus")
    ->MeasureProcessCPUTime()
    ->UseRealTime();
