// User dynamics: the RecSim interest_evolution reproduction step by step,
// boredom, satisfaction, drift, leaving, retention gaps, scheduled events,
// the live catalog, truncation and user quotas.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "agents/registry.h"
#include "core/rng.h"
#include "core/stats.h"
#include "env/ground_truth.h"
#include "env/scenario.h"
#include "env/vec_env.h"
#include "goodness_of_fit.h"

namespace cohort {
namespace {

Scenario MakeScenario(const json& env) { return ParseScenario(json{{"env", env}}, "test", AgentRegistry()); }

// Hidden quality of every row's candidates (rows x K), through the privileged
// handle: the tests may read ground truth, agents may not.
std::vector<float> Qualities(const VecEnv& env) {
  const int K = env.spec().num_candidates;
  std::vector<float> out;
  for (int r = 0; r < env.num_envs(); ++r)
    out.insert(out.end(), GroundTruth(env).CandidateQualities(r), GroundTruth(env).CandidateQualities(r) + K);
  return out;
}

bool Ended(const StepBatch& b, int r) { return b.terminated[size_t(r)] || b.truncated[size_t(r)]; }

double NormalCdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

// ---- RecSim interest_evolution ----------------------------------------------

// Every step of every row of the shipped RecSim scenario follows RecSim's
// rules exactly: watch = min(budget, length), reward = watch, budget -= watch *
// (1 - 0.9/3.4 * quality) after a click and 0.5 otherwise, the clicked topic's
// interest moves by +-0.3 (1-|u|)(1-u) with P(up) = (u+1)/2, nothing else
// changes, the episode terminates iff the budget is spent; candidates are
// uniform over topics with quality ~ N(mean[topic], 0.1).
TEST_CASE("dynamics: recsim scenario reproduces interest_evolution step by step") {
  const Scenario s =
      LoadScenario(std::string(COHORT_SOURCE_DIR) + "/scenarios/recsim_interest_evolution.json", {}, AgentRegistry());
  const int B = 256, K = s.env.num_candidates, k = s.env.slate_size, D = s.env.FeatureDim();
  REQUIRE(D == 20);
  REQUIRE(s.env.num_topics == 20);
  // linspace(-3, 0, 14) ++ linspace(0, 3, 6), RecSim's UtilityModelVideoSampler.
  std::vector<double> quality_means(20);
  for (int i = 0; i < 14; ++i) quality_means[size_t(i)] = -3.0 + 3.0 * i / 13.0;
  for (int i = 0; i < 6; ++i) quality_means[size_t(14 + i)] = 0.6 * i;
  REQUIRE(s.env.catalog.quality_means.size() == 20);
  for (int i = 0; i < 20; ++i)
    CHECK(s.env.catalog.quality_means[size_t(i)] == doctest::Approx(quality_means[size_t(i)]).epsilon(1e-12));
  const double alpha = 0.9 / 3.4;

  VecEnv env(s.env, 3, 0, VecEnv::Options{B, 1, -1});
  AgentContext ctx{MakeEnvSpec(s.env), GroundTruth(env), 3, 0, B};
  std::unique_ptr<Agent> agent = MakeAgent(json{{"type", "random"}}, ctx);
  SlateBatch slates;
  slates.Resize(B, k);
  const StepBatch* batch = &env.Reset();

  std::vector<int64_t> topic_counts(20, 0);
  int64_t bad_quality = 0, bad_length = 0, bad_topic = 0;
  auto check_candidates = [&](const StepBatch& b) {
    for (int r = 0; r < B; ++r)
      for (int c = 0; c < K; ++c) {
        const size_t i = size_t(r) * K + size_t(c);
        const int t = b.topic[i];
        if (t < 0 || t >= 20) {
          ++bad_topic;
          continue;
        }
        ++topic_counts[size_t(t)];
        if (!(std::abs(GroundTruth(env).CandidateQuality(r, c) - quality_means[size_t(t)]) < 0.6))
          ++bad_quality;  // 6 sigma
        if (b.length[i] != 4.0f) ++bad_length;
      }
  };
  check_candidates(*batch);

  std::vector<float> u_old;
  std::vector<double> budget_old(B);
  std::vector<int32_t> topic_old;
  std::vector<float> quality_old, length_old;
  std::vector<int64_t> user_old;
  BinomialCell up_all;
  BinomialCell up_by_interest[4];  // by the clicked topic's interest quartile in [-1, 1]
  int64_t clicks = 0, no_clicks = 0, terminations = 0;
  int64_t bad_reward = 0, bad_budget = 0, bad_interest = 0, bad_end = 0, bad_range = 0, bad_obs = 0;

  for (int t = 0; t < 400; ++t) {
    agent->Act(*batch, slates);
    u_old.assign(env.TrueInterests(0), env.TrueInterests(0) + size_t(B) * D);
    for (int r = 0; r < B; ++r) budget_old[size_t(r)] = env.Budget(r);
    topic_old = batch->topic;
    quality_old = Qualities(env);
    length_old = batch->length;
    user_old = batch->user_id;
    batch = &env.Step(slates);
    for (int r = 0; r < B; ++r) {
      const size_t R = size_t(r);
      const float* uo = &u_old[R * D];
      const int click = batch->click_position[R];
      double expected_budget, watch = 0.0;
      int clicked_topic = -1;
      if (click >= 0) {
        ++clicks;
        const size_t i = R * K + size_t(slates.Row(r)[click]);
        clicked_topic = topic_old[i];
        const double q = quality_old[i];
        watch = std::min(budget_old[R], double(length_old[i]));
        expected_budget = budget_old[R] - watch * (1.0 - alpha * q);
        if (std::abs(batch->watch_time[R * k + size_t(click)] - watch) > 1e-5) ++bad_reward;
      } else {
        ++no_clicks;
        expected_budget = budget_old[R] - 0.5;
      }
      if (std::abs(batch->reward[R] - watch) > 1e-5) ++bad_reward;
      if (batch->truncated[R]) ++bad_end;
      if (std::abs(expected_budget) > 1e-9 && bool(batch->terminated[R]) != (expected_budget <= 0)) ++bad_end;
      if (batch->terminated[R]) {
        ++terminations;
        if (batch->end_reason[R] != uint8_t(EndReason::kBudget) || !batch->session_ended[R]) ++bad_end;
        if (batch->user_id[R] != user_old[R] + B) ++bad_end;  // same-step reset to the slot's next user
        for (int d = 0; d < D; ++d)  // visible interests: the last observation is the true state
          if (batch->final_interests[R * D + size_t(d)] != uo[d]) ++bad_obs;
      } else {
        if (batch->user_id[R] != user_old[R]) ++bad_end;
        if (std::abs(env.Budget(r) - expected_budget) > 1e-5) ++bad_budget;
        const float* un = env.TrueInterests(r);
        for (int d = 0; d < D; ++d)
          if (d != clicked_topic && un[d] != uo[d]) ++bad_interest;
        if (clicked_topic >= 0) {
          const double uc = uo[clicked_topic];
          const double delta = 0.3 * (1.0 - std::abs(uc)) * (1.0 - uc);
          const double up = std::clamp(uc + delta, -1.0, 1.0), down = std::clamp(uc - delta, -1.0, 1.0);
          const double now = un[clicked_topic];
          const bool is_up = std::abs(now - up) < 1e-5, is_down = std::abs(now - down) < 1e-5;
          if (!is_up && !is_down) ++bad_interest;
          if (up - down > 1e-4) {  // the two moves are distinguishable
            const double p_up = (uc + 1.0) / 2.0;
            up_all.Add(is_up, p_up);
            up_by_interest[std::min(3, int((uc + 1.0) * 2.0))].Add(is_up, p_up);
          }
        }
      }
      for (int d = 0; d < D; ++d) {
        const float x = env.TrueInterests(r)[d];
        if (!(x >= -1.0f && x <= 1.0f)) ++bad_range;
        if (batch->interests[R * D + size_t(d)] != x) ++bad_obs;  // observation.interests = visible
      }
    }
    check_candidates(*batch);
  }
  CHECK(bad_reward == 0);
  CHECK(bad_budget == 0);
  CHECK(bad_interest == 0);
  CHECK(bad_end == 0);
  CHECK(bad_range == 0);
  CHECK(bad_obs == 0);
  CHECK(bad_quality == 0);
  CHECK(bad_length == 0);
  CHECK(bad_topic == 0);
  // Both branches and episode ends were exercised.
  CHECK(clicks > 10000);
  CHECK(no_clicks > 10000);
  CHECK(terminations > 100);

  const double chi2 = ChiSquareStatistic(topic_counts, std::vector<double>(20, 1.0 / 20));
  INFO("topic chi2 = " << chi2);
  CHECK(ChiSquareSurvival(chi2, 19) > 1e-3);
  INFO("up moves: " << up_all.observed << " of " << up_all.n << ", expected " << up_all.expected);
  CHECK(up_all.n > 10000);
  CHECK(std::abs(up_all.Z()) < 4.0);
  for (const BinomialCell& c : up_by_interest) {
    INFO("quartile: " << c.observed << " of " << c.n << ", expected " << c.expected);
    CHECK(std::abs(c.Z()) < 4.0);
  }
}

// ---- Boredom and satisfaction -----------------------------------------------

// Boredom is never negative, decays by exactly 0.9 per step and the clicked
// topic gains 0.5; it lowers the MNL score by sensitivity * boredom.
// Satisfaction is the EMA s' = 0.8 s + 0.2 x with x = q + 0.5 a - 0.3 boredom
// after a click and x = -0.2 without. New users start with no boredom and the
// initial satisfaction.
TEST_CASE("dynamics: boredom and satisfaction updates") {
  const Scenario s =
      MakeScenario(json{{"num_topics", 5},
                        {"candidates", 8},
                        {"slate_size", 3},
                        {"users", {{"time_budget", {{"mean", 60.0}}}, {"boredom_sensitivity", {{"mean", 1.5}}}}},
                        {"choice", {{"type", "mnl"}, {"temperature", 0.5}}},
                        {"score", {{"quality_weight", 0.5}}},
                        {"dynamics",
                         {{"boredom", {{"increment", 0.5}, {"decay", 0.9}}},
                          {"satisfaction",
                           {{"initial", 0.2},
                            {"decay", 0.8},
                            {"quality", 1.0},
                            {"affinity", 0.5},
                            {"boredom", 0.3},
                            {"no_click", -0.2}}}}}});
  REQUIRE(s.env.BoredomEnabled());
  const int B = 256, K = 8, k = 3, T = 5;
  VecEnv env(s.env, 21, 0, VecEnv::Options{B, 1, -1});
  const StepBatch* batch = &env.Reset();
  Rng rng(77);
  SlateBatch slates;
  slates.Resize(B, k);
  std::vector<float> bored_old(size_t(B) * T), u_old(size_t(B) * T);
  std::vector<double> sat_old(B);
  std::vector<int32_t> topic_old;
  std::vector<float> quality_old;
  int64_t bad_boredom = 0, bad_sat = 0, bad_reset = 0, clicks = 0, no_clicks = 0, resets = 0;
  double max_prob_error = 0.0, max_boredom = 0.0;
  for (int t = 0; t < 200; ++t) {
    RandomSlates(rng, *batch, slates);
    for (int r = 0; r < B; ++r) {
      REQUIRE(env.Boredom(r) != nullptr);
      std::copy_n(env.Boredom(r), T, &bored_old[size_t(r) * T]);
      std::copy_n(env.TrueInterests(r), T, &u_old[size_t(r) * T]);
      sat_old[size_t(r)] = env.Satisfaction(r);
      // Independent MNL with the boredom penalty.
      double scores[3], total = 1.0, expected[3], probs[3];
      for (int j = 0; j < k; ++j) {
        const size_t i = size_t(r) * K + size_t(slates.Row(r)[j]);
        const int topic = batch->topic[i];
        scores[j] = env.TrueInterests(r)[topic] + 0.5 * GroundTruth(env).CandidateQuality(r, slates.Row(r)[j]) -
                    1.5 * env.Boredom(r)[topic];
        total += std::exp(scores[j] / 0.5);
      }
      for (int j = 0; j < k; ++j) expected[j] = std::exp(scores[j] / 0.5) / total;
      const double none = env.ChoiceProbabilities(r, slates.Row(r), probs);
      for (int j = 0; j < k; ++j) max_prob_error = std::max(max_prob_error, std::abs(probs[j] - expected[j]));
      max_prob_error = std::max(max_prob_error, std::abs(none - 1.0 / total));
    }
    topic_old = batch->topic;
    quality_old = Qualities(env);
    batch = &env.Step(slates);
    for (int r = 0; r < B; ++r) {
      const size_t R = size_t(r);
      const float* bn = env.Boredom(r);
      for (int i = 0; i < T; ++i) {
        if (!(bn[i] >= 0.0f)) ++bad_boredom;
        max_boredom = std::max(max_boredom, double(bn[i]));
      }
      if (Ended(*batch, r)) {
        ++resets;
        for (int i = 0; i < T; ++i) bad_reset += bn[i] != 0.0f;
        bad_reset += env.Satisfaction(r) != 0.2;
        continue;
      }
      const float* bo = &bored_old[R * T];
      const int click = batch->click_position[R];
      int ct = -1;
      double x = -0.2;
      if (click >= 0) {
        ++clicks;
        const size_t i = R * K + size_t(slates.Row(r)[click]);
        ct = topic_old[i];
        x = quality_old[i] + 0.5 * u_old[R * T + size_t(ct)] - 0.3 * bo[ct];
      } else {
        ++no_clicks;
      }
      for (int i = 0; i < T; ++i) {
        const double want = double(bo[i]) * 0.9 + (i == ct ? 0.5 : 0.0);
        if (std::abs(bn[i] - want) > 1e-5) ++bad_boredom;
      }
      if (std::abs(env.Satisfaction(r) - (0.8 * sat_old[R] + 0.2 * x)) > 1e-9) ++bad_sat;
    }
  }
  CHECK(max_prob_error < 1e-12);
  CHECK(bad_boredom == 0);
  CHECK(bad_sat == 0);
  CHECK(bad_reset == 0);
  CHECK(clicks > 1000);
  CHECK(no_clicks > 1000);
  CHECK(resets > 100);
  CHECK(max_boredom > 0.5);  // boredom accumulated beyond a single click
}

// ---- Drift -------------------------------------------------------------------

// With drift and no interest rule, every interest takes a Gaussian random
// walk step of std drift_std each step (clipped to [-1, 1]).
TEST_CASE("dynamics: interest drift is a clipped Gaussian random walk") {
  const double drift = 0.05;
  const Scenario s = MakeScenario(json{{"num_topics", 6},
                                       {"candidates", 6},
                                       {"slate_size", 2},
                                       {"users", {{"time_budget", {{"mean", 1e9}}}}},
                                       {"dynamics", {{"interest", {{"rule", "none"}, {"drift_std", drift}}}}}});
  const int B = 256, D = 6;
  VecEnv env(s.env, 8, 0, VecEnv::Options{B, 1, -1});
  const StepBatch* batch = &env.Reset();
  Rng rng(8);
  SlateBatch slates;
  slates.Resize(B, 2);
  std::vector<float> u_old;
  std::vector<double> increments;
  int64_t unchanged_inside = 0, unchanged_rows = 0, out_of_range = 0, at_bound = 0;
  for (int t = 0; t < 100; ++t) {
    RandomSlates(rng, *batch, slates);
    u_old.assign(env.TrueInterests(0), env.TrueInterests(0) + size_t(B) * D);
    batch = &env.Step(slates);
    for (int r = 0; r < B; ++r) {
      REQUIRE_FALSE(Ended(*batch, r));
      const float* uo = &u_old[size_t(r) * D];
      const float* un = env.TrueInterests(r);
      bool changed = false;
      for (int d = 0; d < D; ++d) {
        if (!(un[d] >= -1.0f && un[d] <= 1.0f)) ++out_of_range;
        if (un[d] != uo[d])
          changed = true;
        else if (std::abs(un[d]) != 1.0f)
          ++unchanged_inside;  // only a clipped value may stay put
        if (std::abs(un[d]) == 1.0f) ++at_bound;
        if (std::abs(uo[d]) < 0.7) increments.push_back((double(un[d]) - uo[d]) / drift);
      }
      if (!changed) ++unchanged_rows;
    }
  }
  CHECK(out_of_range == 0);
  CHECK(unchanged_inside == 0);
  CHECK(unchanged_rows == 0);
  CHECK(at_bound > 0);  // the clip was exercised
  const double d = KolmogorovSmirnov(increments, NormalCdf);
  const double p = KolmogorovPValue(d, int64_t(increments.size()));
  INFO("KS D = " << d << ", p = " << p << ", n = " << increments.size());
  CHECK(p > 1e-3);
}

// ---- Leaving -----------------------------------------------------------------

// Sessions end by leaving with probability base / patience per step, so
// session lengths are geometric. Every user of a fixed quota is followed to
// the end (no length bias from stopping early).
TEST_CASE("dynamics: leaving gives geometric session lengths") {
  for (double patience : {1.0, 2.0}) {
    CAPTURE(patience);
    const double p = 0.2 / patience;
    const Scenario s =
        MakeScenario(json{{"num_topics", 5},
                          {"candidates", 5},
                          {"slate_size", 2},
                          {"users", {{"time_budget", {{"mean", 1e9}}}, {"patience", {{"mean", patience}}}}},
                          {"dynamics", {{"leave", {{"base", 0.2}}}}}});
    const int B = 1024;
    const int64_t users = 20000;
    VecEnv env(s.env, 31, 0, VecEnv::Options{B, 1, users});
    const StepBatch* batch = &env.Reset();
    Rng rng(31);
    SlateBatch slates;
    slates.Resize(B, 2);
    std::vector<int64_t> length(B, 0);
    RunningStat lengths;
    const int bins = 30;  // lengths 1..29, then 30+
    std::vector<int64_t> counts(bins, 0);
    int64_t bad_end = 0;
    for (int t = 0; t < 100000 && env.AnyActive(); ++t) {
      RandomSlates(rng, *batch, slates);
      const std::vector<uint8_t> was_active = batch->active;
      batch = &env.Step(slates);
      for (int r = 0; r < B; ++r) {
        if (!was_active[size_t(r)]) continue;
        ++length[size_t(r)];
        if (Ended(*batch, r)) {
          if (!batch->terminated[size_t(r)] || batch->end_reason[size_t(r)] != uint8_t(EndReason::kLeft)) ++bad_end;
          lengths.Add(double(length[size_t(r)]));
          ++counts[size_t(std::min<int64_t>(length[size_t(r)], bins) - 1)];
          length[size_t(r)] = 0;
        }
      }
    }
    CHECK(bad_end == 0);
    REQUIRE(lengths.count() == users);
    const double mean = 1.0 / p, se = std::sqrt((1.0 - p) / (p * p) / double(users));
    INFO("mean length " << lengths.mean() << ", expected " << mean << " +- " << se);
    CHECK(std::abs(lengths.mean() - mean) < 5 * se);
    std::vector<double> probs(bins);
    for (int L = 1; L < bins; ++L) probs[size_t(L - 1)] = p * std::pow(1.0 - p, L - 1);
    probs[bins - 1] = std::pow(1.0 - p, bins - 1);
    const double chi2 = ChiSquareStatistic(counts, probs);
    INFO("chi2 = " << chi2);
    CHECK(ChiSquareSurvival(chi2, bins - 1) > 1e-3);
  }
}

// ---- Retention ---------------------------------------------------------------

json RetentionEnv(const json& retention, const json& satisfaction = json::object()) {
  json dynamics = {{"leave", {{"base", 0.3}}}};
  if (!satisfaction.empty()) dynamics["satisfaction"] = satisfaction;
  return json{{"num_topics", 5},      {"candidates", 5},
              {"slate_size", 2},      {"users", {{"time_budget", {{"mean", 1e9}}}}},
              {"dynamics", dynamics}, {"retention", retention}};
}

// Runs B rows for `steps` steps and collects the gaps of returning users.
// Checks the bookkeeping of every return (new session, budget restored,
// user clock advanced by the step and the gap) and counts session ends.
struct RetentionRun {
  std::vector<double> gaps;
  int64_t session_ends = 0, returns = 0, bad = 0;
  std::vector<double> satisfaction_seen;
};

RetentionRun RunRetention(const Scenario& s, uint64_t seed, int steps) {
  const int B = 1024;
  VecEnv env(s.env, seed, 0, VecEnv::Options{B, 1, -1});
  const StepBatch* batch = &env.Reset();
  Rng rng(seed);
  SlateBatch slates;
  slates.Resize(B, s.env.slate_size);
  RetentionRun out;
  std::vector<double> time_old(B);
  std::vector<int32_t> session_old(B);
  for (int t = 0; t < steps; ++t) {
    RandomSlates(rng, *batch, slates);
    for (int r = 0; r < B; ++r) {
      time_old[size_t(r)] = env.UserTime(r);
      session_old[size_t(r)] = batch->session_index[size_t(r)];
    }
    batch = &env.Step(slates);
    for (int r = 0; r < B; ++r) {
      const size_t R = size_t(r);
      out.satisfaction_seen.push_back(env.Satisfaction(r));
      if (!batch->session_ended[R]) {
        out.bad += batch->gap[R] != 0.0f;
        continue;
      }
      ++out.session_ends;
      if (Ended(*batch, r)) {
        out.bad += batch->gap[R] != 0.0f;
        continue;
      }
      ++out.returns;
      const double gap = batch->gap[R];
      out.bad += !(gap > 0.0);
      out.gaps.push_back(gap);
      out.bad += batch->session_index[R] != session_old[R] + 1;
      out.bad += batch->session_step[R] != 0;
      out.bad += env.Budget(r) != 1e9;  // a new session restores the budget
      const int click = batch->click_position[R];
      const double step_time = click >= 0 ? double(batch->watch_time[R * s.env.slate_size + size_t(click)])
                                          : s.env.dynamics.budget_no_click_cost;
      // gap is reported as a float; the user clock advances by the exact draw.
      out.bad += std::abs(env.UserTime(r) - (time_old[R] + step_time + gap)) > 1e-4 * (1.0 + gap);
    }
  }
  return out;
}

// With return_base 1 and gap_satisfaction 0 every session end is followed by
// a return after an Exponential(mean 5) gap.
TEST_CASE("dynamics: retention gaps are exponential with mean gap_mean") {
  const Scenario s = MakeScenario(RetentionEnv(json{
      {"enabled", true}, {"max_sessions", 1000}, {"return_base", 1.0}, {"gap_mean", 5.0}, {"gap_satisfaction", 0.0}}));
  const RetentionRun run = RunRetention(s, 41, 60);
  CHECK(run.bad == 0);
  CHECK(run.returns == run.session_ends);
  REQUIRE(run.gaps.size() > 10000);
  const double d = KolmogorovSmirnov(run.gaps, [](double x) { return x <= 0 ? 0.0 : 1.0 - std::exp(-x / 5.0); });
  const double p = KolmogorovPValue(d, int64_t(run.gaps.size()));
  INFO("KS D = " << d << ", p = " << p << ", n = " << run.gaps.size());
  CHECK(p > 1e-3);
}

// With return_base 0.6 a session end is followed by a return 60% of the time;
// the others churn (terminated).
TEST_CASE("dynamics: retention return probability") {
  const Scenario s = MakeScenario(
      RetentionEnv(json{{"enabled", true}, {"max_sessions", 1000}, {"return_base", 0.6}, {"gap_mean", 5.0}}));
  const RetentionRun run = RunRetention(s, 42, 60);
  CHECK(run.bad == 0);
  REQUIRE(run.session_ends > 10000);
  const double n = double(run.session_ends);
  const double z = (double(run.returns) - 0.6 * n) / std::sqrt(0.6 * 0.4 * n);
  INFO("returns " << run.returns << " of " << run.session_ends << ", z = " << z);
  CHECK(std::abs(z) < 4.0);
}

// gap mean = gap_mean * exp(-gap_satisfaction * s): with satisfaction pinned
// at 1 (initial 1, EMA weight of the past 1) the gaps are Exponential(5 e^-0.5).
TEST_CASE("dynamics: retention gap shrinks with satisfaction") {
  const Scenario s = MakeScenario(RetentionEnv(json{{"enabled", true},
                                                    {"max_sessions", 1000},
                                                    {"return_base", 1.0},
                                                    {"gap_mean", 5.0},
                                                    {"gap_satisfaction", 0.5}},
                                               json{{"initial", 1.0}, {"decay", 1.0}}));
  const RetentionRun run = RunRetention(s, 43, 60);
  CHECK(run.bad == 0);
  for (double x : run.satisfaction_seen) REQUIRE(x == 1.0);
  REQUIRE(run.gaps.size() > 10000);
  const double mean = 5.0 * std::exp(-0.5);
  RunningStat g;
  for (double x : run.gaps) g.Add(x);
  const double se = mean / std::sqrt(double(g.count()));
  INFO("mean gap " << g.mean() << ", expected " << mean << " +- " << se);
  CHECK(std::abs(g.mean() - mean) < 5 * se);
  const double d = KolmogorovSmirnov(run.gaps, [&](double x) { return x <= 0 ? 0.0 : 1.0 - std::exp(-x / mean); });
  CHECK(KolmogorovPValue(d, int64_t(run.gaps.size())) > 1e-3);
}

// Satisfaction decays by satisfaction.gap_decay per unit of time away: with
// the EMA frozen (initial 1, weight of the past 1) a returning user's
// satisfaction is the previous value times 0.9^gap.
TEST_CASE("dynamics: satisfaction decays over the gap") {
  const Scenario s = MakeScenario(
      RetentionEnv(json{{"enabled", true}, {"max_sessions", 1000}, {"return_base", 1.0}, {"gap_mean", 2.0}},
                   json{{"initial", 1.0}, {"decay", 1.0}, {"gap_decay", 0.9}}));
  const int B = 256;
  VecEnv env(s.env, 44, 0, VecEnv::Options{B, 1, -1});
  const StepBatch* batch = &env.Reset();
  Rng rng(44);
  SlateBatch slates;
  slates.Resize(B, 2);
  std::vector<double> sat_old(B);
  int64_t bad = 0, returns = 0;
  for (int t = 0; t < 40; ++t) {
    RandomSlates(rng, *batch, slates);
    for (int r = 0; r < B; ++r) sat_old[size_t(r)] = env.Satisfaction(r);
    batch = &env.Step(slates);
    for (int r = 0; r < B; ++r) {
      const double want = batch->session_ended[size_t(r)]
                              ? sat_old[size_t(r)] * std::pow(0.9, double(batch->gap[size_t(r)]))
                              : sat_old[size_t(r)];
      returns += batch->session_ended[size_t(r)];
      bad += std::abs(env.Satisfaction(r) - want) > 1e-6 * std::abs(want) + 1e-12;
    }
  }
  CHECK(returns > 1000);
  CHECK(bad == 0);
}

// ---- Events ------------------------------------------------------------------

// A preference_shift at step 3 raises topic 2's interest of every active user
// by 0.5 (clipped) between steps 2 and 3, and nothing else; users arriving
// afterwards start shifted; Reset() undoes the shift.
TEST_CASE("dynamics: preference_shift event") {
  const Scenario s = MakeScenario(
      json{{"num_topics", 5},
           {"candidates", 6},
           {"slate_size", 2},
           {"users", {{"time_budget", {{"mean", 1e9}}}}},
           {"dynamics", {{"interest", {{"rule", "none"}, {"drift_std", 0.0}}}, {"leave", {{"base", 0.3}}}}},
           {"events", json::array({{{"at_step", 3}, {"type", "preference_shift"}, {"topic", 2}, {"amount", 0.5}}})}});
  const int B = 512, D = 5;
  VecEnv env(s.env, 51, 0, VecEnv::Options{B, 1, -1});
  const StepBatch* batch = &env.Reset();
  Rng rng(51);
  SlateBatch slates;
  slates.Resize(B, 2);
  auto low_topic2 = [&] {
    int64_t n = 0;
    for (int r = 0; r < B; ++r) n += env.TrueInterests(r)[2] < -0.5f;
    return n;
  };
  CHECK(low_topic2() > 50);  // before the event, U(-1, 1) interests
  std::vector<float> u_old;
  int64_t bad_unchanged = 0, bad_shift = 0, new_before = 0, new_low_before = 0, new_after = 0, new_low_after = 0;
  for (int t = 1; t <= 8; ++t) {
    RandomSlates(rng, *batch, slates);
    u_old.assign(env.TrueInterests(0), env.TrueInterests(0) + size_t(B) * D);
    batch = &env.Step(slates);
    REQUIRE(env.tick() == t);
    for (int r = 0; r < B; ++r) {
      const float* uo = &u_old[size_t(r) * D];
      const float* un = env.TrueInterests(r);
      if (Ended(*batch, r)) {  // a new user started in this step
        (t >= 3 ? new_after : new_before) += 1;
        (t >= 3 ? new_low_after : new_low_before) += un[2] < -0.5f - 1e-6f;
        continue;
      }
      for (int d = 0; d < D; ++d) {
        if (t == 3 && d == 2) {
          bad_shift += std::abs(un[d] - std::clamp(uo[d] + 0.5, -1.0, 1.0)) > 1e-6;
        } else {
          bad_unchanged += un[d] != uo[d];
        }
      }
    }
  }
  CHECK(bad_shift == 0);
  CHECK(bad_unchanged == 0);
  CHECK(new_before > 100);
  CHECK(new_low_before > 0);
  CHECK(new_after > 100);
  CHECK(new_low_after == 0);  // new users start from the shifted segment centre
  // Reset() restores the scenario as written.
  env.Reset();
  CHECK(env.tick() == 0);
  CHECK(low_topic2() > 50);
}

// StartFromWorldOf: a second VecEnv (other users) starts in the first one's
// current world: its clock, the events applied so far (new users start
// shifted), the live catalog and the catalog's random stream, so both worlds
// then evolve identically (later events and arrivals).
TEST_CASE("dynamics: StartFromWorldOf starts other users in the current world") {
  const Scenario s = MakeScenario(
      json{{"num_topics", 5},
           {"candidates", 6},
           {"slate_size", 2},
           {"catalog", {{"source", "live"}, {"size", 100}, {"arrival_rate", 3.0}, {"max_age", 50}}},
           {"users", {{"time_budget", {{"mean", 1e9}}}}},
           {"dynamics", {{"interest", {{"rule", "none"}, {"drift_std", 0.0}}}}},
           {"events", json::array({{{"at_step", 3}, {"type", "preference_shift"}, {"topic", 2}, {"amount", 1.5}},
                                   {{"at_step", 8}, {"type", "quality_shift"}, {"topic", 1}, {"amount", 2.0}}})}});
  const int B = 256;
  VecEnv world(s.env, 81, 0, VecEnv::Options{B, 1, -1});
  VecEnv other(s.env, 81, 0, VecEnv::Options{B, 1, -1, int64_t(1) << 40});
  CHECK_FALSE(world.stationary());
  const StepBatch* wb = &world.Reset();
  Rng rng(81);
  SlateBatch slates;
  slates.Resize(B, 2);
  for (int t = 0; t < 5; ++t) {
    RandomSlates(rng, *wb, slates);
    wb = &world.Step(slates);
  }
  other.StartFromWorldOf(world);
  const StepBatch* ob = &other.Reset();
  CHECK(other.tick() == 5);
  CHECK(ob->user_id[0] == int64_t(1) << 40);
  int64_t low_topic2 = 0, bad_items = 0;
  for (int r = 0; r < B; ++r) low_topic2 += other.TrueInterests(r)[2] < 0.5f - 1e-6f;  // U(-1,1) + 1.5, clipped
  CHECK(low_topic2 == 0);
  auto same_catalog = [&] {
    const Catalog &a = world.catalog(), &b = other.catalog();
    if (a.total_items() != b.total_items() || a.alive_count() != b.alive_count()) return false;
    for (int64_t id = 0; id < a.total_items(); ++id)
      if (a.Item(id).topic != b.Item(id).topic || a.Item(id).quality != b.Item(id).quality) return false;
    return true;
  };
  CHECK(world.catalog().total_items() > 100);  // arrivals happened
  CHECK(same_catalog());
  for (size_t i = 0; i < ob->item_id.size(); ++i) bad_items += ob->item_id[i] >= world.catalog().total_items();
  CHECK(bad_items == 0);
  // Both go on: the step-8 event and the arrivals happen in both, identically.
  for (int t = 0; t < 5; ++t) {
    RandomSlates(rng, *wb, slates);
    wb = &world.Step(slates);
    RandomSlates(rng, *ob, slates);
    ob = &other.Step(slates);
  }
  CHECK(other.tick() == 10);
  CHECK(same_catalog());
  CHECK(other.model().params().catalog.quality_means == world.model().params().catalog.quality_means);
  // Reset() starts again from the adopted world, reproducibly.
  const std::vector<int32_t> topics_first = other.Reset().topic;
  CHECK(other.tick() == 5);
  CHECK(other.Reset().topic == topics_first);
  // A world without events or catalog turnover is stationary.
  const Scenario plain = MakeScenario(json{{"num_topics", 5}, {"candidates", 6}, {"slate_size", 2}});
  CHECK(VecEnv(plain.env, 1, 0, VecEnv::Options{4, 1, -1}).stationary());
}

// A quality_shift at step 2 adds its amount to the quality of every catalog
// item of the topic (and to the topic's mean for future items); candidates
// shown afterwards carry the shifted quality.
TEST_CASE("dynamics: quality_shift event on a live catalog") {
  const Scenario s = MakeScenario(
      json{{"num_topics", 4},
           {"candidates", 10},
           {"slate_size", 2},
           {"catalog", {{"source", "live"}, {"size", 300}, {"quality_mean", 0.0}, {"quality_std", 0.1}}},
           {"events", json::array({{{"at_step", 2}, {"type", "quality_shift"}, {"topic", 1}, {"amount", 2.0}}})}});
  const int B = 64, K = 10;
  VecEnv env(s.env, 61, 0, VecEnv::Options{B, 1, -1});
  const StepBatch* batch = &env.Reset();
  Rng rng(61);
  SlateBatch slates;
  slates.Resize(B, 2);
  std::vector<float> before;
  int64_t bad_catalog = 0, bad_candidates = 0, topic1_shown = 0;
  for (int t = 1; t <= 4; ++t) {
    RandomSlates(rng, *batch, slates);
    const Catalog& cat = env.catalog();
    before.clear();
    for (int64_t id = 0; id < cat.total_items(); ++id) before.push_back(cat.Item(id).quality);
    batch = &env.Step(slates);
    REQUIRE(cat.total_items() == int64_t(before.size()));
    for (int64_t id = 0; id < cat.total_items(); ++id) {
      const ItemView item = cat.Item(id);
      const float want = (t == 2 && item.topic == 1) ? float(before[size_t(id)] + 2.0) : before[size_t(id)];
      bad_catalog += std::abs(item.quality - want) > 1e-6f;
    }
    for (int r = 0; r < B; ++r)
      for (int c = 0; c < K; ++c) {
        const size_t i = size_t(r) * K + size_t(c);
        const ItemView item = cat.Item(batch->item_id[i]);
        bad_candidates += GroundTruth(env).CandidateQuality(r, c) != item.quality || batch->topic[i] != item.topic;
        if (t >= 2 && batch->topic[i] == 1) {
          ++topic1_shown;
          bad_candidates += !(GroundTruth(env).CandidateQuality(r, c) > 1.4f);  // 2 + N(0, 0.1)
        } else {
          bad_candidates += !(std::abs(GroundTruth(env).CandidateQuality(r, c)) < 0.6f);
        }
      }
  }
  CHECK(bad_catalog == 0);
  CHECK(bad_candidates == 0);
  CHECK(topic1_shown > 100);
  const auto& means = env.model().params().catalog.quality_means;
  REQUIRE(means.size() == 4);
  CHECK(means[1] == doctest::Approx(2.0));
  CHECK(means[0] == 0.0);
}

// On a resampled catalog a quality_shift moves the quality of every
// candidate of the topic sampled from then on.
TEST_CASE("dynamics: quality_shift event on a resampled catalog") {
  const Scenario s = MakeScenario(
      json{{"num_topics", 4},
           {"candidates", 10},
           {"slate_size", 2},
           {"catalog", {{"quality_mean", 0.0}, {"quality_std", 0.1}}},
           {"events", json::array({{{"at_step", 2}, {"type", "quality_shift"}, {"topic", 1}, {"amount", 2.0}}})}});
  const int B = 64, K = 10;
  VecEnv env(s.env, 62, 0, VecEnv::Options{B, 1, -1});
  const StepBatch* batch = &env.Reset();
  Rng rng(62);
  SlateBatch slates;
  slates.Resize(B, 2);
  int64_t bad = 0, shifted = 0;
  for (int t = 1; t <= 4; ++t) {
    RandomSlates(rng, *batch, slates);
    batch = &env.Step(slates);
    const std::vector<float> quality = Qualities(env);
    for (size_t i = 0; i < size_t(B) * K; ++i) {
      const double mean = (t >= 2 && batch->topic[i] == 1) ? 2.0 : 0.0;
      shifted += mean != 0.0;
      bad += !(std::abs(quality[i] - mean) < 0.6);
    }
  }
  CHECK(bad == 0);
  CHECK(shifted > 100);
  // Reset() restores the scenario's qualities.
  batch = &env.Reset();
  const std::vector<float> quality = Qualities(env);
  for (size_t i = 0; i < size_t(B) * K; ++i) bad += !(std::abs(quality[i]) < 0.6);
  CHECK(bad == 0);
}

// ---- Live catalog ------------------------------------------------------------

// Candidates of a row are distinct live items carrying the catalog's
// attributes, never older than max_age; the catalog grows by Poisson arrivals.
TEST_CASE("dynamics: live catalog arrivals, retirement and distinct candidates") {
  const int64_t max_age = 5;
  const double rate = 50.0;
  const Scenario s = MakeScenario(
      json{{"num_topics", 4},
           {"candidates", 10},
           {"slate_size", 2},
           {"catalog", {{"source", "live"}, {"size", 200}, {"arrival_rate", rate}, {"max_age", max_age}}}});
  const int B = 64, K = 10, steps = 40;
  VecEnv env(s.env, 71, 0, VecEnv::Options{B, 1, -1});
  const StepBatch* batch = &env.Reset();
  CHECK(env.catalog().total_items() == 200);
  Rng rng(71);
  SlateBatch slates;
  slates.Resize(B, 2);
  int64_t bad = 0, old_seen = 0, previous_total = 200;
  for (int t = 0; t <= steps; ++t) {
    const Catalog& cat = env.catalog();
    for (int r = 0; r < B; ++r)
      for (int c = 0; c < K; ++c) {
        const size_t i = size_t(r) * K + size_t(c);
        const int64_t id = batch->item_id[i];
        if (id < 0 || id >= cat.total_items()) {
          ++bad;
          continue;
        }
        for (int j = 0; j < c; ++j) bad += batch->item_id[size_t(r) * K + size_t(j)] == id;
        const ItemView item = cat.Item(id);
        bad += item.topic != batch->topic[i] || item.quality != GroundTruth(env).CandidateQuality(r, c) ||
               item.length != batch->length[i];
        const int64_t age = batch->tick - cat.created(id);
        bad += age < 0 || age >= max_age;
        old_seen += age == max_age - 1;
      }
    if (t == steps) break;
    RandomSlates(rng, *batch, slates);
    batch = &env.Step(slates);
    CHECK(batch->tick == t + 1);
    bad += env.catalog().total_items() < previous_total;
    previous_total = env.catalog().total_items();
  }
  CHECK(bad == 0);
  CHECK(old_seen > 0);  // items of the oldest allowed age were shown
  const double arrivals = double(env.catalog().total_items() - 200);
  INFO("arrivals " << arrivals << ", expected " << rate * steps);
  CHECK(std::abs(arrivals - rate * steps) < 5 * std::sqrt(rate * steps));
  CHECK(env.catalog().alive_count() < env.catalog().total_items());  // retirement happened
}

// ---- Horizons and quotas -----------------------------------------------------

// max_session_steps truncates (not terminates) every session after exactly
// that many steps; max_episode_steps truncates with reason kEpisodeCap.
TEST_CASE("dynamics: step caps truncate") {
  for (const bool session_cap : {true, false}) {
    CAPTURE(session_cap);
    json env = {{"num_topics", 5}, {"candidates", 5}, {"slate_size", 2}, {"users", {{"time_budget", {{"mean", 1e9}}}}}};
    env["horizon"] = session_cap ? json{{"max_session_steps", 7}} : json{{"max_episode_steps", 7}};
    const Scenario s = MakeScenario(env);
    const int B = 32;
    VecEnv env_(s.env, 81, 0, VecEnv::Options{B, 1, -1});
    const StepBatch* batch = &env_.Reset();
    Rng rng(81);
    SlateBatch slates;
    slates.Resize(B, 2);
    int64_t bad = 0, ends = 0;
    for (int t = 1; t <= 50; ++t) {
      RandomSlates(rng, *batch, slates);
      batch = &env_.Step(slates);
      for (int r = 0; r < B; ++r) {
        const bool due = t % 7 == 0;
        bad += batch->truncated[size_t(r)] != due;
        bad += batch->terminated[size_t(r)] != 0;
        bad += batch->session_ended[size_t(r)] != due;  // either cap ends the session
        if (due) {
          ++ends;
          const EndReason want = session_cap ? EndReason::kSessionCap : EndReason::kEpisodeCap;
          bad += batch->end_reason[size_t(r)] != uint8_t(want);
          bad += batch->episode_step[size_t(r)] != 0;  // next user already started
        } else {
          bad += batch->episode_step[size_t(r)] != t % 7;
        }
      }
    }
    CHECK(bad == 0);
    CHECK(ends == 7 * B);
  }
}

// With max_users N every user 0..N-1 plays exactly one episode, then the
// slot goes inactive and stays so; slots beyond N never start.
TEST_CASE("dynamics: max_users quota") {
  const Scenario s = MakeScenario(json{{"num_topics", 5},
                                       {"candidates", 5},
                                       {"slate_size", 2},
                                       {"users", {{"time_budget", {{"mean", 1e9}}}}},
                                       {"dynamics", {{"leave", {{"base", 0.3}}}}}});
  for (const int64_t users : {int64_t(20), int64_t(5)}) {
    CAPTURE(users);
    const int B = 8;
    VecEnv env(s.env, 91, 0, VecEnv::Options{B, 1, users});
    const StepBatch* batch = &env.Reset();
    for (int r = 0; r < B; ++r) {
      CHECK(batch->active[size_t(r)] == (r < users));
      if (r < users) CHECK(batch->user_id[size_t(r)] == r);
    }
    Rng rng(91);
    SlateBatch slates;
    slates.Resize(B, 2);
    std::map<int64_t, int> episodes;
    std::vector<int64_t> current = batch->user_id;
    std::vector<uint8_t> was_active = batch->active;
    int64_t bad = 0;
    int steps = 0;
    while (env.AnyActive() && steps < 10000) {
      ++steps;
      RandomSlates(rng, *batch, slates);
      for (int r = 0; r < B; ++r)
        if (!batch->active[size_t(r)]) std::fill_n(slates.Row(r), 2, -1);  // ignored
      batch = &env.Step(slates);
      for (int r = 0; r < B; ++r) {
        const size_t R = size_t(r);
        if (!was_active[R]) {
          bad += batch->active[R] != 0 || Ended(*batch, r) || batch->reward[R] != 0.0f;
          continue;
        }
        if (Ended(*batch, r)) {
          ++episodes[current[R]];
          if (batch->active[R]) {
            bad += batch->user_id[R] != current[R] + B;
            bad += batch->user_id[R] >= users;
          } else {
            bad += current[R] + B < users;  // went inactive while users remained
          }
          current[R] = batch->user_id[R];
        } else {
          bad += !batch->active[R] || batch->user_id[R] != current[R];
        }
        was_active[R] = batch->active[R];
      }
    }
    CHECK_FALSE(env.AnyActive());
    CHECK(bad == 0);
    REQUIRE(episodes.size() == size_t(users));
    int64_t expect = 0;
    for (const auto& [user, count] : episodes) {
      CHECK(user == expect++);
      CHECK(count == 1);
    }
  }
}

}  // namespace

// ---- live edits (the visualizer's parameter panel) --------------------------

// EditParams changes the model between steps: a new temperature changes the
// exact click probabilities of the same slate; turning boredom on in a
// population without it starts accumulating from zero; a shape change is
// refused and leaves the model as it was; Reset() returns to the original.
TEST_CASE("dynamics: EditParams edits the model live") {
  const Scenario s = MakeScenario(json{
      {"num_topics", 4}, {"candidates", 6}, {"slate_size", 2}, {"choice", {{"type", "mnl"}, {"temperature", 1.0}}}});
  REQUIRE_FALSE(s.env.BoredomEnabled());
  const int B = 8;
  VecEnv env(s.env, 5, 0, VecEnv::Options{B, 1, -1});
  env.Reset();
  REQUIRE(env.Boredom(0) == nullptr);
  const int32_t slate[2] = {0, 1};
  double before[2], after[2];
  const double none_before = env.ChoiceProbabilities(0, slate, before);
  env.EditParams([](EnvParams& p) { p.choice.temperature = 0.25; });
  CHECK(env.model().params().choice.temperature == 0.25);
  const double none_after = env.ChoiceProbabilities(0, slate, after);
  CHECK(none_after != doctest::Approx(none_before));
  // MNL by hand at the new temperature.
  const StepBatch& b = env.batch();
  double total = 1.0, e[2];
  for (int j = 0; j < 2; ++j) total += e[j] = std::exp(env.TrueInterests(0)[b.topic[size_t(slate[j])]] / 0.25);
  CHECK(after[0] == doctest::Approx(e[0] / total));
  CHECK(none_after == doctest::Approx(1.0 / total));

  CHECK_THROWS_AS(env.EditParams([](EnvParams& p) { p.slate_size = 3; }), std::invalid_argument);
  CHECK(env.model().params().slate_size == 2);
  CHECK(env.model().params().choice.temperature == 0.25);

  env.EditParams([](EnvParams& p) { p.dynamics.boredom_increment = 0.5; });
  REQUIRE(env.Boredom(0) != nullptr);
  for (int t = 0; t < 3; ++t)
    env.Step([&] {
      SlateBatch sl;
      sl.Resize(B, 2);
      for (int r = 0; r < B; ++r) sl.Row(r)[0] = 0, sl.Row(r)[1] = 1;
      return sl;
    }());
  double boredom = 0.0;
  for (int r = 0; r < B; ++r)
    for (int k = 0; k < 4; ++k) boredom += env.Boredom(r)[k];
  CHECK(boredom > 0.0);  // 8 users x 3 steps: some clicks (P(no click) < 1)

  env.Reset();
  CHECK(env.model().params().choice.temperature == 1.0);
  CHECK(env.model().params().dynamics.boredom_increment == 0.0);
}

}  // namespace cohort
