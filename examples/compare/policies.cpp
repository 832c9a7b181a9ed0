// examples/compare/policies.cpp — the scheduling policies measured: one workload mix
// under each green policy, cooperatively and preempted, and under the kernel's
// scheduler on clone threads, on one processor.
//
// Concept: examples/compare/workload_mix.hpp is the mix (CPU-bound threads of weights 1,
// 2 and 4, interactive threads that sleep 2 ms and wake, eight short jobs that arrive
// halfway). It runs under each green policy (fifo, random, priority, aging, lottery,
// stride, mlfq) in two modes, because green threads on one kernel thread share the
// processor only when something takes it from the running one: cooperatively (every
// computing thread yields after each chunk of work, about 20 µs) and preempted (they never
// yield; spindle's timer makes them yield at the end of each slice, 1 ms by default).
// Then the same mix runs on clone threads under the kernel: normal threads with nice
// values from the same weights (Linux's fair scheduler), and SCHED_RR and SCHED_FIFO
// with real-time priorities from them where the kernel permits (EPERM is reported as
// "not permitted"). Every run is pinned to one processor (sched_setaffinity), so that the
// clone threads compete for one processor as the green threads on their one kernel
// thread do. For each: the CPU-bound threads' shares against their entitled shares,
// Jain's fairness index over share / entitlement, the interactive threads' response
// (wake to run) p50 and p99, the short jobs' turnaround, and switches per second (green:
// the scheduler's hand-overs; clone: the threads' voluntary and involuntary context
// switches, from getrusage(RUSAGE_THREAD)).
// Explained in: docs/14-scheduling-policies.md (the policies measured).
// Run: build/examples/compare/policies --help. Read next: examples/compare/workload_mix.hpp.
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <numeric>
#include <string>
#include <vector>

#include "measure.hpp"
#include "pinning.hpp"
#include "report.hpp"
#include "spindle/clone.hpp"
#include "spindle/diagnostics.hpp"
#include "spindle/green.hpp"
#include "spindle/green/preemption.hpp"
#include "workload_mix.hpp"

namespace {

constexpr std::string_view program = "policies";
constexpr std::chrono::nanoseconds chunk_target{20000};

// The green policies, in the table's order (make_policy's names).
const std::vector<std::string> green_policies = {"fifo",    "random", "priority", "aging",
                                                 "lottery", "stride", "mlfq"};

// The program's own flags, besides report.hpp's.
struct settings {
  compare::run_options run;
  int window_ms = 0;  // 0: 150 with --quick, 1500 without
  int slice_us = 1000;
  std::uint64_t seed = 1;
};

// One scheduler's measurement: a row of the table.
struct row {
  std::string backend;    // "green" or "clone"
  std::string scheduler;  // a green policy, or "kernel: nice", "kernel: SCHED_RR", ...
  std::string mode;       // "cooperative", "preempted" (spindle's timer), "kernel"
  bool ran = false;
  std::string note;              // why it did not run
  std::array<long, 3> chunks{};  // summed over the windows
  std::vector<double> response_ns;
  std::vector<double> turnaround_ns;
  double seconds = 0;
  double cpu_seconds = 0;         // processor time the mix's threads got (the machine is shared)
  std::uint64_t switches = 0;     // green: hand-overs; clone: voluntary + involuntary
  std::uint64_t preemptions = 0;  // green, preempted: switches made by the timer
  long voluntary = 0, involuntary = 0;  // clone: the threads' context switches
};

void add_window(row& r, const compare::mix::outcome& o) {
  for (std::size_t i = 0; i < o.chunks.size(); ++i) r.chunks[i] += o.chunks[i];
  r.response_ns.insert(r.response_ns.end(), o.response_ns.begin(), o.response_ns.end());
  r.turnaround_ns.insert(r.turnaround_ns.end(), o.turnaround_ns.begin(), o.turnaround_ns.end());
  r.seconds += o.window_ns / 1e9;
}

std::uint64_t preemptions_taken() {
  auto counts = spindle::green::preemption::statistics();
  return counts.taken + counts.taken_at_section_end;
}

// The processor time of the calling kernel thread so far (every green thread's).
double kernel_thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// Runs `one_window` (returning a compare::mix::outcome) until a CPU-bound thread did
// some work in it, at most three times: a window in which the program got no processor
// time at all (another program's real-time threads held it) measures nothing.
// Throws std::runtime_error naming `what` after three such windows.
template <class F>
compare::mix::outcome window_with_work(F&& one_window, const std::string& what) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    compare::mix::outcome o = one_window();
    if (o.chunks[0] + o.chunks[1] + o.chunks[2] > 0) return o;
  }
  throw std::runtime_error(what +
                           ": no CPU-bound thread ran in three windows in a row: other programs "
                           "held the processor (real-time ones?)");
}

// The mix under green policy `name`, cooperatively or preempted every slice.
row run_green(const std::string& name, bool preempted, const compare::mix::config& base,
              const settings& s, int windows) {
  row r;
  r.backend = "green";
  r.scheduler = name;
  r.mode = preempted ? "preempted" : "cooperative";
  compare::mix::config c = base;
  c.computing_threads_yield = !preempted;
  for (int w = 0; w < windows; ++w) {
    spindle::green::use_policy(spindle::green::make_policy(name, s.seed + w));
    if (preempted) spindle::green::preemption::set_slice(std::chrono::microseconds(s.slice_us));
    std::uint64_t switches = spindle::green::statistics().switches;
    std::uint64_t taken = preemptions_taken();
    double cpu = kernel_thread_cpu_seconds();
    add_window(r, window_with_work(
                      [&] { return compare::mix::run_window<spindle::green::backend>(c, {}); },
                      "green " + name));
    r.cpu_seconds += kernel_thread_cpu_seconds() - cpu;
    r.switches += spindle::green::statistics().switches - switches;
    r.preemptions += preemptions_taken() - taken;
    spindle::green::preemption::set_slice(std::chrono::microseconds(0));
    spindle::green::use_fifo_policy();
  }
  r.ran = true;
  return r;
}

// The kernel's schedulers for clone threads.
enum class kernel_policy { nice, round_robin, fifo };

const char* kernel_name(kernel_policy k) {
  return k == kernel_policy::nice          ? "kernel: nice"
         : k == kernel_policy::round_robin ? "kernel: SCHED_RR"
                                           : "kernel: SCHED_FIFO";
}

int sched_policy_of(kernel_policy k) { return k == kernel_policy::fifo ? SCHED_FIFO : SCHED_RR; }

// Why the kernel refuses real-time policy `k` to this process, or "" if it permits it:
// tried on the calling thread at priority 1, which then goes back to SCHED_OTHER.
std::string realtime_refusal(kernel_policy k) {
  sched_param realtime{};
  realtime.sched_priority = 1;
  if (sched_setscheduler(0, sched_policy_of(k), &realtime) != 0) {
    int error = errno;
    return std::string("not permitted: sched_setscheduler(") +
           (k == kernel_policy::fifo ? "SCHED_FIFO" : "SCHED_RR") + ") failed with " +
           (error == EPERM ? "EPERM (it needs CAP_SYS_NICE or an RLIMIT_RTPRIO)"
                           : std::strerror(error));
  }
  sched_param normal{};
  sched_setscheduler(0, SCHED_OTHER, &normal);
  return "";
}

// What the clone threads of a run counted at their ends, and the first refusal of a
// setting (kept here, since a thread cannot throw to the run).
struct clone_accounting {
  std::atomic<long> voluntary{0}, involuntary{0};
  std::atomic<long> cpu_us{0};  // the threads' user and system time
  std::mutex lock;
  std::string failure;

  void failed(const std::string& what) {
    std::lock_guard<std::mutex> held(lock);
    if (failure.empty()) failure = what + ": " + std::strerror(errno);
  }
};

// The nice value the program was started with (`nice policies` gives 10): the weights'
// nice values are added to it, since a thread may raise its nice value freely but lower
// it below where it started only with CAP_SYS_NICE.
int starting_nice() {
  errno = 0;
  int nice = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  return errno == 0 ? nice : 0;
}

// What each clone thread of the mix does first and last under `k`: it takes the nice
// value of its weight (above the program's own, at most 19) or the real-time priority
// of its weight, and at its end adds its context switches and processor time
// (getrusage(RUSAGE_THREAD)) to `account`.
compare::mix::thread_hooks clone_hooks(kernel_policy k, clone_accounting& account) {
  compare::mix::thread_hooks hooks;
  hooks.at_start = [k, &account, base = starting_nice()](int weight) {
    if (k == kernel_policy::nice) {
      int nice = std::min(19, base + compare::mix::nice_of(weight));
      if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), nice) != 0)
        account.failed("setpriority");
      return;
    }
    sched_param p{};
    p.sched_priority = compare::mix::realtime_priority_of(weight);
    if (sched_setscheduler(0, sched_policy_of(k), &p) != 0) account.failed("sched_setscheduler");
  };
  hooks.at_end = [&account] {
    rusage used{};
    getrusage(RUSAGE_THREAD, &used);
    account.voluntary += used.ru_nvcsw;
    account.involuntary += used.ru_nivcsw;
    account.cpu_us += (used.ru_utime.tv_sec + used.ru_stime.tv_sec) * 1000000L +
                      used.ru_utime.tv_usec + used.ru_stime.tv_usec;
  };
  return hooks;
}

// The mix on clone threads under the kernel's scheduler `k`.
row run_clone(kernel_policy k, const compare::mix::config& base, int windows) {
  row r;
  r.backend = "clone";
  r.scheduler = kernel_name(k);
  r.mode = "kernel";
  if (k != kernel_policy::nice) {
    r.note = realtime_refusal(k);
    if (!r.note.empty()) return r;
  }
  compare::mix::config c = base;
  c.computing_threads_yield = false;  // the kernel preempts them
  clone_accounting account;
  for (int w = 0; w < windows; ++w) {
    add_window(r, window_with_work(
                      [&] {
                        return compare::mix::run_window<spindle::clone::backend>(
                            c, clone_hooks(k, account));
                      },
                      kernel_name(k)));
  }
  if (!account.failure.empty())
    throw std::runtime_error(std::string(kernel_name(k)) + ": " + account.failure);
  r.voluntary = account.voluntary;
  r.involuntary = account.involuntary;
  r.cpu_seconds = static_cast<double>(account.cpu_us) / 1e6;
  r.switches = static_cast<std::uint64_t>(r.voluntary + r.involuntary);
  r.ran = true;
  return r;
}

// Every row, green first, with a progress line on stderr before each.
std::vector<row> measure_all(const compare::mix::config& c, const settings& s, int windows) {
  std::vector<row> rows;
  auto window_text =
      std::to_string(windows) + " window(s) of " +
      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(c.window).count()) +
      " ms";
  for (const std::string& name : green_policies) {
    for (bool preempted : {false, true}) {
      compare::progress(program, "green " + name + (preempted ? ", preempted" : ", cooperative") +
                                     ": " + window_text);
      rows.push_back(run_green(name, preempted, c, s, windows));
    }
  }
  for (kernel_policy k : {kernel_policy::nice, kernel_policy::round_robin, kernel_policy::fifo}) {
    compare::progress(program, std::string(kernel_name(k)) + " on clone threads: " + window_text);
    rows.push_back(run_clone(k, c, windows));
  }
  return rows;
}

// Jain's index of a row's shares over their entitlements.
double jain_of(const row& r) {
  auto shares = compare::mix::shares_of(r.chunks);
  auto entitled = compare::mix::entitled_shares();
  std::vector<double> x;
  for (std::size_t i = 0; i < shares.size(); ++i) x.push_back(shares[i] / entitled[i]);
  return compare::mix::jain_index(x);
}

std::string shares_cell(const row& r) {
  auto shares = compare::mix::shares_of(r.chunks);
  return compare::format_number(shares[0], 2) + " / " + compare::format_number(shares[1], 2) +
         " / " + compare::format_number(shares[2], 2);
}

std::string percentile_cell(const std::vector<double>& ns, double q) {
  return ns.empty() ? "none" : compare::format_duration(compare::percentile(ns, q));
}

void print_table(const std::vector<row>& rows, const compare::mix::config& c, int cpu,
                 const settings& s) {
  auto entitled = compare::mix::entitled_shares();
  compare::table t({"scheduler", "mode",
                    "CPU shares x1 / x2 / x4 (entitled " + compare::format_number(entitled[0], 2) +
                        " / " + compare::format_number(entitled[1], 2) + " / " +
                        compare::format_number(entitled[2], 2) + ")",
                    "Jain", "response p50", "response p99", "short jobs' turnaround p50 (max)",
                    "switches/s"});
  for (const row& r : rows) {
    if (!r.ran) {
      t.add_row({r.scheduler, r.mode, r.note, "", "", "", "", ""});
      continue;
    }
    t.add_row(
        {r.scheduler, r.mode, shares_cell(r), compare::format_number(jain_of(r), 3),
         percentile_cell(r.response_ns, 0.5), percentile_cell(r.response_ns, 0.99),
         percentile_cell(r.turnaround_ns, 0.5) + " (" + percentile_cell(r.turnaround_ns, 1.0) + ")",
         compare::format_number(static_cast<double>(r.switches) / r.seconds, 0)});
  }
  t.print(stdout);
  std::printf(
      "\nEvery run on processor %d. Weights 1, 2, 4 are tickets 100, 200, 400, priorities 0, 1, "
      "2,\n"
      "nice %d, %d, %d (kernel weights %d, %d, %d) and real-time priorities 1, 2, 3; the\n"
      "interactive threads, the launcher and its jobs have weight 2. A chunk of work is %ld\n"
      "iterations (about 20 us); cooperative threads yield after each, preempted ones are\n"
      "made to yield every %d us of processor time (asked; the kernel fires the timer only\n"
      "at its tick, so a slice lasts at least two ticks). Response: from the end of a 2 ms sleep\n"
      "to running; turnaround: from the burst's due time to each job's end.\n",
      cpu, compare::mix::nice_of(1), compare::mix::nice_of(2), compare::mix::nice_of(4),
      compare::mix::kernel_weight_of_nice(compare::mix::nice_of(1)),
      compare::mix::kernel_weight_of_nice(compare::mix::nice_of(2)),
      compare::mix::kernel_weight_of_nice(compare::mix::nice_of(4)), c.chunk_iterations,
      s.slice_us);
}

// The spread of a row's samples as the JSON gives it: p50, p99, max and how many.
compare::json percentiles(const std::vector<double>& ns) {
  if (ns.empty()) return nullptr;
  return {{"p50", compare::percentile(ns, 0.5)},
          {"p99", compare::percentile(ns, 0.99)},
          {"max", compare::percentile(ns, 1.0)},
          {"samples", ns.size()}};
}

compare::json to_json(const row& r) {
  compare::json entry = {
      {"backend", r.backend}, {"scheduler", r.scheduler}, {"mode", r.mode}, {"ran", r.ran}};
  if (!r.ran) {
    entry["note"] = r.note;
    return entry;
  }
  auto shares = compare::mix::shares_of(r.chunks);
  auto entitled = compare::mix::entitled_shares();
  compare::json threads = compare::json::array();
  for (std::size_t i = 0; i < shares.size(); ++i) {
    threads.push_back({{"weight", compare::mix::cpu_weights[i]},
                       {"chunks", r.chunks[i]},
                       {"share", shares[i]},
                       {"entitled_share", entitled[i]}});
  }
  entry["cpu_bound"] = threads;
  entry["jain"] = jain_of(r);
  entry["response_ns"] = percentiles(r.response_ns);
  entry["turnaround_ns"] = percentiles(r.turnaround_ns);
  entry["seconds"] = r.seconds;
  entry["cpu_seconds"] = r.cpu_seconds;
  entry["switches"] = r.switches;
  entry["switches_per_second"] = static_cast<double>(r.switches) / r.seconds;
  if (r.mode == "preempted") {
    entry["preemptions"] = r.preemptions;
    // The slice as it came out: the kernel fires a CPU-clock timer only at its tick.
    entry["cpu_ns_per_preemption"] =
        r.preemptions ? compare::json(r.cpu_seconds * 1e9 / static_cast<double>(r.preemptions))
                      : nullptr;
  }
  if (r.backend == "clone") {
    entry["context_switches"] = {{"voluntary", r.voluntary}, {"involuntary", r.involuntary}};
  }
  return entry;
}

// The mix's sizes and the weight table, for the document.
compare::json workload_json(const compare::mix::config& c, int cpu, int windows,
                            const settings& s) {
  compare::json weights = compare::json::array();
  auto entitled = compare::mix::entitled_shares();
  for (std::size_t i = 0; i < compare::mix::cpu_weights.size(); ++i) {
    int w = compare::mix::cpu_weights[i];
    weights.push_back(
        {{"weight", w},
         {"tickets", compare::mix::tickets_of(w)},
         {"priority", compare::mix::priority_of(w)},
         {"nice", compare::mix::nice_of(w)},
         {"kernel_weight", compare::mix::kernel_weight_of_nice(compare::mix::nice_of(w))},
         {"realtime_priority", compare::mix::realtime_priority_of(w)},
         {"entitled_share", entitled[i]}});
  }
  return {{"cpu", cpu},
          {"window_ms", std::chrono::duration_cast<std::chrono::milliseconds>(c.window).count()},
          {"windows", windows},
          {"chunk_iterations", c.chunk_iterations},
          {"chunk_target_ns", chunk_target.count()},
          {"slice_us", s.slice_us},
          {"starting_nice", starting_nice()},
          {"seed", s.seed},
          {"cpu_bound_weights", weights},
          {"other_weight", compare::mix::other_weight},
          {"interactive",
           {{"threads", c.interactive_threads},
            {"sleep_us", c.interactive_sleep.count()},
            {"chunks_per_wake", c.interactive_chunks}}},
          {"short_jobs",
           {{"jobs", c.short_jobs},
            {"chunks", c.short_job_chunks},
            {"due_after_ms",
             std::chrono::duration_cast<std::chrono::milliseconds>(c.window / 2).count()}}}};
}

// Measures on one processor, then publishes the table and the document.
void run(const settings& s) {
  compare::machine here = compare::describe_machine();
  // Timer slack (default 50 us) would delay every wake of a normal thread's sleep; 1 ns
  // makes the kernel wake it at its deadline. Threads made from here inherit it.
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  int cpu = compare::usable_processors()[0];
  compare::pinned_here pinned(cpu);
  int windows = s.run.repetitions_or(1, 3);
  compare::mix::config c;
  c.window = std::chrono::milliseconds(s.window_ms > 0 ? s.window_ms : s.run.quick ? 150 : 1500);
  c.chunk_iterations = compare::mix::calibrate_chunk(chunk_target);
  std::vector<row> rows = measure_all(c, s, windows);
  compare::json document = compare::start_document(program, here, s.run);
  document["workload"] = workload_json(c, cpu, windows, s);
  compare::json results = compare::json::array();
  for (const row& r : rows) results.push_back(to_json(r));
  document["results"] = results;
  compare::publish(s.run, here, document, [&] { print_table(rows, c, cpu, s); });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "One workload mix (CPU-bound threads of weights 1, 2, 4; interactive threads; a late "
      "burst of short jobs) under each green policy, cooperatively and preempted, and on "
      "clone threads under the kernel's scheduler (nice, SCHED_RR, SCHED_FIFO), pinned to "
      "one processor. Prints CPU shares against entitlement, Jain's index, response "
      "p50/p99, the short jobs' turnaround and switches per second."};
  settings s;
  compare::add_run_flags(app, s.run);
  app.add_option("--window-ms", s.window_ms,
                 "how long the CPU-bound threads compute in one window (default: 150 with "
                 "--quick, 1500 without)")
      ->check(CLI::Range(50, 10000));
  app.add_option("--slice-us", s.slice_us, "the green preemption slice, in processor time")
      ->check(CLI::Range(200, 100000))
      ->capture_default_str();
  app.add_option("--seed", s.seed,
                 "the seed of the random and lottery policies (one window: seed + its index)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  return compare::run_reporting_errors(program, [&] { run(s); });
}
