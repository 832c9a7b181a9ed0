// examples/compare/context_switch.cpp — what it costs to hand the processor from one
// thread to another: green, clone and pthreads, on one processor and across two.
//
// Concept: two threads take turns, each running only after the other has handed over,
// and one hand-over is timed as the total over the number of hand-overs. Green threads
// hand over with yield (a switch of stacks and registers in user space, no system call)
// or through a spindle semaphore (a park and a wake, still in user space). Clone threads
// hand over through two spindle::clone::binary_semaphore: a futex wake of the other
// thread and a futex wait for the turn to come back, and the kernel's scheduler
// switches kernel threads. Pthreads do the same through two POSIX semaphores (sem_t,
// futexes too). On one processor (every thread pinned to it) each hand-over is a
// context switch; across two processors (each thread pinned to its own) it is a wake-up
// of a thread asleep on the other processor, with an interrupt between processors and
// no switch at all when the other one was idle. Green threads cannot be across two: they
// all run on the one kernel thread that runs their scheduler (1:N). M:N threads (spindle::
// mn) hand over the green way, by yield or a semaphore, on one worker kernel thread pinned
// to one processor, and through the semaphore on two workers that the kernel places,
// where a wake-up may cross from one worker to the other (each in a child process, as
// the workers start once per process).
// Explained in: docs/12-comparisons.md (context switches).
// Run: build/examples/compare/context_switch --help. Read next: examples/compare/scale.cpp.
#include <sched.h>
#include <semaphore.h>

#include <array>
#include <cstdio>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "measure.hpp"
#include "on_mn.hpp"
#include "pinning.hpp"
#include "report.hpp"
#include "spawning.hpp"
#include "spindle/clone.hpp"
#include "spindle/green.hpp"
#include "spindle/mn.hpp"

namespace {

constexpr std::string_view program = "context_switch";

// The processors the two threads of a measurement run on; -1: wherever the kernel likes.
using placement = std::array<int, 2>;
using compare::pin_to;
using compare::pinned_here;
using compare::usable_processors;

// Two threads of B (green or mn) yield to each other `rounds` times each; returns ns per
// hand-over. On green the caller's kernel thread runs them all, so pin it to choose their
// processor; on mn, each yield hands over only if both threads share a worker.
template <spindle::backend B>
double yield_ns(long rounds) {
  auto yielder = [rounds] {
    for (long i = 0; i < rounds; ++i) B::this_thread::yield();
  };
  auto start = std::chrono::steady_clock::now();
  auto first = B::spawn(yielder);
  auto second = B::spawn(yielder);
  first.join();
  second.join();
  return compare::ns_since(start) / static_cast<double>(2 * rounds);
}

// Written once over the backend concept: two threads of B take turns through two binary
// semaphores, `rounds` round trips; returns ns per hand-over (two per round trip). Each
// thread first pins itself to its processor of `where` (for clone threads; a green
// thread would pin the kernel thread under all of them, so green passes -1, -1).
template <spindle::backend B>
double semaphore_ping_pong_ns(long rounds, placement where) {
  typename B::template counting_semaphore<1> ping(0), pong(0);
  auto start = std::chrono::steady_clock::now();
  auto server = B::spawn([&] {
    pin_to(where[1]);
    for (long i = 0; i < rounds; ++i) {
      ping.acquire();
      pong.release();
    }
  });
  auto client = B::spawn([&] {
    pin_to(where[0]);
    for (long i = 0; i < rounds; ++i) {
      ping.release();
      pong.acquire();
    }
  });
  client.join();
  server.join();
  return compare::ns_since(start) / static_cast<double>(2 * rounds);
}

// The same turns between two pthreads (std::thread is pthread_create here) through two
// POSIX semaphores.
double pthread_ping_pong_ns(long rounds, placement where) {
  sem_t ping, pong;
  sem_init(&ping, 0, 0);
  sem_init(&pong, 0, 0);
  auto start = std::chrono::steady_clock::now();
  std::thread server([&] {
    pin_to(where[1]);
    for (long i = 0; i < rounds; ++i) {
      sem_wait(&ping);
      sem_post(&pong);
    }
  });
  std::thread client([&] {
    pin_to(where[0]);
    for (long i = 0; i < rounds; ++i) {
      sem_post(&ping);
      sem_wait(&pong);
    }
  });
  client.join();
  server.join();
  double ns = compare::ns_since(start) / static_cast<double>(2 * rounds);
  sem_destroy(&ping);
  sem_destroy(&pong);
  return ns;
}

// Two threads of one model taking turns through one primitive.
struct pairing {
  std::string model;       // green, mn, clone, pthread
  std::string through;     // what a hand-over goes through
  bool one_kernel_thread;  // both threads run on the caller's kernel thread (green)
  long full_rounds, quick_rounds;
  std::function<double(long rounds, placement where)> once;  // returns ns per hand-over
  // mn: measured in an M:N thread of a child process (on_mn.hpp), on one worker pinned
  // to the first processor, and on two workers that the kernel places; `two_workers_note`
  // says why there is no second measurement, if there is none.
  bool mn = false;
  std::string two_workers_note;
};

// The pairings, in the order of the table: green first.
std::vector<pairing> pairings() {
  return {
      {"green", "yield", true, 200000, 20000,
       [](long rounds, placement) { return yield_ns<spindle::green::backend>(rounds); }, false, ""},
      {"green", "spindle::green::binary_semaphore", true, 100000, 10000,
       [](long rounds, placement) {
         return semaphore_ping_pong_ns<spindle::green::backend>(rounds, {-1, -1});
       },
       false, ""},
      {"mn", "yield", false, 200000, 20000,
       [](long rounds, placement) { return yield_ns<spindle::mn::backend>(rounds); }, true,
       "not a hand-over: on two workers each thread may yield to no one"},
      {"mn", "spindle::mn::binary_semaphore", false, 100000, 10000,
       [](long rounds, placement) {
         return semaphore_ping_pong_ns<spindle::mn::backend>(rounds, {-1, -1});
       },
       true, ""},
      {"clone", "spindle::clone::binary_semaphore (futex)", false, 10000, 2000,
       semaphore_ping_pong_ns<spindle::clone::backend>, false, ""},
      {"pthread", "sem_t (futex)", false, 10000, 2000, pthread_ping_pong_ns, false, ""},
  };
}

// One pairing on one placement: its spread, or why it was not measured.
struct result {
  const pairing* measured;
  std::string placement_name;  // "one_cpu" or "two_cpus"
  placement cpus;
  std::optional<compare::spread> ns;  // per hand-over
  std::string note;                   // why ns is empty
};

// `p`, an mn pairing, measured in a child whose backend runs `workers` worker kernel
// threads, all of the child pinned to `cpu` first unless it is -1.
compare::spread on_mn_workers(const pairing& p, unsigned workers, int cpu, long rounds,
                              int repetitions) {
  compare::json spread = compare::run_in_child([&] {
    pin_to(cpu);  // before the start: the workers inherit the processor
    spindle::mn::start(workers);
    return spindle::mn::spawn([&] {
             return compare::to_json(compare::repeat(repetitions, [&] {
               return p.once(rounds, {-1, -1});
             }));
           })
        .join();
  });
  return compare::spread_from_json(spread);
}

// Measures `p` with both threads on processor `cpu`.
result on_one_processor(const pairing& p, int cpu, long rounds, int repetitions) {
  result r{&p, "one_cpu", {cpu, cpu}, std::nullopt, ""};
  if (p.mn) {
    r.ns = on_mn_workers(p, 1, cpu, rounds, repetitions);
  } else if (p.one_kernel_thread) {
    pinned_here pinned(cpu);
    r.ns = compare::repeat(repetitions, [&] { return p.once(rounds, {-1, -1}); });
  } else {
    r.ns = compare::repeat(repetitions, [&] { return p.once(rounds, r.cpus); });
  }
  return r;
}

// Measures `p` with one thread on each of `cpus`, or says why it cannot be.
result on_two_processors(const pairing& p, placement cpus, long rounds, int repetitions) {
  result r{&p, "two_cpus", cpus, std::nullopt, ""};
  if (p.one_kernel_thread) {
    r.note = "not possible: green threads share one kernel thread (1:N)";
  } else if (cpus[1] < 0) {
    r.note = "not measured: this process may use only one processor";
  } else if (p.mn && !p.two_workers_note.empty()) {
    r.note = p.two_workers_note;
  } else if (p.mn) {
    r.cpus = {-1, -1};
    r.ns = on_mn_workers(p, 2, -1, rounds, repetitions);
  } else {
    r.ns = compare::repeat(repetitions, [&] { return p.once(rounds, cpus); });
  }
  return r;
}

// Every pairing on one processor and on two, with a progress line on stderr before each.
std::vector<result> measure_all(const compare::run_options& options) {
  static const std::vector<pairing> all = pairings();
  placement cpus = usable_processors();
  int repetitions = options.repetitions_or(5, 11);
  std::vector<result> results;
  for (const pairing& p : all) {
    long rounds = options.quick ? p.quick_rounds : p.full_rounds;
    compare::progress(program, p.model + " through " + p.through + ": " +
                                   std::to_string(repetitions) + " samples of " +
                                   std::to_string(2 * rounds) + " hand-overs");
    results.push_back(on_one_processor(p, cpus[0], rounds, repetitions));
    results.push_back(on_two_processors(p, cpus, rounds, repetitions));
  }
  return results;
}

// A table cell: the spread, or why there is none.
std::string cell(const result& r) { return r.ns ? compare::format_spread(*r.ns) : r.note; }

// One row per pairing: its one-processor and two-processor results side by side.
void print_table(const std::vector<result>& results) {
  compare::table t(
      {"model", "hand-over through", "one processor, per hand-over (p10–p90)", "two processors"});
  for (std::size_t i = 0; i + 1 < results.size(); i += 2) {
    const result& one = results[i];
    t.add_row({one.measured->model, one.measured->through, cell(one), cell(results[i + 1])});
  }
  t.print(stdout);
  std::printf(
      "\nOn one processor a hand-over is a context switch. Across two it is a wake-up of a "
      "thread\nasleep on the other processor, which is slower when that processor idles. "
      "mn's two\nprocessors are two worker kernel threads, unpinned: its scheduler places "
      "the threads,\nand a hand-over crosses workers only when they are on different ones.\n");
}

// Every result in the JSON document; an unmeasured one has ns_per_switch null and a note.
compare::json to_json(const std::vector<result>& results) {
  compare::json list = compare::json::array();
  for (const result& r : results) {
    compare::json entry = {{"model", r.measured->model},
                           {"through", r.measured->through},
                           {"placement", r.placement_name},
                           {"cpus", {r.cpus[0], r.cpus[1]}},
                           {"ns_per_switch", nullptr}};
    if (r.ns) entry["ns_per_switch"] = compare::to_json(*r.ns);
    if (!r.note.empty()) entry["note"] = r.note;
    list.push_back(entry);
  }
  return list;
}

// Measures, then publishes the table and the document (report.hpp: publish).
void run(const compare::run_options& options) {
  compare::machine here = compare::describe_machine();
  std::vector<result> results = measure_all(options);
  compare::json document = compare::start_document(program, here, options);
  document["results"] = to_json(results);
  compare::publish(options, here, document, [&] { print_table(results); });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Two threads take turns: green (yield, semaphore), clone (spindle futex semaphore) "
      "and pthreads (sem_t), pinned to one processor and to two. Prints ns per hand-over."};
  compare::run_options options;
  compare::add_run_flags(app, options);
  CLI11_PARSE(app, argc, argv);
  return compare::run_reporting_errors(program, [&] { run(options); });
}
