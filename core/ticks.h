// Axis ticks shared by the visualizer's plots (viz/plot.h) and the report's
// SVG charts (apps/report.cc): positions at "nice" decimal steps and labels
// with as many decimals as the step needs.
#pragma once

#include <string>
#include <vector>

namespace cohort {

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

}  // namespace cohort
