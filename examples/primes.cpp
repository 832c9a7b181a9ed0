// examples/primes.cpp — the concurrent prime sieve, written once over spindle::backend.
//
// Concept: Hoare's and Pike's classic. A generator sends 2, 3, 4, ... down a channel;
// each prime found starts a filter thread that passes on only the numbers its prime does
// not divide, so a chain of threads, one per prime, linked by rendezvous channels. It
// spawns as many threads as primes and switches threads for every number it passes on:
// a workload made of spawns and context switches.
// Explained in: docs/06-synchronisation.md (channels). Run: build/examples/primes --help
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "spindle/green.hpp"

namespace {

template <spindle::backend B>
using channel = typename B::template channel<int>;

// Sends every number that `prime` does not divide from `in` to `out`, then closes `out`.
template <spindle::backend B>
void filter(int prime, channel<B>& in, channel<B>& out) {
  for (int n : in) {
    if (n % prime != 0) out.send(n);
  }
  out.close();
}

// Returns the first `count` primes, found by a chain of filter threads.
template <spindle::backend B>
std::vector<int> first_primes(int count) {
  std::vector<std::unique_ptr<channel<B>>> links;
  std::vector<typename B::template thread<void>> threads;
  links.push_back(std::make_unique<channel<B>>(0));
  threads.push_back(B::spawn(spindle::spawn_options{.name = "generate"}, [&source = *links[0]] {
    try {
      for (int n = 2;; ++n) source.send(n);
    } catch (const spindle::channel_closed&) {
      // The chain was shut down: generation ends here.
    }
  }));
  std::vector<int> primes;
  while (static_cast<int>(primes.size()) < count) {
    int prime = *links.back()->recv();
    primes.push_back(prime);
    links.push_back(std::make_unique<channel<B>>(0));
    threads.push_back(B::spawn(spindle::spawn_options{.name = "filter " + std::to_string(prime)},
                               filter<B>, prime, std::ref(*links[links.size() - 2]),
                               std::ref(*links.back())));
  }
  // Shut the chain down from the source: each filter drains, closes its output, ends.
  links.front()->close();
  for (auto it = links.begin() + 1; it != links.end(); ++it) {
    while ((*it)->recv()) {
    }
  }
  for (auto& t : threads) t.join();
  return primes;
}

template <spindle::backend B>
void run(int count, bool quiet) {
  auto start = std::chrono::steady_clock::now();
  std::vector<int> primes = first_primes<B>(count);
  std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
  std::printf("%s backend: the first %d primes, %d threads, in %.1f ms; the last is %d\n",
              std::string(B::name).c_str(), count, count + 1, took.count(), primes.back());
  if (!quiet) {
    for (int p : primes) std::printf("%d ", p);
    std::printf("\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"The concurrent prime sieve: one thread per prime, linked by channels."};
  int count = 100;
  std::string backend = "green";
  bool quiet = false;
  std::string policy = "fifo";
  std::uint64_t seed = 1;
  app.add_option("-n,--count", count, "how many primes to find")->check(CLI::Range(1, 100000));
  app.add_option("-p,--policy", policy,
                 "the green scheduler's policy (docs/14-scheduling-policies.md)")
      ->check(CLI::IsMember({"fifo", "random", "priority", "aging", "lottery", "stride", "mlfq"}));
  app.add_option("-s,--seed", seed, "the seed of the random and lottery policies");
  app.add_option("-b,--backend", backend, "which threads to use")->check(CLI::IsMember({"green"}));
  app.add_flag("-q,--quiet", quiet, "print only the summary line");
  CLI11_PARSE(app, argc, argv);
  spindle::green::use_policy(spindle::green::make_policy(policy, seed));
  run<spindle::green::backend>(count, quiet);
  return 0;
}
