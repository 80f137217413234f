// The myopic oracle's fast exact search (env/oracle_search.h) against
// enumeration: for every choice model, with and without position bias
// (decay below and above 1), random click propensities, slate sizes from 1
// to K and random states with and without duplicated candidates, the slate
// and its value (to the bit) are enumeration's; and the fast method does
// answer most untied states, so the comparison is not vacuous.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/rng.h"
#include "env/choice.h"
#include "env/oracle_search.h"

namespace cohort {
namespace {

ChoiceParams RandomParams(ChoiceKind kind, double decay, Rng& rng) {
  ChoiceParams p;
  p.kind = kind;
  p.position_decay = decay;
  p.temperature = 0.1 + 2.0 * rng.Uniform();
  p.no_click_mass = 0.2 + 5.0 * rng.Uniform();
  p.min_normalizer = -1.0;
  p.no_click_score = 2.0 * rng.Uniform() - 1.0;
  p.threshold = rng.Uniform() - 0.5;
  p.first_attention = 0.3 + 0.7 * rng.Uniform();
  return p;
}

struct Tally {
  int64_t states = 0, untied = 0, fast_untied = 0, tied = 0, fast_tied = 0, mismatches = 0;
};

// `states` random states of one model and shape; duplicates copy one
// candidate's score and value onto another (exact ties between slates).
Tally Compare(ChoiceKind kind, double decay, int K, int k, int states, uint64_t seed) {
  Rng rng(seed);
  Tally t;
  std::vector<double> score(static_cast<size_t>(K)), value(static_cast<size_t>(K));
  for (int n = 0; n < states; ++n) {
    const ChoiceModel choice(RandomParams(kind, decay, rng), k);
    const double cp = 0.3 + 1.7 * rng.Uniform();
    for (int c = 0; c < K; ++c) {
      score[size_t(c)] = 2.0 * rng.Uniform() - 1.0;
      // Mostly positive values (every click worth something), some negative.
      value[size_t(c)] = rng.Uniform() < 0.1 ? -rng.Uniform() : 2.0 * rng.Uniform();
    }
    // RecSim's case: every click worth the same.
    if (n % 5 == 0)
      for (double& v : value) v = 1.0;
    const bool tied = K > 1 && n % 4 == 1;
    // One to three copies of candidates onto others.
    for (int copy = tied ? 1 + int(rng.Below(3)) : 0; copy > 0; --copy) {
      const int from = int(rng.Below(uint32_t(K))), to = (from + 1 + int(rng.Below(uint32_t(K - 1)))) % K;
      score[size_t(to)] = score[size_t(from)];
      value[size_t(to)] = value[size_t(from)];
    }
    int32_t fast_slate[64], enum_slate[64];
    bool solved_fast = false;
    const double fast_value =
        ExactOracleSlate(choice, K, k, score.data(), value.data(), cp, true, fast_slate, &solved_fast);
    const double enum_value = ExactOracleSlate(choice, K, k, score.data(), value.data(), cp, false, enum_slate);
    ++t.states;
    const bool same = std::memcmp(&fast_value, &enum_value, sizeof(double)) == 0 &&
                      std::equal(fast_slate, fast_slate + k, enum_slate);
    if (!same) {
      ++t.mismatches;
      if (t.mismatches <= 3) {
        std::string a, b;
        for (int j = 0; j < k; ++j) a += std::to_string(fast_slate[j]) + " ", b += std::to_string(enum_slate[j]) + " ";
        MESSAGE("state " << n << ": fast [" << a << "] " << fast_value << " vs enumerated [" << b << "] " << enum_value
                         << std::string(solved_fast ? " (fast method)" : " (fallback)"));
      }
    }
    if (!tied && n % 5 != 0) {
      ++t.untied;
      t.fast_untied += solved_fast;
    } else if (tied) {
      ++t.tied;
      t.fast_tied += solved_fast;
    }
  }
  return t;
}

struct Shape {
  int K, k;
};
const Shape kShapes[] = {{1, 1}, {6, 1}, {5, 5}, {10, 2}, {7, 3}, {8, 4}, {6, 6}, {40, 1}, {12, 3}};

void CheckModel(ChoiceKind kind, bool has_fast) {
  uint64_t seed = 11;
  // Scenarios allow decay in (0, 1]; 1.25 checks that positions are sorted, not assumed.
  for (const double decay : {1.0, 0.8, 0.5, 1.25}) {
    for (const Shape& s : kShapes) {
      const int states = s.K >= 12 ? 600 : 2000;
      const Tally t = Compare(kind, decay, s.K, s.k, states, seed++);
      INFO(ChoiceKindName(kind) << " decay " << decay << " K " << s.K << " k " << s.k << ": " << t.fast_untied << " of "
                                << t.untied << " untied states solved fast, " << t.fast_tied << " of " << t.tied
                                << " with copies");
      CHECK(t.mismatches == 0);
      // Without ties the fast method answers nearly always; a single slate
      // (k = K without order) needs no method at all.
      if (has_fast && t.untied > 0) CHECK(double(t.fast_untied) >= 0.95 * double(t.untied));
      if (!has_fast) CHECK(t.fast_untied + t.fast_tied == 0);
      // Copies are resolved among themselves, not by enumerating everything.
      if (has_fast && s.K > 2 && t.tied > 0) CHECK(double(t.fast_tied) >= 0.5 * double(t.tied));
    }
  }
}

TEST_CASE("oracle: proportional fast search equals enumeration") { CheckModel(ChoiceKind::kProportional, true); }
TEST_CASE("oracle: mnl fast search equals enumeration") { CheckModel(ChoiceKind::kMultinomialLogit, true); }
TEST_CASE("oracle: pbm fast search equals enumeration") { CheckModel(ChoiceKind::kPositionBased, true); }
TEST_CASE("oracle: cascade enumerates") { CheckModel(ChoiceKind::kCascade, false); }

// With every candidate identical every slate ties: the answer is
// enumeration's first strict maximum among slates whose values differ only
// by rounding, found among the copies of the fast method's slate.
TEST_CASE("oracle: identical candidates give enumeration's slate") {
  for (const ChoiceKind kind : {ChoiceKind::kProportional, ChoiceKind::kMultinomialLogit, ChoiceKind::kPositionBased}) {
    for (const double decay : {1.0, 0.8}) {
      ChoiceParams p;
      p.kind = kind;
      p.position_decay = decay;
      const ChoiceModel choice(p, 3);
      const std::vector<double> score(6, 0.4), value(6, 1.5);
      int32_t slate[3], enumerated[3];
      bool solved_fast = false;
      const double v = ExactOracleSlate(choice, 6, 3, score.data(), value.data(), 1.0, true, slate, &solved_fast);
      const double e = ExactOracleSlate(choice, 6, 3, score.data(), value.data(), 1.0, false, enumerated);
      INFO(ChoiceKindName(kind) << " decay " << decay);
      CHECK(solved_fast);
      CHECK(std::memcmp(&v, &e, sizeof(double)) == 0);
      CHECK(std::equal(slate, slate + 3, enumerated));
    }
  }
}

}  // namespace
}  // namespace cohort
