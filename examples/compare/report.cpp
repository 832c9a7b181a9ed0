// examples/compare/report.cpp — flags, the Markdown table, number formats and JSON.
//
// Concept: see report.hpp.
// Explained in: docs/12-comparisons.md (how the comparisons measure).
// Read next: examples/compare/spawn_cost.cpp.
#include "report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <stdexcept>

namespace compare {
namespace {

// Columns a string takes in a terminal: its UTF-8 code points ("µ" and "–" are one each).
std::size_t display_width(const std::string& text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// One row of a table, each cell padded to its column's width.
void print_row(std::FILE* out, const std::vector<std::string>& cells,
               const std::vector<std::size_t>& widths) {
  for (std::size_t i = 0; i < cells.size(); ++i) {
    std::fprintf(out, "| %s%*s ", cells[i].c_str(),
                 static_cast<int>(widths[i] - display_width(cells[i])), "");
  }
  std::fprintf(out, "|\n");
}

// Digits after the point that leave three significant digits of a value in [1, 1000).
int decimals_for(double value) { return value < 10 ? 2 : value < 100 ? 1 : 0; }

// The unit for a duration in nanoseconds: its name and how many nanoseconds it holds.
std::pair<const char*, double> unit_for(double ns) {
  if (ns < 1e3) return {"ns", 1};
  if (ns < 1e6) return {"µs", 1e3};
  if (ns < 1e9) return {"ms", 1e6};
  return {"s", 1e9};
}

}  // namespace

int run_options::repetitions_or(int quick_default, int full_default) const {
  if (repetitions > 0) return repetitions;
  return quick ? quick_default : full_default;
}

void add_run_flags(CLI::App& app, run_options& options) {
  app.add_flag("--quick", options.quick, "a smaller run that finishes in a few seconds");
  app.add_flag("--json", options.json, "print one JSON document instead of the table");
  app.add_option("-r,--repetitions", options.repetitions,
                 "samples per measurement (default: 5 with --quick, more without)")
      ->check(CLI::Range(3, 1000));
  app.add_option("--json-file", options.json_file,
                 "also write the JSON document to this file (the table still prints)");
}

table::table(std::vector<std::string> headings) : headings_(std::move(headings)) {}

void table::add_row(std::vector<std::string> cells) {
  if (cells.size() != headings_.size()) {
    throw std::invalid_argument("compare::table: a row of " + std::to_string(cells.size()) +
                                " cells in a table of " + std::to_string(headings_.size()) +
                                " columns");
  }
  rows_.push_back(std::move(cells));
}

void table::print(std::FILE* out) const {
  std::vector<std::size_t> widths(headings_.size(), 3);
  for (std::size_t i = 0; i < headings_.size(); ++i) {
    widths[i] = std::max(widths[i], display_width(headings_[i]));
    for (const auto& row : rows_) widths[i] = std::max(widths[i], display_width(row[i]));
  }
  print_row(out, headings_, widths);
  std::vector<std::string> rule;
  for (std::size_t width : widths) rule.emplace_back(width, '-');
  print_row(out, rule, widths);
  for (const auto& row : rows_) print_row(out, row, widths);
}

std::string format_number(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

std::string format_duration(double ns) {
  auto [name, size] = unit_for(ns);
  return format_number(ns / size, decimals_for(ns / size)) + " " + name;
}

std::string format_spread(const spread& ns) {
  auto [name, size] = unit_for(ns.median);
  int decimals = decimals_for(ns.median / size);
  return format_number(ns.median / size, decimals) + " " + name + " (" +
         format_number(ns.p10 / size, decimals) + "–" + format_number(ns.p90 / size, decimals) +
         ")";
}

json to_json(const spread& s) {
  return {{"median", s.median}, {"p10", s.p10}, {"p90", s.p90},
          {"min", s.min},       {"max", s.max}, {"repetitions", s.repetitions}};
}

json to_json(const machine& m) {
  return {{"cpu_model", m.cpu_model},
          {"online_cpus", m.online_cpus},
          {"usable_cpus", m.usable_cpus},
          {"kernel", m.kernel},
          {"glibc", m.glibc},
          {"spindle", m.spindle},
          {"memory_total_mib", m.memory_total_mib},
          {"memory_available_mib", m.memory_available_mib},
          {"transparent_hugepages", m.transparent_hugepages},
          {"load_average", m.load_average}};
}

json start_document(std::string_view program, const machine& m, const run_options& options) {
  return {{"program", program}, {"machine", to_json(m)}, {"quick", options.quick}};
}

void print_json(const json& document) { std::cout << document.dump(2) << std::endl; }

void publish(const run_options& options, const machine& m, const json& document,
             const std::function<void()>& print_table) {
  if (options.json) {
    print_json(document);
  } else {
    print_machine(m, stdout);
    print_table();
  }
  if (options.json_file.empty()) return;
  std::ofstream file(options.json_file);
  file << document.dump(2) << '\n';
  file.close();
  if (!file) {
    throw std::runtime_error("cannot write the JSON document to " + options.json_file +
                             " (--json-file): is its folder there and writable?");
  }
}

void print_machine(const machine& m, std::FILE* out) {
  std::fprintf(out, "Machine: %s, %d processors (%d usable), %ld MiB (%ld available)\n",
               m.cpu_model.c_str(), m.online_cpus, m.usable_cpus, m.memory_total_mib,
               m.memory_available_mib);
  std::fprintf(out, "Kernel %s, glibc %s, spindle %s, transparent huge pages: %s\n",
               m.kernel.c_str(), m.glibc.c_str(), m.spindle.c_str(),
               m.transparent_hugepages.c_str());
  std::fprintf(out, "Load average at the start: %s\n\n", m.load_average.c_str());
}

int run_reporting_errors(std::string_view program, const std::function<void()>& measure) {
  try {
    measure();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(program.size()), program.data(), e.what());
    return 1;
  }
  return 0;
}

void progress(std::string_view program, const std::string& what) {
  std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(program.size()), program.data(),
               what.c_str());
}

}  // namespace compare
