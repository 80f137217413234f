// The normalized score's estimate and interval (core/stats.h NormalizedScore,
// RatioOfPairedMeans): exact degenerate cases, hand-worked samples and the
// coverage of the delta-method interval on simulated paired returns.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "core/rng.h"
#include "core/stats.h"

using namespace cohort;

namespace {

// Returns with fractions that do not add up exactly in binary (0.1 + 0.2 !=
// 0.3), so an estimate that is only 1 "up to rounding" would show.
std::vector<double> Returns(uint64_t seed, size_t n, double mean) {
  Rng rng(seed);
  std::vector<double> x(n);
  for (double& v : x) v = mean + 0.1 * std::round(10.0 * rng.Normal(0.0, 3.0)) + 0.7;
  return x;
}

}  // namespace

TEST_CASE("normalized score: the oracle against itself is exactly 1 with interval exactly 0") {
  for (uint64_t seed : {1u, 2u, 3u}) {
    const std::vector<double> random = Returns(seed, 2000, 10.0), oracle = Returns(seed + 100, 2000, 25.0);
    const auto s = NormalizedScore(oracle, random, oracle);
    REQUIRE(s.has_value());
    CHECK(s->value == 1.0);
    CHECK(s->ci95 == 0.0);
  }
}

TEST_CASE("normalized score: the random policy against itself is exactly 0 with interval exactly 0") {
  const std::vector<double> random = Returns(4, 500, 10.0), oracle = Returns(5, 500, 25.0);
  const auto s = NormalizedScore(random, random, oracle);
  REQUIRE(s.has_value());
  CHECK(s->value == 0.0);
  CHECK_FALSE(std::signbit(s->value));
  CHECK(s->ci95 == 0.0);
  // An oracle worse than random (a negative span) still gives +0, not -0.
  const auto flipped = NormalizedScore(oracle, oracle, random);
  REQUIRE(flipped.has_value());
  CHECK(flipped->value == 0.0);
  CHECK_FALSE(std::signbit(flipped->value));
}

TEST_CASE("normalized score: hand-worked delta-method intervals") {
  // a = main - random = {1, 3, 2, 6}, b = oracle - random = {2, 2, 4, 4}:
  // mean(a) = mean(b) = 3, r = 1; var(a) = 14/3, var(b) = 4/3, cov = 4/3, so
  // var(a) - 2 r cov + r^2 var(b) = 10/3 (the residuals a - b = {-1, 1, -2, 2}
  // give the same); half-width t(3) sqrt(10/3 / 4) / 3 with t(3) = 3.182.
  const auto s = NormalizedScore({1, 4, 2, 7}, {0, 1, 0, 1}, {2, 3, 4, 5});
  REQUIRE(s.has_value());
  CHECK(s->value == doctest::Approx(1.0).epsilon(1e-15));
  CHECK(s->ci95 == doctest::Approx(3.182 * std::sqrt(10.0 / 12.0) / 3.0).epsilon(1e-12));
  // The fixed-span interval would have been t(3) sqrt(var(a) / 4) / 3: wider here, since a and b covary.
  CHECK(s->ci95 < 3.182 * std::sqrt(14.0 / 12.0) / 3.0 - 0.1);

  // a = {1, 2, 3, 4}, b = 2 throughout: r = 2.5 / 2 = 1.25, residuals a - 2.5 =
  // {-1.5, -0.5, 0.5, 1.5}, variance 5/3; half-width t(3) sqrt(5/3 / 4) / 2.
  const auto r = RatioOfPairedMeans({1, 2, 3, 4}, {2, 2, 2, 2});
  REQUIRE(r.has_value());
  CHECK(r->value == 1.25);
  CHECK(r->ci95 == doctest::Approx(3.182 * std::sqrt(5.0 / 12.0) / 2.0).epsilon(1e-12));

  // With more than 30 pairs the quantile is the large-sample one (StudentT975).
  std::vector<double> a(40), b(40, 1.0);
  for (size_t i = 0; i < a.size(); ++i) a[i] = i % 2 ? 1.0 : 3.0;  // mean 2, residuals +-1, variance 40/39
  const auto big = RatioOfPairedMeans(a, b);
  REQUIRE(big.has_value());
  CHECK(big->value == 2.0);
  CHECK(big->ci95 == doctest::Approx(StudentT975(39) * std::sqrt(40.0 / 39.0 / 40.0)).epsilon(1e-12));
}

TEST_CASE("normalized score: undefined without a span or without pairs; one pair has no interval") {
  CHECK_FALSE(NormalizedScore({1, 2}, {3, 4}, {3, 4}).has_value());  // oracle == random
  CHECK_FALSE(RatioOfPairedMeans({}, {}).has_value());
  CHECK_FALSE(RatioOfPairedMeans({1.0}, {1e-13}).has_value());
  const auto one = NormalizedScore({2.0}, {1.0}, {5.0});
  REQUIRE(one.has_value());
  CHECK(one->value == 0.25);
  CHECK(one->ci95 == 0.0);
  // Pairs past the shortest vector are ignored.
  const auto cut = NormalizedScore({2.0, 100.0, 7.0}, {1.0, 0.0}, {5.0, 4.0, 1.0});
  REQUIRE(cut.has_value());
  CHECK(cut->value == doctest::Approx((1.0 + 100.0) / (4.0 + 4.0)));
}

TEST_CASE("normalized score: the delta-method interval covers the true ratio about 95% of the time") {
  // Paired returns of 100 users: random ~ N(2, 1), the oracle's gain over
  // random g ~ N(4, 2), the agent's main = random + 0.6 g + N(0, 1). The true
  // score is E[0.6 g] / E[g] = 0.6. Over 2000 replications (seeded) the
  // coverage's binomial standard error is 0.005; [0.93, 0.97] is 4 of them.
  // The old interval, which held the span fixed, ignores that a and b covary
  // (var(a) = 2.44 against the residual variance 1): it covered ~99.8%.
  const int reps = 2000, n = 100;
  Rng rng(MakeRng(17, 0, 0, StreamPurpose::kReport));
  int hits = 0, fixed_span_hits = 0;
  for (int rep = 0; rep < reps; ++rep) {
    std::vector<double> main(n), random(n), oracle(n);
    RunningStat gain;
    for (int i = 0; i < n; ++i) {
      const double r = rng.Normal(2.0, 1.0), g = rng.Normal(4.0, 2.0);
      random[size_t(i)] = r;
      oracle[size_t(i)] = r + g;
      main[size_t(i)] = r + 0.6 * g + rng.Normal(0.0, 1.0);
      gain.Add(main[size_t(i)] - r);
    }
    const auto s = NormalizedScore(main, random, oracle);
    REQUIRE(s.has_value());
    hits += std::abs(s->value - 0.6) <= s->ci95;
    double span = 0.0;
    for (int i = 0; i < n; ++i) span += (oracle[size_t(i)] - random[size_t(i)]) / n;
    fixed_span_hits += std::abs(s->value - 0.6) <= gain.ci95() / std::abs(span);
  }
  const double coverage = double(hits) / reps;
  CHECK(coverage >= 0.93);
  CHECK(coverage <= 0.97);
  CHECK(double(fixed_span_hits) / reps > 0.985);  // the behaviour this interval replaces
}
