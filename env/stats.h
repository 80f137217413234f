// Small statistics used by the runner and the statistical tests.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace cohort {

// Welford's running mean/variance (numerically stable, one pass).
class RunningStat {
 public:
  void Add(double x) {
    ++n_;
    const double d = x - mean_;
    mean_ += d / double(n_);
    m2_ += d * (x - mean_);
  }
  int64_t count() const { return n_; }
  double mean() const { return n_ > 0 ? mean_ : 0.0; }
  // Sample standard deviation (n - 1).
  double stddev() const { return n_ > 1 ? std::sqrt(m2_ / double(n_ - 1)) : 0.0; }
  // Half-width of the 95% confidence interval of the mean (normal
  // approximation; t quantile below 30 samples).
  double ci95() const;

 private:
  int64_t n_ = 0;
  double mean_ = 0.0, m2_ = 0.0;
};

// Two-sided 97.5% Student-t quantile for `dof` degrees of freedom.
double StudentT975(int64_t dof);

// Upper tail P(X >= x) of a chi-square variable with k degrees of freedom.
double ChiSquareSurvival(double x, int k);

// Pearson chi-square statistic of observed counts against probabilities.
double ChiSquareStatistic(const std::vector<int64_t>& observed, const std::vector<double>& probs);

// Kolmogorov-Smirnov distance of a sample against a CDF; and the asymptotic
// p-value of sqrt(n) * D.
template <typename Cdf>
double KolmogorovSmirnov(std::vector<double> sample, Cdf cdf);
double KolmogorovPValue(double d, int64_t n);

}  // namespace cohort

#include "env/stats_inl.h"
