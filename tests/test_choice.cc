// Choice models: exact probabilities against independent formulas, sampled
// click frequencies against those probabilities (chi-square and per-bin
// binomial z-tests), cascade examination flags, and slate validation.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "agents/registry.h"
#include "core/rng.h"
#include "env/scenario.h"
#include "env/vec_env.h"
#include "goodness_of_fit.h"

namespace cohort {
namespace {

constexpr int kTopics = 20;
constexpr int kCandidates = 10;
constexpr int kSlate = 3;

Scenario MakeScenario(const json& env) { return ParseScenario(json{{"env", env}}, "test", AgentRegistry()); }

// An env whose dynamics never change the user: no interest evolution, no
// drift, no boredom, a budget that never runs out.
json StaticEnv(const json& choice) {
  return json{{"num_topics", kTopics}, {"candidates", kCandidates},
              {"slate_size", kSlate},  {"users", {{"time_budget", {{"mean", 1e9}}}}},
              {"choice", choice},      {"dynamics", {{"interest", {{"rule", "none"}, {"drift_std", 0.0}}}}}};
}

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Independent click probabilities of a slate from the user's utilities
// (scores s[j]); returns P(no click) in probs[k].
using ChoiceFormula = std::function<void(const double* s, int k, double* probs)>;

void ProportionalFormula(const double* s, int k, double* p) {
  // RecSim: weights shifted by -min_normalizer = +1, no-click mass 1 + 1.
  double total = 2.0;
  for (int j = 0; j < k; ++j) total += std::max(0.0, s[j] + 1.0);
  for (int j = 0; j < k; ++j) p[j] = std::max(0.0, s[j] + 1.0) / total;
  p[k] = 2.0 / total;
}

void MnlFormula(const double* s, int k, double* p) {
  const double t = 0.7, decay = 0.8;
  double total = 1.0;  // exp(no_click_score / T) with no_click_score 0
  for (int j = 0; j < k; ++j) total += std::pow(decay, j) * std::exp(s[j] / t);
  for (int j = 0; j < k; ++j) p[j] = std::pow(decay, j) * std::exp(s[j] / t) / total;
  p[k] = 1.0 / total;
}

constexpr double kCascadeAttention = 0.9, kCascadeDecay = 0.7, kCascadeTemperature = 0.5;

void CascadeFormula(const double* s, int k, double* p) {
  double reach = 1.0;
  for (int j = 0; j < k; ++j) {
    const double e = kCascadeAttention * std::pow(kCascadeDecay, j);
    const double c = Sigmoid(s[j] / kCascadeTemperature);  // threshold 0
    p[j] = reach * e * c;
    reach *= 1.0 - e * c;
  }
  p[k] = reach;
}

// Uniformly random slate of distinct candidates.
void RandomSlate(Rng& rng, int32_t* out) {
  int32_t perm[kCandidates];
  for (int i = 0; i < kCandidates; ++i) perm[i] = i;
  for (int j = 0; j < kSlate; ++j) {
    const int pick = j + int(rng.Below(uint32_t(kCandidates - j)));
    std::swap(perm[j], perm[pick]);
    out[j] = perm[j];
  }
}

// Steps B users for `steps` steps with random slates. Checks that the env's
// exact probabilities equal `formula`, that outcome frequencies match them
// (chi-square over outcomes; z-tests per probability decile and outcome), and
// the examination flags. Cascade: P(examined j) = e_j * P(reach j).
void CheckChoiceModel(const json& choice, const ChoiceFormula& formula, bool cascade, uint64_t seed) {
  const Scenario s = MakeScenario(StaticEnv(choice));
  const int B = 4096, steps = 50;
  VecEnv env(s.env, seed, 0, VecEnv::Options{B, 1, -1});
  const StepBatch* batch = &env.Reset();
  Rng rng(seed + 1000);
  SlateBatch slates;
  slates.Resize(B, kSlate);
  const int outcomes = kSlate + 1;  // positions, then no click
  std::vector<int64_t> observed(outcomes, 0);
  std::vector<double> expected(outcomes, 0.0);
  std::vector<BinomialCell> bins(size_t(outcomes) * 10);
  std::vector<BinomialCell> examined(kSlate);
  std::vector<double> probs(size_t(B) * outcomes), row_scores(size_t(B) * kSlate);
  double max_formula_error = 0.0, max_likelihood_error = 0.0;
  // Sum of the observed responses' log-likelihoods, its expectation and
  // variance under the exact probabilities (a z-test of the likelihood
  // against the sampling frequencies).
  double ll_observed = 0.0, ll_expected = 0.0, ll_variance = 0.0;
  int64_t bad_flags = 0, samples = 0;

  for (int t = 0; t < steps; ++t) {
    for (int r = 0; r < B; ++r) {
      int32_t* slate = slates.Row(r);
      RandomSlate(rng, slate);
      double env_probs[kSlate];
      const double env_none = env.ChoiceProbabilities(r, slate, env_probs);
      double scores[kSlate];
      for (int j = 0; j < kSlate; ++j)
        scores[j] = env.TrueInterests(r)[batch->topic[size_t(r) * kCandidates + size_t(slate[j])]];
      double* p = &probs[size_t(r) * outcomes];
      formula(scores, kSlate, p);
      std::copy_n(scores, kSlate, &row_scores[size_t(r) * kSlate]);
      for (int j = 0; j < kSlate; ++j) max_formula_error = std::max(max_formula_error, std::abs(p[j] - env_probs[j]));
      max_formula_error = std::max(max_formula_error, std::abs(p[kSlate] - env_none));
    }
    batch = &env.Step(slates);
    for (int r = 0; r < B; ++r) {
      REQUIRE(batch->active[size_t(r)]);
      REQUIRE_FALSE((batch->terminated[size_t(r)] || batch->truncated[size_t(r)]));
      const double* p = &probs[size_t(r) * outcomes];
      const int click = batch->click_position[size_t(r)];
      const int outcome = click < 0 ? kSlate : click;
      ++observed[size_t(outcome)];
      ++samples;
      for (int o = 0; o < outcomes; ++o) {
        expected[size_t(o)] += p[o];
        const int bin = std::min(9, int(p[o] * 10.0));
        bins[size_t(o) * 10 + size_t(bin)].Add(o == outcome, p[o]);
      }
      const size_t s0 = size_t(r) * kSlate;
      const double ll =
          env.model().choice().LogLikelihood(&row_scores[size_t(r) * kSlate], kSlate, 1.0, &batch->clicked[s0]);
      max_likelihood_error = std::max(max_likelihood_error, std::abs(ll - std::log(p[outcome])));
      ll_observed += ll;
      double mean = 0.0, square = 0.0;
      for (int o = 0; o < outcomes; ++o) {
        const double lo = p[o] > 0.0 ? std::log(p[o]) : 0.0;
        mean += p[o] * lo;
        square += p[o] * lo * lo;
      }
      ll_expected += mean;
      ll_variance += square - mean * mean;
      double reach = 1.0;
      for (int j = 0; j < kSlate; ++j) {
        const bool ex = batch->examined[s0 + size_t(j)] != 0;
        const bool cl = batch->clicked[s0 + size_t(j)] != 0;
        if (cl != (j == click)) ++bad_flags;
        if (cascade) {
          if (cl && !ex) ++bad_flags;                      // a click needs examination
          if (click >= 0 && j > click && ex) ++bad_flags;  // nothing past the click
          examined[size_t(j)].Add(ex, kCascadeAttention * std::pow(kCascadeDecay, j) * reach);
          reach -= p[j];
        } else if (!ex) {
          ++bad_flags;  // mnl/proportional examine every position
        }
      }
    }
  }
  CHECK(max_formula_error < 1e-12);
  CHECK(max_likelihood_error < 1e-9);
  CHECK(bad_flags == 0);
  INFO("log-likelihood: observed " << ll_observed << ", expected " << ll_expected);
  CHECK(std::abs(ll_observed - ll_expected) / std::sqrt(ll_variance) < 4.0);
  std::vector<double> freq(outcomes);
  for (int o = 0; o < outcomes; ++o) freq[size_t(o)] = expected[size_t(o)] / double(samples);
  const double chi2 = ChiSquareStatistic(observed, freq);
  const double pvalue = ChiSquareSurvival(chi2, outcomes - 1);
  INFO("chi2 = " << chi2 << ", p = " << pvalue);
  CHECK(pvalue > 1e-3);
  for (size_t b = 0; b < bins.size(); ++b) {
    if (bins[b].variance < 20) continue;  // too few samples for the normal approximation
    INFO("outcome " << b / 10 << ", probability decile " << b % 10 << ": observed " << bins[b].observed << ", expected "
                    << bins[b].expected);
    CHECK(std::abs(bins[b].Z()) < 4.0);
  }
  if (cascade) {
    for (int j = 0; j < kSlate; ++j) {
      INFO("position " << j << ": examined " << examined[size_t(j)].observed << ", expected "
                       << examined[size_t(j)].expected);
      CHECK(std::abs(examined[size_t(j)].Z()) < 4.0);
    }
  }
}

// Sampled clicks follow RecSim's multinomial proportional model.
TEST_CASE("choice: proportional (RecSim settings) click frequencies match exact probabilities") {
  CheckChoiceModel(json{{"type", "proportional"}, {"no_click_mass", 1.0}, {"min_normalizer", -1.0}},
                   ProportionalFormula, false, 11);
}

// Sampled clicks follow the position-biased multinomial logit.
TEST_CASE("choice: mnl (temperature 0.7, position decay 0.8) click frequencies match exact probabilities") {
  CheckChoiceModel(json{{"type", "mnl"}, {"temperature", 0.7}, {"position_decay", 0.8}}, MnlFormula, false, 12);
}

// Sampled clicks and examinations follow the cascade model.
TEST_CASE("choice: cascade click and examination frequencies match exact probabilities") {
  CheckChoiceModel(json{{"type", "cascade"},
                        {"first_attention", kCascadeAttention},
                        {"position_decay", kCascadeDecay},
                        {"threshold", 0.0},
                        {"temperature", kCascadeTemperature}},
                   CascadeFormula, true, 13);
}

constexpr double kPbmAttention = 0.9, kPbmDecay = 0.7, kPbmTemperature = 0.5, kPbmThreshold = 0.1;

// Independent per-position click probabilities of the position-based model;
// returns P(no click).
double PbmFormula(const double* s, int k, double* p) {
  double none = 1.0;
  for (int j = 0; j < k; ++j) {
    p[j] = kPbmAttention * std::pow(kPbmDecay, j) * Sigmoid((s[j] - kPbmThreshold) / kPbmTemperature);
    none *= 1.0 - p[j];
  }
  return none;
}

json PbmChoice() {
  return json{{"type", "pbm"},
              {"first_attention", kPbmAttention},
              {"position_decay", kPbmDecay},
              {"threshold", kPbmThreshold},
              {"temperature", kPbmTemperature}};
}

// Position-based model: exact marginals against the formula, per-position
// click and examination frequencies (binomial z-tests), the distribution of
// the number of clicks per slate (chi-square against the exact
// Poisson-binomial law), flags consistent (a click is examined,
// click_position is the first click), and the log-likelihood of the observed
// clicks equal to the Bernoulli formula and, summed, within 4 standard
// deviations of its expectation.
TEST_CASE("choice: pbm click, examination and click-count frequencies match exact probabilities") {
  const Scenario s = MakeScenario(StaticEnv(PbmChoice()));
  const int B = 4096, steps = 50;
  VecEnv env(s.env, 14, 0, VecEnv::Options{B, 1, -1});
  const StepBatch* batch = &env.Reset();
  const ChoiceModel& model = env.model().choice();
  CHECK(model.multi_click());
  CHECK(model.order_matters());  // position_decay != 1
  Rng rng(1014);
  SlateBatch slates;
  slates.Resize(B, kSlate);
  std::vector<double> probs(size_t(B) * kSlate), scores(size_t(B) * kSlate), counts_law(size_t(B) * (kSlate + 1));
  std::vector<BinomialCell> clicked(kSlate), examined(kSlate);
  std::vector<int64_t> count_observed(kSlate + 1, 0);
  std::vector<double> count_expected(kSlate + 1, 0.0);
  double max_formula_error = 0.0, max_likelihood_error = 0.0;
  double ll_observed = 0.0, ll_expected = 0.0, ll_variance = 0.0;
  int64_t bad_flags = 0, samples = 0, multi = 0;
  for (int t = 0; t < steps; ++t) {
    for (int r = 0; r < B; ++r) {
      int32_t* slate = slates.Row(r);
      RandomSlate(rng, slate);
      double* sc = &scores[size_t(r) * kSlate];
      for (int j = 0; j < kSlate; ++j)
        sc[j] = env.TrueInterests(r)[batch->topic[size_t(r) * kCandidates + size_t(slate[j])]];
      double* p = &probs[size_t(r) * kSlate];
      const double none = PbmFormula(sc, kSlate, p);
      double env_probs[kSlate];
      const double env_none = env.ChoiceProbabilities(r, slate, env_probs);
      for (int j = 0; j < kSlate; ++j) max_formula_error = std::max(max_formula_error, std::abs(p[j] - env_probs[j]));
      max_formula_error = std::max(max_formula_error, std::abs(none - env_none));
      // Law of the number of clicks (a sum of independent Bernoulli variables).
      double* law = &counts_law[size_t(r) * (kSlate + 1)];
      std::fill_n(law, kSlate + 1, 0.0);
      law[0] = 1.0;
      for (int j = 0; j < kSlate; ++j)
        for (int n = j + 1; n >= 0; --n) law[n] = law[n] * (1.0 - p[j]) + (n > 0 ? law[n - 1] * p[j] : 0.0);
    }
    batch = &env.Step(slates);
    for (int r = 0; r < B; ++r) {
      REQUIRE(batch->active[size_t(r)]);
      const double* p = &probs[size_t(r) * kSlate];
      const size_t s0 = size_t(r) * kSlate;
      int n = 0, first = -1;
      double ll = 0.0, mean = 0.0, variance = 0.0;
      for (int j = 0; j < kSlate; ++j) {
        const bool ex = batch->examined[s0 + size_t(j)] != 0, cl = batch->clicked[s0 + size_t(j)] != 0;
        if (cl && !ex) ++bad_flags;
        if (cl && first < 0) first = j;
        n += cl;
        clicked[size_t(j)].Add(cl, p[j]);
        examined[size_t(j)].Add(ex, kPbmAttention * std::pow(kPbmDecay, j));
        ll += std::log(cl ? p[j] : 1.0 - p[j]);
        const double l1 = std::log(p[j]), l0 = std::log(1.0 - p[j]);
        mean += p[j] * l1 + (1.0 - p[j]) * l0;
        variance += p[j] * (1.0 - p[j]) * (l1 - l0) * (l1 - l0);
      }
      if (batch->click_position[size_t(r)] != first) ++bad_flags;
      multi += n > 1;
      ++count_observed[size_t(n)];
      for (int c = 0; c <= kSlate; ++c) count_expected[size_t(c)] += counts_law[size_t(r) * (kSlate + 1) + size_t(c)];
      ++samples;
      const double env_ll = model.LogLikelihood(&scores[size_t(r) * kSlate], kSlate, 1.0, &batch->clicked[s0]);
      max_likelihood_error = std::max(max_likelihood_error, std::abs(env_ll - ll));
      ll_observed += env_ll;
      ll_expected += mean;
      ll_variance += variance;
    }
  }
  CHECK(max_formula_error < 1e-12);
  CHECK(max_likelihood_error < 1e-9);
  CHECK(bad_flags == 0);
  CHECK(multi > samples / 20);  // several clicks per slate do happen
  for (int j = 0; j < kSlate; ++j) {
    INFO("position " << j << ": clicked " << clicked[size_t(j)].observed << " (expected " << clicked[size_t(j)].expected
                     << "), examined " << examined[size_t(j)].observed << " (expected " << examined[size_t(j)].expected
                     << ")");
    CHECK(std::abs(clicked[size_t(j)].Z()) < 4.0);
    CHECK(std::abs(examined[size_t(j)].Z()) < 4.0);
  }
  std::vector<double> freq(kSlate + 1);
  for (int c = 0; c <= kSlate; ++c) freq[size_t(c)] = count_expected[size_t(c)] / double(samples);
  const double chi2 = ChiSquareStatistic(count_observed, freq);
  INFO("clicks per slate: chi2 = " << chi2);
  CHECK(ChiSquareSurvival(chi2, kSlate) > 1e-3);
  INFO("log-likelihood: observed " << ll_observed << ", expected " << ll_expected);
  CHECK(std::abs(ll_observed - ll_expected) / std::sqrt(ll_variance) < 4.0);
}

// Single-click models give -inf to a response with two clicks; pbm does not.
TEST_CASE("choice: log-likelihood of impossible responses") {
  const double scores[3] = {0.2, -0.1, 0.5};
  const uint8_t two[3] = {1, 0, 1}, none[3] = {0, 0, 0};
  for (const char* type : {"proportional", "mnl", "cascade"}) {
    const ChoiceModel m(MakeScenario(StaticEnv(json{{"type", type}})).env.choice, 3);
    INFO(type);
    CHECK(std::isinf(m.LogLikelihood(scores, 3, 1.0, two)));
    double p[3];
    CHECK(m.LogLikelihood(scores, 3, 1.0, none) == doctest::Approx(std::log(m.Probabilities(scores, 3, 1.0, p))));
  }
  const ChoiceModel pbm(MakeScenario(StaticEnv(PbmChoice())).env.choice, 3);
  double p[3];
  PbmFormula(scores, 3, p);
  CHECK(pbm.LogLikelihood(scores, 3, 1.0, two) ==
        doctest::Approx(std::log(p[0]) + std::log(1.0 - p[1]) + std::log(p[2])).epsilon(1e-12));
}

// A pbm scenario with evolving users (RecSim interest rule, boredom, a
// finite budget, likes): the exact expected reward of the slate shown equals
// the mean realised reward (z-test over 64k user-steps), every clicked item
// is watched, and the oracle's slate is worth at least every random slate.
TEST_CASE("choice: pbm scenario expected reward matches realised reward") {
  json env = {{"num_topics", 8},
              {"candidates", 6},
              {"slate_size", 3},
              {"users", {{"time_budget", {{"mean", 60.0}}}}},
              {"choice", PbmChoice()},
              {"response", {{"like", true}}},
              {"reward", {{"click", 0.5}, {"like", 1.0}}},
              {"dynamics", {{"boredom", {{"increment", 0.2}, {"decay", 0.9}}}}}};
  const Scenario s = MakeScenario(env);
  REQUIRE(s.env.choice.kind == ChoiceKind::kPositionBased);
  const int B = 1024, steps = 64;
  VecEnv env_(s.env, 21, 0, VecEnv::Options{B, 1, -1});
  env_.Reset();
  Rng rng(2021);
  SlateBatch slates;
  slates.Resize(B, 3);
  double realised = 0.0, expected = 0.0, sum_sq = 0.0;
  int64_t n = 0, oracle_worse = 0, unwatched = 0, multi = 0;
  std::vector<double> exp_row(B);
  for (int t = 0; t < steps; ++t) {
    for (int r = 0; r < B; ++r) {
      int32_t* slate = slates.Row(r);
      int32_t perm[6] = {0, 1, 2, 3, 4, 5};
      for (int j = 0; j < 3; ++j) {
        std::swap(perm[j], perm[j + int(rng.Below(uint32_t(6 - j)))]);
        slate[j] = perm[j];
      }
      exp_row[size_t(r)] = env_.ExpectedReward(r, slate);
      int32_t best[3];
      if (env_.OracleSlate(r, best) < exp_row[size_t(r)] - 1e-12) ++oracle_worse;
    }
    const StepBatch& b = env_.Step(slates);
    for (int r = 0; r < B; ++r) {
      const double x = b.reward[size_t(r)];
      realised += x;
      sum_sq += x * x;
      expected += exp_row[size_t(r)];
      ++n;
      int clicks = 0;
      for (int j = 0; j < 3; ++j) {
        const size_t sj = size_t(r) * 3 + size_t(j);
        clicks += b.clicked[sj];
        if (b.clicked[sj] && !(b.watch_time[sj] > 0.0f)) ++unwatched;
      }
      multi += clicks > 1;
    }
  }
  const double mean = realised / double(n), var = sum_sq / double(n) - mean * mean;
  INFO("mean reward " << mean << ", expected " << expected / double(n));
  CHECK(std::abs(realised - expected) / std::sqrt(var * double(n)) < 4.0);
  CHECK(oracle_worse == 0);
  CHECK(unwatched == 0);
  CHECK(multi > 0);
}

// On the shipped RecSim scenario, P(click i) = (u[c_i]+1) / (sum_j (u[c_j]+1) + 2)
// exactly, for evolving users and arbitrary slates.
TEST_CASE("choice: recsim scenario proportional formula is exact") {
  const Scenario s =
      LoadScenario(std::string(COHORT_SOURCE_DIR) + "/scenarios/recsim_interest_evolution.json", {}, AgentRegistry());
  REQUIRE(s.env.slate_size == 2);
  const int B = 256, K = s.env.num_candidates;
  VecEnv env(s.env, 5, 0, VecEnv::Options{B, 1, -1});
  const StepBatch* batch = &env.Reset();
  Rng rng(99);
  SlateBatch slates;
  slates.Resize(B, 2);
  double max_error = 0.0;
  for (int t = 0; t < 30; ++t) {
    for (int r = 0; r < B; ++r) {
      int32_t* slate = slates.Row(r);
      slate[0] = int32_t(rng.Below(uint32_t(K)));
      do slate[1] = int32_t(rng.Below(uint32_t(K)));
      while (slate[1] == slate[0]);
      const float* u = env.TrueInterests(r);
      const double a0 = u[batch->topic[size_t(r) * K + size_t(slate[0])]] + 1.0;
      const double a1 = u[batch->topic[size_t(r) * K + size_t(slate[1])]] + 1.0;
      const double total = a0 + a1 + 2.0;
      double p[2];
      const double none = env.ChoiceProbabilities(r, slate, p);
      max_error =
          std::max({max_error, std::abs(p[0] - a0 / total), std::abs(p[1] - a1 / total), std::abs(none - 2.0 / total)});
    }
    batch = &env.Step(slates);
  }
  CHECK(max_error < 1e-12);
}

// Malformed slates (repeated item, index out of range, wrong shape) throw
// std::invalid_argument naming the row, without advancing the env; inactive
// rows' slates are ignored.
TEST_CASE("choice: malformed slates throw std::invalid_argument") {
  const Scenario s = MakeScenario(StaticEnv(json{{"type", "mnl"}}));
  VecEnv env(s.env, 1, 0, VecEnv::Options{4, 1, -1});
  env.Reset();
  SlateBatch slates;
  slates.Resize(4, kSlate);
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < kSlate; ++j) slates.Row(r)[j] = j;

  auto expect_throw = [&](int row, std::vector<int32_t> slate, const std::string& needle) {
    SlateBatch bad = slates;
    std::copy(slate.begin(), slate.end(), bad.Row(row));
    std::string message;
    try {
      env.Step(bad);
    } catch (const std::invalid_argument& e) {
      message = e.what();
    }
    INFO("message: " << message);
    CHECK(message.find(needle) != std::string::npos);
    CHECK(env.tick() == 0);
  };
  expect_throw(1, {2, 5, 2}, "row 1");
  expect_throw(2, {0, 1, kCandidates}, "row 2");
  expect_throw(3, {-1, 1, 2}, "row 3");
  expect_throw(0, {4, 4, 4}, "row 0");

  SlateBatch wrong_rows;
  wrong_rows.Resize(3, kSlate);
  CHECK_THROWS_AS(env.Step(wrong_rows), std::invalid_argument);
  SlateBatch wrong_k;
  wrong_k.Resize(4, kSlate - 1);
  CHECK_THROWS_AS(env.Step(wrong_k), std::invalid_argument);
  CHECK(env.tick() == 0);

  CHECK_NOTHROW(env.Step(slates));
  CHECK(env.tick() == 1);

  // max_users 2: rows 2 and 3 never start, and their slates are not checked.
  VecEnv partial(s.env, 1, 0, VecEnv::Options{4, 1, 2});
  const StepBatch& b = partial.Reset();
  CHECK(b.active[0] == 1);
  CHECK(b.active[1] == 1);
  CHECK(b.active[2] == 0);
  CHECK(b.active[3] == 0);
  SlateBatch garbage = slates;
  std::fill_n(garbage.Row(2), kSlate, -7);
  std::fill_n(garbage.Row(3), kSlate, 1);
  CHECK_NOTHROW(partial.Step(garbage));
}

}  // namespace
}  // namespace cohort
