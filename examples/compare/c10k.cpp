// examples/compare/c10k.cpp — C10K: spindle-kv under redis-benchmark with a rising number
// of client connections, on the green backend, the clone backend and the M:N backend.
//
// Concept: a server with one thread per connection pays, per connection, what one of its
// threads costs. A green thread costs a stack page or two and a place in the reactor's
// epoll set, and every connection shares one kernel thread; a clone thread is a kernel
// thread, with a kernel stack, a user stack, and a place among the tasks the kernel
// schedules. For each backend and each client count (10 to 10 000), the program starts
// spindle-kv on 127.0.0.1, runs redis-benchmark's SET and GET tests against it with that
// many connections, samples the server's resident set, page tables and kernel threads
// (and the machine's kernel stacks) while they run, and stops the server. A count that
// the descriptor limit or the machine's kernel threads cannot hold is skipped, saying why.
// The M:N backend (docs/15-many-to-many.md) serves the connections' green threads on a
// worker kernel thread per processor.
// Explained in: docs/12-comparisons.md (C10K: ten thousand connections).
// Run: build/examples/compare/c10k --help. Read next: examples/compare/kv_load.hpp.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdio>
#include <exception>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "kv_load.hpp"
#include "proc.hpp"
#include "report.hpp"
#include "spawning.hpp"

namespace {

constexpr std::string_view program = "c10k";
constexpr std::array<std::string_view, 3> backends = {"green", "clone", "mn"};
constexpr long descriptor_margin = 64;  // descriptors a process holds besides its connections
constexpr long server_threads = 16;     // kernel threads a clone server holds besides them

// Raises this process's soft RLIMIT_NOFILE, which the server and redis-benchmark inherit,
// to what `clients` connections need, or to the hard limit if that is lower. Returns the
// soft limit now. Throws std::system_error if setrlimit refuses.
long raise_descriptor_limit(long clients) {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  auto wanted = static_cast<rlim_t>(clients + descriptor_margin);
  if (limit.rlim_cur < wanted) {  // RLIM_INFINITY is the largest rlim_t
    limit.rlim_cur = std::min(wanted, limit.rlim_max);
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) compare::throw_errno("setrlimit(RLIMIT_NOFILE)");
  }
  return limit.rlim_cur == RLIM_INFINITY ? LONG_MAX : static_cast<long>(limit.rlim_cur);
}

// Why `clients` connections to a `backend` server cannot be measured here; "" if they
// can. Each process needs a descriptor per connection, and a clone server a kernel thread
// per connection, taken from the machine's slots, which every process shares: the run
// takes at most half of those left (as scale.cpp does), and stays within RLIMIT_NPROC.
std::string why_not(std::string_view backend, long clients, long descriptors) {
  std::string count = std::to_string(clients) + " connections";
  if (clients + descriptor_margin > descriptors) {
    return count + " need " + std::to_string(clients + descriptor_margin) +
           " descriptors per process, and RLIMIT_NOFILE's hard limit is " +
           std::to_string(descriptors) +
           " (as root: ulimit -Hn, or nofile in /etc/security/limits.conf)";
  }
  if (backend != "clone") return "";
  long free_slots = std::min(compare::read_number("/proc/sys/kernel/pid_max"),
                             compare::read_number("/proc/sys/kernel/threads-max")) -
                    compare::kernel_threads_on_machine();
  if (clients + server_threads > free_slots / 2) {
    return count + " need as many kernel threads, and the machine has " +
           std::to_string(free_slots) + " free slots for them, shared by every process";
  }
  rlimit nproc{};
  getrlimit(RLIMIT_NPROC, &nproc);
  if (geteuid() == 0 || nproc.rlim_cur == RLIM_INFINITY) return "";  // root: not enforced
  long user_threads = compare::kernel_threads_of_user(getuid());
  if (static_cast<rlim_t>(user_threads + clients + server_threads) > nproc.rlim_cur) {
    return count + " need as many kernel threads, and RLIMIT_NPROC allows this user " +
           std::to_string(nproc.rlim_cur) + ", of which " + std::to_string(user_threads) +
           " are in use";
  }
  return "";
}

// One backend at one client count: `repetitions` runs, each on a fresh server, or none.
struct measurement {
  std::string backend;
  long clients = 0;
  long requests = 0;                                // per test
  std::string skipped;                              // why it was not measured; "" if it was
  compare::spread set_rate, get_rate;               // requests per second
  compare::spread idle_rss_kib, peak_rss_kib;       // the server's, before and at the peak
  compare::spread rss_kib_per_connection;           // (peak - idle) / clients
  compare::spread kernel_stack_kib_per_connection;  // the machine's rise / clients
  long peak_threads = 0, peak_page_tables_kib = 0;  // the most in any run
};

// Runs the measurement `repetitions` times, with a progress line before each run.
void measure(const compare::kv_tools& t, int repetitions, measurement& m) {
  std::map<std::string, std::vector<double>> samples;
  for (int i = 1; i <= repetitions; ++i) {
    compare::progress(program, m.backend + ", " + std::to_string(m.clients) + " clients, " +
                                   std::to_string(m.requests) + " requests per test: run " +
                                   std::to_string(i) + " of " + std::to_string(repetitions));
    compare::kv_run r = compare::run_kv_load(t, m.backend, m.clients, m.requests);
    auto per_connection = [&](long grown) { return static_cast<double>(grown) / m.clients; };
    samples["set"].push_back(r.rates["SET"]);
    samples["get"].push_back(r.rates["GET"]);
    samples["idle"].push_back(static_cast<double>(r.idle.rss_kib));
    samples["peak"].push_back(static_cast<double>(r.most.rss_kib));
    samples["rss"].push_back(per_connection(r.most.rss_kib - r.idle.rss_kib));
    samples["kstack"].push_back(
        per_connection(r.most.kernel_stacks_kib - r.idle.kernel_stacks_kib));
    m.peak_threads = std::max(m.peak_threads, r.most.threads);
    m.peak_page_tables_kib = std::max(m.peak_page_tables_kib, r.most.page_tables_kib);
  }
  m.set_rate = compare::summarize(samples["set"]);
  m.get_rate = compare::summarize(samples["get"]);
  m.idle_rss_kib = compare::summarize(samples["idle"]);
  m.peak_rss_kib = compare::summarize(samples["peak"]);
  m.rss_kib_per_connection = compare::summarize(samples["rss"]);
  m.kernel_stack_kib_per_connection = compare::summarize(samples["kstack"]);
}

// How the run is set up, from the flags.
struct plan {
  std::vector<long> client_counts;  // rising
  long requests = 0;                // --requests; 0 picks requests_for's default
  int repetitions = 3;
  bool quick = false;
};

// Requests per test: enough for a second or so of load at a few clients, and two per
// connection at many, where opening the connections takes most of the time anyway.
// --requests overrides, but every connection sends at least one.
long requests_for(long clients, const plan& p) {
  if (p.requests > 0) return std::max(p.requests, clients);
  return std::max(p.quick ? 5000L : 50000L, 2 * clients);
}

// Every backend at every client count, in the order of the table.
std::vector<measurement> measure_all(const compare::kv_tools& t, const plan& p, long descriptors) {
  std::vector<measurement> all;
  for (std::string_view backend : backends) {
    for (long clients : p.client_counts) {
      measurement m;
      m.backend = backend;
      m.clients = clients;
      m.requests = requests_for(clients, p);
      m.skipped = why_not(backend, clients, descriptors);
      if (m.skipped.empty()) {
        measure(t, p.repetitions, m);
      } else {
        compare::progress(program, m.backend + ", " + std::to_string(clients) +
                                       " clients: skipped: " + m.skipped);
      }
      all.push_back(m);
    }
  }
  return all;
}

// "63.9k (59.9k–64.2k)": requests per second, the median and p10 to p90.
std::string rate_spread(const compare::spread& s) {
  auto k = [](double rate) {
    return compare::format_number(rate / 1000, rate < 10000 ? 2 : rate < 100000 ? 1 : 0) + "k";
  };
  return k(s.median) + " (" + k(s.p10) + "–" + k(s.p90) + ")";
}

// "4.05 KiB", "16.0 KiB".
std::string kib(double value) { return compare::format_number(value, value < 10 ? 2 : 1) + " KiB"; }

// The measurement of `backend` at `clients`, if it was measured; nullptr otherwise.
const measurement* measured(const std::vector<measurement>& all, std::string_view backend,
                            long clients) {
  for (const measurement& m : all) {
    if (m.backend == backend && m.clients == clients && m.skipped.empty()) return &m;
  }
  return nullptr;
}

// Green's number over clone's, at every client count that both were measured at.
struct ratio {
  long clients;
  double set_rate, get_rate, peak_rss;
};

std::vector<ratio> green_over_clone(const std::vector<measurement>& all, const plan& p) {
  std::vector<ratio> ratios;
  for (long clients : p.client_counts) {
    const measurement* green = measured(all, "green", clients);
    const measurement* clone = measured(all, "clone", clients);
    if (green == nullptr || clone == nullptr) continue;
    ratios.push_back({clients, green->set_rate.median / clone->set_rate.median,
                      green->get_rate.median / clone->get_rate.median,
                      green->peak_rss_kib.median / clone->peak_rss_kib.median});
  }
  return ratios;
}

// One row per measurement, the reasons for the skipped ones, then the ratios.
void print_tables(const std::vector<measurement>& all, const std::vector<ratio>& ratios) {
  compare::table t({"backend", "clients", "SET requests/s (p10–p90)", "GET requests/s (p10–p90)",
                    "peak RSS", "RSS per connection", "kernel threads",
                    "kernel stacks per connection (machine-wide)"});
  for (const measurement& m : all) {
    if (!m.skipped.empty()) {
      t.add_row({m.backend, std::to_string(m.clients), "skipped", "skipped", "", "", "", ""});
      continue;
    }
    t.add_row({m.backend, std::to_string(m.clients), rate_spread(m.set_rate),
               rate_spread(m.get_rate),
               compare::format_number(m.peak_rss_kib.median / 1024, 1) + " MiB",
               kib(m.rss_kib_per_connection.median), std::to_string(m.peak_threads),
               kib(m.kernel_stack_kib_per_connection.median)});
  }
  t.print(stdout);
  std::printf("\n");
  for (const measurement& m : all) {
    if (m.skipped.empty()) continue;
    std::printf("- %s, %ld clients, skipped: %s\n", m.backend.c_str(), m.clients,
                m.skipped.c_str());
  }
  std::printf("Green over clone (medians):\n\n");
  compare::table r({"clients", "SET requests/s", "GET requests/s", "peak RSS"});
  for (const ratio& x : ratios) {
    r.add_row({std::to_string(x.clients), compare::format_number(x.set_rate, 2),
               compare::format_number(x.get_rate, 2), compare::format_number(x.peak_rss, 2)});
  }
  r.print(stdout);
}

compare::json to_json(const measurement& m) {
  compare::json j = {{"backend", m.backend}, {"clients", m.clients}, {"requests", m.requests}};
  if (!m.skipped.empty()) {
    j["skipped"] = m.skipped;
    return j;
  }
  j["set_requests_per_second"] = compare::to_json(m.set_rate);
  j["get_requests_per_second"] = compare::to_json(m.get_rate);
  j["idle_rss_kib"] = compare::to_json(m.idle_rss_kib);
  j["peak_rss_kib"] = compare::to_json(m.peak_rss_kib);
  j["rss_kib_per_connection"] = compare::to_json(m.rss_kib_per_connection);
  j["kernel_stack_kib_per_connection"] = compare::to_json(m.kernel_stack_kib_per_connection);
  j["peak_threads"] = m.peak_threads;
  j["peak_page_tables_kib"] = m.peak_page_tables_kib;
  return j;
}

// Finds the programs, raises the descriptor limit, measures, prints.
void run(const plan& p, const compare::run_options& options, const std::string& server) {
  compare::kv_tools t = compare::find_kv_tools(server);
  long descriptors = raise_descriptor_limit(p.client_counts.back());
  compare::machine here = compare::describe_machine();
  std::vector<measurement> all = measure_all(t, p, descriptors);
  std::vector<ratio> ratios = green_over_clone(all, p);
  compare::json document = compare::start_document(program, here, options);
  document["server"] = t.server;
  document["benchmark"] =
      t.benchmark + " -t set,get -r " + std::to_string(compare::kv_keyspace) + " --csv";
  document["descriptors_per_process"] = descriptors;
  document["results"] = compare::json::array();
  for (const measurement& m : all) document["results"].push_back(to_json(m));
  document["green_over_clone"] = compare::json::array();
  for (const ratio& x : ratios) {
    document["green_over_clone"].push_back({{"clients", x.clients},
                                            {"set_requests_per_second", x.set_rate},
                                            {"get_requests_per_second", x.get_rate},
                                            {"peak_rss", x.peak_rss}});
  }
  compare::publish(options, here, document, [&] { print_tables(all, ratios); });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "C10K: spindle-kv (one thread per connection) under redis-benchmark's SET and GET with a "
      "rising number of connections, on the green backend and on the clone backend: "
      "requests per second, and the memory each connection costs."};
  compare::run_options options;
  compare::add_run_flags(app, options);
  plan p;
  std::string server;
  app.add_option("--clients", p.client_counts,
                 "client counts, comma-separated (default 10,100,1000,5000,10000; 10,100,1000 "
                 "with --quick)")
      ->delimiter(',')
      ->check(CLI::Range(1L, 100000L));
  app.add_option("--requests", p.requests,
                 "requests per redis-benchmark test (default 50000, or twice the clients if "
                 "more; 5000 with --quick)")
      ->check(CLI::Range(100L, 100000000L));
  app.add_option("--server", server,
                 "the spindle-kv to measure (default: spindle-kv in the directory above this "
                 "program's, build/examples/spindle-kv)");
  CLI11_PARSE(app, argc, argv);
  p.quick = options.quick;
  p.repetitions = options.repetitions_or(3, 3);
  if (p.client_counts.empty()) {
    p.client_counts = options.quick ? std::vector<long>{10, 100, 1000}
                                    : std::vector<long>{10, 100, 1000, 5000, 10000};
  }
  std::sort(p.client_counts.begin(), p.client_counts.end());
  p.client_counts.erase(std::unique(p.client_counts.begin(), p.client_counts.end()),
                        p.client_counts.end());
  return compare::run_reporting_errors(program, [&] { run(p, options, server); });
}
