// examples/compare/workload_mix.hpp — the standard workload mix that the policies
// comparison runs under each scheduler: CPU-bound threads of different weights,
// interactive threads that sleep and wake, and a burst of short jobs that arrive late.
//
// Concept: a scheduling policy is judged on a mix, not on one kind of thread. Three
// CPU-bound threads of weights 1, 2 and 4 compute for the whole window; each counts the
// chunks of work it did, and on one processor chunks are processor time, so its share of
// the three threads' chunks is its CPU share, against an entitled share of its weight
// over the weights' sum (1/7, 2/7, 4/7). Two interactive threads sleep 2 ms, wake and
// compute two chunks: the time from the end of their sleep to their running again is
// their response time. Halfway through the window a launcher starts eight short jobs of
// 50 chunks each: the time from when they were due to the end of each is its turnaround.
// One weight table gives every mechanism its attribute: green tickets (100 per unit of
// weight) and priorities (log2 of the weight), the kernel's nice values (the CFS weight
// of nice n is 1024 / 1.25^n, so nice = log(4 / weight) / log(1.25), rounded) and
// real-time priorities (1 + log2 of the weight). The mix is written once over the backend
// concept; a backend's threads differ only in what each does first (`thread_hooks`).
// Explained in: docs/14-scheduling-policies.md (the policies measured).
// Read next: examples/compare/policies.cpp, which runs it.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "spindle/backend.hpp"

namespace compare::mix {

using clock_type = std::chrono::steady_clock;

// The weights of the three CPU-bound threads, lightest first, and the weight of every
// other thread of the mix (interactive threads, the launcher and its jobs).
inline constexpr std::array<int, 3> cpu_weights{1, 2, 4};
inline constexpr int other_weight = 2;

// The attributes a weight maps to, one per mechanism (see the file's comment).
std::uint32_t tickets_of(int weight);
int priority_of(int weight);
int nice_of(int weight);
int realtime_priority_of(int weight);
// The kernel's CFS weight of a nice value (its sched_prio_to_weight table: 1024 at nice
// 0, each step a factor of 1.25), for the report's note on what the nice values give.
int kernel_weight_of_nice(int nice);

// The mix's sizes and whether its computing threads yield.
struct config {
  clock_type::duration window{};         // how long the CPU-bound threads compute
  long chunk_iterations = 0;             // one chunk of work (compute_chunk)
  bool computing_threads_yield = false;  // cooperative: yield after every chunk
  int interactive_threads = 2;
  std::chrono::microseconds interactive_sleep{2000};
  int interactive_chunks = 2;  // work after each wake
  int short_jobs = 8;
  int short_job_chunks = 50;
};

// What a backend's threads do first and last, given their weight: the clone backend
// sets the thread's nice value or real-time policy, and counts its context switches at
// the end; the green backend passes the weight in spawn_options and does nothing here.
struct thread_hooks {
  std::function<void(int weight)> at_start = [](int) {};
  std::function<void()> at_end = [] {};
};

// What one window measured.
struct outcome {
  std::array<long, 3> chunks{};       // each CPU-bound thread's chunks, by cpu_weights
  std::vector<double> response_ns;    // each wake of an interactive thread: run - due
  std::vector<double> turnaround_ns;  // each short job: its end - the burst's due time
  double window_ns = 0;               // start to the last CPU-bound thread's stop
};

// One chunk of work: `iterations` dependent additions, in this program's own code (so
// that green preemption may switch away inside it: docs/08-reactor.md).
void compute_chunk(long iterations);
// The iterations that make a chunk take about `target` on this processor now.
long calibrate_chunk(std::chrono::nanoseconds target);

// The spawn options of a thread of the mix: its name and the green attributes of its
// weight (the clone backend checks them and leaves scheduling to the kernel).
spindle::spawn_options options_for(const std::string& name, int weight);

// Runs one window of the mix on backend B, every thread spawned from the caller (which
// only joins them) after `hooks`. Returns what it measured.
template <spindle::backend B>
outcome run_window(const config& c, const thread_hooks& hooks) {
  outcome out;
  // The window starts when every thread of the mix is ready (spawned, its hooks run),
  // not at a time fixed in advance: on a loaded machine the spawns may take long.
  const std::ptrdiff_t starters =
      static_cast<std::ptrdiff_t>(cpu_weights.size()) + c.interactive_threads + 1;
  typename B::latch ready(starters), go(1);
  clock_type::time_point start, end, due;  // written before go opens, read after
  auto enter = [&](int weight) {
    hooks.at_start(weight);
    ready.count_down();
    go.wait();
  };
  std::array<clock_type::time_point, 3> stopped{};
  std::vector<std::vector<double>> responses(c.interactive_threads);
  std::vector<clock_type::time_point> finished(c.short_jobs);
  auto computing = [&](std::size_t i) {
    enter(cpu_weights[i]);
    long done = 0;
    while (clock_type::now() < end) {
      compute_chunk(c.chunk_iterations);
      ++done;
      if (c.computing_threads_yield) B::this_thread::yield();
    }
    out.chunks[i] = done;
    stopped[i] = clock_type::now();
    hooks.at_end();
  };
  auto interactive = [&](std::size_t i) {
    enter(other_weight);
    // The first wake is the window's start, and the wake after the window is recorded
    // too: a thread starved for the whole window shows it as one long response.
    for (auto wake = start;; wake = clock_type::now() + c.interactive_sleep) {
      B::this_thread::sleep_until(wake);
      auto ran = clock_type::now();
      responses[i].push_back(std::chrono::duration<double, std::nano>(ran - wake).count());
      if (ran >= end) break;
      for (int k = 0; k < c.interactive_chunks; ++k) compute_chunk(c.chunk_iterations);
    }
    hooks.at_end();
  };
  auto job = [&](std::size_t j) {
    hooks.at_start(other_weight);
    for (int k = 0; k < c.short_job_chunks; ++k) {
      compute_chunk(c.chunk_iterations);
      if (c.computing_threads_yield) B::this_thread::yield();
    }
    finished[j] = clock_type::now();
    hooks.at_end();
  };
  auto launcher = [&] {
    enter(other_weight);
    B::this_thread::sleep_until(due);
    std::vector<typename B::template thread<void>> jobs;
    for (int j = 0; j < c.short_jobs; ++j) {
      jobs.push_back(B::spawn(options_for("short job", other_weight), job, j));
    }
    for (auto& t : jobs) t.join();
    hooks.at_end();
  };
  std::vector<typename B::template thread<void>> threads;
  for (std::size_t i = 0; i < cpu_weights.size(); ++i) {
    threads.push_back(B::spawn(
        options_for("cpu-bound x" + std::to_string(cpu_weights[i]), cpu_weights[i]), computing, i));
  }
  for (int i = 0; i < c.interactive_threads; ++i) {
    threads.push_back(B::spawn(options_for("interactive", other_weight), interactive, i));
  }
  threads.push_back(B::spawn(options_for("launcher", other_weight), launcher));
  ready.wait();
  start = clock_type::now();
  end = start + c.window;
  due = start + c.window / 2;  // the short jobs' arrival
  go.count_down();
  for (auto& t : threads) t.join();
  for (auto& r : responses) out.response_ns.insert(out.response_ns.end(), r.begin(), r.end());
  for (auto t : finished) {
    out.turnaround_ns.push_back(std::chrono::duration<double, std::nano>(t - due).count());
  }
  auto last = *std::max_element(stopped.begin(), stopped.end());
  out.window_ns = std::chrono::duration<double, std::nano>(last - start).count();
  return out;
}

// Shares of `chunks` in their sum (all 0 if the sum is 0), and the entitled shares of
// cpu_weights.
std::array<double, 3> shares_of(const std::array<long, 3>& chunks);
std::array<double, 3> entitled_shares();
// Jain's fairness index of `x`: (sum x)^2 / (n * sum x^2), 1 when all are equal, 1/n
// when one holds everything. Here x is each thread's share over its entitlement.
// Throws std::invalid_argument if x is empty or all zeros.
double jain_index(const std::vector<double>& x);

}  // namespace compare::mix
