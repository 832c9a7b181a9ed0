// examples/compare/fork_cost.cpp — fork's latency against the memory of the process that
// forks, beside vfork, clone and green threads at the same memory.
//
// Concept: fork gives the child a copy of the parent's address space, and copies none of
// the memory: it copies the page tables, write-protecting every page table entry on both
// sides, so that the first write to a page by either process faults and copies that page
// alone (copy-on-write). So fork is not free: its time grows with the memory the parent
// has touched, about 8 bytes of page table per 4 KiB page, and the writes after it pay a
// fault per page. The parent here touches 0 to 4 GiB step by step; at each step it
// times fork (the call in the parent), reads its page tables (VmPTE), counts its own
// minor faults during fork, then times dirtying every page while a child still shares
// them, counting the copy-on-write faults, and reads the page tables the child was
// given. vfork, clone threads and green threads copy no page tables: their times stay
// flat. A straight line through fork's times gives milliseconds per GiB.
// Explained in: docs/12-comparisons.md (why fork is not free) and
// docs/01-three-models.md (page tables and copy-on-write, measured).
// Run: build/examples/compare/fork_cost --help. Read next: examples/compare/context_switch.cpp.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "measure.hpp"
#include "proc.hpp"
#include "report.hpp"
#include "spawning.hpp"
#include "spindle/clone.hpp"
#include "spindle/green.hpp"

namespace {

constexpr std::string_view program = "fork_cost";
constexpr double mib = 1024.0 * 1024.0;
constexpr double gib = 1024.0 * mib;

// What the parent keeps resident: one anonymous private mapping, reserved at its largest
// size at once and touched a step at a time from its start.
class touched_memory {
 public:
  // Reserves `capacity` bytes of address space. Throws std::system_error if mmap fails.
  explicit touched_memory(std::size_t capacity);
  ~touched_memory();
  touched_memory(const touched_memory&) = delete;
  touched_memory& operator=(const touched_memory&) = delete;

  // Writes every byte from the end of what is touched up to `bytes`, in blocks of
  // 64 MiB (memset: one fault per page, then the write at memory speed).
  void touch_up_to(std::size_t bytes);
  // Writes one byte in every touched page: after a fork, each write is a copy-on-write fault.
  void dirty_every_page();
  std::size_t touched() const { return touched_; }

 private:
  unsigned char* base_;
  std::size_t capacity_;
  std::size_t touched_ = 0;
  std::size_t page_;
};

touched_memory::touched_memory(std::size_t capacity)
    : capacity_(capacity), page_(static_cast<std::size_t>(sysconf(_SC_PAGESIZE))) {
  void* place = mmap(nullptr, capacity_ + page_, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (place == MAP_FAILED) compare::throw_errno("mmap of the parent's memory");
  base_ = static_cast<unsigned char*>(place);
  // 4 KiB pages whatever the system's transparent-huge-page policy: what fork copies
  // is then 8 bytes of page table per 4 KiB, as the textbook has it.
  madvise(base_, capacity_ + page_, MADV_NOHUGEPAGE);
}

touched_memory::~touched_memory() { munmap(base_, capacity_ + page_); }

void touched_memory::touch_up_to(std::size_t bytes) {
  constexpr std::size_t block = 64 << 20;
  if (bytes > capacity_) throw std::invalid_argument("touch_up_to: past the reserved memory");
  while (touched_ < bytes) {
    std::size_t size = std::min(block, bytes - touched_);
    std::memset(base_ + touched_, 0x5a, size);
    touched_ += size;
  }
}

void touched_memory::dirty_every_page() {
  volatile unsigned char* bytes = base_;
  for (std::size_t offset = 0; offset < touched_; offset += page_) bytes[offset] = 0xa5;
}

// The processor time the calling thread has used, in the kernel and out: time during
// which another program held the processor does not count.
double thread_cpu_ns() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e9 + static_cast<double>(now.tv_nsec);
}

// What the parent saw of its forks: for each, the time of the fork call (on the clock,
// and in processor time) and the parent's minor faults during the call.
struct fork_samples {
  std::vector<double> wall_ns, cpu_ns, minor_faults;
};

// One fork whose child _exits at once, timed in the parent; waits for the child.
void time_one_fork(fork_samples& into) {
  long faults_before = compare::usage_so_far().minor_faults;
  double cpu_before = thread_cpu_ns();
  auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  double wall_ns = compare::ns_since(start);
  double cpu_ns = thread_cpu_ns() - cpu_before;
  if (pid < 0) compare::throw_errno("fork");
  into.wall_ns.push_back(wall_ns);
  into.cpu_ns.push_back(cpu_ns);
  into.minor_faults.push_back(
      static_cast<double>(compare::usage_so_far().minor_faults - faults_before));
  compare::wait_for_child(pid);
}

// What the parent saw each time it dirtied its pages after a fork: its minor faults while
// it wrote, and the page tables the child had been given (the child's VmPTE).
struct dirtying_samples {
  std::vector<double> minor_faults, child_page_tables_kib;
};

// Forks a child that only waits for the parent's word, reads the page tables fork gave
// it, then dirties every page of `memory` while the child still shares them, so each
// write faults and copies a page. Returns the time of the dirtying; appends its minor
// faults and the child's VmPTE to `into`.
double time_dirtying_after_fork(touched_memory& memory, dirtying_samples& into) {
  int channel[2];
  if (pipe2(channel, O_CLOEXEC) != 0) compare::throw_errno("pipe2");
  pid_t pid = fork();
  if (pid == 0) {
    char word;
    close(channel[1]);
    ssize_t ignored = read(channel[0], &word, 1);  // returns 0 when the parent closes
    (void)ignored;
    _exit(0);
  }
  close(channel[0]);
  if (pid < 0) compare::throw_errno("fork");
  // fork copied the child's page tables before it returned here: they are complete.
  into.child_page_tables_kib.push_back(static_cast<double>(compare::status_number(pid, "VmPTE")));
  long before = compare::usage_so_far().minor_faults;
  auto start = std::chrono::steady_clock::now();
  memory.dirty_every_page();
  double ns = compare::ns_since(start);
  into.minor_faults.push_back(static_cast<double>(compare::usage_so_far().minor_faults - before));
  close(channel[1]);
  compare::wait_for_child(pid);
  return ns;
}

// Everything measured at one size of the parent's memory.
struct step {
  std::size_t target_bytes = 0;      // what the parent touched
  long rss_kib = 0;                  // VmRSS then: the touched memory and the program itself
  long page_tables_kib = 0;          // VmPTE then
  double child_page_tables_kib = 0;  // the child's VmPTE just after fork; median
  compare::spread fork_ns;           // the fork call in the parent, on the clock
  compare::spread fork_cpu_ns;       // the same, in the parent's processor time
  double fork_minor_faults = 0;      // the parent's, during the fork call; median
  compare::spread dirty_ns;          // writing every page once, while a child shares them
  double dirty_minor_faults = 0;     // median
  compare::spread vfork_ns, clone_ns, green_ns;  // start + wait, per operation
};

// The median of counts collected beside a measurement.
double median_of(const std::vector<double>& values) { return compare::summarize(values).median; }

// How the run is set up, from the flags.
struct plan {
  std::vector<std::size_t> sizes;  // the parent's memory at each step, in bytes
  int fork_repetitions;
  int dirty_repetitions;
  long vfork_batch, clone_batch, green_batch;
};

// Touches `memory` up to `bytes`, then measures fork, the writes after it, and the flat
// models at that size.
step measure_step(touched_memory& memory, std::size_t bytes, const plan& p) {
  step s;
  s.target_bytes = bytes;
  memory.touch_up_to(bytes);
  s.rss_kib = compare::status_kib("VmRSS");
  s.page_tables_kib = compare::status_kib("VmPTE");
  fork_samples warming, forks;
  time_one_fork(warming);
  for (int i = 0; i < p.fork_repetitions; ++i) time_one_fork(forks);
  s.fork_ns = compare::summarize(forks.wall_ns);
  s.fork_cpu_ns = compare::summarize(forks.cpu_ns);
  s.fork_minor_faults = median_of(forks.minor_faults);
  dirtying_samples dirtying;
  s.dirty_ns = compare::repeat(
      p.dirty_repetitions, [&] { return time_dirtying_after_fork(memory, dirtying); },
      compare::warm_up::none);
  s.dirty_minor_faults = median_of(dirtying.minor_faults);
  s.child_page_tables_kib = median_of(dirtying.child_page_tables_kib);
  int flat = p.fork_repetitions;
  s.vfork_ns = compare::repeat(
      flat, [&] { return compare::ns_per_operation(p.vfork_batch, compare::vfork_and_wait); });
  s.clone_ns = compare::repeat(flat, [&] {
    return compare::ns_per_operation(p.clone_batch,
                                     compare::spawn_and_join<spindle::clone::backend>);
  });
  s.green_ns = compare::repeat(flat, [&] {
    return compare::ns_per_operation(p.green_batch,
                                     compare::spawn_and_join<spindle::green::backend>);
  });
  return s;
}

// 0, then max/16, max/8, max/4, max/2 and max, each a whole number of MiB.
plan make_plan(double max_gib, const compare::run_options& options) {
  plan p;
  p.sizes.push_back(0);
  for (int divisor : {16, 8, 4, 2, 1}) {
    p.sizes.push_back(static_cast<std::size_t>(std::llround(max_gib * 1024 / divisor)) << 20);
  }
  p.fork_repetitions = options.repetitions_or(5, 9);
  // Dirtying is slow (a fault and a copy per page, seconds per GiB in a virtual machine).
  p.dirty_repetitions = 3;
  p.vfork_batch = options.quick ? 20 : 100;
  p.clone_batch = options.quick ? 50 : 300;
  p.green_batch = options.quick ? 500 : 5000;
  return p;
}

// Refuses a run the machine cannot hold: at the largest step the parent keeps `max`
// bytes and the child's copies (made as the parent dirties) as many again.
void check_memory(std::size_t max) {
  long available_mib = compare::meminfo_kib("MemAvailable") / 1024;
  long needed_mib = static_cast<long>(2 * max / (1 << 20)) + 1024;
  if (available_mib < needed_mib) {
    throw std::runtime_error(
        "the largest step needs about " + std::to_string(needed_mib) +
        " MiB free (the parent's memory, the copies copy-on-write makes, 1 GiB to spare), "
        "and MemAvailable is " +
        std::to_string(available_mib) + " MiB: use a smaller --max-gib");
  }
}

// Every step of the plan, smallest first, on one mapping of the largest size.
std::vector<step> measure_steps(const plan& p) {
  touched_memory memory(p.sizes.back());
  std::vector<step> steps;
  for (std::size_t bytes : p.sizes) {
    compare::progress(program, "the parent touches " + std::to_string(bytes >> 20) +
                                   " MiB, then forks " + std::to_string(p.fork_repetitions) +
                                   " times and dirties its pages after " +
                                   std::to_string(p.dirty_repetitions) + " more forks");
    check_memory(bytes);
    steps.push_back(measure_step(memory, bytes, p));
  }
  return steps;
}

// Straight lines through the steps' medians, against the resident set in GiB.
struct fits {
  compare::line_fit fork_ms;                // fork on the clock: what a program waits
  compare::line_fit fork_cpu_ms;            // fork in processor time: what the kernel does
  compare::line_fit page_tables_kib;        // the parent's VmPTE
  compare::line_fit child_page_tables_kib;  // the child's: what fork copied
  compare::line_fit dirty_ms;
  compare::line_fit dirty_faults;  // copy-on-write faults while dirtying
};

// Fits the lines. Throws std::invalid_argument for fewer than two steps.
fits fit_steps(const std::vector<step>& steps) {
  std::vector<double> rss_gib, fork_ms, fork_cpu_ms, pte_kib, child_pte_kib, dirty_ms, faults;
  for (const step& s : steps) {
    rss_gib.push_back(static_cast<double>(s.rss_kib) * 1024 / gib);
    fork_ms.push_back(s.fork_ns.median / 1e6);
    fork_cpu_ms.push_back(s.fork_cpu_ns.median / 1e6);
    pte_kib.push_back(static_cast<double>(s.page_tables_kib));
    child_pte_kib.push_back(s.child_page_tables_kib);
    dirty_ms.push_back(s.dirty_ns.median / 1e6);
    faults.push_back(s.dirty_minor_faults);
  }
  return {compare::fit_line(rss_gib, fork_ms),  compare::fit_line(rss_gib, fork_cpu_ms),
          compare::fit_line(rss_gib, pte_kib),  compare::fit_line(rss_gib, child_pte_kib),
          compare::fit_line(rss_gib, dirty_ms), compare::fit_line(rss_gib, faults)};
}

// The figure Redis publishes for fork, to set this machine's beside.
constexpr const char* redis_source =
    "the Redis documentation, 'Diagnosing latency issues', latency generated by fork";
constexpr double redis_low_ms_per_gb = 10, redis_high_ms_per_gb = 20;

// One row per step.
void print_table(const std::vector<step>& steps) {
  compare::table t({"parent RSS", "page tables", "child's page tables", "fork (p10–p90)",
                    "fork, CPU time", "faults in fork", "dirty all pages after fork", "CoW faults",
                    "vfork + wait", "clone spawn + join", "green spawn + join"});
  for (const step& s : steps) {
    t.add_row(
        {std::to_string(s.rss_kib / 1024) + " MiB", std::to_string(s.page_tables_kib) + " KiB",
         compare::format_number(s.child_page_tables_kib, 0) + " KiB",
         compare::format_spread(s.fork_ns), compare::format_duration(s.fork_cpu_ns.median),
         compare::format_number(s.fork_minor_faults, 0), compare::format_spread(s.dirty_ns),
         compare::format_number(s.dirty_minor_faults, 0),
         compare::format_duration(s.vfork_ns.median), compare::format_duration(s.clone_ns.median),
         compare::format_duration(s.green_ns.median)});
  }
  t.print(stdout);
}

// The sign of a line's intercept, to print "+ 0.41" or "- 0.41" (never "+ -0.41").
char sign_of(double intercept) { return intercept < 0 ? '-' : '+'; }

// The lines, and the published figure beside this machine's.
void print_fits(const fits& f, std::size_t steps) {
  std::printf(
      "\nfork: %.1f ms per GiB of resident memory on the clock (%c %.2f ms, r² = %.3f),\n"
      "      %.1f ms per GiB in the parent's processor time (%c %.2f ms, r² = %.3f);\n"
      "      straight lines through the medians of %zu steps.\n"
      "Page tables: %.0f KiB per GiB in the parent, %.0f in the child (8 bytes per 4 KiB page\n"
      "would be 2048).\n"
      "Dirtying every page after fork: %.0f ms per GiB, %.0f copy-on-write faults per GiB\n"
      "(a fault and a 4 KiB copy per page would be 262144).\n"
      "Published: roughly %.0f-%.0f ms of fork per GB of RSS on typical hardware\n"
      "(%s).\n"
      "The figure depends on the machine: processor, memory, hypervisor (old Xen guests were\n"
      "ten times slower and more), huge pages, and the load. This machine's is the line above.\n",
      f.fork_ms.slope, sign_of(f.fork_ms.intercept), std::fabs(f.fork_ms.intercept),
      f.fork_ms.r_squared, f.fork_cpu_ms.slope, sign_of(f.fork_cpu_ms.intercept),
      std::fabs(f.fork_cpu_ms.intercept), f.fork_cpu_ms.r_squared, steps, f.page_tables_kib.slope,
      f.child_page_tables_kib.slope, f.dirty_ms.slope, f.dirty_faults.slope, redis_low_ms_per_gb,
      redis_high_ms_per_gb, redis_source);
}

// Writing every page after fork, in milliseconds per GiB the parent touched at this step;
// null at the step that touched nothing.
compare::json dirty_ms_per_gib(const step& s) {
  if (s.target_bytes == 0) return nullptr;
  return s.dirty_ns.median / 1e6 / (static_cast<double>(s.target_bytes) / gib);
}

// One step in the JSON document; durations in nanoseconds.
compare::json step_json(const step& s) {
  return {{"target_mib", s.target_bytes >> 20},
          {"rss_kib", s.rss_kib},
          {"page_tables_kib", s.page_tables_kib},
          {"child_page_tables_kib", s.child_page_tables_kib},
          {"fork_ns", compare::to_json(s.fork_ns)},
          {"fork_cpu_ns", compare::to_json(s.fork_cpu_ns)},
          {"fork_minor_faults", s.fork_minor_faults},
          {"dirty_after_fork_ns", compare::to_json(s.dirty_ns)},
          {"dirty_after_fork_minor_faults", s.dirty_minor_faults},
          {"dirty_after_fork_ms_per_gib", dirty_ms_per_gib(s)},
          {"vfork_wait_ns", compare::to_json(s.vfork_ns)},
          {"clone_spawn_join_ns", compare::to_json(s.clone_ns)},
          {"green_spawn_join_ns", compare::to_json(s.green_ns)}};
}

// The fitted lines in the JSON document: slopes per GiB of resident memory.
compare::json fits_json(const fits& f) {
  return {{"fork_ms_per_gib", f.fork_ms.slope},
          {"fork_intercept_ms", f.fork_ms.intercept},
          {"fork_r_squared", f.fork_ms.r_squared},
          {"fork_cpu_ms_per_gib", f.fork_cpu_ms.slope},
          {"fork_cpu_intercept_ms", f.fork_cpu_ms.intercept},
          {"fork_cpu_r_squared", f.fork_cpu_ms.r_squared},
          {"page_tables_kib_per_gib", f.page_tables_kib.slope},
          {"child_page_tables_kib_per_gib", f.child_page_tables_kib.slope},
          {"dirty_after_fork_ms_per_gib", f.dirty_ms.slope},
          {"dirty_after_fork_faults_per_gib", f.dirty_faults.slope}};
}

// Checks the memory, measures every step, then prints the table or the document.
void run(double max_gib, const compare::run_options& options) {
  compare::machine here = compare::describe_machine();
  plan p = make_plan(max_gib, options);
  check_memory(p.sizes.back());
  std::vector<step> steps = measure_steps(p);
  fits f = fit_steps(steps);
  compare::json document = compare::start_document(program, here, options);
  document["max_gib"] = max_gib;
  compare::json list = compare::json::array();
  for (const step& s : steps) list.push_back(step_json(s));
  document["steps"] = list;
  document["fit"] = fits_json(f);
  document["published"] = {{"source", redis_source},
                           {"fork_ms_per_gb", {redis_low_ms_per_gb, redis_high_ms_per_gb}}};
  compare::publish(options, here, document, [&] {
    print_table(steps);
    print_fits(f, steps.size());
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "fork's latency against the parent's resident memory (0 to --max-gib), its page "
      "tables and copy-on-write faults, beside vfork, clone and green threads."};
  compare::run_options options;
  compare::add_run_flags(app, options);
  std::optional<double> max_gib;
  app.add_option("--max-gib", max_gib,
                 "the parent's largest memory in GiB (default 4, 0.25 with --quick)")
      ->check(CLI::Range(0.0625, 64.0));
  CLI11_PARSE(app, argc, argv);
  double largest = max_gib.value_or(options.quick ? 0.25 : 4.0);
  return compare::run_reporting_errors(program, [&] { run(largest, options); });
}
