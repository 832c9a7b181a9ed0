// benchmarks/main.cpp — spindle-bench: runs the benchmarks, then sets spindle beside its
// peers and its targets, using only numbers measured in this one run.
//
// Google Benchmark runs and prints everything as usual (every --benchmark_* flag works,
// --benchmark_format=json included); a reporter in between keeps a copy of each result.
// Afterwards the summary prints each ratio and target, and by how much a target is
// missed. Times are processor time (the CPU column): every subject runs on the one
// benchmark thread, and on a shared machine wall time also counts the moments other
// processes held the processor. It goes to stdout under the console format, to stderr under
// --benchmark_format=json, so that the JSON on stdout stays parseable (the deprecated
// csv format is shown as console). Where repetitions were asked for, it uses medians.
// Explained in: benchmarks/README.md and docs/08-performance.md.
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

// The result of one benchmark (and argument): its median if repeated, else its only run;
// its time is processor nanoseconds per iteration.
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

void compare(std::FILE* out, const results& r, const char* measure, const char* peer,
             std::optional<double> target_ratio) {
  std::string ours = std::string(measure) + "/spindle_green";
  std::string theirs = std::string(measure) + "/" + peer;
  auto a = r.ns(ours);
  auto b = r.ns(theirs);
  if (!a || !b) return;
  double ratio = *a / *b;
  std::fprintf(out, "  %-11s spindle_green %8.1f ns = %5.2fx %s (%.1f ns)", measure, *a, ratio,
               peer, *b);
  if (target_ratio) {
    std::fprintf(out, "   target <= %.2fx: %s", *target_ratio,
                 verdict(ratio, *target_ratio).c_str());
  }
  std::fprintf(out, "\n");
}

void spawn_join_target(std::FILE* out, const results& r) {
  constexpr double target_ns = 100;
  auto a = r.ns("spawn_join/spindle_green");
  if (!a) return;
  std::fprintf(out, "  %-11s spindle_green %8.1f ns                                 "
               "target <= %.0f ns: %s\n", "spawn_join", *a, target_ns,
               verdict(*a, target_ns).c_str());
}

// The thread counts parked/spindle_green ran with, smallest first.
std::vector<std::string> parked_counts(const std::vector<run>& runs) {
  std::vector<std::string> counts;
  for (const run& each : runs) {
    if (each.run_name.function_name != "parked/spindle_green") continue;
    if (std::find(counts.begin(), counts.end(), each.run_name.args) == counts.end()) {
      counts.push_back(each.run_name.args);
    }
  }
  std::sort(counts.begin(), counts.end(), [](const std::string& a, const std::string& b) {
    return std::stoull(a) < std::stoull(b);
  });
  return counts;
}

void parked_targets(std::FILE* out, const std::vector<run>& runs, const results& r) {
  constexpr double target_kib = 6;
  const std::string target_count = "1000000";
  for (const std::string& count : parked_counts(runs)) {
    const run* p = r.find("parked/spindle_green", count);
    std::fprintf(out, "  %-11s %7s threads: ", "parked", count.c_str());
    if (p->error_occurred) {
      std::string first_clause = p->error_message.substr(0, p->error_message.find(':'));
      std::fprintf(out, "not measured: %s (the error is printed above)\n", first_clause.c_str());
      continue;
    }
    double kib = p->counters.at("KiB_per_thread");
    std::fprintf(out, "%5.2f KiB resident and %6.0f ns to spawn, per thread", kib,
                 static_cast<double>(p->counters.at("spawn_ns_per_thread")));
    if (count == target_count) {
      std::fprintf(out, "   target <= %.0f KiB: %s", target_kib, verdict(kib, target_kib).c_str());
    }
    std::fprintf(out, "\n");
  }
  const run* million = r.find("parked/spindle_green", target_count);
  if (million && million->error_occurred) {
    std::fprintf(out, "  %-11s target <= %.0f KiB per thread at 1M threads: NOT MEASURED\n",
                 "parked", target_kib);
  }
}

void print_summary(std::FILE* out, const std::vector<run>& runs) {
  results r(runs);
  std::fprintf(out, "\nspindle beside its peers and targets, all measured in this run:\n");
  compare(out, r, "switch", "boost_context", 1.5);
  compare(out, r, "switch", "boost_fiber", std::nullopt);
  spawn_join_target(out, r);
  compare(out, r, "spawn_join", "boost_fiber", std::nullopt);
  parked_targets(out, runs, r);
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
