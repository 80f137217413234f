// Exposure metrics (agents/exposure.h): each on cases computed by hand, the
// position weights, and the meter on a simulator run against a count by hand.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <numeric>

#include "agents/exposure.h"
#include "agents/registry.h"
#include "agents/runner.h"
#include "env/scenario.h"

using namespace cohort;

TEST_CASE("exposure: the Gini coefficient on cases computed by hand") {
  CHECK(Gini({}) == 0.0);
  CHECK(Gini({0.0, 0.0, 0.0}) == 0.0);
  CHECK(Gini({2.0, 2.0, 2.0, 2.0}) == doctest::Approx(0.0).epsilon(1e-15));  // uniform
  // One unit of n holds everything: (n - 1) / n, near 1 for many units.
  CHECK(Gini({0.0, 0.0, 0.0, 5.0}) == doctest::Approx(0.75));
  std::vector<double> one(1000, 0.0);
  one[17] = 3.0;
  CHECK(Gini(one) == doctest::Approx(0.999));
  // {1, 2, 3}: mean |x_i - x_j| over all 9 ordered pairs = 8 / 9, over 2 x mean 2: 2 / 9.
  CHECK(Gini({3.0, 1.0, 2.0}) == doctest::Approx(2.0 / 9.0));
  // Scale-free.
  CHECK(Gini({30.0, 10.0, 20.0}) == doctest::Approx(2.0 / 9.0));
}

TEST_CASE("exposure: the long-tail share outside the top 20%") {
  // 10 units: the top 2 are the head.
  CHECK(LongTailShare({5, 5, 1, 1, 1, 1, 1, 1, 1, 1}) == doctest::Approx(8.0 / 18.0));
  CHECK(LongTailShare({1, 1, 1, 1, 1}) == doctest::Approx(0.8));  // 5 units: head of 1
  CHECK(LongTailShare({7, 0, 0, 0, 0, 0}) == 0.0);                 // 6 units: head of 2 holds all
  CHECK(LongTailShare({0, 0}) == 0.0);
}

TEST_CASE("exposure: calibration KL with Steck's smoothing") {
  CHECK(CalibrationKl({1, 1}, {3, 3}) == doctest::Approx(0.0).epsilon(1e-15));  // the same distribution
  // p = (1, 0), q = (0, 1): KL = log(1 / (0.99 * 0 + 0.01 * 1)) = log 100.
  CHECK(CalibrationKl({2, 0}, {0, 5}) == doctest::Approx(std::log(100.0)));
  // p = (1/2, 1/2), q = (1, 0): 1/2 log(0.5 / (0.99 + 0.005)) + 1/2 log(0.5 / 0.005).
  CHECK(CalibrationKl({1, 1}, {1, 0}) ==
        doctest::Approx(0.5 * std::log(0.5 / 0.995) + 0.5 * std::log(0.5 / 0.005)));
  CHECK(CalibrationKl({0, 0}, {1, 0}) == 0.0);
}

TEST_CASE("exposure: position weights are the DCG discount") {
  CHECK(ExposureWeight(0) == 1.0);
  CHECK(ExposureWeight(1) == doctest::Approx(1.0 / std::log2(3.0)));
  CHECK(ExposureWeight(2) == doctest::Approx(0.5));
}

namespace {

Scenario Small(const std::string& agent) {
  return LoadScenario(std::string(COHORT_SOURCE_DIR) + "/scenarios/recsim_interest_evolution.json",
                      {"agent.type=" + agent, "run.episodes=40", "run.num_envs=8", "env.slate_size=3"},
                      AgentRegistry());
}

}  // namespace

TEST_CASE("exposure: the meter's topic exposure is the hand count of a rollout's slates") {
  const Scenario s = Small("greedy");
  VecEnv env(s.env, s.seed, s.variant, PlainRunEnvOptions(s.run));
  AgentContext ctx{env.spec(), GroundTruth(env), s.seed, s.variant, env.num_envs()};
  auto agent = MakeAgent(s.agent, ctx);
  ExposureMeter meter(env);
  std::map<int, double> by_hand;  // topic -> position-weighted count
  SlateBatch slates;
  slates.Resize(env.num_envs(), s.env.slate_size);
  const StepBatch* b = &env.Reset();
  while (env.AnyActive()) {
    agent->Act(*b, slates);
    meter.Record(*b, slates);
    for (int r = 0; r < b->rows; ++r)
      if (b->active[size_t(r)])
        for (int j = 0; j < s.env.slate_size; ++j)
          by_hand[b->topic[size_t(r) * size_t(b->num_candidates) + size_t(slates.Row(r)[j])]] += ExposureWeight(j);
    b = &env.Step(slates);
    meter.EndEpisodes(*b);
  }
  const ExposureMetrics m = meter.Finish();
  double total = 0.0;
  for (const auto& [t, w] : by_hand) total += w;
  std::vector<double> units(size_t(s.env.num_topics), 0.0);
  for (const auto& [t, w] : by_hand) units[size_t(t)] = w;
  for (int t = 0; t < s.env.num_topics; ++t) CHECK(m.by_topic[size_t(t)].exposure_share == doctest::Approx(units[size_t(t)] / total));
  CHECK(m.exposure_gini == doctest::Approx(Gini(units)));
  CHECK(m.long_tail_share == doctest::Approx(LongTailShare(units)));
  double merit = 0.0;
  for (const TopicExposure& e : m.by_topic) merit += e.merit_share;
  CHECK(merit == doctest::Approx(1.0));
  CHECK(m.exposure_merit_gap >= 0.0);
  CHECK(m.exposure_merit_gap <= 1.0);
  CHECK(m.calibration_kl > 0.0);
}

TEST_CASE("exposure: a popularity ranker concentrates exposure, random spreads it") {
  RolloutExtras random, popular;
  const Scenario r = Small("random"), p = Small("popularity");
  RollOut(r, r.agent, false, {}, 0, 0, &random);
  RollOut(p, p.agent, false, {}, 0, 0, &popular);
  // Random slates give every topic nearly the same exposure (candidates are
  // drawn uniformly over RecSim's 20 topics): a Gini near 0.
  CHECK(random.exposure.exposure_gini < 0.1);
  CHECK(popular.exposure.exposure_gini > random.exposure.exposure_gini + 0.2);
  CHECK(popular.exposure.long_tail_share < random.exposure.long_tail_share);
  // The same run twice gives the same numbers (determinism).
  RolloutExtras again;
  RollOut(p, p.agent, false, {}, 0, 0, &again);
  CHECK(again.exposure.exposure_gini == popular.exposure.exposure_gini);
  CHECK(again.exposure.calibration_kl == popular.exposure.calibration_kl);
}

TEST_CASE("exposure: on a live catalog the units are the items the rollout could show") {
  // A world that has run for a while: most items ever made have died.
  const Scenario s = LoadScenario(std::string(COHORT_SOURCE_DIR) + "/scenarios/popularity_loop.json",
                                  {R"(agent={"type": "random"})", "run.episodes=16", "run.num_envs=8", "env.catalog.max_age=50"},
                                  AgentRegistry());
  VecEnv world(s.env, s.seed, s.variant, PlainRunEnvOptions(s.run));
  AgentContext wctx{world.spec(), GroundTruth(world), s.seed, s.variant, world.num_envs()};
  auto walker = MakeAgent(s.agent, wctx);
  SlateBatch slates;
  slates.Resize(world.num_envs(), s.env.slate_size);
  const StepBatch* b = &world.Reset();
  for (int t = 0; t < 300 && world.AnyActive(); ++t) {
    walker->Act(*b, slates);
    b = &world.Step(slates);
  }
  VecEnv env(s.env, s.seed, s.variant, VecEnv::Options{8, 1, 16, kFirstEvalUser});
  env.StartFromWorldOf(world);
  AgentContext ctx{env.spec(), GroundTruth(env), s.seed, s.variant, env.num_envs()};
  auto agent = MakeAgent(s.agent, ctx);
  ExposureMeter meter(env);
  b = &env.Reset();
  const int64_t alive = env.catalog().alive_count(), before = env.catalog().total_items();
  while (env.AnyActive()) {
    agent->Act(*b, slates);
    meter.Record(*b, slates);
    b = &env.Step(slates);
    meter.EndEpisodes(*b);
  }
  const ExposureMetrics m = meter.Finish();
  CHECK(before > alive);  // items have died: they are not units
  CHECK(m.units == alive + (env.catalog().total_items() - before));
  CHECK(m.units < env.catalog().total_items());
}

// ---- The exposure re-ranker (agents/exposure_rerank.h) ----------------------

namespace {

Scenario Loop(const std::string& agent, std::vector<std::string> more = {}) {
  std::vector<std::string> sets = {"agent=" + agent, "run.episodes=64", "run.num_envs=32"};
  sets.insert(sets.end(), more.begin(), more.end());
  return LoadScenario(std::string(COHORT_SOURCE_DIR) + "/scenarios/popularity_loop.json", sets, AgentRegistry());
}

}  // namespace

// Weight 0 serves the policy's own slates (greedy ranks by the top k of its
// scores); a larger weight spreads exposure and costs reward: the knob is a
// trade-off, monotone on this scenario for the served policy.
TEST_CASE("exposure re-ranker: weight 0 is the policy, larger weights trade reward for spread") {
  const std::string greedy = R"({"type": "greedy", "score": "expected_reward"})";
  auto wrapped = [&](double w) {
    return R"({"type": "exposure_rerank", "serve": "always", "policy": )" + greedy + ", \"weight\": " +
           std::to_string(w) + "}";
  };
  RolloutExtras plain_x, w0_x, w2_x, w8_x;
  const Scenario plain = Loop(greedy), w0 = Loop(wrapped(0.0)), w2 = Loop(wrapped(2.0)), w8 = Loop(wrapped(8.0));
  const Rollout a = RollOut(plain, plain.agent, false, {}, 0, 0, &plain_x);
  const Rollout b = RollOut(w0, w0.agent, false, {}, 0, 0, &w0_x);
  const Rollout c = RollOut(w2, w2.agent, false, {}, 0, 0, &w2_x);
  const Rollout d = RollOut(w8, w8.agent, false, {}, 0, 0, &w8_x);
  REQUIRE(a.episodes.size() == b.episodes.size());
  for (size_t i = 0; i < a.episodes.size(); ++i) CHECK(a.episodes[i].ret == b.episodes[i].ret);
  CHECK(w0_x.exposure.exposure_gini == plain_x.exposure.exposure_gini);
  auto mean_return = [](const Rollout& r) {
    double s = 0.0;
    for (const EpisodeRecord& e : r.episodes) s += e.ret;
    return s / double(r.episodes.size());
  };
  MESSAGE("gini " << w0_x.exposure.exposure_gini << " " << w2_x.exposure.exposure_gini << " "
                  << w8_x.exposure.exposure_gini << "; return " << mean_return(b) << " " << mean_return(c) << " "
                  << mean_return(d));
  CHECK(w2_x.exposure.exposure_gini < w0_x.exposure.exposure_gini - 0.02);
  CHECK(w8_x.exposure.exposure_gini < w2_x.exposure.exposure_gini);
  CHECK(mean_return(d) < mean_return(b));
}

// serve = "evaluation": while it trains, a learner behind the re-ranker acts
// and learns exactly as alone; frozen, its slates are re-ranked; and the
// evaluation leaves its training untouched.
TEST_CASE("exposure re-ranker: a learner trains on its own slates and is re-ranked when evaluated") {
  const Scenario s = Loop(R"({"type": "linucb"})");
  const int B = 32;
  VecEnv env_a(s.env, 1, 0, VecEnv::Options{B, 1, -1}), env_b(s.env, 1, 0, VecEnv::Options{B, 1, -1});
  VecEnv eval_a(s.env, 2, 0, VecEnv::Options{B, 1, -1}), eval_b(s.env, 2, 0, VecEnv::Options{B, 1, -1});
  AgentContext ctx_a{env_a.spec(), std::nullopt, 1, 0, B}, ctx_b{env_b.spec(), std::nullopt, 1, 0, B};
  auto alone = MakeAgent(s.agent, ctx_a);
  auto wrapped =
      MakeAgent(Loop(R"({"type": "exposure_rerank", "policy": {"type": "linucb"}, "weight": 5.0})").agent, ctx_b);
  CHECK(wrapped->learns());
  SlateBatch sa, sb;
  sa.Resize(B, s.env.slate_size);
  sb.Resize(B, s.env.slate_size);
  const StepBatch *a = &env_a.Reset(), *b = &env_b.Reset();
  auto train = [&](int steps) {
    for (int t = 0; t < steps; ++t) {
      alone->Act(*a, sa);
      wrapped->Act(*b, sb);
      REQUIRE(sa.index == sb.index);
      a = &env_a.Step(sa);
      b = &env_b.Step(sb);
      alone->Observe(*a);
      wrapped->Observe(*b);
      alone->Update();
      wrapped->Update();
    }
  };
  train(40);
  alone->SetTraining(false);
  wrapped->SetTraining(false);
  const StepBatch *ea = &eval_a.Reset(), *eb = &eval_b.Reset();
  int64_t differ = 0;
  for (int t = 0; t < 20; ++t) {
    alone->Act(*ea, sa);
    wrapped->Act(*eb, sb);
    for (int r = 0; r < B; ++r) differ += !std::equal(sa.Row(r), sa.Row(r) + s.env.slate_size, sb.Row(r));
    ea = &eval_a.Step(sa);
    eb = &eval_b.Step(sb);
  }
  CHECK(differ > 20);
  alone->SetTraining(true);
  wrapped->SetTraining(true);
  train(20);
}

TEST_CASE("exposure re-ranker: a policy without scores is refused by name") {
  const Scenario s = Loop(R"({"type": "exposure_rerank", "policy": {"type": "random"}, "serve": "always"})");
  CHECK_THROWS_WITH(RollOut(s, s.agent, false, {}, 0, 0, nullptr),
                    doctest::Contains("\"random\" gives no per-candidate scores"));
}
