// Goodness-of-fit tests for the statistical tests of the simulator: sampled
// frequencies against exact probabilities (chi-square) and sampled values
// against an exact CDF (Kolmogorov-Smirnov). Test-only; the product's
// statistics are in core/stats.h.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/rng.h"
#include "env/vec_env.h"

namespace cohort {

// Upper tail P(X >= x) of a chi-square variable with k degrees of freedom.
double ChiSquareSurvival(double x, int k);

// Pearson chi-square statistic of observed counts against probabilities.
double ChiSquareStatistic(const std::vector<int64_t>& observed, const std::vector<double>& probs);

// Kolmogorov-Smirnov distance of a sample against a CDF; and the asymptotic
// p-value of sqrt(n) * D.
template <typename Cdf>
double KolmogorovSmirnov(std::vector<double> sample, Cdf cdf) {
  std::sort(sample.begin(), sample.end());
  const double n = double(sample.size());
  double d = 0.0;
  for (size_t i = 0; i < sample.size(); ++i) {
    const double f = cdf(sample[i]);
    d = std::max({d, f - double(i) / n, double(i + 1) / n - f});
  }
  return d;
}
double KolmogorovPValue(double d, int64_t n);

// One binomial cell of a z-test: hits counted against the summed
// probabilities of the trials that could hit.
struct BinomialCell {
  int64_t n = 0, observed = 0;
  double expected = 0.0, variance = 0.0;
  void Add(bool hit, double p) {
    ++n;
    observed += hit;
    expected += p;
    variance += p * (1.0 - p);
  }
  double Z() const { return variance > 0 ? (double(observed) - expected) / std::sqrt(variance) : 0.0; }
};

// Uniformly random slates of distinct candidates for every row of `b`.
void RandomSlates(Rng& rng, const StepBatch& b, SlateBatch& slates);

}  // namespace cohort
