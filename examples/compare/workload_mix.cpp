// examples/compare/workload_mix.cpp — the weight table, the chunk of work, and the
// fairness figures of the workload mix.
//
// Concept: see workload_mix.hpp.
// Explained in: docs/14-scheduling-policies.md (the policies measured).
// Read next: examples/compare/policies.cpp.
#include "workload_mix.hpp"

#include <cmath>
#include <numeric>
#include <stdexcept>

namespace compare::mix {
namespace {

// log2 of a weight of the table (1, 2 or 4).
int log2_of(int weight) { return static_cast<int>(std::lround(std::log2(weight))); }

}  // namespace

std::uint32_t tickets_of(int weight) { return 100u * static_cast<std::uint32_t>(weight); }

int priority_of(int weight) { return log2_of(weight); }

int nice_of(int weight) {
  return static_cast<int>(std::lround(std::log(4.0 / weight) / std::log(1.25)));
}

int realtime_priority_of(int weight) { return 1 + log2_of(weight); }

int kernel_weight_of_nice(int nice) {
  // The kernel's table (kernel/sched/core.c, sched_prio_to_weight) for nice 0 to 9.
  static constexpr int table[] = {1024, 820, 655, 526, 423, 335, 272, 215, 172, 137};
  if (nice < 0 || nice > 9) throw std::invalid_argument("kernel_weight_of_nice: nice 0 to 9");
  return table[nice];
}

// Not inlined, so that the chunk is the same code wherever it is called from, and the
// dependent additions on a volatile keep the compiler from folding the loop.
[[gnu::noinline]] void compute_chunk(long iterations) {
  volatile std::uint64_t sum = 0;
  for (long i = 0; i < iterations; ++i) sum = sum + static_cast<std::uint64_t>(i);
}

long calibrate_chunk(std::chrono::nanoseconds target) {
  constexpr long probe = 200000;
  double fastest = 1e300;
  for (int round = 0; round < 5; ++round) {
    auto begin = clock_type::now();
    compute_chunk(probe);
    fastest = std::min(fastest,
                       std::chrono::duration<double, std::nano>(clock_type::now() - begin).count());
  }
  return std::max(1L, std::lround(probe * static_cast<double>(target.count()) / fastest));
}

spindle::spawn_options options_for(const std::string& name, int weight) {
  return {.name = name, .priority = priority_of(weight), .tickets = tickets_of(weight)};
}

std::array<double, 3> shares_of(const std::array<long, 3>& chunks) {
  double total = static_cast<double>(std::accumulate(chunks.begin(), chunks.end(), 0L));
  std::array<double, 3> shares{};
  for (std::size_t i = 0; i < chunks.size() && total > 0; ++i) shares[i] = chunks[i] / total;
  return shares;
}

std::array<double, 3> entitled_shares() {
  double total = std::accumulate(cpu_weights.begin(), cpu_weights.end(), 0);
  std::array<double, 3> shares{};
  for (std::size_t i = 0; i < cpu_weights.size(); ++i) shares[i] = cpu_weights[i] / total;
  return shares;
}

double jain_index(const std::vector<double>& x) {
  double sum = 0, squares = 0;
  for (double v : x) {
    sum += v;
    squares += v * v;
  }
  if (x.empty() || squares == 0) throw std::invalid_argument("jain_index: no allocation to judge");
  return sum * sum / (static_cast<double>(x.size()) * squares);
}

}  // namespace compare::mix
