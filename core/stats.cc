#include "core/stats.h"

#include <algorithm>

#include "core/rng.h"

namespace cohort {

double StudentT975(int64_t dof) {
  static const double kTable[] = {0,     12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                  2.201, 2.179,  2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080,
                                  2.074, 2.069,  2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  if (dof < 1) return 0.0;
  if (dof <= 30) return kTable[dof];
  return 1.959964 + 2.4 / double(dof);  // within 0.1% of the exact quantile for dof > 30
}

double RunningStat::ci95() const {
  if (n_ < 2) return 0.0;
  return StudentT975(n_ - 1) * stddev() / std::sqrt(double(n_));
}

std::optional<Estimate> RatioOfPairedMeans(const std::vector<double>& a, const std::vector<double>& b) {
  const size_t n = std::min(a.size(), b.size());
  if (n == 0) return std::nullopt;
  double sum_a = 0.0, sum_b = 0.0;
  for (size_t i = 0; i < n; ++i) sum_a += a[i], sum_b += b[i];
  const double mean_a = sum_a / double(n), mean_b = sum_b / double(n);
  if (!(std::abs(mean_b) > 1e-12)) return std::nullopt;
  const double r = mean_a / mean_b + 0.0;  // + 0.0: 0, not -0, when mean(a) is 0 and mean(b) < 0
  if (n < 2) return Estimate{r, 0.0};
  // Two passes over the residuals: their mean is 0 up to rounding, and when
  // a_i == r b_i for every i each residual is exactly 0, so is the interval.
  double sum_d = 0.0;
  for (size_t i = 0; i < n; ++i) sum_d += a[i] - r * b[i];
  const double mean_d = sum_d / double(n);
  double ss = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double e = (a[i] - r * b[i]) - mean_d;
    ss += e * e;
  }
  const double se = std::sqrt(ss / double(n - 1) / double(n)) / std::abs(mean_b);
  return Estimate{r, StudentT975(int64_t(n) - 1) * se};
}

std::optional<Estimate> NormalizedScore(const std::vector<double>& main, const std::vector<double>& random,
                                        const std::vector<double>& oracle) {
  const size_t n = std::min({main.size(), random.size(), oracle.size()});
  std::vector<double> a(n), b(n);
  for (size_t i = 0; i < n; ++i) a[i] = main[i] - random[i], b[i] = oracle[i] - random[i];
  return RatioOfPairedMeans(a, b);
}

double Quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return std::nan("");
  const double pos = q * double(sorted.size() - 1);
  const size_t i = size_t(std::floor(pos));
  const double frac = pos - double(i);
  return i + 1 < sorted.size() ? sorted[i] + frac * (sorted[i + 1] - sorted[i]) : sorted[i];
}

ConfidenceInterval BootstrapMeanCI(const std::vector<double>& x, int samples, uint64_t seed, double level) {
  if (x.empty()) return {std::nan(""), std::nan("")};
  if (x.size() == 1) return {x[0], x[0]};
  Rng rng(seed);
  const uint32_t n = uint32_t(x.size());
  std::vector<double> means(size_t(std::max(samples, 1)));
  for (double& m : means) {
    double s = 0.0;
    for (uint32_t i = 0; i < n; ++i) s += x[rng.Below(n)];
    m = s / double(n);
  }
  std::sort(means.begin(), means.end());
  const double alpha = 1.0 - level;
  return {Quantile(means, alpha / 2), Quantile(means, 1.0 - alpha / 2)};
}

double InterquartileMean(std::vector<double> x) {
  if (x.empty()) return std::nan("");
  std::sort(x.begin(), x.end());
  // Each point carries mass 1 on [i, i+1); keep the mass in [n/4, 3n/4].
  const double n = double(x.size()), a = n / 4, b = 3 * n / 4;
  double sum = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double w = std::min(double(i) + 1, b) - std::max(double(i), a);
    if (w > 0) sum += w * x[i];
  }
  return sum / (b - a);
}

}  // namespace cohort
