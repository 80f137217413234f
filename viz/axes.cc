#include "viz/axes.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace cohort::viz {
namespace {

constexpr double kMax = std::numeric_limits<double>::max();

double Clamp(double v) { return std::clamp(v, -kMax, kMax); }

}  // namespace

std::optional<AxisRange> FiniteRange(const double* v, size_t n) {
  std::optional<AxisRange> r;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(v[i])) continue;
    if (!r) r = AxisRange{v[i], v[i]};
    r->lo = std::min(r->lo, v[i]), r->hi = std::max(r->hi, v[i]);
  }
  return r;
}

std::optional<AxisRange> Union(const std::optional<AxisRange>& a, const std::optional<AxisRange>& b) {
  if (!a) return b;
  if (!b) return a;
  return AxisRange{std::min(a->lo, b->lo), std::max(a->hi, b->hi)};
}

AxisRange PaddedRange(const std::optional<AxisRange>& data, double pad, bool from_zero) {
  if (!data) return AxisRange{};
  double lo = data->lo, hi = data->hi;
  if (from_zero) lo = std::min(lo, 0.0), hi = std::max(hi, 0.0);
  if (lo == hi) {
    const double half = lo != 0.0 ? 0.1 * std::abs(lo) : 0.5;
    lo = Clamp(lo - half), hi = Clamp(hi + half);
    if (!(lo < hi)) lo = data->lo - 0.5, hi = data->lo + 0.5;  // half underflowed (a denormal)
  } else {
    const double margin = pad * hi - pad * lo;  // not pad * (hi - lo): that may overflow
    lo = Clamp(lo - margin), hi = Clamp(hi + margin);
  }
  if (from_zero && data->lo >= 0.0)
    lo = 0.0;
  else if (from_zero && data->hi <= 0.0)
    hi = 0.0;
  return AxisRange{lo, hi};
}

int NearestIndex(const double* x, size_t n, double target) {
  if (n == 0 || std::isnan(target)) return -1;
  const size_t i = size_t(std::lower_bound(x, x + n, target) - x);
  if (i == 0) return 0;
  if (i == n) return int(n - 1);
  return target - x[i - 1] <= x[i] - target ? int(i - 1) : int(i);
}

}  // namespace cohort::viz
