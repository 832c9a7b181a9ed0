// examples/compare/measure.cpp — percentiles and the least-squares line.
//
// Concept: see measure.hpp.
// Explained in: docs/12-comparisons.md (how the comparisons measure).
// Read next: examples/compare/report.cpp.
#include "measure.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>

namespace compare {
namespace {

// The q-quantile (0 <= q <= 1) of sorted samples, between the two nearest ranks.
double quantile(const std::vector<double>& sorted, double q) {
  double rank = q * static_cast<double>(sorted.size() - 1);
  auto below = static_cast<std::size_t>(std::floor(rank));
  auto above = std::min(below + 1, sorted.size() - 1);
  double fraction = rank - static_cast<double>(below);
  return sorted[below] + fraction * (sorted[above] - sorted[below]);
}

}  // namespace

spread summarize(std::vector<double> samples) {
  if (samples.empty()) throw std::invalid_argument("compare::summarize: no samples");
  std::sort(samples.begin(), samples.end());
  return spread{
      .median = quantile(samples, 0.5),
      .p10 = quantile(samples, 0.1),
      .p90 = quantile(samples, 0.9),
      .min = samples.front(),
      .max = samples.back(),
      .repetitions = static_cast<int>(samples.size()),
  };
}

double percentile(std::vector<double> samples, double q) {
  if (samples.empty()) throw std::invalid_argument("compare::percentile: no samples");
  std::sort(samples.begin(), samples.end());
  return quantile(samples, q);
}

line_fit fit_line(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size() || x.size() < 2) {
    throw std::invalid_argument("compare::fit_line: needs two or more (x, y) points");
  }
  double n = static_cast<double>(x.size());
  double mean_x = 0, mean_y = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    mean_x += x[i] / n;
    mean_y += y[i] / n;
  }
  double sxx = 0, sxy = 0, syy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxx += (x[i] - mean_x) * (x[i] - mean_x);
    sxy += (x[i] - mean_x) * (y[i] - mean_y);
    syy += (y[i] - mean_y) * (y[i] - mean_y);
  }
  if (sxx == 0) throw std::invalid_argument("compare::fit_line: every x is the same");
  line_fit fit;
  fit.slope = sxy / sxx;
  fit.intercept = mean_y - fit.slope * mean_x;
  fit.r_squared = syy == 0 ? 1.0 : (sxy * sxy) / (sxx * syy);
  return fit;
}

}  // namespace compare
