// examples/compare/child_process.hpp — running a measurement in a child process, and
// getting its JSON back.
//
// Concept: a measurement that fills a limit (mappings, kernel threads, memory) changes the process
// it runs in: caches keep stacks, the limit stays lowered, and a failure may end the
// process. Run in a child made by fork, it leaves the parent as it was, does not count
// in the next measurement's memory, and may die without taking the comparison along.
// The child sends its result back as one JSON document through a pipe.
// Explained in: docs/12-comparisons.md (how many threads fit).
// Read next: examples/compare/scale.cpp.
#pragma once

#include <functional>

#include "report.hpp"

namespace compare {

// Runs `measure` in a child process and returns the document it returned there. Call it
// while the process has one thread (fork copies only the caller). Throws
// std::runtime_error if the child ended without a document: by an exception (whose
// message it passes on) or by a signal (the kernel's out-of-memory killer sends SIGKILL;
// glibc aborts when it cannot allocate what a new thread needs).
json run_in_child(const std::function<json()>& measure);

}  // namespace compare
