// examples/compare/measure.hpp — repeated measurement, and the spread of the results.
//
// Concept: one run of a measurement on a shared machine says little: another program
// may have held the processor, a page may have been faulted in for the first time. So
// every number in a comparison is a repetition of the same measurement, reported as its
// median with the 10th and 90th percentiles, the minimum and the maximum. A measurement
// of something fast times a batch of operations and divides, so that the clock's own
// cost (about 20 ns for steady_clock::now) disappears in the batch.
// Explained in: docs/12-comparisons.md (how the comparisons measure).
// Read next: examples/compare/report.hpp.
#pragma once

#include <chrono>
#include <utility>
#include <vector>

namespace compare {

// The distribution of a measurement's samples, all in the samples' unit.
struct spread {
  double median = 0;
  double p10 = 0;  // 10th percentile: one sample in ten was at most this
  double p90 = 0;  // 90th percentile
  double min = 0;
  double max = 0;
  int repetitions = 0;  // how many samples
};

// The spread of `samples`, percentiles interpolated between the two nearest samples.
// Throws std::invalid_argument if `samples` is empty.
spread summarize(std::vector<double> samples);
// The q-quantile (0 <= q <= 1) of `samples`, interpolated as summarize's percentiles are
// (percentile(s, 0.99) is the 99th percentile). Throws std::invalid_argument if empty.
double percentile(std::vector<double> samples, double q);

// Whether repeat() runs the measurement once, unrecorded, before the recorded ones: to
// fault in pages and fill caches (once), or not, when one run takes seconds (none).
enum class warm_up { once, none };

// Runs `one_sample` (a callable returning a double) `repetitions` times and returns the
// spread of what it returned. Preconditions: repetitions > 0.
template <class F>
spread repeat(int repetitions, F&& one_sample, warm_up warming = warm_up::once) {
  if (warming == warm_up::once) one_sample();
  std::vector<double> samples;
  samples.reserve(repetitions);
  for (int i = 0; i < repetitions; ++i) samples.push_back(one_sample());
  return summarize(std::move(samples));
}

// Nanoseconds since `start` on the monotonic clock.
inline double ns_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
}

// Runs `operation` `count` times and returns the mean time of one, in nanoseconds.
template <class F>
double ns_per_operation(long count, F&& operation) {
  auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < count; ++i) operation();
  return ns_since(start) / static_cast<double>(count);
}

// A least-squares line y = slope * x + intercept, and how well it fits (r_squared: 1
// for points on the line, 0 for a line no better than the mean of y).
struct line_fit {
  double slope = 0;
  double intercept = 0;
  double r_squared = 0;
};

// Fits a line through the points (x[i], y[i]). Throws std::invalid_argument unless there
// are at least two points with different x.
line_fit fit_line(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace compare
