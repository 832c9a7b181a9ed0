// benchmarks/main.cpp — spindle-bench: runs the benchmarks, then sets spindle beside its
// peers and its targets, using only numbers measured in this one run.
//
// Google Benchmark runs and prints everything as usual (every --benchmark_* flag works,
// --benchmark_format=json included); a reporter in between keeps a copy of each result.
// Afterwards the summary prints each ratio and target, and by how much a target is
// missed. Times are processor time (the CPU column): on a shared machine wall time also
// counts the moments other processes held the processor. Green threads and fibers run on
// the one benchmark thread, whose processor time is theirs; the benchmarks with kernel
// threads count the whole process's, and their wall time is printed beside it. It goes to stdout
// under the console format, to stderr under
// --benchmark_format=json, so that the JSON on stdout stays parseable (the deprecated
// csv format is shown as console). Where repetitions were asked for, it uses medians.
// Explained in: benchmarks/README.md and docs/11-performance.md.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using run = benchmark::BenchmarkReporter::Run;

// Shows every result through the reporter the user chose, and keeps a copy.
class keeping_reporter final : public benchmark::BenchmarkReporter {
 public:
  explicit keeping_reporter(benchmark::BenchmarkReporter& shown) : shown_(shown) {}
  bool ReportContext(const Context& context) override { return shown_.ReportContext(context); }
  void ReportRuns(const std::vector<run>& runs) override {
    shown_.ReportRuns(runs);
    kept_.insert(kept_.end(), runs.begin(), runs.end());
  }
  void Finalize() override { shown_.Finalize(); }
  const std::vector<run>& kept() const { return kept_; }

 private:
  benchmark::BenchmarkReporter& shown_;
  std::vector<run> kept_;
};

std::string format_asked(int argc, char** argv) {
  constexpr std::string_view flag = "--benchmark_format=";
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.substr(0, flag.size()) == flag) return std::string(arg.substr(flag.size()));
  }
  return "console";
}

std::unique_ptr<benchmark::BenchmarkReporter> make_reporter(const std::string& format) {
  if (format == "json") return std::make_unique<benchmark::JSONReporter>();
  return std::make_unique<benchmark::ConsoleReporter>(
      isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_ColorTabular
                            : benchmark::ConsoleReporter::OO_Tabular);
}

// The result of one benchmark (and argument): its median if repeated, else its only run.
// ns() is processor nanoseconds per iteration: the benchmark thread's, or the whole
// process's for the benchmarks that ask for it (those with kernel threads), whose
// wall_ns() is also shown.
class results {
 public:
  explicit results(const std::vector<run>& runs) : runs_(runs) {}

  const run* find(std::string_view name, std::string_view arg = "") const {
    const run* single = nullptr;
    for (const run& r : runs_) {
      if (r.run_name.function_name != name || r.run_name.args != arg) continue;
      if (r.run_type == run::RT_Aggregate && r.aggregate_name == "median") return &r;
      if (r.run_type == run::RT_Iteration && !single) single = &r;
    }
    return single;
  }

  std::optional<double> ns(std::string_view name) const {
    const run* r = find(name);
    if (!r || r->error_occurred) return std::nullopt;
    return r->GetAdjustedCPUTime() / benchmark::GetTimeUnitMultiplier(r->time_unit) * 1e9;
  }

  std::optional<double> wall_ns(std::string_view name) const {
    const run* r = find(name);
    if (!r || r->error_occurred) return std::nullopt;
    return r->GetAdjustedRealTime() / benchmark::GetTimeUnitMultiplier(r->time_unit) * 1e9;
  }

 private:
  const std::vector<run>& runs_;
};

// "met", or "MISSED by 54%", for a value that must stay at or below its target.
std::string verdict(double value, double target) {
  if (value <= target) return "met";
  char missed[32];
  std::snprintf(missed, sizeof missed, "MISSED by %.1f%%", (value / target - 1) * 100);
  return missed;
}

// One line of the summary: spindle's subject beside a peer, as measure[/variant].
struct comparison {
  const char* measure;
  const char* variant;  // "" for none
  const char* ours;
  const char* peer;
  std::optional<double> target_ratio;
  bool wall_too;  // kernel threads: also the ratio of wall times
};

std::string full_name(const comparison& c, const char* subject) {
  std::string name = std::string(c.measure) + "/" + subject;
  return *c.variant ? name + "/" + c.variant : name;
}

void compare(std::FILE* out, const results& r, const comparison& c) {
  std::string ours = full_name(c, c.ours), theirs = full_name(c, c.peer);
  auto a = r.ns(ours);
  auto b = r.ns(theirs);
  if (!a || !b) return;
  std::string label = *c.variant ? std::string(c.measure) + "/" + c.variant : c.measure;
  double ratio = *a / *b;
  std::fprintf(out, "  %-19s %-13s %9.1f ns = %5.2fx %s (%.1f ns)", label.c_str(), c.ours, *a,
               ratio, c.peer, *b);
  if (c.target_ratio) {
    std::fprintf(out, "   target <= %.2fx: %s", *c.target_ratio,
                 verdict(ratio, *c.target_ratio).c_str());
  }
  if (c.wall_too) {
    auto wall_a = r.wall_ns(ours), wall_b = r.wall_ns(theirs);
    std::fprintf(out, "   (wall: %.1f ns = %.2fx %.1f ns)", *wall_a, *wall_a / *wall_b, *wall_b);
  }
  std::fprintf(out, "\n");
}

// Issue 10's target for an empty thread on a pooled stack; a guarded stack is shown
// beside it, with what its guard page costs (mapping and protecting it, when the cache
// misses, and the per-kind bookkeeping).
void spawn_join_target(std::FILE* out, const results& r) {
  constexpr double target_ns = 40;
  auto pooled = r.ns("spawn_join/spindle_green_pooled");
  auto guarded = r.ns("spawn_join/spindle_green");
  if (pooled) {
    std::fprintf(out, "  %-19s %-13s %9.1f ns %*s target <= %.0f ns: %s\n", "spawn_join",
                 "green_pooled", *pooled, 30, "", target_ns, verdict(*pooled, target_ns).c_str());
  }
  if (guarded && pooled) {
    std::fprintf(out,
                 "  %-19s %-13s %9.1f ns = %5.2fx green_pooled (the guarded stack's cost: "
                 "%+.1f ns)\n",
                 "spawn_join", "green_guarded", *guarded, *guarded / *pooled, *guarded - *pooled);
  }
}

// Each blocking hand-over beside a hand-over by yield (switch/spindle_green).
void handoff_targets(std::FILE* out, const results& r) {
  constexpr double target_ratio = 2.0;
  auto yield = r.ns("switch/spindle_green");
  if (!yield) return;
  for (const char* subject : {"mutex", "notify", "channel"}) {
    auto a = r.ns(std::string("handoff/spindle_green_") + subject);
    if (!a) continue;
    std::fprintf(out, "  %-19s %-13s %9.1f ns = %5.2fx a yield (%.1f ns)   target <= %.2fx: %s\n",
                 "handoff", subject, *a, *a / *yield, *yield, target_ratio,
                 verdict(*a / *yield, target_ratio).c_str());
  }
}

// The thread counts a parked benchmark ran with, smallest first.
std::vector<std::string> parked_counts(const std::vector<run>& runs, std::string_view name) {
  std::vector<std::string> counts;
  for (const run& each : runs) {
    if (each.run_name.function_name != name) continue;
    if (std::find(counts.begin(), counts.end(), each.run_name.args) == counts.end()) {
      counts.push_back(each.run_name.args);
    }
  }
  std::sort(counts.begin(), counts.end(), [](const std::string& a, const std::string& b) {
    return std::stoull(a) < std::stoull(b);
  });
  return counts;
}

// One line per thread count of one parked benchmark; the target applies to
// `target_name` at one million threads.
void parked_lines(std::FILE* out, const std::vector<run>& runs, const results& r, const char* name,
                  const char* label) {
  constexpr double target_kib = 6;
  constexpr std::string_view target_name = "parked/spindle_green/pooled";
  const std::string target_count = "1000000";
  for (const std::string& count : parked_counts(runs, name)) {
    const run* p = r.find(name, count);
    std::fprintf(out, "  %-19s %-13s %7s threads: ", "parked", label, count.c_str());
    if (p->error_occurred) {
      std::string first_clause = p->error_message.substr(0, p->error_message.find(':'));
      std::fprintf(out, "not measured: %s (the error is printed above)\n", first_clause.c_str());
      continue;
    }
    double kib = p->counters.at("KiB_per_thread");
    std::fprintf(out, "%6.2f KiB resident", kib);
    if (auto kernel = p->counters.find("kernel_stack_KiB_per_thread");
        kernel != p->counters.end()) {
      std::fprintf(out, " (+%.1f KiB kernel stack)", static_cast<double>(kernel->second));
    }
    std::fprintf(out, " and %6.0f ns to spawn, per thread",
                 static_cast<double>(p->counters.at("spawn_ns_per_thread")));
    if (name == target_name && count == target_count) {
      std::fprintf(out, "   target <= %.0f KiB: %s", target_kib, verdict(kib, target_kib).c_str());
    }
    std::fprintf(out, "\n");
  }
  if (name != target_name) return;
  const run* million = r.find(name, target_count);
  if (million && million->error_occurred) {
    std::fprintf(out, "  %-19s target <= %.0f KiB per thread at 1M green threads: NOT MEASURED\n",
                 "parked", target_kib);
  }
}

void print_summary(std::FILE* out, const std::vector<run>& runs) {
  results r(runs);
  std::fprintf(out,
               "\nspindle beside its peers and targets, all measured in this run "
               "(processor time; of the whole process for kernel threads):\n");
  compare(out, r, {"switch", "", "spindle_green", "boost_context", 1.2, false});
  compare(out, r, {"switch", "", "spindle_green", "boost_fiber", std::nullopt, false});
  // The clone hand-over twice: beside the same token built from pthread's mutex and
  // condition variable (like for like), and beside the bare futex word (the floor).
  compare(out, r, {"switch", "one_cpu", "spindle_clone", "pthread_condvar", 1.0, true});
  compare(out, r, {"switch", "one_cpu", "spindle_clone", "pthread_futex", 1.0, true});
  compare(out, r, {"switch", "two_cpus", "spindle_clone", "pthread_condvar", 1.0, true});
  compare(out, r, {"switch", "two_cpus", "spindle_clone", "pthread_futex", 1.0, true});
  handoff_targets(out, r);
  spawn_join_target(out, r);
  compare(out, r, {"spawn_join", "", "spindle_green", "boost_fiber", std::nullopt, false});
  compare(out, r, {"spawn_join", "", "spindle_clone", "pthread", 1.0, true});
  parked_lines(out, runs, r, "parked/spindle_green/guarded", "green guarded");
  parked_lines(out, runs, r, "parked/spindle_green/pooled", "green pooled");
  parked_lines(out, runs, r, "parked/spindle_clone", "clone");
}

}  // namespace

int main(int argc, char** argv) {
  std::string format = format_asked(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::unique_ptr<benchmark::BenchmarkReporter> shown = make_reporter(format);
  keeping_reporter keeper(*shown);
  benchmark::RunSpecifiedBenchmarks(&keeper);
  benchmark::Shutdown();
  std::cout.flush();
  print_summary(format == "console" ? stdout : stderr, keeper.kept());
  return 0;
}
