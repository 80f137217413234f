#include "env/stats.h"

#include <boost/math/special_functions/gamma.hpp>

namespace cohort {

double StudentT975(int64_t dof) {
  static const double kTable[] = {0,      12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                  2.201,  2.179,  2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                                  2.080,  2.074,  2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  if (dof < 1) return 0.0;
  if (dof <= 30) return kTable[dof];
  return 1.959964 + 2.4 / double(dof);  // within 0.1% of the exact quantile for dof > 30
}

double RunningStat::ci95() const {
  if (n_ < 2) return 0.0;
  return StudentT975(n_ - 1) * stddev() / std::sqrt(double(n_));
}

double ChiSquareSurvival(double x, int k) {
  if (x <= 0) return 1.0;
  return boost::math::gamma_q(0.5 * k, 0.5 * x);
}

double ChiSquareStatistic(const std::vector<int64_t>& observed, const std::vector<double>& probs) {
  int64_t n = 0;
  for (int64_t o : observed) n += o;
  double chi2 = 0.0;
  for (size_t i = 0; i < observed.size(); ++i) {
    const double e = probs[i] * double(n);
    if (e > 0) chi2 += (double(observed[i]) - e) * (double(observed[i]) - e) / e;
  }
  return chi2;
}

double KolmogorovPValue(double d, int64_t n) {
  // Asymptotic Kolmogorov distribution with Stephens' small-sample correction.
  const double sn = std::sqrt(double(n));
  const double t = (sn + 0.12 + 0.11 / sn) * d;
  double p = 0.0;
  for (int j = 1; j <= 100; ++j) p += 2.0 * ((j % 2) ? 1.0 : -1.0) * std::exp(-2.0 * j * j * t * t);
  return std::clamp(p, 0.0, 1.0);
}

}  // namespace cohort
