// Statistics used by the runner, the trainer and `cohort report`: a running
// mean with its confidence interval, the ratio of paired means (the normalized
// score) with its delta-method interval, the seeded percentile bootstrap and
// the interquartile mean. (The goodness-of-fit tests used only by the test suite,
// chi-square and Kolmogorov-Smirnov, live in tests/goodness_of_fit.h.)
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
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

// An estimate and the half-width of its 95% confidence interval.
struct Estimate {
  double value = 0.0, ci95 = 0.0;
};

// The ratio of paired means mean(a) / mean(b) over pairs (a_i, b_i) (the same
// user or episode in both), with the half-width of its 95% interval by the
// delta method: with r = mean(a) / mean(b) and the residuals d_i = a_i - r b_i,
//   var(r) ~ var(d) / (n mean(b)^2),   var(d) = var(a) - 2 r cov(a, b) + r^2 var(b),
// var(d) the sample variance (n - 1), and the half-width the Student-t
// quantile for n - 1 degrees of freedom times its square root (as
// RunningStat::ci95). The approximation assumes independent pairs and a mean
// of b well away from 0 relative to its standard error; it is symmetric
// around r. Computing var(d) from the residuals makes the degenerate cases
// exact: a == b gives r = 1 with half-width 0, a == 0 gives 0 with 0.
// nullopt when |mean(b)| <= 1e-12 or there are no pairs (the ratio is
// undefined); one pair gives half-width 0. Only the first min(|a|, |b|) pairs
// are used.
std::optional<Estimate> RatioOfPairedMeans(const std::vector<double>& a, const std::vector<double>& b);

// The normalized score of paired returns: mean(main - random) / mean(oracle -
// random), 0 for the random policy and 1 for the oracle, with its delta-method
// interval (RatioOfPairedMeans on a_i = main_i - random_i, b_i = oracle_i -
// random_i). The three vectors hold the same users in the same order; pairs
// past the shortest are ignored.
std::optional<Estimate> NormalizedScore(const std::vector<double>& main, const std::vector<double>& random,
                                        const std::vector<double>& oracle);

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
