// Test helpers for agents: build one registered agent family without the full
// registry, and drive an agent in a VecEnv.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agents/registry.h"
#include "core/serialize.h"
#include "env/scenario.h"
#include "env/vec_env.h"

namespace cohort::testing {

// Collects the agents a Register*Agents function adds; Make() validates the
// config against the agent's schema (defaults filled) like a scenario would.
class TestRegistrar : public AgentRegistrar {
 public:
  void Add(ComponentInfo info, AgentFactory factory) override {
    infos_[info.type] = info;
    factories_[info.type] = std::move(factory);
  }
  json Resolve(const json& config) const {
    json rest = config;
    const std::string type = rest["type"].get<std::string>();
    rest.erase("type");
    json out = Validate(rest, *infos_.at(type).schema, "test");
    out["type"] = type;
    return out;
  }
  std::unique_ptr<Agent> Make(const json& config, const AgentContext& ctx) const {
    return factories_.at(config["type"].get<std::string>())(Resolve(config), ctx);
  }
  bool Has(const std::string& type) const { return factories_.count(type) > 0; }
  void AddLearnable(const LearnableRule& rule) override { learnables_.push_back(rule.type); }
  const std::vector<std::string>& learnables() const { return learnables_; }

 private:
  std::map<std::string, ComponentInfo> infos_;
  std::map<std::string, AgentFactory> factories_;
  std::vector<std::string> learnables_;
};

// "" when slate[0..k) is a top-k of scores (distinct, in descending order,
// no candidate left out scores higher), up to `tol` for scores computed in a
// differently shaped forward pass; else what is wrong. Ties may go either way.
inline std::string TopKMismatch(const std::vector<double>& scores, const int32_t* slate, int k, double tol = 0.0) {
  const int K = int(scores.size());
  std::vector<uint8_t> chosen(size_t(K), 0);
  double lowest = std::numeric_limits<double>::infinity();
  for (int j = 0; j < k; ++j) {
    const int32_t c = slate[j];
    if (c < 0 || c >= K || chosen[size_t(c)]) return "slate position " + std::to_string(j) + " is not a new candidate";
    chosen[size_t(c)] = 1;
    if (j > 0 && scores[size_t(c)] > scores[size_t(slate[j - 1])] + tol)
      return "slate position " + std::to_string(j) + " scores above position " + std::to_string(j - 1);
    lowest = std::min(lowest, scores[size_t(c)]);
  }
  for (int c = 0; c < K; ++c)
    if (!chosen[size_t(c)] && scores[size_t(c)] > lowest + tol)
      return "candidate " + std::to_string(c) + " (" + std::to_string(scores[size_t(c)]) +
             ") outranks the slate's lowest (" + std::to_string(lowest) + ")";
  return "";
}

// Agent::CandidateScores on every row of `obs`, as the visualizer's inspector
// may between steps; returns how many rows gave a named score.
inline int InspectAllRows(const Agent& agent, const StepBatch& obs) {
  std::vector<double> scores(size_t(obs.num_candidates));
  int named = 0;
  for (int r = 0; r < obs.rows; ++r) named += !agent.CandidateScores(obs, r, scores.data()).empty();
  return named;
}

// Evaluation acting (Act only) for `steps` steps of `env` from `obs`: before
// each Act every active row's CandidateScores must be named `name`, and the
// slate must be their top-k (TopKMismatch, `tol`). Returns the first problem
// or ""; *distinct counts the rows whose scores were not all equal.
inline std::string ActsByTopScores(Agent& agent, VecEnv& env, const StepBatch*& obs, int steps,
                                   const std::string& name, double tol, int* distinct) {
  SlateBatch s;
  s.Resize(obs->rows, obs->slate_size);
  std::vector<std::vector<double>> scores(size_t(obs->rows), std::vector<double>(size_t(obs->num_candidates)));
  for (int t = 0; t < steps; ++t) {
    for (int r = 0; r < obs->rows; ++r) {
      if (!obs->active[size_t(r)]) continue;
      std::vector<double>& v = scores[size_t(r)];
      const std::string got = agent.CandidateScores(*obs, r, v.data());
      if (got != name) return "row " + std::to_string(r) + ": score named \"" + got + "\", not \"" + name + "\"";
      *distinct += *std::max_element(v.begin(), v.end()) != *std::min_element(v.begin(), v.end());
    }
    agent.Act(*obs, s);
    for (int r = 0; r < obs->rows; ++r) {
      if (!obs->active[size_t(r)]) continue;
      const std::string problem = TopKMismatch(scores[size_t(r)], s.Row(r), obs->slate_size, tol);
      if (!problem.empty()) return "step " + std::to_string(t) + ", row " + std::to_string(r) + ": " + problem;
    }
    obs = &env.Step(s);
  }
  return "";
}

// What a training run did: every slate, the summed reward, user-steps, the
// number of updates and every Update() statistic in order.
struct Trace {
  std::vector<int32_t> slates;
  double reward = 0.0;
  int64_t user_steps = 0;
  int updates = 0;
  std::vector<double> stats;
};

// Trains `agent` for `steps` steps of `env` from `obs` (Act, Step, Observe,
// Update) and returns the last observation. With `inspect`, CandidateScores
// on every row before and after each Act.
inline const StepBatch* Train(Agent& agent, VecEnv& env, const StepBatch* obs, int steps, Trace& trace,
                              bool inspect = false) {
  SlateBatch s;
  s.Resize(obs->rows, obs->slate_size);
  for (int i = 0; i < steps; ++i) {
    if (inspect) InspectAllRows(agent, *obs);
    agent.Act(*obs, s);
    if (inspect) InspectAllRows(agent, *obs);
    trace.slates.insert(trace.slates.end(), s.index.begin(), s.index.end());
    obs = &env.Step(s);
    agent.Observe(*obs);
    const std::map<std::string, double> stats = agent.Update();
    if (!stats.empty()) ++trace.updates;
    for (const auto& [name, v] : stats) trace.stats.push_back(v);
    for (int r = 0; r < obs->rows; ++r) trace.reward += obs->reward[size_t(r)];
    trace.user_steps += obs->rows;
  }
  return obs;
}

// The agent's Save() bytes.
inline std::string Checkpoint(const Agent& agent) {
  BinaryWriter w;
  agent.Save(w);
  return w.data();
}

// Trains `agent` for `steps` steps on `env`, then acts frozen
// (SetTraining(false)) on `eval_env` for `eval_steps` steps checking
// ActsByTopScores (named `name`, tolerance `tol`). Returns its problem or "".
inline std::string TrainedActsByTopScores(Agent& agent, VecEnv& env, VecEnv& eval_env, int steps, int eval_steps,
                                          const std::string& name, double tol, Trace* trace, int* distinct) {
  Train(agent, env, &env.Reset(), steps, *trace);
  agent.SetTraining(false);
  const StepBatch* obs = &eval_env.Reset();
  return ActsByTopScores(agent, eval_env, obs, eval_steps, name, tol, distinct);
}

// Trains two agents from `make` (each on its own env from `make_env`) for
// `steps` steps, the second inspecting every row around each Act; returns the
// first difference in slates, rewards, statistics or Save() bytes, or "".
// *trace receives the first run's trace (for the caller's sanity checks).
template <typename MakeEnv, typename MakeAgent>
std::string InspectionChangesTraining(const MakeEnv& make_env, const MakeAgent& make, int steps, Trace* trace) {
  Trace traces[2];
  std::string ends[2];
  for (int pass = 0; pass < 2; ++pass) {
    std::unique_ptr<VecEnv> env = make_env();
    std::unique_ptr<Agent> agent = make(*env);
    Train(*agent, *env, &env->Reset(), steps, traces[pass], /*inspect=*/pass == 1);
    ends[pass] = Checkpoint(*agent);
  }
  *trace = traces[0];
  if (traces[0].slates != traces[1].slates) return "slates differ";
  if (traces[0].reward != traces[1].reward) return "rewards differ";
  if (traces[0].stats != traces[1].stats) return "update statistics differ";
  if (ends[0] != ends[1]) return "Save() bytes differ";
  return "";
}

}  // namespace cohort::testing
