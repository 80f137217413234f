// Users who are not people (env.users.bots; env/params.h BotParams): each
// user's kind drawn with the configured shares; each kind's clicks against
// its definition (statistical tests); the ground truth's click probabilities
// against the simulator's frequencies; the bots' exact oracle slate against
// enumeration; bots feel nothing; entries of share 0 change nothing; and the
// summary reports people apart.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "agents/registry.h"
#include "agents/runner.h"
#include "core/rng.h"
#include "env/ground_truth.h"
#include "env/model.h"
#include "env/scenario.h"
#include "env/vec_env.h"
#include "goodness_of_fit.h"

namespace cohort {
namespace {

std::string RecSimPath() { return std::string(COHORT_SOURCE_DIR) + "/scenarios/recsim_interest_evolution.json"; }

// RecSim's scenario with interest drift on (so that "feels nothing" can fail)
// and the given bots.
Scenario WithBots(const std::string& bots, std::vector<std::string> more = {}) {
  std::vector<std::string> overrides = {"env.users.bots=" + bots, "env.dynamics.interest.drift_std=0.05"};
  overrides.insert(overrides.end(), more.begin(), more.end());
  return LoadScenario(RecSimPath(), overrides, AgentRegistry());
}

// A small population with likes, dislikes and a negative dislike reward, so
// that a slate's value can be negative (the click farm's empty slate).
json MixedDoc(int k) {
  return json{{"seed", 3},
              {"env",
               {{"num_topics", 4},
                {"candidates", 7},
                {"slate_size", k},
                {"catalog", {{"quality_std", 1.0}, {"length_std", 0.5}}},
                {"users",
                 {{"time_budget", {{"mean", 30.0}, {"std", 5.0}}},
                  {"bots", json::array({{{"kind", "random"}, {"fraction", 0.25}, {"click_probability", 0.7}},
                                        {{"kind", "clickbait"}, {"fraction", 0.25}, {"click_probability", 0.9}},
                                        {{"kind", "click_farm"}, {"fraction", 0.25}, {"topic", 1}}})}}},
                {"response", {{"like", true}, {"dislike", true}}},
                {"reward", {{"watch_time", 0.2}, {"like", 1.0}, {"dislike", -3.0}}}}}};
}

bool Ended(const StepBatch& b, int r) { return b.terminated[size_t(r)] || b.truncated[size_t(r)]; }

}  // namespace

TEST_CASE("bots: each user's kind is drawn with the configured shares") {
  const std::vector<BotParams> none;
  CHECK(BotEntryOf(none, 1, 0, 5) == -1);
  std::vector<BotParams> bots(3);
  bots[0].fraction = 0.1, bots[1].fraction = 0.25, bots[2].fraction = 0.05;
  const int n = 200000;
  std::vector<int64_t> count(4, 0);  // entries 0..2, then people
  for (int64_t user = 0; user < n; ++user) {
    const int e = BotEntryOf(bots, 11, 2, user);
    REQUIRE(e >= -1);
    REQUIRE(e < 3);
    ++count[e < 0 ? 3 : size_t(e)];
    if (user < 100) CHECK(BotEntryOf(bots, 11, 2, user) == e);  // a function of its arguments
  }
  const std::vector<double> probs = {0.1, 0.25, 0.05, 0.6};
  CHECK(ChiSquareSurvival(ChiSquareStatistic(count, probs), 3) > 1e-4);
  // Another seed or variant draws other users' kinds.
  int differ = 0;
  for (int64_t user = 0; user < 200; ++user)
    differ += BotEntryOf(bots, 11, 2, user) != BotEntryOf(bots, 12, 2, user) ||
              BotEntryOf(bots, 11, 2, user) != BotEntryOf(bots, 11, 3, user);
  CHECK(differ > 50);
}

// Every step of every row of a population of one kind follows the kind's
// rule: the whole slate examined, at most one click, the clicked position
// the rule's (clickbait: the highest quality shown; click_farm: the first
// item of its topic, none without one; random: uniform), clicking at all with
// click_probability; and a bot's interests and satisfaction never move, while
// a person's do under the same dynamics.
TEST_CASE("bots: each kind clicks by its definition and feels nothing") {
  const int B = 256, steps = 150;
  struct Kind {
    std::string json;
    BotKind kind;
    double p;
  };
  const std::vector<Kind> kinds = {
      {R"([{"kind": "random", "fraction": 1, "click_probability": 0.6}])", BotKind::kRandomClicker, 0.6},
      {R"([{"kind": "clickbait", "fraction": 1, "click_probability": 0.8}])", BotKind::kClickbait, 0.8},
      {R"([{"kind": "click_farm", "fraction": 1, "topic": 4}])", BotKind::kClickFarm, 1.0},
      {"[]", BotKind::kRandomClicker, -1.0}};  // people: the control
  for (const Kind& kind : kinds) {
    CAPTURE(kind.json);
    const Scenario s = WithBots(kind.json);
    const int K = s.env.num_candidates, k = s.env.slate_size;
    VecEnv env(s.env, 7, 0, VecEnv::Options{B, 1, -1});
    const GroundTruth truth(env);
    Rng rng(99);
    SlateBatch slates;
    slates.Resize(B, k);
    const StepBatch* b = &env.Reset();
    BinomialCell any_click;
    std::vector<int64_t> position_count(size_t(k), 0);
    int64_t interest_moves = 0, satisfaction_moves = 0, rule_breaks = 0;
    std::vector<float> interests(size_t(s.env.FeatureDim()));
    for (int t = 0; t < steps; ++t) {
      RandomSlates(rng, *b, slates);
      std::vector<std::vector<float>> before(B);
      std::vector<double> satisfaction(B);
      std::vector<int> target(B);
      for (int r = 0; r < B; ++r) {
        before[size_t(r)].assign(truth.TrueInterests(r), truth.TrueInterests(r) + s.env.FeatureDim());
        satisfaction[size_t(r)] = env.Satisfaction(r);
        const int32_t* slate = slates.Row(r);
        int best = -1;
        for (int j = 0; j < k; ++j) {
          const int c = slate[j];
          if (kind.kind == BotKind::kClickbait && (best < 0 || truth.CandidateQuality(r, c) >
                                                                  truth.CandidateQuality(r, slate[best])))
            best = j;
          if (kind.kind == BotKind::kClickFarm && best < 0 && b->topic[size_t(r) * K + size_t(c)] == 4) best = j;
        }
        target[size_t(r)] = best;
      }
      b = &env.Step(slates);
      for (int r = 0; r < B; ++r) {
        const size_t s0 = size_t(r) * size_t(k);
        const int pos = b->click_position[size_t(r)];
        const bool ended = Ended(*b, r);
        if (!ended) {
          interest_moves += std::memcmp(before[size_t(r)].data(), truth.TrueInterests(r),
                                        sizeof(float) * before[size_t(r)].size()) != 0;
          satisfaction_moves += env.Satisfaction(r) != satisfaction[size_t(r)];
        }
        if (kind.p < 0) continue;
        int clicks = 0;
        for (int j = 0; j < k; ++j) {
          rule_breaks += b->examined[s0 + size_t(j)] != 1;
          clicks += b->clicked[s0 + size_t(j)];
        }
        rule_breaks += clicks > 1 || (clicks == 1) != (pos >= 0) || (pos >= 0 && !b->clicked[s0 + size_t(pos)]);
        if (kind.kind == BotKind::kRandomClicker) {
          any_click.Add(pos >= 0, kind.p);
          if (pos >= 0) ++position_count[size_t(pos)];
        } else {
          const int want = target[size_t(r)];
          rule_breaks += pos >= 0 && pos != want;
          if (want >= 0) any_click.Add(pos >= 0, kind.p);
        }
      }
    }
    if (kind.p < 0) {  // people move: the checks below are not vacuous
      CHECK(interest_moves > 1000);
      CHECK(satisfaction_moves > 1000);
      continue;
    }
    CHECK(rule_breaks == 0);
    CHECK(interest_moves == 0);
    CHECK(satisfaction_moves == 0);
    CHECK(any_click.n > 2000);
    if (kind.p < 1.0) {
      CAPTURE(any_click.Z());
      CHECK(std::abs(any_click.Z()) < 4.5);
    } else {
      CHECK(any_click.observed == any_click.n);
    }
    if (kind.kind == BotKind::kRandomClicker) {
      const std::vector<double> uniform(size_t(k), 1.0 / k);
      CHECK(ChiSquareSurvival(ChiSquareStatistic(position_count, uniform), k - 1) > 1e-4);
    }
  }
}

// The ground truth's ChoiceProbabilities of each row (person or bot) before
// a step against what the step then did: per kind and position, the clicks
// counted match the summed probabilities (binomial z).
TEST_CASE("bots: the ground truth's click probabilities are the simulator's") {
  const Scenario s = ParseScenario(MixedDoc(3), "mixed", AgentRegistry());
  const int B = 512, k = s.env.slate_size;
  VecEnv env(s.env, s.seed, 0, VecEnv::Options{B, 1, -1});
  const GroundTruth truth(env);
  Rng rng(5);
  SlateBatch slates;
  slates.Resize(B, k);
  const StepBatch* b = &env.Reset();
  std::vector<BinomialCell> cells(size_t(4 * (k + 1)));  // (kind + 1) x (position, then no click)
  std::vector<double> probs(static_cast<size_t>(k));
  std::vector<std::vector<double>> p(B, std::vector<double>(size_t(k + 1)));
  std::vector<int> kind(B);
  for (int t = 0; t < 200; ++t) {
    RandomSlates(rng, *b, slates);
    for (int r = 0; r < B; ++r) {
      p[size_t(r)][size_t(k)] = truth.ChoiceProbabilities(r, slates.Row(r), probs.data());
      std::copy(probs.begin(), probs.end(), p[size_t(r)].begin());
      kind[size_t(r)] = env.Bot(r) + 1;
    }
    b = &env.Step(slates);
    for (int r = 0; r < B; ++r) {
      const int pos = b->click_position[size_t(r)];
      for (int j = 0; j <= k; ++j)
        cells[size_t(kind[size_t(r)] * (k + 1) + j)].Add(j == k ? pos < 0 : pos == j, p[size_t(r)][size_t(j)]);
    }
  }
  for (int kd = 0; kd < 4; ++kd)
    for (int j = 0; j <= k; ++j) {
      const BinomialCell& c = cells[size_t(kd * (k + 1) + j)];
      CAPTURE(kd);
      CAPTURE(j);
      CAPTURE(c.observed);
      CAPTURE(c.expected);
      CHECK(c.n > 10000);
      CHECK(std::abs(c.Z()) < 4.5);
    }
}

// A bot's OracleSlate is exactly the best ordered slate: its value is the
// largest ExpectedReward over all K!/(K-k)! slates, to rounding, on every
// bot row of many random states (some where the farm is best shown no item
// of its topic, a dislike costing more than a like pays); and with k = 1, CandidateExpectedRewards is
// ExpectedReward of each one-item slate.
TEST_CASE("bots: the oracle slate of each kind is the best by enumeration") {
  for (int k : {1, 2, 3}) {
    CAPTURE(k);
    const Scenario s = ParseScenario(MixedDoc(k), "mixed", AgentRegistry());
    const int B = 64, K = s.env.num_candidates;
    VecEnv env(s.env, s.seed, 0, VecEnv::Options{B, 1, -1});
    const GroundTruth truth(env);
    Rng rng(8);
    SlateBatch slates;
    slates.Resize(B, k);
    const StepBatch* b = &env.Reset();
    int64_t compared = 0, avoided = 0, mismatches = 0;
    std::vector<int32_t> slate(static_cast<size_t>(k)), best(static_cast<size_t>(k));
    std::vector<double> candidate_values(static_cast<size_t>(K));
    for (int t = 0; t < 40; ++t) {
      for (int r = 0; r < B; ++r) {
        if (env.Bot(r) < 0) continue;
        double top = -INFINITY;
        // Every ordered slate of k distinct candidates, by odometer.
        std::vector<int> digit(size_t(k), 0);
        while (true) {
          bool distinct = true;
          for (int j = 0; j < k; ++j) {
            slate[size_t(j)] = digit[size_t(j)];
            for (int i = 0; i < j; ++i) distinct &= digit[size_t(i)] != digit[size_t(j)];
          }
          if (distinct) top = std::max(top, truth.ExpectedReward(r, slate.data()));
          int j = 0;
          while (j < k && ++digit[size_t(j)] == K) digit[size_t(j++)] = 0;
          if (j == k) break;
        }
        const double oracle = truth.OracleSlate(r, best.data());
        ++compared;
        // The farm's slate without its topic (nothing clicked) while one was on offer.
        bool target_offered = false;
        for (int c = 0; c < K; ++c) target_offered |= b->topic[size_t(r) * size_t(K) + size_t(c)] == 1;
        avoided += env.Bot(r) == 2 && target_offered && oracle == 0.0;
        if (std::abs(oracle - top) > 1e-12 * std::max(1.0, std::abs(top)) ||
            oracle != truth.ExpectedReward(r, best.data()))
          ++mismatches;
        if (k == 1) {
          truth.CandidateExpectedRewards(r, candidate_values.data());
          for (int32_t c = 0; c < K; ++c) {
            slate[0] = c;
            CHECK(candidate_values[size_t(c)] == doctest::Approx(truth.ExpectedReward(r, slate.data())));
          }
        }
      }
      RandomSlates(rng, *b, slates);
      b = &env.Step(slates);
    }
    CHECK(compared > 1000);
    CHECK(mismatches == 0);
    CAPTURE(avoided);
    if (k > 1) CHECK(avoided > 0);  // the farm's no-click slate was in play
  }
}

// Entries of share 0 draw from their own stream only: every user is a
// person and the run is the same bit for bit as without bots.
TEST_CASE("bots: entries of share zero change nothing") {
  const Scenario plain = LoadScenario(RecSimPath(), {}, AgentRegistry());
  const Scenario zero = LoadScenario(
      RecSimPath(), {R"(env.users.bots=[{"kind": "clickbait", "fraction": 0}, {"kind": "random", "fraction": 0}])"},
      AgentRegistry());
  REQUIRE(zero.env.bots.size() == 2);
  const int B = 64;
  VecEnv a(plain.env, 4, 0, VecEnv::Options{B, 1, -1}), b(zero.env, 4, 0, VecEnv::Options{B, 1, -1});
  Rng rng(1);
  SlateBatch slates;
  slates.Resize(B, plain.env.slate_size);
  a.Reset();
  b.Reset();
  for (int t = 0; t < 200; ++t) {
    RandomSlates(rng, a.batch(), slates);
    a.Step(slates);
    b.Step(slates);
    REQUIRE(a.batch().reward == b.batch().reward);
    REQUIRE(a.batch().interests == b.batch().interests);
    REQUIRE(a.batch().clicked == b.batch().clicked);
    for (int r = 0; r < B; ++r) REQUIRE(b.Bot(r) == -1);
  }
}

// The summary reports people apart: counts add up, and the human mean is the
// mean return over the users BotEntryOf calls people.
TEST_CASE("bots: summary.json reports human return apart") {
  const Scenario s = WithBots(R"([{"kind": "random", "fraction": 0.3}, {"kind": "click_farm", "fraction": 0.2, "topic": 0}])",
                              {"run.episodes=300", "run.num_envs=32"});
  const RunOutput out = RunScenario(s, "", {});
  const json& sum = out.summary;
  REQUIRE(sum["human_users"].is_number_integer());
  CHECK(sum["human_users"].get<int64_t>() + sum["bot_users"].get<int64_t>() == 300);
  double human = 0.0;
  int64_t people = 0;
  for (const EpisodeRecord& e : out.main.episodes)
    if (BotEntryOf(s.env.bots, s.seed, s.variant, e.user) < 0) human += e.ret, ++people;
  CHECK(people == sum["human_users"].get<int64_t>());
  CHECK(people > 100);
  CHECK(people < 200);
  CHECK(sum["human_return_mean"].get<double>() == doctest::Approx(human / double(people)));
  CHECK(sum["human_normalized_score"].is_number());
  CHECK(sum["return_mean"].get<double>() != doctest::Approx(sum["human_return_mean"].get<double>()));
}

}  // namespace cohort
