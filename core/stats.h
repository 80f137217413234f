// Statistics used by the runner, the trainer and `cohort report`: a running
// mean with its confidence interval, the seeded percentile bootstrap and the
// interquartile mean. (The goodness-of-fit tests used only by the test suite,
// chi-square and Kolmogorov-Smirnov, live in tests/goodness_of_fit.h.)
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

// A two-sided confidence interval [lo, hi].
struct ConfidenceInterval {
  double lo = 0.0, hi = 0.0;
};

// Percentile bootstrap interval of the mean of `x`: `samples` resamples drawn
// from a stream seeded by `seed`, so the interval is reproducible. Empty x
// gives NaNs; one value gives [x0, x0].
ConfidenceInterval BootstrapMeanCI(const std::vector<double>& x, int samples, uint64_t seed, double level = 0.95);

// Interquartile mean: the mean of the middle 50% of the values, with
// fractional weights at the edges (robust to a few outliers; NaN when empty).
double InterquartileMean(std::vector<double> x);

// Linear interpolation between order statistics of an ascending `sorted`
// (Hyndman-Fan type 7, numpy's default); NaN when empty.
double Quantile(const std::vector<double>& sorted, double q);

}  // namespace cohort
