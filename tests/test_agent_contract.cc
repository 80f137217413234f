// The Agent contract (agents/agent.h) for every torch-free registered agent
// type, through the global registry (tests/agent_harness.h). The LibTorch
// agents run the same contract in their own test executables
// (tests/torch/test_ALGO.cc); a type registered in neither place fails here.
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "agent_harness.h"
#include "agents/registry.h"

namespace cohort {
namespace {

using testing::ContractCase;

// Each torch-free configuration with the score its frozen policy ranks by.
// The oracle's slate is the top-k of its per-candidate scores only for k = 1.
//
// Random and the ranking baselines (popularity, greedy) break ties from
// per-row streams keyed by the row's user; evaluation acts on other users in
// the same rows, so the streams are set aside during it (UserStreams::
// SetTraining) and the evaluation clause holds for them too.
const std::vector<ContractCase>& TorchFreeCases() {
  static const std::vector<ContractCase> cases = {
      {{{"type", "random"}}, "", 0.0, false},
      {{{"type", "popularity"}}, "smoothed CTR", 0.0, false},
      {{{"type", "greedy"}}, "affinity", 0.0, false},
      {{{"type", "greedy"}, {"score", "quality"}}, "quality", 0.0, false},
      {{{"type", "greedy"}, {"score", "expected_reward"}}, "expected reward (alone)", 0.0, false},
      {{{"type", "oracle"}}},
      {{{"type", "epsilon_greedy"}, {"epsilon", 0.2}, {"schedule", "linear"}}, "mean estimate"},
      {{{"type", "ucb1"}}, "mean estimate"},
      {{{"type", "linucb"}}, "posterior mean"},
      {{{"type", "linear_ts"}, {"refresh", 3}}, "posterior mean"},
      // A click model learned offline from a log (cohort train-offline).
      {{{"type", "click_model"}, {"model", COHORT_SOURCE_DIR "/tests/data/click_model_recsim.json"}}, "click logit",
       0.0, false},
      // The logging wrapper: the frozen policy mixed with uniform slates, or
      // a Plackett-Luce draw over its scores (Thompson sampling's included).
      {{{"type", "logging"}, {"policy", {{"type", "greedy"}}}, {"epsilon", 0.3}}},
      {{{"type", "logging"}, {"policy", {{"type", "epsilon_greedy"}, {"epsilon", 0.2}}}, {"epsilon", 0.1}}},
      {{{"type", "logging"}, {"policy", {{"type", "linear_ts"}}}, {"temperature", 0.5}, {"epsilon", 0.05}}},
      // The exposure re-ranker: a learner trained on its own slates and
      // re-ranked when frozen; a frozen policy re-ranked always.
      {{{"type", "exposure_rerank"}, {"policy", {{"type", "linucb"}}}, {"weight", 2.0}}, "exposure-adjusted score"},
      {{{"type", "exposure_rerank"}, {"policy", {{"type", "popularity"}}}, {"weight", 0.5}, {"decay", 0.9}},
       "exposure-adjusted score", 0.0, false},
      {{{"type", "exposure_rerank"}, {"policy", {{"type", "greedy"}}}, {"serve", "always"}}, "exposure-adjusted score",
       0.0, false},
  };
  return cases;
}
// Checked by tests/torch/test_ALGO.cc.
const std::set<std::string> kLibTorchTypes = {"reinforce", "a2c", "ppo", "slateq", "dqn"};

TEST_CASE("Agent contract: every torch-free registered type") {
  std::set<std::string> covered;
  for (const ContractCase& c : TorchFreeCases()) {
    covered.insert(c.config["type"].get<std::string>());
    testing::CheckAgentContract(testing::MakeFromRegistry, c);
  }
  for (const std::string& type : AgentRegistry().Types()) {
    INFO(type);
    CHECK_MESSAGE((covered.count(type) > 0 || kLibTorchTypes.count(type) > 0),
                  "agent type \"" << type << "\" has no conformance case: add it to TorchFreeCases()");
  }
}

// Greedy by history needs a past to rank by: RecSim's scenario observing the
// last 6 interactions, with episodes long enough to fill them.
TEST_CASE("Agent contract: greedy by history, on a scenario with a sequence observation") {
  testing::CheckAgentContract(testing::MakeFromRegistry,
                              ContractCase{{{"type", "greedy"}, {"score", "history"}}, "history", 0.0, false},
                              testing::RecsimEnv({"horizon.max_episode_steps=12", "observation.sequence.length=6"}));
}

// A test-only learner that the contract's Save/Load clause must judge: it
// ranks candidates by the smoothed click-through rate of their topic,
// (clicks + 1) / (shown + 2), ties to the lower index. With `save_shown`
// false its Save drops `shown_`, the slip of a field added to an agent but
// not to its Save: Load and a second Save still agree byte for byte, so only
// continuing both agents reveals it.
class TopicCtrAgent : public Agent {
 public:
  TopicCtrAgent(const AgentContext& ctx, bool save_shown)
      : save_shown_(save_shown), clicks_(size_t(ctx.spec.num_topics)), shown_(size_t(ctx.spec.num_topics)) {}
  const std::string& type() const override {
    static const std::string name = "topic_ctr";
    return name;
  }
  bool learns() const override { return true; }
  void Act(const StepBatch& obs, SlateBatch& slates) override {
    const int K = obs.num_candidates, k = obs.slate_size;
    shown_topics_.assign(size_t(obs.rows) * size_t(k), -1);
    std::vector<int> order(static_cast<size_t>(K));
    for (int r = 0; r < obs.rows; ++r) {
      if (!obs.active[size_t(r)]) continue;
      const int32_t* topic = &obs.topic[size_t(r) * size_t(K)];
      auto ctr = [&](int c) {
        const size_t t = size_t(topic[c]);
        return (clicks_[t] + 1.0) / (shown_[t] + 2.0);
      };
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return ctr(a) > ctr(b); });
      for (int j = 0; j < k; ++j) {
        slates.Row(r)[j] = order[size_t(j)];
        shown_topics_[size_t(r) * size_t(k) + size_t(j)] = topic[order[size_t(j)]];
      }
    }
  }
  void Observe(const StepBatch& result) override {
    const int k = result.slate_size;
    for (int r = 0; r < result.rows; ++r) {
      const int32_t* topics = &shown_topics_[size_t(r) * size_t(k)];
      if (topics[0] < 0) continue;  // not acted on
      for (int j = 0; j < k; ++j) shown_[size_t(topics[j])] += 1.0;
      const int click = result.click_position[size_t(r)];
      if (click >= 0) clicks_[size_t(topics[click])] += 1.0;
    }
  }
  void Save(BinaryWriter& out) const override {
    out.Tag("topic_ctr");
    out.Vector(clicks_);
    if (save_shown_) out.Vector(shown_);
  }
  void Load(BinaryReader& in) override {
    in.Tag("topic_ctr");
    in.Vector(clicks_);
    if (save_shown_) in.Vector(shown_);
  }

 private:
  const bool save_shown_;
  std::vector<double> clicks_, shown_;  // per topic
  std::vector<int32_t> shown_topics_;   // rows x k: topics of the last slates (-1: row not acted on)
};

testing::AgentMaker TopicCtr(bool save_shown) {
  return [save_shown](const json&, const AgentContext& ctx) -> std::unique_ptr<Agent> {
    return std::make_unique<TopicCtrAgent>(ctx, save_shown);
  };
}

TEST_CASE("Agent contract: a Save that drops a field fails the Save/Load clause, and only it") {
  const EnvParams params = testing::ContractScenario();
  const testing::ContractCase c{{{"type", "topic_ctr"}}};
  // The complete agent meets the whole contract (the clause can pass).
  testing::CheckAgentContract(TopicCtr(true), c, params);
  // Without shown_ in Save, the continuation after Load diverges.
  const testing::AgentMaker broken = TopicCtr(false);
  const testing::ContractRun run{broken, c, params};
  CHECK(testing::SaveLoadProblem(run) == "after Load: slates differ");
  testing::Trace trace;
  CHECK(testing::CallOrderProblem(run, &trace) == "");
  CHECK(testing::EvaluationProblem(run) == "");
  CHECK(testing::InspectionProblem(run) == "");
}

}  // namespace
}  // namespace cohort
