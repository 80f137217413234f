// Axis logic for the visualizer's plots (viz/plot.h), GL-free and ImGui-free so
// it is unit-tested without a window (tests/test_viz_axes.cc):
//
//   FiniteRange / PaddedRange   the data range an axis shows
//   NiceTicks, FormatTick       tick positions and labels (core/ticks.h, shared
//                               with the report's SVG charts)
//   NearestIndex                the point under the mouse on a sorted x axis
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/ticks.h"

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

// The index of the x nearest `target` in sorted x[0, n) (the lower one on a
// tie); -1 when n == 0 or target is NaN.
int NearestIndex(const double* x, size_t n, double target);

}  // namespace cohort::viz
