// examples/compare/skynet.cpp — the skynet benchmark: a tree of a million and more threads,
// on spindle's green threads and on Boost.Fiber, in the same run.
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
// Every run checks the root's sum. Each model runs in a child process of its own, so
// that its peak resident set is its own and one runtime's caches do not serve the other.
// Explained in: docs/12-comparisons.md (Skynet: a million threads).
// Run: build/examples/compare/skynet --help. Read next: docs/12-comparisons.md.
#include <algorithm>
#include <array>
#include <boost/fiber/all.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "proc.hpp"
#include "report.hpp"
#include "spindle/green.hpp"

namespace {

constexpr std::string_view program = "skynet";
constexpr int fan_out = 10;                    // children of every inner thread
constexpr std::size_t stack_size = 16 * 1024;  // every model's stacks: spindle's smallest

// The threads spawned and not yet joined, counted as they come and go. All the threads
// of a tree run on one kernel thread, so a plain counter is enough.
struct live_threads {
  long now = 0;
  long peak = 0;
  void spawned() { peak = std::max(peak, ++now); }
  void joined() { --now; }
};
live_threads census;

// One thread of the tree on spindle: a leaf returns its number; an inner thread spawns
// ten children over the ten tenths of its leaves, then joins them in order and returns
// the sum of what their joins returned.
std::uint64_t green_node(spindle::spawn_options options, std::uint64_t first,
                         std::uint64_t leaves) {
  if (leaves == 1) return first;
  std::uint64_t part = leaves / fan_out;
  std::array<spindle::green::thread<std::uint64_t>, fan_out> children;
  for (int i = 0; i < fan_out; ++i) {
    children[i] = spindle::green::spawn(options, green_node, options, first + i * part, part);
    census.spawned();
  }
  std::uint64_t sum = 0;
  for (auto& child : children) {
    sum += child.join();
    census.joined();
  }
  return sum;
}

// The same thread on Boost.Fiber. A fiber's join returns nothing, so each child writes
// its sum into a slot of its parent's frame, which outlives it: the parent joins it
// before it returns. `stacks` is shared by the whole tree (allocate() is not const).
template <class StackAllocator>
std::uint64_t fiber_node(StackAllocator& stacks, std::uint64_t first, std::uint64_t leaves) {
  if (leaves == 1) return first;
  std::uint64_t part = leaves / fan_out;
  std::array<std::uint64_t, fan_out> sums{};
  std::array<boost::fibers::fiber, fan_out> children;
  for (int i = 0; i < fan_out; ++i) {
    children[i] = boost::fibers::fiber(
        std::allocator_arg, stacks,
        [&stacks, &sums, i, first, part] { sums[i] = fiber_node(stacks, first + i * part, part); });
    census.spawned();
  }
  for (auto& child : children) {
    child.join();
    census.joined();
  }
  return std::accumulate(sums.begin(), sums.end(), std::uint64_t{0});
}

// One whole tree on spindle: the root is a green thread too, which the caller joins.
std::uint64_t green_tree(spindle::stack_kind kind, std::uint64_t leaves) {
  spindle::spawn_options options{.stack_size = stack_size, .stack = kind};
  auto root = spindle::green::spawn(options, green_node, options, std::uint64_t{0}, leaves);
  census.spawned();
  std::uint64_t sum = root.join();
  census.joined();
  return sum;
}

// One whole tree on Boost.Fiber, its stacks from `stacks` (a copy of a pooled allocator
// shares the pool).
template <class StackAllocator>
std::uint64_t fiber_tree(StackAllocator stacks, std::uint64_t leaves) {
  std::uint64_t sum = 0;
  boost::fibers::fiber root(std::allocator_arg, stacks,
                            [&] { sum = fiber_node(stacks, std::uint64_t{0}, leaves); });
  census.spawned();
  root.join();
  census.joined();
  return sum;
}

// The shape of the tree, from --leaves.
struct tree {
  std::uint64_t leaves;        // a power of ten
  int levels;                  // below the root: leaves = 10^levels
  long threads;                // every thread of the tree, the root included
  std::uint64_t expected_sum;  // 0 + 1 + ... + (leaves - 1)
};

tree shape(std::uint64_t leaves) {
  tree t{leaves, 0, 1, leaves * (leaves - 1) / 2};
  for (std::uint64_t width = 1; width < leaves; width *= fan_out) {
    ++t.levels;
    t.threads += static_cast<long>(width * fan_out);
  }
  return t;
}

// One way of running the tree.
struct model {
  std::string name;     // its key in the table and the JSON
  std::string runtime;  // "spindle green" or "Boost.Fiber"
  std::string stack;    // where each thread's stack comes from
  bool guarded;         // a guard page per stack: two mappings per live thread
  std::function<std::uint64_t(std::uint64_t leaves)> tree;  // runs one tree, returns the sum
};

// The five models, in the order of the table: spindle's, then Boost.Fiber's. The
// Boost.Fiber pool grows by 1024 stacks at a time, as spindle's slabs do (by default it
// doubles, and a million threads would leave a pool of two million).
std::vector<model> models() {
  auto green = [](spindle::stack_kind kind) {
    return [kind](std::uint64_t leaves) { return green_tree(kind, leaves); };
  };
  auto fiber = [](auto stacks) {
    return [stacks](std::uint64_t leaves) { return fiber_tree(stacks, leaves); };
  };
  constexpr std::size_t growth = 1024;
  return {
      {"green pooled", "spindle green", "16 KiB from a slab (stack_kind::pooled)", false,
       green(spindle::stack_kind::pooled)},
      {"green guarded", "spindle green", "16 KiB + guard page (stack_kind::guarded)", true,
       green(spindle::stack_kind::guarded)},
      {"Boost.Fiber default", "Boost.Fiber", "16 KiB from malloc (fixedsize_stack)", false,
       fiber(boost::fibers::fixedsize_stack(stack_size))},
      {"Boost.Fiber pooled", "Boost.Fiber", "16 KiB from a boost::pool (pooled_fixedsize_stack)",
       false, fiber(boost::fibers::pooled_fixedsize_stack(stack_size, growth, growth))},
      {"Boost.Fiber protected", "Boost.Fiber", "16 KiB + guard page (protected_fixedsize_stack)",
       true, fiber(boost::fibers::protected_fixedsize_stack(stack_size))},
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

// Runs in the model's child process: one warm-up tree (the first maps what the others
// reuse), then `repetitions` timed trees, each checked. Returns their spread, what the
// kernel counted over them (page faults per thread, the share of processor time spent
// in the kernel), the peak of live threads, and the child's peak resident set.
compare::json measure_in_child(const model& m, const tree& t, int repetitions) {
  long rss_before_kib = compare::status_kib("VmRSS");
  auto one_tree = [&] {
    census = {};
    auto start = std::chrono::steady_clock::now();
    std::uint64_t sum = m.tree(t.leaves);
    double ns = compare::ns_since(start);
    check_sum(m, t, sum);
    return ns;
  };
  one_tree();
  compare::usage before = compare::usage_so_far();
  compare::spread total = compare::repeat(repetitions, one_tree, compare::warm_up::none);
  compare::usage after = compare::usage_so_far();
  double threads = static_cast<double>(t.threads), kernel_ns = after.kernel_ns - before.kernel_ns;
  long peak_rss_kib = compare::status_kib("VmHWM");
  return {
      {"ran", true},
      {"sum", t.expected_sum},
      {"peak_live_threads", census.peak},
      {"total_ns", compare::to_json(total)},
      {"ns_per_thread", compare::to_json(divided(total, threads))},
      {"minor_faults_per_thread",
       static_cast<double>(after.minor_faults - before.minor_faults) / (threads * repetitions)},
      {"kernel_time_share", kernel_ns / (kernel_ns + after.user_ns - before.user_ns)},
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
    compare::json entry = {{"model", m.name}, {"runtime", m.runtime}, {"stack", m.stack}};
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

// The pairs whose medians the run compares: each spindle model with Boost.Fiber's like.
const std::vector<std::pair<std::string, std::string>> compared_pairs = {
    {"green pooled", "Boost.Fiber default"},
    {"green pooled", "Boost.Fiber pooled"},
    {"green guarded", "Boost.Fiber protected"},
};

// The median of the model named `name` in `results`, or 0 if it did not run.
double median_of(const compare::json& results, const std::string& name) {
  for (const auto& r : results) {
    if (r["model"] == name && r["ran"] == true) return r["total_ns"]["median"].get<double>();
  }
  return 0;
}

// green's median over Boost.Fiber's, for each pair where both ran.
compare::json ratios(const compare::json& results) {
  compare::json list = compare::json::array();
  for (const auto& [green, fiber] : compared_pairs) {
    double g = median_of(results, green), f = median_of(results, fiber);
    if (g > 0 && f > 0) list.push_back({{"green", green}, {"fiber", fiber}, {"ratio", g / f}});
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
          compare::format_spread(total_ns),
          compare::format_duration(r["ns_per_thread"]["median"].get<double>()),
          std::to_string(r["peak_live_threads"].get<long>()),
          compare::format_number(r["minor_faults_per_thread"].get<double>(), 2),
          compare::format_number(100 * r["kernel_time_share"].get<double>(), 0) + " %",
          kib(r["peak_rss_kib_per_thread"].get<double>())};
}

// One row per model; a model that did not run says why below the table; then the ratios.
void print_table(const tree& t, const compare::json& results, const compare::json& pairs) {
  std::printf(
      "A tree of %ld threads: %llu leaves, %d levels below the root; every stack 16 KiB.\n\n",
      t.threads, static_cast<unsigned long long>(t.leaves), t.levels);
  compare::table table({"model", "stack", "time per tree, median (p10–p90)", "per thread",
                        "peak live threads", "page faults per thread", "in the kernel",
                        "peak RSS per thread"});
  std::string notes;
  for (const auto& r : results) {
    if (r["ran"] == true) {
      table.add_row(row(r));
    } else {
      table.add_row({r["model"], r["stack"], "not run", "", "", "", "", ""});
      notes += "- " + r["model"].get<std::string>() + ": " + r["note"].get<std::string>() + "\n";
    }
  }
  table.print(stdout);
  if (!notes.empty()) std::printf("\n%s", notes.c_str());
  std::printf("\nGreen over Boost.Fiber, medians of this run (a shared machine is noisy):\n");
  for (const auto& p : pairs) {
    std::printf("- %s / %s: %s\n", p["green"].get<std::string>().c_str(),
                p["fiber"].get<std::string>().c_str(),
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
  return compare::run_reporting_errors(program, [&] { run(shape(count), options); });
}
