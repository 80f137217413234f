// Axis ticks shared by the visualizer's plots and the report's charts (core/ticks.h).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/ticks.h"

using namespace cohort;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

using Ticks = std::vector<double>;

// A 1, 2 or 5 x 10^k step, measured from ticks near `magnitude` (their
// rounding blurs a step of a few ulps).
bool IsNiceStep(double step, double magnitude) {
  const double tol = 1e-9 + 8.0 * (std::nextafter(magnitude, kInf) - magnitude) / step;
  const double k = std::floor(std::log10(step) + 1e-12);
  const double m = step / std::pow(10.0, k);
  for (double nice : {1.0, 2.0, 5.0, 10.0})
    if (std::abs(m - nice) < tol * nice) return true;
  return false;
}

}  // namespace

TEST_CASE("ticks: nice ticks by hand") {
  CHECK(NiceTicks(0, 1, 6) == Ticks{0, 0.2, 0.4, 0.6, 0.8, 1});
  CHECK(NiceTicks(0, 1, 11) == Ticks{0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1});
  CHECK(NiceTicks(0, 1, 5) == Ticks{0, 0.5, 1});
  CHECK(NiceTicks(-3.7, 12.2, 5) == Ticks{0, 5, 10});
  CHECK(NiceTicks(12.2, -3.7, 5) == Ticks{0, 5, 10});  // inverted
  CHECK(NiceTicks(0, 2000, 5) == Ticks{0, 500, 1000, 1500, 2000});
  CHECK(NiceTicks(0.1 + 0.2, 0.9, 7) == Ticks{0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9});  // 0.1 + 0.2 > 0.3
  CHECK(NiceTicks(-1, 1, 3) == Ticks{-1, 0, 1});
  CHECK(NiceTicks(1e6, 3e6, 5) == Ticks{1e6, 1.5e6, 2e6, 2.5e6, 3e6});
  CHECK(NiceTicks(2e-5, 1e-4, 5) == Ticks{2e-5, 4e-5, 6e-5, 8e-5, 1e-4});
  // [0.1, 0.9] has no two 1/2/5 multiples within 2 ticks: the one at 0.5.
  CHECK(NiceTicks(0.1, 0.9, 2) == Ticks{0.5});
  CHECK(NiceTicks(0.1, 0.9, 1) == Ticks{0.5});
  const Ticks t = NiceTicks(-0.3, 0.25, 4);  // 0 is +0, not -0
  CHECK(t == Ticks{-0.2, 0, 0.2});
  CHECK(!std::signbit(t[1]));
}

TEST_CASE("ticks: nice ticks on degenerate ranges") {
  CHECK(NiceTicks(3, 3, 5) == Ticks{3});
  CHECK(NiceTicks(kNaN, 1, 5).empty());
  CHECK(NiceTicks(0, kNaN, 5).empty());
  CHECK(NiceTicks(0, kInf, 5).empty());
  CHECK(NiceTicks(0, 1, 0).empty());
  const Ticks huge = NiceTicks(-1e308, 1e308, 5);
  CHECK(huge == Ticks{-1e308, -5e307, 0, 5e307, 1e308});
  const Ticks max = NiceTicks(-1.7976931348623157e308, 1.7976931348623157e308, 6);
  CHECK(max.size() >= 2);
  CHECK(max.size() <= 6);
  const Ticks tiny = NiceTicks(0, 1e-310, 5);  // denormals
  CHECK(tiny.size() >= 2);
  CHECK(tiny.size() <= 5);
  // A span below the doubles' resolution at this magnitude: few, increasing ticks.
  const Ticks narrow = NiceTicks(1.0, std::nextafter(1.0, 2.0), 5);
  CHECK(!narrow.empty());
  CHECK(narrow.size() <= 5);
  for (size_t i = 1; i < narrow.size(); ++i) CHECK(narrow[i] > narrow[i - 1]);
}

TEST_CASE("ticks: nice ticks stay inside the range, 2..max of them, on a nice step") {
  const double los[] = {-1234.5, -1.0, -0.001, 0.0, 0.37, 7.0, 99.9, 1e9};
  const double spans[] = {1e-6, 0.013, 0.9, 1.0, 3.3, 47.0, 1000.0, 6.02e7};
  for (double lo : los)
    for (double span : spans)
      for (int max_ticks : {2, 3, 5, 8, 12}) {
        const double hi = lo + span;
        const Ticks t = NiceTicks(lo, hi, max_ticks);
        CAPTURE(lo);
        CAPTURE(hi);
        CAPTURE(max_ticks);
        REQUIRE(!t.empty());
        CHECK(int(t.size()) <= max_ticks);
        if (max_ticks >= 5) CHECK(t.size() >= 2);  // a span always holds two ticks of a step <= span / 4
        CHECK(t.front() >= lo - 1e-9 * span);      // up to rounding
        CHECK(t.back() <= hi + 1e-9 * span);
        for (size_t i = 1; i < t.size(); ++i) CHECK(t[i] > t[i - 1]);
        if (t.size() >= 2) CHECK(IsNiceStep(TickStep(t), std::max(std::abs(lo), std::abs(hi))));
      }
}

TEST_CASE("ticks: tick labels") {
  CHECK(FormatTick(0.0, 0.2) == "0.0");
  CHECK(FormatTick(0.6, 0.2) == "0.6");
  CHECK(FormatTick(0.1 + 0.2, 0.1) == "0.3");
  CHECK(FormatTick(15, 5) == "15");
  CHECK(FormatTick(1500, 500) == "1500");
  CHECK(FormatTick(-2.5, 0.5) == "-2.5");
  CHECK(FormatTick(0.05, 0.05) == "0.05");
  CHECK(FormatTick(1.5e6, 5e5) == "1.5e+06");
  CHECK(FormatTick(2e6, 5e5) == "2e+06");
  CHECK(FormatTick(-1.25e7, 5e5) == "-1.25e+07");
  CHECK(FormatTick(2e-5, 1e-5) == "2e-05");
  CHECK(FormatTick(3.2e-5, 2e-6) == "3.2e-05");
  CHECK(FormatTick(3e-5, 2e-6) == "3e-05");  // trailing zeros dropped
  CHECK(FormatTick(0.5, 1e-5) == "0.50000");
  // Never "-0": rounding noise and small negatives print as zero.
  CHECK(FormatTick(-0.0, 1) == "0");
  CHECK(FormatTick(-1e-17, 0.1) == "0.0");
  CHECK(FormatTick(-0.04, 0.1) == "0.0");
  CHECK(FormatTick(-1e-12, 1e-5) == "0");
  CHECK(FormatTick(kNaN, 1) == "nan");
  CHECK(FormatTick(-kInf, 1) == "-inf");
  CHECK(FormatTick(3.5, 0) == "3.5");  // no step: %g
  CHECK(FormatTick(-0.0, kNaN) == "0");
}

TEST_CASE("ticks: tick labels of every tick of a range are distinct") {
  for (auto [lo, hi] : {std::pair{0.0, 1.0},
                        {-3.7, 12.2},
                        {0.49999, 0.50002},
                        {1e6, 3e6},
                        {0.0, 1e-4},
                        {123456.0, 123457.0},
                        {-1e-7, 1e-7}}) {
    const Ticks t = NiceTicks(lo, hi, 8);
    const double step = TickStep(t);
    for (size_t i = 1; i < t.size(); ++i) CHECK(FormatTick(t[i], step) != FormatTick(t[i - 1], step));
  }
}
