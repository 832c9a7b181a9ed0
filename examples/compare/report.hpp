// examples/compare/report.hpp — what every comparison prints, and the flags that choose it.
//
// Concept: a comparison prints one table for people (by default) or one JSON document
// for programs (--json), never both on stdout; progress lines for the long steps go to
// stderr, so that they neither mix with the JSON nor are lost when stdout is a file.
// The table is Markdown, so a run can be pasted into docs/ as it is.
// Explained in: docs/12-comparisons.md (how the comparisons measure).
// Read next: examples/compare/spawn_cost.cpp, the first comparison.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "machine.hpp"
#include "measure.hpp"

namespace compare {

// JSON objects that keep their keys in the order they were written, for readers.
using json = nlohmann::ordered_json;

// The flags every comparison takes.
struct run_options {
  bool quick = false;     // --quick: a smaller run that finishes in a few seconds
  bool json = false;      // --json: one JSON document on stdout instead of the table
  int repetitions = 0;    // --repetitions: samples per measurement; 0 picks the default
  std::string json_file;  // --json-file: also write the JSON document here (the tour does)

  // The number of samples: --repetitions if given, else the default for the mode.
  int repetitions_or(int quick_default, int full_default) const;
};

// Adds --quick, --json, --repetitions and --json-file to `app`, writing into `options`.
void add_run_flags(CLI::App& app, run_options& options);

// A table printed in Markdown, its columns padded to line up in a terminal.
class table {
 public:
  explicit table(std::vector<std::string> headings);
  // Throws std::invalid_argument unless `cells` has one cell per heading.
  void add_row(std::vector<std::string> cells);
  void print(std::FILE* out) const;

 private:
  std::vector<std::string> headings_;
  std::vector<std::vector<std::string>> rows_;
};

// A duration given in nanoseconds, in the unit that keeps three significant digits
// readable: "95.3 ns", "31.2 µs", "41.7 ms", "2.31 s".
std::string format_duration(double ns);
// A spread of durations in nanoseconds: the median, then p10 to p90 in the same unit,
// "31.2 µs (29.8–35.0)".
std::string format_spread(const spread& ns);
// `value` with `decimals` digits after the point.
std::string format_number(double value, int decimals);

json to_json(const spread& s);
json to_json(const machine& m);

// The start of every comparison's JSON document: the program, the machine, the mode.
json start_document(std::string_view program, const machine& m, const run_options& options);
// Prints `document` on stdout, indented.
void print_json(const json& document);
// The end of every comparison: prints `document` (--json) or the machine and then
// `print_table` (the default), and with --json-file also writes `document` to that file.
// Throws std::runtime_error naming the file if it cannot be written.
void publish(const run_options& options, const machine& m, const json& document,
             const std::function<void()>& print_table);
// Prints the machine as a few lines, above a table.
void print_machine(const machine& m, std::FILE* out);
// The end of every comparison's main: runs `measure`, and turns an exception into
// "program: what went wrong" on stderr and exit status 1. Returns the exit status.
int run_reporting_errors(std::string_view program, const std::function<void()>& measure);
// Prints "program: what" on stderr at once: a long step has begun.
void progress(std::string_view program, const std::string& what);

}  // namespace compare
