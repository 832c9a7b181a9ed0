// examples/compare/scale.cpp — how many threads fit in one process, and the memory each
// costs while it waits: green threads with guarded and with pooled stacks, clone threads.
//
// Concept: a parked thread costs what it has touched: the top page or two of its stack
// (its frames and record), plus what the kernel keeps for it and the resident set does
// not show: page tables, mapping records, and for a clone thread a kernel stack and the
// kernel's record of a kernel thread. Each model spawns threads that park on a latch,
// samples the process's resident set (VmRSS) and page tables (VmPTE) and the machine's
// kernel stacks at a few counts, and stops at a cap or when spawn throws, printing the
// message that names the limit: vm.max_map_count for guarded green stacks (two mappings
// each), memory for pooled ones, and for clone threads the limits on kernel threads
// (RLIMIT_NPROC, kernel.threads-max, kernel.pid_max), the mappings or the memory. Clone
// threads are capped well below the machine's limits on kernel threads, which every
// process shares; a second clone run meets a limit safely, as a user whose RLIMIT_NPROC
// allows a few hundred. Each model runs in a child process of its own, so that one's
// stacks and caches do not count in another's memory, and nothing it does can take the
// others down.
// Explained in: docs/12-comparisons.md (how many threads fit).
// Run: build/examples/compare/scale --help. Read next: docs/12-comparisons.md.
#include <grp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <exception>
#include <functional>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "child_process.hpp"
#include "proc.hpp"
#include "report.hpp"
#include "spawning.hpp"
#include "spindle/clone.hpp"
#include "spindle/green.hpp"

namespace {

constexpr std::string_view program = "scale";

// What the process and the machine hold before the first parked thread.
struct baseline {
  long rss_kib;           // VmRSS
  long page_tables_kib;   // VmPTE
  long kernel_stack_kib;  // KernelStack in /proc/meminfo: every process on the machine
};

// Reads the baseline's three numbers now.
baseline read_baseline() {
  return {compare::status_kib("VmRSS"), compare::status_kib("VmPTE"),
          compare::meminfo_kib("KernelStack")};
}

// The memory that `threads` parked threads added to `before`, in total and per thread.
compare::json sample(long threads, const baseline& before) {
  baseline now = read_baseline();
  auto per_thread = [threads](long kib) { return static_cast<double>(kib) / threads; };
  return {
      {"threads", threads},
      {"rss_kib", now.rss_kib},
      {"rss_kib_per_thread", per_thread(now.rss_kib - before.rss_kib)},
      {"page_tables_kib_per_thread", per_thread(now.page_tables_kib - before.page_tables_kib)},
      {"kernel_stack_kib_per_thread", per_thread(now.kernel_stack_kib - before.kernel_stack_kib)}};
}

// Returns once `count` spawned threads have reached their park (each counts itself in
// `arrived` first). The caller yields meanwhile: for green threads, that is what lets
// them run at all.
template <spindle::backend B>
void wait_for_arrivals(const std::atomic<long>& arrived, long count) {
  while (arrived.load() < count) B::this_thread::yield();
}

// How a fill ended: at its cap, or at a limit that spawn's exception names.
struct fill_end {
  std::string stopped_by = "cap";
  std::string message;
};

// Spawns threads of B with `options`, each running `park`, into `threads` until `cap`
// are alive or spawn throws std::system_error (or std::bad_alloc); when the count
// reaches one of `sample_at`, waits until all have parked and samples the memory.
template <spindle::backend B, class F>
fill_end spawn_until_stopped(const spindle::spawn_options& options, const F& park, long cap,
                             std::vector<typename B::template thread<void>>& threads,
                             const std::atomic<long>& arrived, const std::vector<long>& sample_at,
                             const baseline& before, compare::json& samples) {
  try {
    for (std::size_t next = 0; static_cast<long>(threads.size()) < cap;) {
      threads.push_back(B::spawn(options, park));
      long alive = static_cast<long>(threads.size());
      if (next < sample_at.size() && alive == sample_at[next]) {
        wait_for_arrivals<B>(arrived, alive);
        samples.push_back(sample(alive, before));
        ++next;
      }
    }
  } catch (const std::system_error& e) {
    return {"limit", e.what()};
  } catch (const std::bad_alloc&) {
    return {"limit", "operator new failed: std::bad_alloc"};
  }
  return {};
}

// Written once over the backend concept: fills the process with threads of B that park
// on one latch (spawn_until_stopped), samples the memory once more with all of them
// parked, then opens the latch and joins every thread.
template <spindle::backend B>
compare::json fill_with_parked_threads(const spindle::spawn_options& options, long cap,
                                       const std::vector<long>& sample_at) {
  typename B::latch gate(1);
  std::atomic<long> arrived{0};
  std::vector<typename B::template thread<void>> threads;
  threads.reserve(static_cast<std::size_t>(cap));
  auto park = [&arrived, &gate] {
    arrived.fetch_add(1);
    gate.wait();
  };
  compare::spawn_and_join<B>();  // the backend's one-time setup is not a thread's cost
  baseline before = read_baseline();
  compare::json samples = compare::json::array();
  fill_end end =
      spawn_until_stopped<B>(options, park, cap, threads, arrived, sample_at, before, samples);
  long alive = static_cast<long>(threads.size());
  wait_for_arrivals<B>(arrived, alive);
  if (alive > 0 && (samples.empty() || samples.back()["threads"] != alive)) {
    samples.push_back(sample(alive, before));
  }
  gate.count_down();
  for (auto& t : threads) t.join();
  return {{"stopped_by", end.stopped_by},
          {"message", end.message},
          {"threads_alive", alive},
          {"samples", samples}};
}

// The limits on threads that the machine and the process have now.
struct limits {
  long max_map_count;   // vm.max_map_count: mappings per process
  long threads_max;     // kernel.threads-max: kernel threads on the machine
  long pid_max;         // kernel.pid_max: ids, one per kernel thread, on the machine
  long kernel_threads;  // kernel threads on the machine now, in every process
  std::string nproc;    // RLIMIT_NPROC: kernel threads per user
};

// Reads the limits from /proc/sys and getrlimit.
limits read_limits() {
  limits l{compare::read_number("/proc/sys/vm/max_map_count"),
           compare::read_number("/proc/sys/kernel/threads-max"),
           compare::read_number("/proc/sys/kernel/pid_max"), compare::kernel_threads_on_machine(),
           ""};
  rlimit nproc{};
  getrlimit(RLIMIT_NPROC, &nproc);
  l.nproc = nproc.rlim_cur == RLIM_INFINITY ? "unlimited" : std::to_string(nproc.rlim_cur);
  if (geteuid() == 0) l.nproc += " (not enforced for root)";
  return l;
}

// The clone cap, lowered if need be so that the run takes at most half of the kernel threads the
// machine has left: every process on the machine shares them. `note` says why.
long safe_clone_cap(long wanted, const limits& l, std::string& note) {
  long free_slots = std::min(l.pid_max, l.threads_max) - l.kernel_threads;
  if (wanted <= free_slots / 2) return wanted;
  note = "the clone cap was lowered from " + std::to_string(wanted) + " to " +
         std::to_string(free_slots / 2) + ": the machine has only " + std::to_string(free_slots) +
         " free slots for kernel threads, shared by every process";
  return std::max(free_slots / 2, 0L);
}

// What a clone run that stopped at its cap would have met next.
std::string clone_limits_ahead(const limits& l) {
  return "kernel.pid_max (" + std::to_string(l.pid_max) + ") and kernel.threads-max (" +
         std::to_string(l.threads_max) + ") with " + std::to_string(l.kernel_threads) +
         " kernel threads already on the machine; RLIMIT_NPROC " + l.nproc +
         "; vm.max_map_count (" + std::to_string(l.max_map_count) +
         ", two mappings per clone thread)";
}

// How the run is set up, from the flags.
struct plan {
  long max_threads;             // the cap for green threads
  long max_clone_threads;       // the cap for clone threads, after safe_clone_cap
  long clone_nproc;             // kernel threads the second clone run may add
  std::vector<long> sample_at;  // the counts at which memory is sampled
};

// Sets RLIMIT_NPROC so that this process meets it after `threads` more kernel threads. RLIMIT_NPROC
// does not bind root, so a root process first becomes the user nobody, whose kernel threads the
// limit then counts. Throws std::system_error if a step is refused.
void limit_kernel_threads(long threads) {
  if (geteuid() == 0) {
    constexpr unsigned nobody = 65534;
    if (setgroups(0, nullptr) != 0 || setgid(nobody) != 0 || setuid(nobody) != 0) {
      compare::throw_errno("becoming the user nobody");
    }
    prctl(PR_SET_DUMPABLE, 1);  // setuid made /proc/self root's; make it this process's again
  }
  auto limit = static_cast<rlim_t>(compare::kernel_threads_of_user(getuid()) + threads);
  rlimit most{limit, limit};
  if (setrlimit(RLIMIT_NPROC, &most) != 0) compare::throw_errno("setrlimit(RLIMIT_NPROC)");
}

// One kind of thread to fill a child process with.
struct model {
  std::string name;
  std::string stack;  // the stack each thread gets
  long cap;
  std::function<compare::json()> fill;  // runs in the child
};

// The four models, in the order of the table.
std::vector<model> models(const plan& p) {
  constexpr std::size_t green_stack = 16 * 1024, clone_stack = 256 * 1024;
  spindle::spawn_options guarded{.stack_size = green_stack, .stack = spindle::stack_kind::guarded};
  spindle::spawn_options pooled{.stack_size = green_stack, .stack = spindle::stack_kind::pooled};
  spindle::spawn_options clone{.stack_size = clone_stack};
  using green_backend = spindle::green::backend;
  using clone_backend = spindle::clone::backend;
  return {
      {"green guarded", "16 KiB + guard page", p.max_threads,
       [=] {
         return fill_with_parked_threads<green_backend>(guarded, p.max_threads, p.sample_at);
       }},
      {"green pooled", "16 KiB from a slab", p.max_threads,
       [=] { return fill_with_parked_threads<green_backend>(pooled, p.max_threads, p.sample_at); }},
      {"clone", "256 KiB + guard page", p.max_clone_threads,
       [=] {
         return fill_with_parked_threads<clone_backend>(clone, p.max_clone_threads, p.sample_at);
       }},
      {"clone under RLIMIT_NPROC", "256 KiB + guard page", p.max_clone_threads,
       [=] {
         limit_kernel_threads(p.clone_nproc);
         return fill_with_parked_threads<clone_backend>(clone, p.max_clone_threads, p.sample_at);
       }},
  };
}

// 100, 1000, 2000, 5000, 10 000, ... up to `cap`.
std::vector<long> sample_counts(long cap) {
  std::vector<long> counts;
  for (long decade = 100; decade <= cap; decade *= 10) {
    for (long multiple : {1, 2, 5}) {
      if (decade * multiple <= cap && (decade > 100 || multiple == 1)) {
        counts.push_back(decade * multiple);
      }
    }
  }
  return counts;
}

// "4.05 KiB", "16.0 KiB".
std::string kib(double value) { return compare::format_number(value, value < 10 ? 2 : 1) + " KiB"; }

// One row per sample of every model, then where each model stopped and why.
void print_table(const std::vector<model>& all, const compare::json& results) {
  compare::table t({"model", "stack", "threads", "RSS", "RSS per thread", "page tables per thread",
                    "kernel stacks per thread (machine-wide)"});
  for (std::size_t i = 0; i < all.size(); ++i) {
    for (const auto& s : results[i]["samples"]) {
      t.add_row({all[i].name, all[i].stack, std::to_string(s["threads"].get<long>()),
                 std::to_string(s["rss_kib"].get<long>() / 1024) + " MiB",
                 kib(s["rss_kib_per_thread"].get<double>()),
                 kib(s["page_tables_kib_per_thread"].get<double>()),
                 kib(s["kernel_stack_kib_per_thread"].get<double>())});
    }
  }
  t.print(stdout);
  std::printf("\nWhere each model stopped:\n");
  for (std::size_t i = 0; i < all.size(); ++i) {
    const compare::json& r = results[i];
    std::printf("- %s: %ld threads alive; %s: %s\n", all[i].name.c_str(),
                r["threads_alive"].get<long>(),
                r["stopped_by"] == "cap"     ? "stopped at the cap"
                : r["stopped_by"] == "limit" ? "spawn failed"
                                             : "the measurement failed",
                r["message"].get<std::string>().c_str());
  }
}

// The limits in the JSON document, by their sysctl and rlimit names.
compare::json limits_json(const limits& l) {
  return {{"vm.max_map_count", l.max_map_count},
          {"kernel.threads-max", l.threads_max},
          {"kernel.pid_max", l.pid_max},
          {"kernel_threads_on_machine", l.kernel_threads},
          {"RLIMIT_NPROC", l.nproc}};
}

// Runs every model in its own child; a run that stopped at its cap says what was ahead.
compare::json measure_all(const std::vector<model>& all, const limits& l) {
  compare::json results = compare::json::array();
  for (const model& m : all) {
    compare::progress(program, m.name + ": parking up to " + std::to_string(m.cap) +
                                   " threads in a child process");
    compare::json r;
    try {
      r = compare::run_in_child(m.fill);
    } catch (const std::runtime_error& e) {
      r = {{"stopped_by", "error"},
           {"message", e.what()},
           {"threads_alive", 0},
           {"samples", compare::json::array()}};
    }
    if (r["stopped_by"] == "cap") {
      r["message"] = "the cap of " + std::to_string(m.cap) + " threads" +
                     (m.name.starts_with("clone") ? "; the limits ahead: " + clone_limits_ahead(l)
                                                  : std::string());
    }
    compare::json entry = {{"model", m.name}, {"stack", m.stack}, {"cap", m.cap}};
    entry.update(r);
    results.push_back(entry);
  }
  return results;
}

// Refuses a green cap the machine's memory cannot hold: two pages per parked thread (it
// keeps about one), and 1 GiB to spare.
void check_memory(long max_threads) {
  long available_mib = compare::meminfo_kib("MemAvailable") / 1024;
  long needed_mib = max_threads * 8 / 1024 + 1024;
  if (available_mib < needed_mib) {
    throw std::runtime_error(std::to_string(max_threads) + " parked threads need about " +
                             std::to_string(needed_mib) + " MiB, and MemAvailable is " +
                             std::to_string(available_mib) + " MiB: use a smaller --max-threads");
  }
}

// Checks the memory, runs every model, then prints the table or the document.
void run(plan p, const compare::run_options& options) {
  check_memory(p.max_threads);
  compare::machine here = compare::describe_machine();
  limits l = read_limits();
  std::string note;
  p.max_clone_threads = safe_clone_cap(p.max_clone_threads, l, note);
  if (!note.empty()) compare::progress(program, note);
  std::vector<model> all = models(p);
  compare::json results = measure_all(all, l);
  compare::json document = compare::start_document(program, here, options);
  document["limits"] = limits_json(l);
  document["results"] = results;
  compare::publish(options, here, document, [&] { print_table(all, results); });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "How many threads fit, and the memory each costs while parked: green threads with "
      "guarded and pooled stacks, clone threads; where each stops, and which limit stops it."};
  compare::run_options options;
  compare::add_run_flags(app, options);
  long max_threads = 0, max_clone_threads = 0, clone_nproc = 500;
  app.add_option("--max-threads", max_threads,
                 "cap on green threads (default 100000, 40000 with --quick)")
      ->check(CLI::Range(100L, 2000000L));
  app.add_option("--max-clone-threads", max_clone_threads,
                 "cap on clone threads, which use the machine's shared kernel-thread slots "
                 "(default 5000, 1000 with --quick)")
      ->check(CLI::Range(100L, 30000L));
  app.add_option("--clone-nproc", clone_nproc,
                 "kernel threads the RLIMIT_NPROC run may add to those its user has (default 500)")
      ->check(CLI::Range(10L, 30000L));
  CLI11_PARSE(app, argc, argv);
  plan p;
  p.max_threads = max_threads > 0 ? max_threads : options.quick ? 40000 : 100000;
  p.max_clone_threads = max_clone_threads > 0 ? max_clone_threads : options.quick ? 1000 : 5000;
  p.clone_nproc = clone_nproc;
  p.sample_at = sample_counts(std::max(p.max_threads, p.max_clone_threads));
  return compare::run_reporting_errors(program, [&] { run(p, options); });
}
