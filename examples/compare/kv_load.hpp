// examples/compare/kv_load.hpp — one load run: a fresh spindle-kv under redis-benchmark,
// and what the server held while it ran.
//
// Concept: to see what a connection costs a server, start the server, open the
// connections, make them work, and watch the server from outside while they do: its
// resident set (VmRSS), page tables (VmPTE) and kernel threads (Threads) in
// /proc/PID/status, and the machine's kernel stacks in /proc/meminfo, sampled every
// 10 ms, keeping each number's peak. The load is redis-benchmark, Redis's own client for
// measuring servers: it opens the connections, then sends SETs from all of them as fast
// as the server answers, then GETs, and prints each test's requests per second. Both
// programs run as children with deadlines (running_program.hpp), the server on 127.0.0.1
// in a scratch directory; both are stopped whatever happens.
// Explained in: docs/12-comparisons.md (C10K: ten thousand connections).
// Read next: examples/compare/kv_load.cpp, then examples/compare/c10k.cpp.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace compare {

// The two programs a load run needs.
struct kv_tools {
  std::string server;     // spindle-kv
  std::string benchmark;  // redis-benchmark
};

// The server at `server` if given, else build/examples/spindle-kv beside this program's
// directory (build/examples/compare); redis-benchmark on $PATH. Throws
// std::runtime_error saying how to get the one that is missing.
kv_tools find_kv_tools(const std::string& server);

// redis-benchmark -r: its keys are random among this many.
constexpr long kv_keyspace = 100000;

// What the server holds at one moment, and the machine's kernel stacks.
struct kv_usage {
  long rss_kib = 0;            // the server's VmRSS
  long page_tables_kib = 0;    // its VmPTE
  long threads = 0;            // its kernel threads
  long kernel_stacks_kib = 0;  // KernelStack in /proc/meminfo: every process on the machine
};

// What one load run gave.
struct kv_run {
  std::map<std::string, double> rates;  // requests per second, by test: "SET", "GET"
  kv_usage idle;                        // the server before the load, after it answered PING
  kv_usage most;                        // the peak of each number while the load ran
};

// Starts spindle-kv on `backend` ("green", "clone" or "mn"), runs redis-benchmark's SET and GET
// tests against it with `clients` connections and `requests` requests per test, samples
// the server meanwhile, and stops it. Throws std::runtime_error, with the output of the
// program at fault, if the server does not answer, redis-benchmark fails or outlives its
// deadline, or the server does not stop cleanly.
kv_run run_kv_load(const kv_tools& tools, std::string_view backend, long clients, long requests);

// Each test's requests per second in redis-benchmark's --csv output, by test name.
std::map<std::string, double> requests_per_second(const std::string& csv);

}  // namespace compare
