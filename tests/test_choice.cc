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
#include "goodness_of_fit.h"
#include "env/vec_env.h"

namespace cohort {
namespace {

constexpr int kTopics = 20;
constexpr int kCandidates = 10;
constexpr int kSlate = 3;

Scenario MakeScenario(const json& env) {
  return ParseScenario(json{{"env", env}}, "test", AgentRegistry());
}

// An env whose dynamics never change the user: no interest evolution, no
// drift, no boredom, a budget that never runs out.
json StaticEnv(const json& choice) {
  return json{{"num_topics", kTopics},
              {"candidates", kCandidates},
              {"slate_size", kSlate},
              {"users", {{"time_budget", {{"mean", 1e9}}}}},
              {"choice", choice},
              {"dynamics", {{"interest", {{"rule", "none"}, {"drift_std", 0.0}}}}}};
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

// Counts observed vs expected for one binomial cell.
struct Cell {
  int64_t observed = 0;
  double expected = 0.0, variance = 0.0;
  void Add(bool hit, double p) {
    observed += hit;
    expected += p;
    variance += p * (1.0 - p);
  }
  double Z() const { return variance > 0 ? (double(observed) - expected) / std::sqrt(variance) : 0.0; }
};

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
  std::vector<Cell> bins(size_t(outcomes) * 10);
  std::vector<Cell> examined(kSlate);
  std::vector<double> probs(size_t(B) * outcomes);
  double max_formula_error = 0.0;
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
      double reach = 1.0;
      for (int j = 0; j < kSlate; ++j) {
        const bool ex = batch->examined[s0 + size_t(j)] != 0;
        const bool cl = batch->clicked[s0 + size_t(j)] != 0;
        if (cl != (j == click)) ++bad_flags;
        if (cascade) {
          if (cl && !ex) ++bad_flags;             // a click needs examination
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
  CHECK(bad_flags == 0);
  std::vector<double> freq(outcomes);
  for (int o = 0; o < outcomes; ++o) freq[size_t(o)] = expected[size_t(o)] / double(samples);
  const double chi2 = ChiSquareStatistic(observed, freq);
  const double pvalue = ChiSquareSurvival(chi2, outcomes - 1);
  INFO("chi2 = " << chi2 << ", p = " << pvalue);
  CHECK(pvalue > 1e-3);
  for (size_t b = 0; b < bins.size(); ++b) {
    if (bins[b].variance < 20) continue;  // too few samples for the normal approximation
    INFO("outcome " << b / 10 << ", probability decile " << b % 10 << ": observed " << bins[b].observed
                    << ", expected " << bins[b].expected);
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

// On the shipped RecSim scenario, P(click i) = (u[c_i]+1) / (sum_j (u[c_j]+1) + 2)
// exactly, for evolving users and arbitrary slates.
TEST_CASE("choice: recsim scenario proportional formula is exact") {
  const Scenario s = LoadScenario(std::string(COHORT_SOURCE_DIR) + "/scenarios/recsim_interest_evolution.json",
                                  {}, AgentRegistry());
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
      max_error = std::max({max_error, std::abs(p[0] - a0 / total), std::abs(p[1] - a1 / total),
                            std::abs(none - 2.0 / total)});
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
