// Test helpers for agents: build one registered agent family without the full
// registry, drive an agent in a VecEnv, and the conformance test of the Agent
// contract (CheckAgentContract, COHORT_AGENT_CONFORMANCE) that every
// registered agent type runs. DOCTEST_ macros only: the LibTorch tests include
// it too (tests/torch/main.cc).
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "agents/registry.h"
#include "agents/slate_law.h"
#include "core/serialize.h"
#include "env/ground_truth.h"
#include "env/scenario.h"
#include "env/vec_env.h"
#include "goodness_of_fit.h"

namespace cohort::testing {

// `config` (an "agent" block, "type" included) validated against its type's
// schema in `types`, defaults filled, like a scenario's would be.
inline json ResolveAgent(const AgentTypes& types, const json& config) {
  json rest = config;
  const std::string type = rest["type"].get<std::string>();
  rest.erase("type");
  const ComponentInfo* info = types.Find(type);
  if (info == nullptr) throw std::invalid_argument("test: unknown agent type \"" + type + "\"");
  json out = Validate(rest, *info->schema, "test");
  out["type"] = type;
  return out;
}

// The table one Register*Agents function fills (an AgentTable, as the
// registry keeps); Make() resolves the config first (ResolveAgent), then
// builds like MakeAgent: the ground-truth handle reaches only privileged
// agents.
class TestRegistrar : public AgentTable {
 public:
  json Resolve(const json& config) const { return ResolveAgent(types(), config); }
  std::unique_ptr<Agent> Make(const json& config, const AgentContext& ctx) const {
    return AgentTable::Make(Resolve(config), ctx);
  }
  bool Has(const std::string& type) const { return types().Find(type) != nullptr; }
};

// The table of one agent family, filled once per test executable:
//   testing::Family<torch_agents::RegisterDqn>().Make(config, ctx)
template <void (*Register)(AgentRegistrar&)>
const TestRegistrar& Family() {
  static const TestRegistrar* table = [] {
    auto* t = new TestRegistrar;
    Register(*t);
    return t;
  }();
  return *table;
}

// An agent from the global registry (AgentRegistry(): each Register*Agents
// function may run only once, its schemas are static), its config resolved
// against its type's schema like a scenario's would be.
inline std::unique_ptr<Agent> MakeFromRegistry(const json& config, const AgentContext& ctx) {
  return MakeAgent(ResolveAgent(AgentRegistry(), config), ctx);
}

// The "env" block of scenarios/`name`, validated and typed, after `sets`:
// "key.path=value" assignments inside the block (what `--set
// env.key.path=value` does to a scenario), checked against the env schema.
inline EnvParams ScenarioEnv(const std::string& name, const std::vector<std::string>& sets = {}) {
  const std::string path = std::string(COHORT_SOURCE_DIR) + "/scenarios/" + name;
  json env = ReadJsonFile(path)["env"];
  for (const std::string& assignment : sets) ApplyOverride(env, assignment, EnvSchema());
  return ParseEnvParams(Validate(env, EnvSchema(), path, "/env"), path);
}
// The shipped RecSim interest_evolution scenario's env (ScenarioEnv).
inline EnvParams RecsimEnv(const std::vector<std::string>& sets = {}) {
  return ScenarioEnv("recsim_interest_evolution.json", sets);
}

// Mean reward per active user-step of `agent` acting alone (Act only, no
// Observe/Update) for `steps` steps of a fresh VecEnv of `rows` rows.
inline double MeanReward(Agent& agent, const EnvParams& params, uint64_t seed, int rows, int steps) {
  VecEnv env(params, seed, 0, VecEnv::Options{rows, 1, -1});
  const StepBatch* b = &env.Reset();
  SlateBatch s;
  s.Resize(rows, params.slate_size);
  double total = 0.0;
  int64_t n = 0;
  for (int i = 0; i < steps; ++i) {
    const std::vector<uint8_t> active = b->active;
    agent.Act(*b, s);
    b = &env.Step(s);
    for (int r = 0; r < rows; ++r)
      if (active[size_t(r)]) total += b->reward[size_t(r)], ++n;
  }
  return total / double(n);
}

// Full-episode evaluation: `users` fresh users (one per row; `users` = the
// agent's row count), each run until its episode ends (at most 20000 steps).
// Returns the mean episode return; reward per user-step in *per_step.
inline double EpisodeReturn(Agent& agent, const EnvParams& params, uint64_t seed, int users, double* per_step) {
  VecEnv::Options o;
  o.num_envs = users;
  o.max_users = users;
  VecEnv env(params, seed, 0, o);
  const StepBatch* b = &env.Reset();
  SlateBatch s;
  s.Resize(users, params.slate_size);
  double total = 0.0;
  int64_t steps = 0;
  int t = 0;
  for (; env.AnyActive() && t < 20000; ++t) {
    for (int r = 0; r < b->rows; ++r) steps += b->active[size_t(r)];
    agent.Act(*b, s);
    b = &env.Step(s);
    for (int r = 0; r < b->rows; ++r) total += b->reward[size_t(r)];
  }
  DOCTEST_REQUIRE(t < 20000);  // every episode ended
  *per_step = total / double(std::max<int64_t>(1, steps));
  return total / users;
}

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
inline std::string ActsByTopScores(Agent& agent, VecEnv& env, const StepBatch*& obs, int steps, const std::string& name,
                                   double tol, int* distinct) {
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

// ---------------------------------------------------------------------------
// The Agent contract (agents/agent.h), checked for one agent configuration.

// Builds the agent under test from its "agent" block and context.
using AgentMaker = std::function<std::unique_ptr<Agent>(const json& config, const AgentContext& ctx)>;

// One configuration to check.
struct ContractCase {
  json config;  // the "agent" block, "type" included
  // Name CandidateScores gives in evaluation mode when the frozen policy acts
  // by the top-k of those scores ("": not such a policy, not checked).
  std::string frozen_score = "";
  double top_k_tol = 0.0;  // for scores from a differently shaped forward pass
  // Gradient agents: NaN rewards must end in TrainingDiverged naming the
  // tensor (loss, gradient or parameter) that went NaN/Inf.
  bool diverges = false;
  // false: the agent is known to break the evaluation clause and it is not
  // checked (see the case's comment for why).
  bool evaluation_isolated = true;
};

// The default scenario of the contract: recsim_interest_evolution with
// episodes capped at 5 steps, so rows end and reset often (mid-rollout too).
inline EnvParams ContractScenario() { return RecsimEnv({"horizon.max_episode_steps=5"}); }

// What the contract's runs share: 8 rows, fixed seeds, 24 training steps.
struct ContractRun {
  static constexpr int kRows = 8, kSteps = 24, kSaveAt = 11, kEvalEvery = 7, kEvalSteps = 3;
  static constexpr uint64_t kTrainSeed = 41, kEvalSeed = 42, kAgentSeed = 43;
  const AgentMaker& make;
  const ContractCase& c;
  const EnvParams& params;

  std::unique_ptr<VecEnv> Env(uint64_t seed) const {
    return std::make_unique<VecEnv>(params, seed, 0, VecEnv::Options{kRows, 1, -1});
  }
  // Evaluation users are other users than the training ones, as in the
  // trainer (agents/trainer.h): per-user streams must not be shared.
  std::unique_ptr<VecEnv> EvalEnv() const {
    return std::make_unique<VecEnv>(params, kEvalSeed, 0, VecEnv::Options{kRows, 1, -1, int64_t(1) << 40});
  }
  // The handle is offered to every agent: the registry keeps it from the
  // non-privileged ones.
  std::unique_ptr<Agent> NewAgent(const VecEnv& env) const {
    return make(c.config, AgentContext{env.spec(), GroundTruth(env), kAgentSeed, 0, kRows, kSteps});
  }
};

// "" when every active row's slate holds k distinct candidates in range.
inline std::string SlateProblem(const StepBatch& obs, const SlateBatch& s) {
  for (int r = 0; r < obs.rows; ++r) {
    if (!obs.active[size_t(r)]) continue;
    for (int j = 0; j < obs.slate_size; ++j) {
      const int32_t c = s.Row(r)[j];
      if (c < 0 || c >= obs.num_candidates) return "row " + std::to_string(r) + ": candidate out of range";
      for (int i = 0; i < j; ++i)
        if (s.Row(r)[i] == c) return "row " + std::to_string(r) + ": candidate repeated in the slate";
    }
  }
  return "";
}

// The first difference between two runs' slates, rewards, Update statistics
// and final Save() bytes, or "".
inline std::string RunDifference(const Trace& a, const Trace& b, const std::string& save_a, const std::string& save_b) {
  if (a.slates != b.slates) return "slates differ";
  if (a.reward != b.reward) return "rewards differ";
  if (a.updates != b.updates || a.stats != b.stats) return "update statistics differ";
  if (save_a != save_b) return "Save() bytes differ";
  return "";
}

// Call order: Act, Step, Observe, Update for kSteps steps, slates valid.
inline std::string CallOrderProblem(const ContractRun& run, Trace* trace) {
  auto env = run.Env(ContractRun::kTrainSeed);
  auto agent = run.NewAgent(*env);
  SlateBatch s;
  s.Resize(ContractRun::kRows, run.params.slate_size);
  const StepBatch* obs = &env->Reset();
  for (int t = 0; t < ContractRun::kSteps; ++t) {
    agent->Act(*obs, s);
    const std::string bad = SlateProblem(*obs, s);
    if (!bad.empty()) return "step " + std::to_string(t) + ", " + bad;
    obs = &env->Step(s);
    agent->Observe(*obs);
    const auto stats = agent->Update();
    trace->updates += !stats.empty();
  }
  return "";
}

// Evaluation between training steps (SetTraining(false), Act on another
// VecEnv, SetTraining(true)) leaves training bit-identical.
inline std::string EvaluationProblem(const ContractRun& run) {
  Trace traces[2];
  std::string ends[2];
  for (int pass = 0; pass < 2; ++pass) {
    auto env = run.Env(ContractRun::kTrainSeed);
    auto eval_env = run.EvalEnv();
    auto agent = run.NewAgent(*env);
    const StepBatch* obs = &env->Reset();
    for (int done = 0; done < ContractRun::kSteps; done += ContractRun::kEvalEvery) {
      obs = Train(*agent, *env, obs, std::min(ContractRun::kEvalEvery, ContractRun::kSteps - done), traces[pass]);
      if (pass == 0) continue;
      agent->SetTraining(false);
      const StepBatch* e = &eval_env->Reset();
      SlateBatch s;
      s.Resize(ContractRun::kRows, run.params.slate_size);
      for (int t = 0; t < ContractRun::kEvalSteps; ++t) {
        agent->Act(*e, s);
        e = &eval_env->Step(s);
      }
      agent->SetTraining(true);
    }
    ends[pass] = Checkpoint(*agent);
  }
  return RunDifference(traces[0], traces[1], ends[0], ends[1]);
}

// Save mid-run, Load into a fresh agent (on a VecEnv restored from the
// environment's checkpoint), continue both: bit-identical. Loading and saving
// again gives the same bytes.
inline std::string SaveLoadProblem(const ContractRun& run) {
  auto env = run.Env(ContractRun::kTrainSeed);
  auto agent = run.NewAgent(*env);
  Trace before;
  const StepBatch* obs = Train(*agent, *env, &env->Reset(), ContractRun::kSaveAt, before);
  const std::string saved = Checkpoint(*agent);
  BinaryWriter env_saved;
  env->Save(env_saved);

  auto env2 = run.Env(ContractRun::kTrainSeed);
  BinaryReader env_in(env_saved.data(), "contract");
  env2->Load(env_in);
  auto agent2 = run.NewAgent(*env2);
  BinaryReader in(saved, "contract");
  agent2->Load(in);
  if (!in.done()) return "Load() left bytes of Save() unread";
  if (Checkpoint(*agent2) != saved) return "Save() after Load() gives other bytes";

  const int rest = ContractRun::kSteps - ContractRun::kSaveAt;
  Trace a, b;
  Train(*agent, *env, obs, rest, a);
  Train(*agent2, *env2, &env2->batch(), rest, b);
  const std::string d = RunDifference(a, b, Checkpoint(*agent), Checkpoint(*agent2));
  return d.empty() ? "" : "after Load: " + d;
}

// CandidateScores is const: inspecting every row around each Act leaves
// training bit-identical; where named, the frozen policy acts by its top-k.
inline std::string InspectionProblem(const ContractRun& run) {
  Trace trace;
  const std::string d =
      InspectionChangesTraining([&] { return run.Env(ContractRun::kTrainSeed); },
                                [&](VecEnv& env) { return run.NewAgent(env); }, ContractRun::kSteps, &trace);
  if (!d.empty() || run.c.frozen_score.empty()) return d;
  auto env = run.Env(ContractRun::kTrainSeed);
  auto eval_env = run.EvalEnv();
  auto agent = run.NewAgent(*env);
  Trace t;
  int distinct = 0;
  const std::string p = TrainedActsByTopScores(*agent, *env, *eval_env, ContractRun::kSteps, 10, run.c.frozen_score,
                                               run.c.top_k_tol, &t, &distinct);
  if (!p.empty()) return "frozen policy: " + p;
  if (distinct < 10 * ContractRun::kRows / 2) return "frozen policy: too few rows with distinct scores to check";
  return "";
}

// NaN rewards end in TrainingDiverged whose message names what went NaN/Inf.
inline std::string DivergenceProblem(const ContractRun& run) {
  auto env = run.Env(ContractRun::kTrainSeed);
  auto agent = run.NewAgent(*env);
  SlateBatch s;
  s.Resize(ContractRun::kRows, run.params.slate_size);
  const StepBatch* obs = &env->Reset();
  for (int t = 0; t < 200; ++t) {
    agent->Act(*obs, s);
    StepBatch poisoned = env->Step(s);
    std::fill(poisoned.reward.begin(), poisoned.reward.end(), std::nanf(""));
    agent->Observe(poisoned);
    try {
      agent->Update();
    } catch (const TrainingDiverged& e) {
      const std::string what = e.what();
      const size_t at = std::min(what.find(" is NaN/Inf"), what.find(" would become NaN/Inf"));
      if (at == std::string::npos || at == 0) return "TrainingDiverged names no tensor: \"" + what + "\"";
      return "";
    }
    obs = &env->batch();
  }
  return "NaN rewards for 200 steps did not raise TrainingDiverged";
}

// Slate laws (agents/slate_law.h), for agents that have one:
// - recording them leaves training bit-identical;
// - every recorded law gives the chosen slate a positive probability, its
//   conditionals lie in (0, 1] and multiply to it, and its position marginals
//   sum to 1 per position and are positive where the slate put its items;
// - in training mode and in evaluation mode, after kSteps of training, the
//   slates Act draws from a fixed observation (Act repeated on one batch,
//   nothing observed) follow the law:
//   Pearson's chi-square over every ordered slate (cells of expected count
//   under 5 pooled), per row, at p > 1e-4 (fixed seeds: deterministic).
inline std::string SlateLawProblem(const ContractRun& run) {
  {
    auto probe = run.NewAgent(*run.Env(ContractRun::kTrainSeed));
    if (!probe->HasSlateLaw()) return "";
  }
  Trace plain, recorded;
  std::string ends[2];
  for (int pass = 0; pass < 2; ++pass) {
    auto env = run.Env(ContractRun::kTrainSeed);
    auto agent = run.NewAgent(*env);
    if (pass == 1) agent->RecordSlateLaws(true);
    SlateBatch s;
    s.Resize(ContractRun::kRows, run.params.slate_size);
    const StepBatch* obs = &env->Reset();
    Trace& trace = pass == 0 ? plain : recorded;
    for (int t = 0; t < ContractRun::kSteps; ++t) {
      agent->Act(*obs, s);
      trace.slates.insert(trace.slates.end(), s.index.begin(), s.index.end());
      if (pass == 1) {
        const int K = obs->num_candidates, k = obs->slate_size;
        for (int r = 0; r < obs->rows; ++r) {
          if (!obs->active[size_t(r)]) continue;
          const SlateLaw& law = agent->LastSlateLaw(r);
          std::vector<double> cond(static_cast<size_t>(k)), marg(size_t(k) * size_t(K));
          const double p = SlateProbabilities(law, K, s.Row(r), k, cond.data());
          const std::string where = "step " + std::to_string(t) + " row " + std::to_string(r) + ": ";
          if (!(p > 0.0)) return where + "the chosen slate has probability " + std::to_string(p);
          double product = 1.0;
          for (double c : cond) {
            if (!(c > 0.0 && c <= 1.0 + 1e-12)) return where + "a conditional outside (0, 1]";
            product *= c;
          }
          if (std::abs(product - p) > 1e-12 * p) return where + "the conditionals do not multiply to the slate's";
          Rng rng(7);
          PositionMarginals(law, K, k, rng, marg.data());
          for (int j = 0; j < k; ++j) {
            double sum = 0.0;
            for (int c = 0; c < K; ++c) sum += marg[size_t(j) * K + size_t(c)];
            if (std::abs(sum - 1.0) > 1e-9) return where + "position marginals do not sum to 1";
            if (!(marg[size_t(j) * K + size_t(s.Row(r)[j])] > 0.0)) return where + "a chosen item has marginal 0";
          }
        }
      }
      obs = &env->Step(s);
      agent->Observe(*obs);
      agent->Update();
    }
    ends[pass] = Checkpoint(*agent);
  }
  if (plain.slates != recorded.slates || ends[0] != ends[1]) return "recording slate laws changed the run";

  for (const bool training : {true, false}) {
    // Trained first, so that learners' scores no longer tie.
    auto env = run.Env(ContractRun::kTrainSeed);
    auto agent = run.NewAgent(*env);
    Trace trained;
    const StepBatch& obs = *Train(*agent, *env, &env->Reset(), ContractRun::kSteps, trained);
    agent->RecordSlateLaws(true);
    agent->SetTraining(training);
    const int K = obs.num_candidates, k = obs.slate_size, draws = 3000;
    SlateBatch s;
    s.Resize(ContractRun::kRows, k);
    std::vector<std::map<std::vector<int32_t>, int64_t>> counts(size_t(obs.rows));
    std::vector<SlateLaw> laws(size_t(obs.rows));
    for (int n = 0; n < draws; ++n) {
      agent->Act(obs, s);
      for (int r = 0; r < obs.rows; ++r) {
        if (!obs.active[size_t(r)]) continue;
        if (n == 0) laws[size_t(r)] = agent->LastSlateLaw(r);
        ++counts[size_t(r)][std::vector<int32_t>(s.Row(r), s.Row(r) + k)];
      }
    }
    for (int r = 0; r < obs.rows; ++r) {
      if (!obs.active[size_t(r)]) continue;
      // Every ordered slate: observed and expected counts, small cells pooled.
      std::vector<double> cond(static_cast<size_t>(k));
      std::vector<int64_t> observed;
      std::vector<double> probs;
      int64_t pooled_seen = 0;
      double pooled_p = 0.0, total_p = 0.0;
      ForEachOrderedSlate(K, k, [&](const int32_t* slate) {
        const double p = SlateProbabilities(laws[size_t(r)], K, slate, k, cond.data());
        total_p += p;
        const auto it = counts[size_t(r)].find(std::vector<int32_t>(slate, slate + k));
        const int64_t seen = it == counts[size_t(r)].end() ? 0 : it->second;
        if (p * draws < 5.0) {
          pooled_p += p, pooled_seen += seen;
        } else {
          observed.push_back(seen), probs.push_back(p);
        }
      });
      if (std::abs(total_p - 1.0) > 1e-9) return "row " + std::to_string(r) + ": slate probabilities sum to " +
                                                 std::to_string(total_p);
      if (pooled_p > 0.0) observed.push_back(pooled_seen), probs.push_back(pooled_p);
      if (probs.size() < 2) {
        if (!observed.empty() && observed[0] != draws) return "row " + std::to_string(r) + ": a certain slate varied";
        continue;
      }
      const double p_value = ChiSquareSurvival(ChiSquareStatistic(observed, probs), int(probs.size()) - 1);
      if (p_value < 1e-4)
        return std::string(training ? "training" : "evaluation") + " row " + std::to_string(r) +
               ": sampled slates do not follow the recorded law (chi-square p = " + std::to_string(p_value) + ")";
    }
  }
  return "";
}

// Every clause of the contract for `c`, on `params`.
inline void CheckAgentContract(const AgentMaker& make, const ContractCase& c,
                               const EnvParams& params = ContractScenario()) {
  DOCTEST_INFO(c.config.dump());
  const ContractRun run{make, c, params};
  Trace trace;
  auto guarded = [&](const char* clause, const std::function<std::string()>& check) {
    std::string problem;
    try {
      problem = check();
    } catch (const std::exception& e) {
      problem = std::string("threw: ") + e.what();
    }
    const std::string message = std::string(clause) + ": " + problem;
    DOCTEST_CHECK_MESSAGE(problem.empty(), message);
  };
  guarded("call order", [&] { return CallOrderProblem(run, &trace); });
  if (c.evaluation_isolated)
    guarded("evaluation leaves training bit-identical", [&] { return EvaluationProblem(run); });
  guarded("CandidateScores is const", [&] { return InspectionProblem(run); });
  guarded("Save/Load continues bit-identically", [&] { return SaveLoadProblem(run); });
  if (c.diverges) guarded("divergence names the tensor", [&] { return DivergenceProblem(run); });
  guarded("slate laws are exact and change nothing", [&] { return SlateLawProblem(run); });
}
inline void CheckAgentContract(const TestRegistrar& registrar, const ContractCase& c,
                               const EnvParams& params = ContractScenario()) {
  CheckAgentContract([&](const json& config, const AgentContext& ctx) { return registrar.Make(config, ctx); }, c,
                     params);
}

}  // namespace cohort::testing

// The whole Agent contract for one configuration, as one test case:
//   COHORT_AGENT_CONFORMANCE("dqn", Family<torch_agents::RegisterDqn>(), {SmallConfig(), "Q-value", 1e-5, true});
// `maker` is a TestRegistrar or an AgentMaker; the braces are a ContractCase.
#define COHORT_AGENT_CONFORMANCE(name, maker, ...)                                             \
  DOCTEST_TEST_CASE("Agent contract: " name) {                                                 \
    ::cohort::testing::CheckAgentContract(maker, ::cohort::testing::ContractCase __VA_ARGS__); \
  }
