// examples/compare/kv_load.cpp — spindle-kv started, found answering, loaded by
// redis-benchmark, watched through /proc, and stopped.
//
// Concept: see kv_load.hpp.
// Explained in: docs/12-comparisons.md (C10K: ten thousand connections).
// Read next: examples/compare/c10k.cpp.
#include "kv_load.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "proc.hpp"
#include "running_program.hpp"
#include "spawning.hpp"

namespace compare {
namespace {

using namespace std::chrono_literals;

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

// A new empty directory under $TMPDIR or /tmp, removed with all it holds at the end of
// its scope: the server's --dir, where it would save its snapshot.
class scratch_directory {
 public:
  scratch_directory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "spindle-kv-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw_errno("mkdtemp");
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
  if (fd < 0) throw_errno("socket");
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
  kv_server(const kv_tools& t, std::string_view backend, const std::string& directory)
      : process_({t.server, "--bind", "127.0.0.1", "--port", "0", "--backend", std::string(backend),
                  "--dir", directory}) {
    deadline by = seconds_from_now(10);
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

// Reads the server's /proc/PID/status and /proc/meminfo. Empties the server's pipe first,
// so that it never blocks on it. Throws std::runtime_error if the server has ended.
kv_usage read_usage(kv_server& server) {
  running_program& p = server.process();
  try {
    p.read_output(0ms);
    return {status_number(p.pid(), "VmRSS"), status_number(p.pid(), "VmPTE"),
            status_number(p.pid(), "Threads"), meminfo_kib("KernelStack")};
  } catch (const std::runtime_error& e) {
    server.fail(std::string("ended while measured (") + e.what() + ")");
  }
}

// The larger of each of the two's numbers.
kv_usage peak(const kv_usage& a, const kv_usage& b) {
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

// Samples the server every 10 ms until redis-benchmark ends, then checks how it ended.
// Throws std::runtime_error if it fails, runs past `by`, or prints no rate for SET or GET.
void sample_while_running(running_program& benchmark, kv_server& server, kv_run& r, deadline by) {
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

}  // namespace

kv_tools find_kv_tools(const std::string& server) {
  std::filesystem::path beside = std::filesystem::read_symlink("/proc/self/exe").parent_path();
  kv_tools found{server.empty() ? (beside.parent_path() / "spindle-kv").string() : server,
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

// Version 7 prints a header, "test","rps","avg_latency_ms",..., then one row per test,
// "SET","59880.24",...; older versions print no header and only those two columns. A line
// that is neither (the warning "Could not fetch server CONFIG", which spindle-kv does not
// implement) is skipped.
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

kv_run run_kv_load(const kv_tools& t, std::string_view backend, long clients, long requests) {
  scratch_directory directory;
  kv_server server(t, backend, directory.path());
  kv_run r;
  r.idle = r.most = read_usage(server);
  {
    running_program benchmark({t.benchmark, "-h", "127.0.0.1", "-p", std::to_string(server.port()),
                               "-c", std::to_string(clients), "-n", std::to_string(requests), "-r",
                               std::to_string(kv_keyspace), "-t", "set,get", "--csv"});
    // Opening the connections takes redis-benchmark about 1 ms each, for each test.
    sample_while_running(benchmark, server, r, seconds_from_now(60 + 0.01 * clients));
  }
  int status = server.process().stop();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    server.fail("did not stop cleanly on SIGTERM (wait status " + std::to_string(status) + ")");
  }
  return r;
}

}  // namespace compare
