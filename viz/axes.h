// Axis logic for the visualizer's plots (viz/plot.h), GL-free and ImGui-free so
// it is unit-tested without a window (tests/test_viz_axes.cc):
//
//   FiniteRange / PaddedRange   the data range an axis shows
//   NiceTicks                   tick positions at 1, 2 or 5 x 10^k steps
//   FormatTick                  a tick label with as many decimals as its step needs
//   NearestIndex                the point under the mouse on a sorted x axis
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace cohort::viz {

struct AxisRange {
  double lo = 0.0, hi = 1.0;
};

// The finite min and max of v[0, n); nullopt when none is finite.
std::optional<AxisRange> FiniteRange(const double* v, size_t n);
// The smallest range holding both (either may be nullopt).
std::optional<AxisRange> Union(const std::optional<AxisRange>& a, const std::optional<AxisRange>& b);

// `data` widened by `pad` of its span on each side. A single value gets a
// non-zero span (10% of its magnitude, or +-0.5 around 0); no data gives
// [0, 1]. With `from_zero` the range holds 0 and is not padded past it, so a
// positive series starts exactly at 0.
AxisRange PaddedRange(const std::optional<AxisRange>& data, double pad = 0.05, bool from_zero = false);
inline AxisRange PaddedRange(const double* v, size_t n, double pad = 0.05, bool from_zero = false) {
  return PaddedRange(FiniteRange(v, n), pad, from_zero);
}

// Ticks inside [lo, hi] (either order) at multiples of a 1, 2 or 5 x 10^k step
// (Heckbert's nice numbers): the finest such step giving at least 2 and at
// most max_ticks ticks, else the finest giving one. lo == hi gives {lo};
// non-finite bounds or max_ticks < 1 give none. Ticks are the doubles nearest
// the decimal multiples (0.6, not 3 * 0.2), so one may lie outside [lo, hi]
// by rounding (a bound of 0.1 + 0.2 still gets the tick 0.3).
std::vector<double> NiceTicks(double lo, double hi, int max_ticks);
// The step between consecutive NiceTicks (0 for fewer than two).
double TickStep(const std::vector<double>& ticks);

// A tick label: fixed with the decimals `step` needs ("0.2", "15"), or
// scientific when magnitudes are large or small ("1.5e+06", "2e-05"); values
// within rounding of zero print "0", never "-0".
std::string FormatTick(double value, double step);

// The index of the x nearest `target` in sorted x[0, n) (the lower one on a
// tie); -1 when n == 0 or target is NaN.
int NearestIndex(const double* x, size_t n, double target);

}  // namespace cohort::viz
