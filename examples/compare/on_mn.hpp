// examples/compare/on_mn.hpp — running a measurement inside an M:N thread, on a backend
// started with a chosen number of worker kernel threads.
//
// Concept: spindle::mn starts its workers once per process (spindle::mn::start), so a
// comparison that measures it on one worker and on two needs a process for each: the
// measurement runs in a child (child_process.hpp), which starts the backend and runs the
// measurement in an M:N thread, so that it spawns, yields and joins as the backend's own
// threads do (a join from the process's first thread, a root, would block its kernel
// thread in a futex instead).
// Explained in: docs/15-many-to-many.md (the measurements).
// Read next: examples/compare/skynet.cpp.
#pragma once

#include <functional>

#include "child_process.hpp"
#include "measure.hpp"
#include "report.hpp"
#include "spindle/mn.hpp"

namespace compare {

// Runs `measure` in a child process, in an M:N thread of a backend started there with
// `workers` kernel threads, and returns what it returned. Throws what run_in_child
// throws (an exception in the child comes back as std::runtime_error with its message).
inline json in_mn_thread(unsigned workers, const std::function<json()>& measure) {
  return run_in_child([&] {
    spindle::mn::start(workers);
    return spindle::mn::spawn([&] { return measure(); }).join();
  });
}

// A spread as to_json wrote it, read back.
inline spread spread_from_json(const json& j) {
  return {j["median"].get<double>(), j["p10"].get<double>(), j["p90"].get<double>(),
          j["min"].get<double>(),    j["max"].get<double>(), j["repetitions"].get<int>()};
}

}  // namespace compare
