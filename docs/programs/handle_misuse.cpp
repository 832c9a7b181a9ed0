// docs/programs/handle_misuse.cpp — what a thread handle says when it is misused:
// join twice, join yourself, detach after join, and a joinable handle destroyed.
// Shown in: docs/02-the-api.md. Regenerate the output: docs/programs/run_all.sh.
#include <cstdio>
#include <system_error>

#include "spindle/green.hpp"

namespace green = spindle::green;

void report(const std::system_error& e) {
  std::printf("std::system_error (%s): %s\n\n",
              e.code() == std::errc::invalid_argument ? "invalid_argument"
                                                      : "resource_deadlock_would_occur",
              e.what());
}

green::thread<void>* own_handle = nullptr;

int main() {
  auto worker = green::spawn({.name = "worker"}, [] {});
  worker.join();
  try {
    worker.join();
  } catch (const std::system_error& e) {
    report(e);
  }
  try {
    worker.detach();
  } catch (const std::system_error& e) {
    report(e);
  }

  auto narcissus = green::spawn({.name = "narcissus"}, [] {
    try {
      own_handle->join();
    } catch (const std::system_error& e) {
      report(e);
    }
  });
  own_handle = &narcissus;
  narcissus.join();

  std::fflush(stdout);  // the next step aborts, and abort does not flush
  auto forgotten = green::spawn({.name = "forgotten"}, [] {});
}  // `forgotten` is still joinable here
