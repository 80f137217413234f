#include "goodness_of_fit.h"

#include <cmath>
#include <numeric>

#include <boost/math/special_functions/gamma.hpp>

namespace cohort {

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

void RandomSlates(Rng& rng, const StepBatch& b, SlateBatch& slates) {
  std::vector<int32_t> perm(size_t(b.num_candidates));
  for (int r = 0; r < b.rows; ++r) {
    std::iota(perm.begin(), perm.end(), 0);
    for (int j = 0; j < b.slate_size; ++j) {
      const int pick = j + int(rng.Below(uint32_t(b.num_candidates - j)));
      std::swap(perm[size_t(j)], perm[size_t(pick)]);
      slates.Row(r)[j] = perm[size_t(j)];
    }
  }
}

}  // namespace cohort
