// examples/compare/skynet.cpp — the skynet benchmark: a tree of a million and more threads,
// on spindle's green threads and on Boost.Fiber, in the same run, on one kernel thread and
// on two.
//
// Concept: a root thread spawns ten children, each of them ten more, and so on down to
// the leaves (a million of them, six levels below the root, in the classic benchmark;
// a hundred thousand by default here, for time); leaf number i returns i, and every
// inner thread returns the sum of its children's results, so with a million leaves the
// root's result must be 0 + 1 + ... + 999999 = 499999500000. Nearly all the work is
// spawning, switching, joining and freeing threads, with the stacks that come with them.
// The same tree runs on spindle's green threads (spawn, and join's return value) and on
// Boost.Fiber (a fiber, its join, and a slot in the parent for the result), each on one
// kernel thread with its FIFO scheduler, every thread with a 16 KiB stack, from each
// runtime's allocators of each kind: spindle's pooled and guarded stacks, Boost.Fiber's
// default fixedsize_stack (malloc), pooled_fixedsize_stack and protected_fixedsize_stack.
// Then Boost.Fiber's work_stealing scheduler runs it on one and on two kernel threads, its
// threads free to move between them (fiber_stealing.hpp): the peer of an M:N runtime
// (docs/15-many-to-many.md). Its idle kernel threads spin (suspend = false): with suspend
// = true, Boost 1.74 wakes a sleeping one only for a fiber of its own, never for work to
// steal, and one kernel thread ran every leaf of the tree here.
// Every run checks the root's sum, and counts the leaves each kernel thread ran. Each
// model runs in a child process of its own, so that its peak resident set is its own and
// one runtime's caches do not serve the other.
// Explained in: docs/12-comparisons.md (Skynet: a million threads), docs/15-many-to-many.md.
// The tree itself is in skynet_tree.hpp; this file runs and measures it.
// Run: build/examples/compare/skynet --help. Read next: docs/12-comparisons.md.
#include <boost/fiber/all.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "child_process.hpp"
#include "fiber_stealing.hpp"
#include "proc.hpp"
#include "report.hpp"
#include "skynet_tree.hpp"
#include "spindle/green.hpp"
#include "spindle/mn.hpp"

namespace {

constexpr std::string_view program = "skynet";
using skynet::census;
using skynet::fiber_tree;
using skynet::spindle_tree;
using skynet::stack_size;
using skynet::take_leaf_counts;
using skynet::tree;

// Runs `body` on the calling kernel thread as it is: the single-kernel-thread models.
void on_this_kernel_thread(const std::function<void()>& body) { body(); }

// One way of running the tree.
struct model {
  std::string name;     // its key in the table and the JSON
  std::string runtime;  // "spindle green", "spindle mn" or "Boost.Fiber"
  std::string stack;    // where each thread's stack comes from
  bool guarded;         // a guard page per stack: two mappings per live thread
  int kernel_threads;   // the kernel threads the tree's threads run on
  std::function<std::uint64_t(std::uint64_t leaves)> tree;  // runs one tree, returns the sum
  // Runs its argument with the model's scheduler on `kernel_threads` kernel threads.
  std::function<void(const std::function<void()>& body)> scheduling = on_this_kernel_thread;
};

// The models, in the order of the table: spindle green's, then Boost.Fiber's on one kernel
// thread, then Boost.Fiber's work_stealing on one and on two, then spindle mn on one and
// on two worker kernel threads (its tree runs inside an M:N thread). The Boost.Fiber pools grow
// by 1024 stacks at a time, as spindle's slabs do (by default they double, and a million
// threads would leave a pool of two million).
std::vector<model> models() {
  auto green = [](spindle::stack_kind kind) {
    return [kind](std::uint64_t leaves) {
      return spindle_tree<spindle::green::backend>(kind, leaves);
    };
  };
  auto mn = [](std::uint64_t leaves) {
    return spindle_tree<spindle::mn::backend>(spindle::stack_kind::guarded, leaves);
  };
  auto on_mn = [](unsigned workers) {
    return [workers](const std::function<void()>& body) {
      spindle::mn::start(workers);
      spindle::mn::spawn([&body] { body(); }).join();
    };
  };
  auto fiber = [](auto stacks) {
    return [stacks](std::uint64_t leaves) { return fiber_tree(stacks, leaves); };
  };
  auto stealing = [](int kernel_threads) {
    return [kernel_threads](const std::function<void()>& body) {
      compare::on_work_stealing(kernel_threads, false, body);
    };
  };
  constexpr std::size_t growth = 1024;
  const std::string mn_stack = "16 KiB + guard page (an mn thread's are always guarded)";
  const std::string locked_pool =
      "16 KiB from a boost::pool behind a mutex (pooled_fixedsize_stack)";
  return {
      {"green pooled", "spindle green", "16 KiB from a slab (stack_kind::pooled)", false, 1,
       green(spindle::stack_kind::pooled)},
      {"green guarded", "spindle green", "16 KiB + guard page (stack_kind::guarded)", true, 1,
       green(spindle::stack_kind::guarded)},
      {"Boost.Fiber default", "Boost.Fiber", "16 KiB from malloc (fixedsize_stack)", false, 1,
       fiber(boost::fibers::fixedsize_stack(stack_size))},
      {"Boost.Fiber pooled", "Boost.Fiber", "16 KiB from a boost::pool (pooled_fixedsize_stack)",
       false, 1, fiber(boost::fibers::pooled_fixedsize_stack(stack_size, growth, growth))},
      {"Boost.Fiber protected", "Boost.Fiber", "16 KiB + guard page (protected_fixedsize_stack)",
       true, 1, fiber(boost::fibers::protected_fixedsize_stack(stack_size))},
      {"Boost.Fiber work_stealing ×1", "Boost.Fiber", locked_pool, false, 1,
       fiber(compare::locked_pooled_stack(stack_size, growth)), stealing(1)},
      {"Boost.Fiber work_stealing ×2", "Boost.Fiber", locked_pool, false, 2,
       fiber(compare::locked_pooled_stack(stack_size, growth)), stealing(2)},
      {"mn ×1", "spindle mn", mn_stack, true, 1, mn, on_mn(1)},
      {"mn ×2", "spindle mn", mn_stack, true, 2, mn, on_mn(2)},
  };
}

// Throws std::runtime_error, naming the model, unless the root's sum is the tree's.
void check_sum(const model& m, const tree& t, std::uint64_t sum) {
  if (sum == t.expected_sum) return;
  throw std::runtime_error(m.name + ": the root's sum is " + std::to_string(sum) + ", not " +
                           std::to_string(t.expected_sum) + " (0 + 1 + ... + " +
                           std::to_string(t.leaves - 1) + "): the tree lost or doubled a result");
}

// `s` with every duration divided by `count`: a total's spread as a per-thread one.
compare::spread divided(compare::spread s, double count) {
  for (double* value : {&s.median, &s.p10, &s.p90, &s.min, &s.max}) *value /= count;
  return s;
}

// Runs in the model's child process, under the model's scheduler: one warm-up tree (the
// first maps what the others reuse; it also counts the live threads), then `repetitions`
// timed trees, each checked. Returns their spread, what the kernel counted over them (page
// faults per thread, the share of processor time spent in the kernel, the processors kept
// busy), the leaves each kernel thread ran, the peak of live threads, and the child's peak
// resident set.
compare::json measure_in_child(const model& m, const tree& t, int repetitions) {
  long rss_before_kib = compare::status_kib("VmRSS");
  auto one_tree = [&] {
    auto start = std::chrono::steady_clock::now();
    std::uint64_t sum = m.tree(t.leaves);
    double ns = compare::ns_since(start);
    check_sum(m, t, sum);
    return ns;
  };
  compare::spread total;
  compare::usage before, after;
  double wall_ns = 0;
  std::vector<long> leaves_per_kernel_thread;
  m.scheduling([&] {
    census.counting = true;
    one_tree();
    census.counting = false;
    take_leaf_counts();
    before = compare::usage_so_far();
    auto start = std::chrono::steady_clock::now();
    total = compare::repeat(repetitions, one_tree, compare::warm_up::none);
    wall_ns = compare::ns_since(start);
    after = compare::usage_so_far();
    leaves_per_kernel_thread = take_leaf_counts();
  });
  double threads = static_cast<double>(t.threads), kernel_ns = after.kernel_ns - before.kernel_ns;
  double processor_ns = kernel_ns + after.user_ns - before.user_ns;
  long peak_rss_kib = compare::status_kib("VmHWM");
  return {
      {"ran", true},
      {"sum", t.expected_sum},
      {"kernel_threads", m.kernel_threads},
      {"peak_live_threads", census.peak.load()},
      {"total_ns", compare::to_json(total)},
      {"ns_per_thread", compare::to_json(divided(total, threads))},
      {"minor_faults_per_thread",
       static_cast<double>(after.minor_faults - before.minor_faults) / (threads * repetitions)},
      {"kernel_time_share", kernel_ns / processor_ns},
      {"processors_busy", processor_ns / wall_ns},
      {"leaves_per_kernel_thread", leaves_per_kernel_thread},
      {"rss_before_kib", rss_before_kib},
      {"peak_rss_kib", peak_rss_kib},
      {"peak_rss_kib_per_thread", static_cast<double>(peak_rss_kib - rss_before_kib) / threads}};
}

// Why a guarded model cannot run the tree, or "" if it can: the scheduler runs every
// thread of a level before the next level's, so all of the tree's threads are alive at
// once, and each guarded stack is two mappings (chapter 04).
std::string why_not_run(const model& m, const tree& t) {
  long limit = compare::read_number("/proc/sys/vm/max_map_count");
  long needed = 2 * t.threads + compare::mappings_of_this_process();
  if (!m.guarded || needed < limit) return "";
  return "not run: " + std::to_string(t.threads) + " guarded stacks alive at once need " +
         std::to_string(needed) + " mappings, and vm.max_map_count is " + std::to_string(limit);
}

// Runs every model in a child of its own (or says why not), with a progress line each.
compare::json measure_all(const std::vector<model>& all, const tree& t, int repetitions) {
  compare::json results = compare::json::array();
  for (const model& m : all) {
    compare::json entry = {{"model", m.name},
                           {"runtime", m.runtime},
                           {"stack", m.stack},
                           {"kernel_threads", m.kernel_threads}};
    std::string note = why_not_run(m, t);
    if (note.empty()) {
      compare::progress(program, m.name + ": " + std::to_string(repetitions) + " trees of " +
                                     std::to_string(t.threads) + " threads");
      entry.update(compare::run_in_child([&] { return measure_in_child(m, t, repetitions); }));
    } else {
      compare::progress(program, m.name + ": " + note);
      entry.update(compare::json{{"ran", false}, {"note", note}});
    }
    results.push_back(entry);
  }
  return results;
}

// The pairs whose medians the run compares: each spindle model with Boost.Fiber's like,
// and Boost.Fiber's work_stealing on two kernel threads with the same on one.
const std::vector<std::pair<std::string, std::string>> compared_pairs = {
    {"green pooled", "Boost.Fiber default"},
    {"green pooled", "Boost.Fiber pooled"},
    {"green guarded", "Boost.Fiber protected"},
    {"green pooled", "Boost.Fiber work_stealing ×1"},
    {"Boost.Fiber work_stealing ×2", "Boost.Fiber work_stealing ×1"},
    {"mn ×1", "green guarded"},
    {"mn ×2", "mn ×1"},
    {"mn ×2", "Boost.Fiber work_stealing ×2"},
};

// The median of the model named `name` in `results`, or 0 if it did not run.
double median_of(const compare::json& results, const std::string& name) {
  for (const auto& r : results) {
    if (r["model"] == name && r["ran"] == true) return r["total_ns"]["median"].get<double>();
  }
  return 0;
}

// The first model's median over the second's, for each pair where both ran.
compare::json ratios(const compare::json& results) {
  compare::json list = compare::json::array();
  for (const auto& [model, peer] : compared_pairs) {
    double m = median_of(results, model), p = median_of(results, peer);
    if (m > 0 && p > 0) list.push_back({{"model", model}, {"peer", peer}, {"ratio", m / p}});
  }
  return list;
}

// "4.05 KiB", "7.2 MiB", "412 MiB".
std::string kib(double value) {
  if (value >= 1024)
    return compare::format_number(value / 1024, value < 10 * 1024 ? 1 : 0) + " MiB";
  return compare::format_number(value, value < 10 ? 2 : 1) + " KiB";
}

// A model's row of the table; `r` is its entry in the results, and it ran.
std::vector<std::string> row(const compare::json& r) {
  const auto& total = r["total_ns"];
  compare::spread total_ns{total["median"].get<double>(), total["p10"].get<double>(),
                           total["p90"].get<double>()};
  return {r["model"],
          r["stack"],
          std::to_string(r["kernel_threads"].get<int>()),
          compare::format_spread(total_ns),
          compare::format_duration(r["ns_per_thread"]["median"].get<double>()),
          std::to_string(r["peak_live_threads"].get<long>()),
          compare::format_number(r["minor_faults_per_thread"].get<double>(), 2),
          compare::format_number(100 * r["kernel_time_share"].get<double>(), 0) + " %",
          compare::format_number(r["processors_busy"].get<double>(), 2),
          kib(r["peak_rss_kib_per_thread"].get<double>())};
}

// One row per model; a model that did not run says why below the table; then the ratios.
void print_table(const tree& t, const compare::json& results, const compare::json& pairs) {
  std::printf(
      "A tree of %ld threads: %llu leaves, %d levels below the root; every stack 16 KiB.\n\n",
      t.threads, static_cast<unsigned long long>(t.leaves), t.levels);
  compare::table table({"model", "stack", "kernel threads", "time per tree, median (p10–p90)",
                        "per thread", "peak live threads", "page faults per thread",
                        "in the kernel", "processors busy", "peak RSS per thread"});
  std::string notes;
  for (const auto& r : results) {
    if (r["ran"] == true) {
      table.add_row(row(r));
    } else {
      table.add_row({r["model"], r["stack"], std::to_string(r["kernel_threads"].get<int>()),
                     "not run", "", "", "", "", "", ""});
      notes += "- " + r["model"].get<std::string>() + ": " + r["note"].get<std::string>() + "\n";
    }
  }
  table.print(stdout);
  for (const auto& r : results) {
    if (r["ran"] != true || r["kernel_threads"].get<int>() < 2) continue;
    std::string counts;
    for (const auto& count : r["leaves_per_kernel_thread"]) {
      counts += (counts.empty() ? "" : ", ") + std::to_string(count.get<long>());
    }
    notes += "- " + r["model"].get<std::string>() + ": the timed trees' leaves ran " + counts +
             " on each kernel thread that ran any\n";
  }
  if (!notes.empty()) std::printf("\n%s", notes.c_str());
  std::printf("\nOne model's median over another's, this run (a shared machine is noisy):\n");
  for (const auto& p : pairs) {
    std::printf("- %s / %s: %s\n", p["model"].get<std::string>().c_str(),
                p["peer"].get<std::string>().c_str(),
                compare::format_number(p["ratio"].get<double>(), 2).c_str());
  }
}

// Refuses a tree the machine's memory cannot hold: all its threads are alive at once,
// and the hungriest model keeps about three pages of each; 1 GiB to spare.
void check_memory(const tree& t) {
  long available_mib = compare::meminfo_kib("MemAvailable") / 1024;
  long needed_mib = t.threads * 12 / 1024 + 1024;
  if (available_mib < needed_mib) {
    throw std::runtime_error("a tree of " + std::to_string(t.threads) + " threads needs about " +
                             std::to_string(needed_mib) + " MiB, and MemAvailable is " +
                             std::to_string(available_mib) + " MiB: use a smaller --leaves");
  }
}

// Checks the memory, measures every model, then publishes the table and the document.
void run(const tree& t, const compare::run_options& options) {
  check_memory(t);
  compare::machine here = compare::describe_machine();
  compare::json results = measure_all(models(), t, options.repetitions_or(5, 5));
  compare::json pairs = ratios(results);
  compare::json document = compare::start_document(program, here, options);
  document["tree"] = {{"leaves", t.leaves},
                      {"levels", t.levels},
                      {"threads", t.threads},
                      {"expected_sum", t.expected_sum},
                      {"stack_kib", stack_size / 1024}};
  document["results"] = results;
  document["ratios"] = pairs;
  compare::publish(options, here, document, [&] { print_table(t, results, pairs); });
}

// A CLI11 check of --leaves: "" for a power of ten from 10 to 10^6, else what is wrong.
std::string power_of_ten(std::string& text) {
  bool one_then_zeros =
      text.size() >= 2 && text[0] == '1' && text.find_first_not_of('0', 1) == std::string::npos;
  if (one_then_zeros && text.size() <= 7) return "";
  return text + " is not a power of ten from 10 to 1000000";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Skynet: a root thread spawns 10 children, each 10 more, down to the leaves (a million "
      "in the classic benchmark); "
      "each returns the sum of its leaves' numbers. On spindle's green threads and on "
      "Boost.Fiber, with each one's kinds of stack; every run checks the sum."};
  compare::run_options options;
  compare::add_run_flags(app, options);
  std::string leaves;
  app.add_option("--leaves", leaves,
                 "leaves of the tree, a power of ten up to 1000000, the classic skynet, which "
                 "takes minutes and about 12 GiB (default 100000, 10000 with --quick)")
      ->check(CLI::Validator(power_of_ten, "POWER_OF_TEN"));
  CLI11_PARSE(app, argc, argv);
  std::uint64_t count = !leaves.empty() ? std::stoull(leaves) : options.quick ? 10000 : 100000;
  return compare::run_reporting_errors(program, [&] { run(skynet::shape(count), options); });
}
