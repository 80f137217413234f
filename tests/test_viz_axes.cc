// The plots' axis logic (viz/axes.h), without a window.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "viz/axes.h"

using namespace cohort::viz;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

}  // namespace

TEST_CASE("viz axes: finite range skips NaN and infinities; union keeps both") {
  const double v[] = {3.0, kNaN, -2.0, kInf, 7.5, -kInf};
  const auto r = FiniteRange(v, 6);
  REQUIRE(r);
  CHECK(r->lo == -2.0);
  CHECK(r->hi == 7.5);
  const double none[] = {kNaN, kInf};
  CHECK(!FiniteRange(none, 2));
  CHECK(!FiniteRange(v, 0));
  const auto u = Union(r, AxisRange{-5.0, 1.0});
  CHECK(u->lo == -5.0);
  CHECK(u->hi == 7.5);
  CHECK(Union(std::nullopt, r)->hi == 7.5);
  CHECK(!Union(std::nullopt, std::nullopt));
}

TEST_CASE("viz axes: padded range by hand, constants get a span, no data gives [0, 1]") {
  const double v[] = {0.0, 10.0, kNaN};
  AxisRange r = PaddedRange(v, 3, 0.05);
  CHECK(r.lo == doctest::Approx(-0.5));
  CHECK(r.hi == doctest::Approx(10.5));
  r = PaddedRange(v, 3, 0.0);
  CHECK(r.lo == 0.0);
  CHECK(r.hi == 10.0);
  const double c[] = {4.0, 4.0};
  r = PaddedRange(c, 2);
  CHECK(r.lo == doctest::Approx(3.6));
  CHECK(r.hi == doctest::Approx(4.4));
  const double zero[] = {0.0};
  r = PaddedRange(zero, 1);
  CHECK(r.lo == -0.5);
  CHECK(r.hi == 0.5);
  const double none[] = {kNaN};
  r = PaddedRange(none, 1);
  CHECK(r.lo == 0.0);
  CHECK(r.hi == 1.0);
  r = PaddedRange(nullptr, 0);
  CHECK(r.lo == 0.0);
  CHECK(r.hi == 1.0);
  const double denormal[] = {5e-324};  // 10% of it underflows: still a span
  r = PaddedRange(denormal, 1);
  CHECK(r.lo < r.hi);
  const double huge[] = {-1.7e308, 1.7e308};  // the span overflows, the padded range does not
  r = PaddedRange(huge, 2);
  CHECK(std::isfinite(r.lo));
  CHECK(std::isfinite(r.hi));
  CHECK(r.lo < -1.7e308);
  CHECK(r.hi > 1.7e308);
}

TEST_CASE("viz axes: from zero holds 0 and pads only away from it") {
  const double pos[] = {2.0, 4.0};
  AxisRange r = PaddedRange(pos, 2, 0.05, true);  // [0, 4] padded by 0.2 above only
  CHECK(r.lo == 0.0);
  CHECK(r.hi == doctest::Approx(4.2));
  const double neg[] = {-4.0, -2.0};
  r = PaddedRange(neg, 2, 0.05, true);
  CHECK(r.lo == doctest::Approx(-4.2));
  CHECK(r.hi == 0.0);
  const double both[] = {-1.0, 3.0};
  r = PaddedRange(both, 2, 0.05, true);
  CHECK(r.lo == doctest::Approx(-1.2));
  CHECK(r.hi == doctest::Approx(3.2));
  const double zero[] = {0.0};
  r = PaddedRange(zero, 1, 0.05, true);
  CHECK(r.lo == 0.0);
  CHECK(r.hi == 0.5);
}

TEST_CASE("viz axes: nearest index on sorted x") {
  const double x[] = {0.0, 1.0, 2.5, 10.0};
  CHECK(NearestIndex(x, 4, -5.0) == 0);
  CHECK(NearestIndex(x, 4, 0.4) == 0);
  CHECK(NearestIndex(x, 4, 0.5) == 0);  // a tie: the lower
  CHECK(NearestIndex(x, 4, 0.6) == 1);
  CHECK(NearestIndex(x, 4, 2.5) == 2);
  CHECK(NearestIndex(x, 4, 6.0) == 2);
  CHECK(NearestIndex(x, 4, 6.5) == 3);
  CHECK(NearestIndex(x, 4, 1e9) == 3);
  CHECK(NearestIndex(x, 1, 1e9) == 0);
  CHECK(NearestIndex(x, 0, 1.0) == -1);
  CHECK(NearestIndex(x, 4, kNaN) == -1);
}
