// examples/compare/c10k.cpp — C10K: spindle-kv under redis-benchmark with a rising number
// of client connections, on the green backend and on the clone backend.
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
// Explained in: docs/11-comparisons.md (C10K: ten thousand connections).
// Run: build/examples/compare/c10k --help. Read next: docs/11-comparisons.md.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "proc.hpp"
#include "report.hpp"
#include "running_program.hpp"
#include "spawning.hpp"

namespace {

using namespace std::chrono_literals;
using compare::running_program;

constexpr std::string_view program = "c10k";
constexpr std::array<std::string_view, 2> backends = {"green", "clone"};
constexpr long keyspace = 100000;       // redis-benchmark -r: random keys among this many
constexpr long descriptor_margin = 64;  // descriptors a process holds besides its connections
constexpr long server_threads = 16;     // kernel threads a clone server holds besides them

// The two programs the comparison runs.
struct tools {
  std::string server;     // spindle-kv
  std::string benchmark;  // redis-benchmark
};

// The first executable called `name` in a directory of $PATH; "" if there is none.
std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream directories(path != nullptr ? path : "");
  for (std::string directory; std::getline(directories, directory, ':');) {
    std::string candidate = (directory.empty() ? "." : directory) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// The server at `server` if given, else build/examples/spindle-kv beside this program's
// directory (build/examples/compare); redis-benchmark on $PATH. Throws
// std::runtime_error saying how to get the one that is missing.
tools find_tools(const std::string& server) {
  std::filesystem::path beside = std::filesystem::read_symlink("/proc/self/exe").parent_path();
  tools found{server.empty() ? (beside.parent_path() / "spindle-kv").string() : server,
              find_on_path("redis-benchmark")};
  if (access(found.server.c_str(), X_OK) != 0) {
    throw std::runtime_error("no executable spindle-kv at " + found.server +
                             ": build it (meson setup build && ninja -C build builds "
                             "build/examples/spindle-kv), or give its path with --server");
  }
  if (found.benchmark.empty()) {
    throw std::runtime_error(
        "redis-benchmark is not on PATH: install the Debian package redis-tools "
        "(apt-get install redis-tools; scripts/run.sh does)");
  }
  return found;
}

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
  long user_threads = compare::kernel_threads_of_user(getuid());
  if (geteuid() != 0 && nproc.rlim_cur != RLIM_INFINITY &&
      static_cast<rlim_t>(user_threads + clients + server_threads) > nproc.rlim_cur) {
    return count + " need as many kernel threads, and RLIMIT_NPROC allows this user " +
           std::to_string(nproc.rlim_cur) + ", of which " + std::to_string(user_threads) +
           " are in use";
  }
  return "";
}

// A new empty directory under $TMPDIR or /tmp, removed with all it holds at the end of
// its scope: the server's --dir, where it would save its snapshot.
class scratch_directory {
 public:
  scratch_directory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "c10k-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) compare::throw_errno("mkdtemp");
    path_ = pattern;
  }
  ~scratch_directory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  scratch_directory(const scratch_directory&) = delete;
  scratch_directory& operator=(const scratch_directory&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The port in the server's "listening on 127.0.0.1:PORT, ..." line; 0 until it is printed.
int listening_port(const std::string& output) {
  constexpr std::string_view marker = "listening on 127.0.0.1:";
  std::size_t at = output.find(marker);
  if (at == std::string::npos || output.find(',', at) == std::string::npos) return 0;
  return std::atoi(output.c_str() + at + marker.size());
}

// Whether the server on 127.0.0.1:`port` answers PING with +PONG, within a second.
bool answers_ping(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) compare::throw_errno("socket");
  timeval second{1, 0};  // bounds connect, send and recv alike
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &second, sizeof second);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &second, sizeof second);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  constexpr std::string_view ping = "*1\r\n$4\r\nPING\r\n", pong = "+PONG\r\n";
  char reply[pong.size()] = {};
  bool answered =
      connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      send(fd, ping.data(), ping.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(ping.size()) &&
      recv(fd, reply, sizeof reply, MSG_WAITALL) == static_cast<ssize_t>(sizeof reply) &&
      std::string_view(reply, sizeof reply) == pong;
  close(fd);
  return answered;
}

// spindle-kv on one backend, on 127.0.0.1 and a port it picks itself (--port 0, so that
// no other program can take the port between our choosing it and the server's binding
// it). Stopped by its destructor, whatever happens (running_program's).
class kv_server {
 public:
  // Starts the server and returns once it has answered PING. Throws std::runtime_error,
  // with what the server printed, if it ends or does not answer within 10 s.
  kv_server(const tools& t, std::string_view backend, const std::string& directory)
      : process_({t.server, "--bind", "127.0.0.1", "--port", "0", "--backend", std::string(backend),
                  "--dir", directory}) {
    compare::deadline by = compare::seconds_from_now(10);
    for (;;) {
      bool running = process_.read_output(100ms);
      if ((port_ = listening_port(process_.output())) != 0 && answers_ping(port_)) return;
      if (!running) fail("ended before it answered PING");
      if (std::chrono::steady_clock::now() > by) fail("did not answer PING within 10 s");
    }
  }
  int port() const { return port_; }
  running_program& process() { return process_; }
  // Throws std::runtime_error: the server `what`, with its output.
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("spindle-kv " + what + "; its output: " + process_.output());
  }

 private:
  running_program process_;
  int port_ = 0;
};

// What the server holds at one moment, and what the machine's kernel threads do.
struct usage {
  long rss_kib = 0;            // the server's VmRSS
  long page_tables_kib = 0;    // its VmPTE
  long threads = 0;            // its kernel threads
  long kernel_stacks_kib = 0;  // KernelStack in /proc/meminfo: every process on the machine
};

// Reads the server's /proc/PID/status and /proc/meminfo. Empties the server's pipe first,
// so that it never blocks on it. Throws std::runtime_error if the server has ended.
usage read_usage(kv_server& server) {
  running_program& p = server.process();
  try {
    p.read_output(0ms);
    return {compare::status_number(p.pid(), "VmRSS"), compare::status_number(p.pid(), "VmPTE"),
            compare::status_number(p.pid(), "Threads"), compare::meminfo_kib("KernelStack")};
  } catch (const std::runtime_error& e) {
    server.fail(std::string("ended while measured (") + e.what() + ")");
  }
}

// The larger of each of the two's numbers.
usage peak(const usage& a, const usage& b) {
  return {std::max(a.rss_kib, b.rss_kib), std::max(a.page_tables_kib, b.page_tables_kib),
          std::max(a.threads, b.threads), std::max(a.kernel_stacks_kib, b.kernel_stacks_kib)};
}

// The cells of one line of CSV, without their quotes (redis-benchmark quotes no comma).
std::vector<std::string> csv_cells(std::string line) {
  std::erase(line, '"');
  std::erase(line, '\r');
  std::vector<std::string> cells;
  std::istringstream fields(line);
  for (std::string cell; std::getline(fields, cell, ',');) cells.push_back(cell);
  return cells;
}

// Each test's requests per second in redis-benchmark's --csv output. Version 7 prints a
// header, "test","rps","avg_latency_ms",..., then one row per test, "SET","59880.24",...;
// older versions print no header and only those two columns. A line that is neither (the
// warning "Could not fetch server CONFIG", which spindle-kv does not implement) is skipped.
std::map<std::string, double> requests_per_second(const std::string& csv) {
  std::map<std::string, double> found;
  std::size_t column = 1;
  std::istringstream lines(csv);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> cells = csv_cells(line);
    if (cells.size() < 2) continue;
    if (cells[0] == "test") {
      column = std::find(cells.begin(), cells.end(), "rps") - cells.begin();
      continue;
    }
    if (column >= cells.size()) continue;
    char* end = nullptr;
    double rate = std::strtod(cells[column].c_str(), &end);
    if (end != cells[column].c_str() && *end == '\0' && rate > 0) found[cells[0]] = rate;
  }
  return found;
}

// What one run of redis-benchmark against a fresh server gave.
struct run_result {
  std::map<std::string, double> rates;  // requests per second, by test
  usage idle;                           // the server before the benchmark, after PING
  usage most;                           // the peak of each number while the benchmark ran
};

// Samples the server every 10 ms until redis-benchmark ends, then checks how it ended.
// Throws std::runtime_error if it fails, runs past `by`, or prints no rate for SET or GET.
void sample_while_running(running_program& benchmark, kv_server& server, run_result& r,
                          compare::deadline by) {
  while (benchmark.read_output(10ms)) {
    r.most = peak(r.most, read_usage(server));
    if (std::chrono::steady_clock::now() > by) break;
  }
  int status = benchmark.wait_for_exit(by);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("redis-benchmark failed (wait status " + std::to_string(status) +
                             "); its output: " + benchmark.output());
  }
  r.rates = requests_per_second(benchmark.output());
  if (!r.rates.contains("SET") || !r.rates.contains("GET")) {
    throw std::runtime_error("redis-benchmark printed no requests per second for SET and GET: " +
                             benchmark.output());
  }
}

// Starts a server, loads it with `clients` connections sending `requests` SETs, then as
// many GETs, and stops it, checking that it stopped cleanly (SIGTERM makes it exit 0).
run_result run_once(const tools& t, std::string_view backend, long clients, long requests) {
  scratch_directory directory;
  kv_server server(t, backend, directory.path());
  run_result r;
  r.idle = r.most = read_usage(server);
  {
    running_program benchmark({t.benchmark, "-h", "127.0.0.1", "-p", std::to_string(server.port()),
                               "-c", std::to_string(clients), "-n", std::to_string(requests), "-r",
                               std::to_string(keyspace), "-t", "set,get", "--csv"});
    // Opening the connections takes redis-benchmark about 1 ms each, for each test.
    sample_while_running(benchmark, server, r, compare::seconds_from_now(60 + 0.01 * clients));
  }
  int status = server.process().stop();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    server.fail("did not stop cleanly on SIGTERM (wait status " + std::to_string(status) + ")");
  }
  return r;
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
void measure(const tools& t, int repetitions, measurement& m) {
  std::map<std::string, std::vector<double>> samples;
  for (int i = 1; i <= repetitions; ++i) {
    compare::progress(program, m.backend + ", " + std::to_string(m.clients) + " clients, " +
                                   std::to_string(m.requests) + " requests per test: run " +
                                   std::to_string(i) + " of " + std::to_string(repetitions));
    run_result r = run_once(t, m.backend, m.clients, m.requests);
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
std::vector<measurement> measure_all(const tools& t, const plan& p, long descriptors) {
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
  for (const measurement& m : all) {
    if (!m.skipped.empty())
      std::printf("\n%s, %ld clients: skipped: %s\n", m.backend.c_str(), m.clients,
                  m.skipped.c_str());
  }
  std::printf("\nGreen over clone (medians):\n\n");
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
  tools t = find_tools(server);
  long descriptors = raise_descriptor_limit(p.client_counts.back());
  compare::machine here = compare::describe_machine();
  std::vector<measurement> all = measure_all(t, p, descriptors);
  std::vector<ratio> ratios = green_over_clone(all, p);
  if (!options.json) {
    compare::print_machine(here, stdout);
    print_tables(all, ratios);
    return;
  }
  compare::json document = compare::start_document(program, here, options);
  document["server"] = t.server;
  document["benchmark"] = t.benchmark + " -t set,get -r " + std::to_string(keyspace) + " --csv";
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
  compare::print_json(document);
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
  try {
    run(p, options, server);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program.data(), e.what());
    return 1;
  }
  return 0;
}
