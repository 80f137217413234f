#include "core/ticks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace cohort {
namespace {

// 10^k; for k < 0 as a division by an exact power while there is one, so
// 0.1, 0.01 ... are the doubles nearest the decimals.
double Pow10(int k) { return k < 0 && k >= -22 ? 1.0 / std::pow(10.0, -k) : std::pow(10.0, k); }

// The double nearest the decimal i * m * 10^k (0.6, not 3 * 0.2), parsed from
// its decimal text; i * m is an integer.
double Multiple(double i, int m, int k) {
  char text[400];
  std::snprintf(text, sizeof text, "%.0fe%d", i * m, k);
  return std::strtod(text, nullptr) + 0.0;  // + 0.0: no -0
}

}  // namespace

std::vector<double> NiceTicks(double lo, double hi, int max_ticks) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || max_ticks < 1) return {};
  if (lo > hi) std::swap(lo, hi);
  if (lo == hi) return {lo};
  // log10 of the span via half of it: hi - lo itself may overflow.
  const double log_span = std::log10(hi * 0.5 - lo * 0.5) + std::log10(2.0);
  const int k_first = int(std::floor(log_span - std::log10(double(max_ticks)))) - 1;
  const int k_last = int(std::floor(log_span)) + 1;
  // The finest step with 2..max_ticks ticks, else the finest with one.
  int best_m = 0, best_k = 0, single_m = 0, single_k = 0;
  double best_first = 0.0, best_count = 0.0, single_first = 0.0;
  for (int k = k_first; k <= k_last && best_m == 0; ++k)
    for (int m : {1, 2, 5}) {
      const double step = m * Pow10(k);
      if (!(step > 0.0) || !std::isfinite(step)) continue;
      // Indices of the multiples inside [lo, hi], forgiving rounding (0.1 + 0.2 > 0.3).
      const double first = std::ceil(lo / step - 1e-9), last = std::floor(hi / step + 1e-9);
      const double count = last - first + 1.0;
      if (count >= 2.0 && count <= max_ticks) {
        best_m = m, best_k = k, best_first = first, best_count = count;
        break;
      }
      if (count == 1.0 && single_m == 0) single_m = m, single_k = k, single_first = first;
    }
  if (best_m == 0) {
    if (single_m == 0) return {};
    best_m = single_m, best_k = single_k, best_first = single_first, best_count = 1.0;
  }
  std::vector<double> ticks;
  for (int i = 0; i < int(best_count); ++i) {
    const double t = Multiple(best_first + i, best_m, best_k);
    if (ticks.empty() || t > ticks.back()) ticks.push_back(t);  // indices past 2^53 may collide
  }
  return ticks;
}

double TickStep(const std::vector<double>& ticks) {
  return ticks.size() < 2 ? 0.0 : (ticks.back() - ticks.front()) / double(ticks.size() - 1);
}

std::string FormatTick(double value, double step) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[64];
  if (!(step > 0.0) || !std::isfinite(step)) {
    std::snprintf(buf, sizeof buf, "%g", value == 0.0 ? 0.0 : value);
    return buf;
  }
  if (std::abs(value) < step * 1e-6) value = 0.0;  // 0.1 + 0.2 - 0.3 is a tick at 0
  const double mag = std::abs(value);
  const int step_exp = int(std::floor(std::log10(step) + 1e-9));
  if (mag >= 1e6 || (mag < 1e-4 && step < 1e-4)) {
    if (value == 0.0) return "0";
    const int value_exp = int(std::floor(std::log10(mag) + 1e-9));
    std::snprintf(buf, sizeof buf, "%.*e", std::clamp(value_exp - step_exp, 0, 15), value);
    std::string s = buf;  // 1.50e+06 -> 1.5e+06, 1.0e+06 -> 1e+06
    const size_t e = s.find('e');
    size_t end = e;
    if (s.find('.') < e) {
      while (s[end - 1] == '0') --end;
      if (s[end - 1] == '.') --end;
    }
    return s.erase(end, e - end);
  }
  std::snprintf(buf, sizeof buf, "%.*f", std::clamp(-step_exp, 0, 15), value);
  std::string s = buf;
  if (s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);  // "-0.0" -> "0.0"
  return s;
}

}  // namespace cohort
