// examples/compare/spawn_cost.cpp — what it costs to start a unit of execution and wait
// for it to end, for six kinds of unit.
//
// Concept: the same empty piece of work, started and waited for in eight ways: a green
// thread (spindle::green, 1:N: no system call at all once a stack is cached), an M:N
// thread (spindle::mn on one worker kernel thread and on two, measured from an M:N
// thread in a child process, since the workers start once per process), a clone
// thread (spindle::clone, 1:1: one clone and one futex wait), a pthread (glibc's
// pthread_create, the same kernel work as clone), a process made by fork (a copy of the
// address space's page tables), by vfork (no copy: the child borrows the parent's
// memory until it exits), and by posix_spawn of /bin/true (vfork plus exec of a new
// program). The child processes _exit at once; the threads return at once.
// Explained in: docs/12-comparisons.md (spawn cost).
// Run: build/examples/compare/spawn_cost --help. Read next: examples/compare/fork_cost.cpp.
#include <cstdio>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include "measure.hpp"
#include "on_mn.hpp"
#include "proc.hpp"
#include "report.hpp"
#include "spawning.hpp"
#include "spindle/clone.hpp"
#include "spindle/green.hpp"

namespace {

constexpr std::string_view program = "spawn_cost";

// One way of starting an empty unit of execution and waiting for it.
struct model {
  std::string name;            // its key in the table and the JSON
  std::string operation;       // what one operation is, in words
  long full_batch;             // operations timed together for one sample
  long quick_batch;            // the same, with --quick
  std::function<void()> once;  // starts one unit and waits for it to end
  // > 0: measured in an M:N thread of a child process whose spindle::mn backend runs this
  // many worker kernel threads (on_mn.hpp); 0: in this process.
  unsigned mn_workers = 0;
};

// The ways, in the order of the table: threads first (spindle mn on one worker kernel
// thread and on two), then processes.
std::vector<model> models() {
  return {
      {"green", "spindle::green spawn + join", 20000, 2000,
       compare::spawn_and_join<spindle::green::backend>},
      {"mn ×1", "spindle::mn spawn + join, 1 worker", 20000, 2000,
       compare::spawn_and_join<spindle::mn::backend>, 1},
      {"mn ×2", "spindle::mn spawn + join, 2 workers", 20000, 2000,
       compare::spawn_and_join<spindle::mn::backend>, 2},
      {"clone", "spindle::clone spawn + join", 2000, 200,
       compare::spawn_and_join<spindle::clone::backend>},
      {"pthread", "pthread_create + pthread_join", 2000, 200, compare::pthread_create_and_join},
      {"fork", "fork + waitpid, the child _exits", 300, 30, compare::fork_and_wait},
      {"vfork", "vfork + waitpid, the child _exits", 500, 50, compare::vfork_and_wait},
      {"posix_spawn", "posix_spawn /bin/true + waitpid", 100, 10, compare::posix_spawn_and_wait},
  };
}

// One model, measured.
struct result {
  const model* measured;
  long batch;
  compare::spread ns;  // per operation
};

// Measures every model in turn, with a progress line on stderr before each.
std::vector<result> measure_all(const std::vector<model>& all,
                                const compare::run_options& options) {
  int repetitions = options.repetitions_or(5, 15);
  std::vector<result> results;
  for (const model& m : all) {
    long batch = options.quick ? m.quick_batch : m.full_batch;
    compare::progress(program, m.operation + ": " + std::to_string(repetitions) + " samples of " +
                                   std::to_string(batch));
    auto sample = [&] { return compare::ns_per_operation(batch, m.once); };
    if (m.mn_workers == 0) {
      results.push_back({&m, batch, compare::repeat(repetitions, sample)});
    } else {
      compare::json spread = compare::in_mn_thread(
          m.mn_workers, [&] { return compare::to_json(compare::repeat(repetitions, sample)); });
      results.push_back({&m, batch, compare::spread_from_json(spread)});
    }
  }
  return results;
}

// The table, with each median as a multiple of green's, and the forking process's size.
void print_table(const std::vector<result>& results, long rss_kib, long pte_kib) {
  compare::table t({"model", "operation", "time per operation, median (p10–p90)", "× green"});
  double green = results.front().ns.median;
  for (const result& r : results) {
    t.add_row({r.measured->name, r.measured->operation, compare::format_spread(r.ns),
               compare::format_number(r.ns.median / green, r.ns.median / green < 10 ? 1 : 0)});
  }
  t.print(stdout);
  std::printf(
      "\nAt the end the forking process had %ld KiB resident and %ld KiB of page tables; fork's "
      "cost grows with them (build/examples/compare/fork_cost).\n",
      rss_kib, pte_kib);
}

compare::json to_json(const std::vector<result>& results) {
  compare::json list = compare::json::array();
  for (const result& r : results) {
    list.push_back({{"model", r.measured->name},
                    {"operation", r.measured->operation},
                    {"operations_per_sample", r.batch},
                    {"ns_per_operation", compare::to_json(r.ns)}});
  }
  return list;
}

// Measures, then publishes the table and the document (report.hpp: publish).
void run(const compare::run_options& options) {
  compare::machine here = compare::describe_machine();
  std::vector<model> all = models();
  std::vector<result> results = measure_all(all, options);
  long rss_kib = compare::status_kib("VmRSS"), pte_kib = compare::status_kib("VmPTE");
  compare::json document = compare::start_document(program, here, options);
  document["process"] = {{"rss_kib", rss_kib}, {"page_tables_kib", pte_kib}};
  document["results"] = to_json(results);
  compare::publish(options, here, document, [&] { print_table(results, rss_kib, pte_kib); });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Start an empty unit of execution and wait for it: green and clone threads, pthreads, "
      "fork, vfork, posix_spawn. Prints the time per operation, median and spread."};
  compare::run_options options;
  compare::add_run_flags(app, options);
  CLI11_PARSE(app, argc, argv);
  return compare::run_reporting_errors(program, [&] { run(options); });
}
