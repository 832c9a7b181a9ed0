// examples/compare/idle_cpu.cpp — what a program with nothing to do costs the processors:
// threads parked for a second, on each backend and on Boost.Fiber's work_stealing.
//
// Concept: a runtime whose threads all wait should leave the processors alone. A green
// scheduler with nothing runnable sleeps in epoll_wait until its next timer; a clone
// thread sleeps in a futex wait, and the kernel runs something else; an M:N runtime must
// do as well on every kernel thread it keeps, or an idle server burns a core per worker
// (docs/15-many-to-many.md, "What it costs"). Each model spawns `--threads` threads that
// park on a latch, while the spawning thread sleeps `--seconds` on the backend's own
// sleep (a timer); the program reads the process's user and system time from getrusage
// around the sleep, every kernel thread of the process counted. On spindle's green, clone
// and mn backends (mn on one worker kernel thread and on two), and beside them
// Boost.Fiber's work_stealing on two kernel threads, idling in its two ways: spinning (its
// default) and suspended. Each model runs in a child process of its own.
// Explained in: docs/15-many-to-many.md (the idle program).
// Run: build/examples/compare/idle_cpu --help. Read next: docs/15-many-to-many.md.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "fiber_stealing.hpp"
#include "measure.hpp"
#include "proc.hpp"
#include "report.hpp"
#include "spindle/clone.hpp"
#include "spindle/green.hpp"
#include "spindle/mn.hpp"

namespace {

constexpr std::string_view program = "idle_cpu";

// The size of one run: parked threads, and how long the program idles.
struct idle_run {
  int threads;
  std::chrono::milliseconds idle;
};

// The processor time one idle period cost, and how long it lasted.
struct idle_sample {
  double user_ns;
  double system_ns;
  double wall_ns;
};

// Reads the processor time around `sleep`, which must idle the calling thread.
idle_sample time_idle(const std::function<void()>& sleep) {
  compare::usage before = compare::usage_so_far();
  auto start = std::chrono::steady_clock::now();
  sleep();
  double wall_ns = compare::ns_since(start);
  compare::usage after = compare::usage_so_far();
  return {after.user_ns - before.user_ns, after.kernel_ns - before.kernel_ns, wall_ns};
}

// Written once over the backend concept: `run.threads` threads of B park on a latch, the
// caller sleeps `run.idle` with B's sleep, then opens the latch and joins them.
template <spindle::backend B>
idle_sample park_and_sleep(const idle_run& run) {
  typename B::latch gate(1);
  std::atomic<int> arrived{0};
  std::vector<typename B::template thread<void>> parked;
  for (int i = 0; i < run.threads; ++i) {
    parked.push_back(B::spawn([&] {
      arrived.fetch_add(1);
      gate.wait();
    }));
  }
  while (arrived.load() < run.threads) B::this_thread::yield();
  idle_sample sample = time_idle([&] { B::this_thread::sleep_for(run.idle); });
  gate.count_down();
  for (auto& t : parked) t.join();
  return sample;
}

// The same on Boost.Fiber, in the scheduler the caller installed: fibers park on a fiber
// condition variable while the calling fiber sleeps.
idle_sample park_and_sleep_fibers(const idle_run& run) {
  boost::fibers::mutex lock;
  boost::fibers::condition_variable opened;
  bool open = false;
  std::atomic<int> arrived{0};
  std::vector<boost::fibers::fiber> parked;
  for (int i = 0; i < run.threads; ++i) {
    parked.emplace_back([&] {
      arrived.fetch_add(1);
      std::unique_lock waiting(lock);
      opened.wait(waiting, [&] { return open; });
    });
  }
  while (arrived.load() < run.threads) boost::this_fiber::yield();
  idle_sample sample = time_idle([&] { boost::this_fiber::sleep_for(run.idle); });
  {
    std::unique_lock opening(lock);
    open = true;
  }
  opened.notify_all();
  for (auto& f : parked) f.join();
  return sample;
}

// One way of idling.
struct model {
  std::string name;    // its key in the table and the JSON
  std::string how;     // what its idle kernel threads do, in words
  int kernel_threads;  // the kernel threads that run its threads; 0: one each, and the spawner's
  // Runs `repetitions` idle periods (after one unrecorded) and returns them, in the child.
  std::function<std::vector<idle_sample>(const idle_run&, int repetitions)> measure;
};

// `repetitions` samples of `one`, after one that is not kept.
std::vector<idle_sample> samples_of(int repetitions, const std::function<idle_sample()>& one) {
  one();
  std::vector<idle_sample> samples;
  for (int i = 0; i < repetitions; ++i) samples.push_back(one());
  return samples;
}

template <spindle::backend B>
std::vector<idle_sample> on_backend(const idle_run& run, int repetitions) {
  return samples_of(repetitions, [&] { return park_and_sleep<B>(run); });
}

// spindle::mn started with `workers` worker kernel threads: the threads and the spawner
// are M:N threads, so the spawner's sleep is the backend's timer, and every idle worker
// parks on its futex.
std::vector<idle_sample> on_mn(unsigned workers, const idle_run& run, int repetitions) {
  spindle::mn::start(workers);
  return spindle::mn::spawn([&] { return on_backend<spindle::mn::backend>(run, repetitions); })
      .join();
}

// Boost.Fiber's work_stealing on two kernel threads, idle threads spinning or suspended.
std::vector<idle_sample> on_work_stealing(bool suspend, const idle_run& run, int repetitions) {
  std::vector<idle_sample> samples;
  compare::on_work_stealing(2, suspend, [&] {
    samples = samples_of(repetitions, [&] { return park_and_sleep_fibers(run); });
  });
  return samples;
}

std::vector<model> models() {
  using namespace std::placeholders;
  return {
      {"green", "one kernel thread, asleep in epoll_wait until the timer", 1,
       on_backend<spindle::green::backend>},
      {"clone", "a kernel thread per thread, each asleep in a futex wait", 0,
       on_backend<spindle::clone::backend>},
      {"mn ×1", "one worker kernel thread, parked on its futex", 1, std::bind(on_mn, 1, _1, _2)},
      {"mn ×2", "two worker kernel threads, each parked on its futex", 2,
       std::bind(on_mn, 2, _1, _2)},
      {"Boost.Fiber work_stealing ×2, spinning", "two kernel threads; the idle ones spin", 2,
       std::bind(on_work_stealing, false, _1, _2)},
      {"Boost.Fiber work_stealing ×2, suspended",
       "two kernel threads; the idle ones wait on a condition variable", 2,
       std::bind(on_work_stealing, true, _1, _2)},
  };
}

// A model's samples as JSON: the spread of each figure per second of idling.
compare::json to_json(const std::vector<idle_sample>& samples) {
  std::vector<double> user, system, busy, wall;
  for (const idle_sample& s : samples) {
    user.push_back(s.user_ns / s.wall_ns * 1e9);
    system.push_back(s.system_ns / s.wall_ns * 1e9);
    busy.push_back((s.user_ns + s.system_ns) / s.wall_ns);
    wall.push_back(s.wall_ns);
  }
  return {{"wall_ns", compare::to_json(compare::summarize(wall))},
          {"user_ns_per_second", compare::to_json(compare::summarize(user))},
          {"system_ns_per_second", compare::to_json(compare::summarize(system))},
          {"processors_busy", compare::to_json(compare::summarize(busy))}};
}

// Runs every model in a child of its own, with a progress line each.
compare::json measure_all(const std::vector<model>& all, const idle_run& run, int repetitions) {
  compare::json results = compare::json::array();
  for (const model& m : all) {
    compare::progress(program, m.name + ": " + std::to_string(repetitions) + " idle periods of " +
                                   std::to_string(run.idle.count()) + " ms");
    compare::json entry = {{"model", m.name}, {"idle_kernel_threads", m.how}};
    entry["kernel_threads"] = m.kernel_threads > 0 ? m.kernel_threads : run.threads + 1;
    entry.update(compare::run_in_child([&] { return to_json(m.measure(run, repetitions)); }));
    results.push_back(entry);
  }
  return results;
}

// The spread of `key` in `r`, nanoseconds per second of idling, in microseconds: an
// idle runtime's figures are near zero, which no other unit shows as well.
std::string per_second(const compare::json& r, const char* key) {
  auto us = [&](const char* at) {
    double value = r[key][at].get<double>() / 1000;
    return compare::format_number(value, value < 10 ? 1 : 0);
  };
  return us("median") + " (" + us("p10") + "–" + us("p90") + ")";
}

void print_table(const idle_run& run, const compare::json& results) {
  std::printf("%d threads parked on a latch while the thread that spawned them sleeps %lld ms.\n\n",
              run.threads, static_cast<long long>(run.idle.count()));
  compare::table t({"model", "its idle kernel threads", "kernel threads",
                    "user µs per second idle (p10–p90)", "system µs per second idle",
                    "processors busy"});
  for (const auto& r : results) {
    t.add_row({r["model"], r["idle_kernel_threads"], std::to_string(r["kernel_threads"].get<int>()),
               per_second(r, "user_ns_per_second"), per_second(r, "system_ns_per_second"),
               compare::format_number(r["processors_busy"]["median"].get<double>(), 3)});
  }
  t.print(stdout);
  std::printf(
      "\nProcessor time from getrusage (user and system, every kernel thread of the process) "
      "over the sleep, divided by its length; processors busy is their sum over the sleep's "
      "length.\n");
}

void run(const idle_run& size, const compare::run_options& options) {
  compare::machine here = compare::describe_machine();
  compare::json results = measure_all(models(), size, options.repetitions_or(3, 5));
  compare::json document = compare::start_document(program, here, options);
  document["run"] = {{"parked_threads", size.threads}, {"idle_ms", size.idle.count()}};
  document["results"] = results;
  compare::publish(options, here, document, [&] { print_table(size, results); });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "An idle program's processor time: threads parked on a latch while their spawner "
      "sleeps, on spindle's green and clone backends and on Boost.Fiber's work_stealing "
      "(spinning and suspended). Prints user and system time per second idle."};
  compare::run_options options;
  compare::add_run_flags(app, options);
  double seconds = 0;
  int threads = 100;
  app.add_option("--seconds", seconds,
                 "how long each idle period lasts (default 1, 0.2 with --quick)")
      ->check(CLI::Range(0.01, 60.0));
  app.add_option("--threads", threads, "threads parked meanwhile (default 100)")
      ->check(CLI::Range(1, 1000));
  CLI11_PARSE(app, argc, argv);
  if (seconds == 0) seconds = options.quick ? 0.2 : 1.0;
  idle_run size{threads, std::chrono::milliseconds(static_cast<long>(seconds * 1000))};
  return compare::run_reporting_errors(program, [&] { run(size, options); });
}
