// Tests of agents/baselines.cc: the per-candidate scores the visualizer's
// session inspector shows (Agent::CandidateScores) are what the baselines
// rank by; who is privileged and what that grants. That inspecting changes
// nothing is part of the Agent contract (test_agent_contract.cc).
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "agent_harness.h"
#include "agents/baselines.h"
#include "agents/registry.h"
#include "env/scenario.h"

namespace cohort {
namespace {

using testing::TopKMismatch;

Scenario Load(const std::string& name, const std::vector<std::string>& sets = {}) {
  return LoadScenario(std::string(COHORT_SOURCE_DIR) + "/scenarios/" + name, sets, AgentRegistry());
}

TEST_CASE("baselines: random has no per-candidate score") {
  const Scenario sc = Load("recsim_interest_evolution.json");
  VecEnv::Options o;
  o.num_envs = 4;
  VecEnv env(sc.env, 1, 0, o);
  auto agent = testing::MakeFromRegistry(json{{"type", "random"}},
                                         AgentContext{MakeEnvSpec(sc.env), GroundTruth(env), 1, 0, 4, 0});
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
    auto agent = testing::MakeFromRegistry(c.config, AgentContext{MakeEnvSpec(sc.env), GroundTruth(env), 3, 0, B, 0});
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

// Hidden state is out of an agent's reach by construction: the batch has no
// hidden-quality member, and the context has no EnvParams or VecEnv, only the
// spec and the optional privileged handle.
template <typename T>
concept HasQuality = requires(const T& t) {
  t.quality;
};
template <typename T>
concept HasParamsOrEnv = requires(const T& t) {
  t.params;
}
|| requires(const T& t) { t.env; };
static_assert(!HasQuality<StepBatch>, "hidden item quality must not be part of the agent's observation");
static_assert(HasQuality<ItemView>, "the detection above must be able to see a quality member");
static_assert(!HasParamsOrEnv<AgentContext>, "agents get the EnvSpec, not the environment's parameters or state");

// Every registered type with its default config, and greedy with each score.
std::vector<json> EveryAgentConfig() {
  std::vector<json> out;
  for (const std::string& type : AgentRegistry().Types()) {
    // click_model needs the model it acts by (its default, "", is refused).
    const json given = type == "click_model" ? json{{"model", COHORT_SOURCE_DIR "/tests/data/click_model_recsim.json"}}
                                             : json::object();
    json config = Validate(given, *AgentRegistry().Find(type)->schema, "test");
    config["type"] = type;
    out.push_back(config);
  }
  for (const char* score : {"quality", "expected_reward"}) {
    json config = Validate(json{{"score", score}}, *AgentRegistry().Find("greedy")->schema, "test");
    config["type"] = "greedy";
    out.push_back(config);
  }
  return out;
}

TEST_CASE("privilege: the registry decides it from the config, hands the handle only to privileged agents") {
  const Scenario sc = Load("recsim_interest_evolution.json");
  VecEnv env(sc.env, 5, 0, VecEnv::Options{2, 1, -1});
  env.Reset();
  const AgentContext offered{env.spec(), GroundTruth(env), 5, 0, 2, 0};
  const AgentContext bare{env.spec(), std::nullopt, 5, 0, 2, 0};
  std::vector<std::string> privileged;
  for (const json& config : EveryAgentConfig()) {
    const std::string type = config["type"].get<std::string>();
    INFO(config.dump());
    const bool p = IsPrivileged(config);
    if (p) {  // "greedy:score", appended in place (GCC 12 warns -Wrestrict on ":" + std::string)
      std::string name = type;
      if (type == "greedy") {
        name += ':';
        name += config["score"].get<std::string>();
      }
      privileged.push_back(name);
    }
    // Offered the handle, a non-privileged type does not receive it.
    CHECK(HandedContext(type, p, offered).privileged.has_value() == p);
    if (p) {
      // A privileged agent without the handle is a clear error, from the
      // registry and from its own constructor alike.
      CHECK_THROWS_WITH_AS(MakeAgent(config, bare), doctest::Contains("no privileged handle"), std::invalid_argument);
      CHECK_THROWS_WITH_AS(HandedContext(type, p, bare), doctest::Contains(type.c_str()), std::invalid_argument);
    } else {
      CHECK_NOTHROW(MakeAgent(config, bare));
    }
    CHECK_NOTHROW(MakeAgent(config, offered));
  }
  // Exactly these (the torch-free registry; LibTorch agents are never privileged).
  CHECK(privileged == std::vector<std::string>{"oracle", "greedy:quality", "greedy:expected_reward"});
  // Privilege follows the config, not only the type.
  CHECK(!IsPrivileged(json{{"type", "greedy"}}));
  CHECK(!IsPrivileged(json{{"type", "greedy"}, {"score", "affinity"}}));
  CHECK(IsPrivileged(json{{"type", "greedy"}, {"score", "quality"}}));
}

TEST_CASE("privilege: greedy by quality reads the hidden quality through the handle") {
  const Scenario sc = Load("recsim_interest_evolution.json");
  VecEnv env(sc.env, 6, 0, VecEnv::Options{4, 1, -1});
  const StepBatch& b = env.Reset();
  auto agent = testing::MakeFromRegistry(json{{"type", "greedy"}, {"score", "quality"}},
                                         AgentContext{env.spec(), GroundTruth(env), 6, 0, 4, 0});
  std::vector<double> scores(size_t(b.num_candidates));
  int distinct = 0;
  for (int r = 0; r < 4; ++r) {
    REQUIRE(agent->CandidateScores(b, r, scores.data()) == "quality");
    for (int c = 0; c < b.num_candidates; ++c) CHECK(scores[size_t(c)] == GroundTruth(env).CandidateQuality(r, c));
    distinct += scores[0] != scores[1];
  }
  CHECK(distinct > 0);
}

}  // namespace
}  // namespace cohort
