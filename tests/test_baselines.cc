// Tests of agents/baselines.cc: the per-candidate scores the visualizer's
// session inspector shows (Agent::CandidateScores) are what the baselines
// rank by, and asking for them changes nothing.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "agent_harness.h"
#include "agents/baselines.h"
#include "agents/registry.h"
#include "env/scenario.h"

namespace cohort {
namespace {

using testing::InspectAllRows;
using testing::TopKMismatch;

// A baseline from the global registry (RegisterBaselineAgents may run only
// once: its schemas are static), its config resolved against its schema.
std::unique_ptr<Agent> Make(const json& config, const AgentContext& ctx) {
  json rest = config;
  const std::string type = rest["type"].get<std::string>();
  rest.erase("type");
  json resolved = Validate(rest, *AgentRegistry().Find(type)->schema, "test");
  resolved["type"] = type;
  return MakeAgent(resolved, ctx);
}

Scenario Load(const std::string& name, const std::vector<std::string>& sets = {}) {
  return LoadScenario(std::string(COHORT_SOURCE_DIR) + "/scenarios/" + name, sets, AgentRegistry());
}

// What a run records: every slate, the rewards, Save() at the end.
struct Trace {
  std::vector<int32_t> slates;
  std::vector<float> rewards;
  std::string checkpoint;
};

// `steps` steps of `config` on a fresh env; with `inspect`, CandidateScores
// on every row before and after each Act.
Trace Run(const Scenario& sc, const json& config, int B, int steps, bool inspect) {
  VecEnv::Options o;
  o.num_envs = B;
  VecEnv env(sc.env, 4, 0, o);
  auto agent = Make(config, AgentContext{&sc.env, &env, 4, 0, B, steps});
  const StepBatch* b = &env.Reset();
  SlateBatch s;
  s.Resize(B, b->slate_size);
  Trace t;
  for (int i = 0; i < steps; ++i) {
    if (inspect) CHECK(InspectAllRows(*agent, *b) > 0);
    agent->Act(*b, s);
    if (inspect) InspectAllRows(*agent, *b);
    t.slates.insert(t.slates.end(), s.index.begin(), s.index.end());
    b = &env.Step(s);
    t.rewards.insert(t.rewards.end(), b->reward.begin(), b->reward.end());
    agent->Observe(*b);
    agent->Update();
  }
  BinaryWriter w;
  agent->Save(w);
  t.checkpoint = w.data();
  return t;
}

TEST_CASE("baselines: random has no per-candidate score") {
  const Scenario sc = Load("recsim_interest_evolution.json");
  VecEnv::Options o;
  o.num_envs = 4;
  VecEnv env(sc.env, 1, 0, o);
  auto agent = Make(json{{"type", "random"}}, AgentContext{&sc.env, &env, 1, 0, 4, 0});
  const StepBatch& b = env.Reset();
  std::vector<double> scores(size_t(b.num_candidates), -7.0);
  CHECK(agent->CandidateScores(b, 0, scores.data()) == "");
  CHECK(scores == std::vector<double>(size_t(b.num_candidates), -7.0));  // untouched
}

TEST_CASE("baselines: each ranker's slate is the top-k of its CandidateScores") {
  struct Case {
    std::string scenario;
    std::vector<std::string> sets;
    json config;
    std::string name;
  };
  // recsim: one-hot topics (many ties, broken at random); cascade_news: a
  // live catalog (popularity per item); the oracle's slate is the top-k of
  // the candidates' expected rewards alone only for k = 1.
  const std::vector<Case> cases = {
      {"recsim_interest_evolution.json", {}, {{"type", "popularity"}}, "smoothed CTR"},
      {"cascade_news.json", {}, {{"type", "popularity"}}, "smoothed CTR"},
      {"recsim_interest_evolution.json", {}, {{"type", "greedy"}}, "affinity"},
      {"linear_bandit.json", {}, {{"type", "greedy"}}, "affinity"},
      {"recsim_interest_evolution.json", {}, {{"type", "greedy"}, {"score", "quality"}}, "quality"},
      {"recsim_interest_evolution.json",
       {},
       {{"type", "greedy"}, {"score", "expected_reward"}},
       "expected reward (alone)"},
      {"recsim_interest_evolution.json", {"env.slate_size=1"}, {{"type", "oracle"}}, "expected reward (alone)"},
      {"linear_bandit.json", {"env.slate_size=1"}, {{"type", "oracle"}}, "expected reward (alone)"},
  };
  for (const Case& c : cases) {
    INFO(c.scenario << " " << c.config.dump());
    const Scenario sc = Load(c.scenario, c.sets);
    const int B = 8;
    VecEnv::Options o;
    o.num_envs = B;
    VecEnv env(sc.env, 3, 0, o);
    auto agent = Make(c.config, AgentContext{&sc.env, &env, 3, 0, B, 0});
    const StepBatch* b = &env.Reset();
    SlateBatch s;
    s.Resize(B, b->slate_size);
    std::vector<double> scores(size_t(b->num_candidates));
    int distinct = 0;  // rows whose scores are not all equal: the check has teeth
    for (int t = 0; t < 30; ++t) {
      std::vector<std::vector<double>> before(static_cast<size_t>(B));
      for (int r = 0; r < B; ++r) {
        if (!b->active[size_t(r)]) continue;
        CHECK(agent->CandidateScores(*b, r, scores.data()) == c.name);
        before[size_t(r)] = scores;
        distinct += *std::max_element(scores.begin(), scores.end()) != *std::min_element(scores.begin(), scores.end());
      }
      agent->Act(*b, s);
      for (int r = 0; r < B; ++r)
        if (b->active[size_t(r)]) CHECK(TopKMismatch(before[size_t(r)], s.Row(r), b->slate_size) == "");
      b = &env.Step(s);
      agent->Observe(*b);
      agent->Update();
    }
    CHECK(distinct > B * 10);
    // An inactive row has no score.
    StepBatch inactive = *b;
    inactive.active[0] = 0;
    CHECK(agent->CandidateScores(inactive, 0, scores.data()) == "");
  }
}

TEST_CASE("baselines: CandidateScores between steps leaves the run bit-identical") {
  // Popularity's tables grow in Act and its ties draw from per-user streams:
  // the scores must touch neither.
  for (const char* scenario : {"recsim_interest_evolution.json", "cascade_news.json"}) {
    INFO(scenario);
    const Scenario sc = Load(scenario);
    for (const json& config : {json{{"type", "popularity"}}, json{{"type", "greedy"}}}) {
      INFO(config.dump());
      const Trace plain = Run(sc, config, 8, 40, false), inspected = Run(sc, config, 8, 40, true);
      CHECK(plain.slates == inspected.slates);
      CHECK(plain.rewards == inspected.rewards);
      CHECK(plain.checkpoint == inspected.checkpoint);
    }
  }
}

}  // namespace
}  // namespace cohort
