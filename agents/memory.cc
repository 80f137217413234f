#include "agents/memory.h"

#include <algorithm>

#include "agents/features.h"
#include "agents/runner.h"

namespace cohort {
namespace {

// An MLP of `in` inputs, the hidden layers of config["hidden"] and one
// output: its weights and biases, as floats.
double MlpFloats(const json& agent, double in) {
  double floats = 0.0, prev = in;
  if (agent.contains("hidden") && agent["hidden"].is_array())
    for (const json& h : agent["hidden"])
      if (h.is_number()) {
        floats += prev * h.get<double>() + h.get<double>();
        prev = h.get<double>();
      }
  return floats + prev + 1.0;
}

double Number(const json& agent, const char* key, double fallback) {
  return agent.contains(key) && agent[key].is_number() ? agent[key].get<double>() : fallback;
}

}  // namespace

void AddAgentMemory(const json& agent, const EnvParams& env, const json& resolved, int64_t rows,
                    const std::string& rows_key, int64_t train_steps, MemoryEstimate& out) {
  if (!agent.is_object() || !agent.contains("type") || !agent["type"].is_string()) return;
  const std::string type = agent["type"].get<std::string>();
  const double B = double(rows), K = env.num_candidates, k = env.slate_size;
  const double F = CandidateFeatures::Dim(env.FeatureDim());  // learners' feature vector per candidate
  const bool live = env.catalog.source == CandidateSource::kLive;
  auto key = [&](const std::string& dotted) { return KeyWithValue(resolved, dotted); };
  const bool embedding = env.catalog.features == FeatureKind::kEmbedding;
  const std::string dim_key = embedding ? key("env.catalog.embedding_dim") : key("env.num_topics");
  const std::string label = "agent \"" + type + "\": ";

  if (type == "linucb" || type == "linear_ts") {
    // RidgeStats: A and A^-1, and Reinvert's two d x d temporaries;
    // linear_ts also keeps the Cholesky factor of A^-1.
    const double matrices = type == "linucb" ? 4.0 : 5.0;
    out.Add(label + "ridge matrices, d x d with d = 3 x feature dimension + 4 = " + std::to_string(int64_t(F)),
            {dim_key}, matrices * F * F * 8.0);
    out.Add(label + "features of the shown items, slots x slate x d", {rows_key, key("env.slate_size"), dim_key},
            B * k * F * 8.0 + 2 * K * F * 8.0);
  } else if (type == "popularity" || type == "epsilon_greedy" || type == "ucb1") {
    // Two doubles per arm: an item of a live catalog (every item ever
    // shown, up to all the catalog's), else a topic.
    const double arms = live ? CatalogItems(env, double(train_steps)) : double(env.num_topics);
    out.Add(label + "statistics per arm (" + std::string(live ? "per item of the live catalog" : "per topic") + ")",
            {live ? key("env.catalog.size") : key("env.num_topics")}, arms * 16.0 * (type == "popularity" ? 2 : 1));
    out.Add(label + "arms shown last step, slots x slate", {rows_key, key("env.slate_size")}, B * k * 8.0 * 2);
  } else if (type == "reinforce") {
    const double T = Number(agent, "rollout_steps", 8);
    out.Add(label + "rollout features, rollout_steps x slots x candidates x (3 x dimension + 4)",
            {key("agent.rollout_steps"), rows_key, key("env.candidates"), dim_key}, (T + 2) * B * K * F * 4.0);
    out.Add(label + "networks and optimizer state", {key("agent.hidden"), dim_key}, 2 * 4 * MlpFloats(agent, F) * 4.0);
  } else if (type == "a2c" || type == "ppo") {
    const double T = Number(agent, "rollout_steps", 16);
    out.Add(label + "rollout features, rollout_steps x slots x candidates x (3 x dimension + 4)",
            {key("agent.rollout_steps"), rows_key, key("env.candidates"), dim_key},
            T * B * (K * F + 2 * (F + 1) + k + 4) * 4.0 + B * K * F * 4.0);
    out.Add(label + "networks and optimizer state", {key("agent.hidden"), dim_key},
            2 * 4 * MlpFloats(agent, F + 1) * 4.0);
  } else if (type == "dqn" || type == "slateq") {
    const double capacity = Number(agent, "buffer_size", 20000);
    const bool null_item =
        agent.contains("null_item") && agent["null_item"].is_boolean() && agent["null_item"].get<bool>();
    // The records of agents/torch/dqn.cc and slateq.cc (replay.h).
    const double record = type == "dqn" ? k * F + k + 1 + K * F : F + 2 + (K + (null_item ? 1 : 0)) * F + K;
    out.Add(label + "replay buffer, buffer_size x (candidates x (3 x dimension + 4)) floats",
            {key("agent.buffer_size"), key("env.candidates"), dim_key}, capacity * record * 4.0);
    // Online net, target net, gradients and two optimizer moments.
    out.Add(label + "networks and optimizer state", {key("agent.hidden"), dim_key}, 5 * MlpFloats(agent, F) * 4.0);
    out.Add(label + "features of every slot's candidates", {rows_key, key("env.candidates"), dim_key},
            3 * B * K * F * 4.0);
  }
}

MemoryEstimate EstimateRunMemory(const Scenario& s) {
  MemoryEstimate m;
  const json& r = s.resolved;
  const RunParams& run = s.run;
  const std::string rows_key = KeyWithValue(r, "run.num_envs");
  const double record = sizeof(EpisodeRecord);
  if (run.train_steps <= 0) {
    // RunScenario: RollOut builds one VecEnv of min(num_envs, episodes)
    // slots per pass; the main, random and oracle rollouts' records are
    // held together.
    const int64_t rows = std::min<int64_t>(run.num_envs, run.episodes);
    AddVecEnvMemory(s.env, r, rows, rows_key, m);
    AddCatalogMemory(s.env, r, CatalogItems(s.env, 0), 1, m);
    AddAgentMemory(s.agent, s.env, r, rows, rows_key, 0, m);
    m.Add("episode records of the run" + std::string(run.reference ? " and its two reference rollouts" : ""),
          {KeyWithValue(r, "run.episodes"), KeyWithValue(r, "run.reference")},
          double(run.episodes) * record * (run.reference ? 3 : 1));
  } else {
    // TrainScenario: the training VecEnv and one evaluation VecEnv at a time
    // (which holds the world it starts from and its own); the evaluation's
    // and both references' records; the metrics lines (one per evaluation
    // and training log); checkpoint.bin built in memory (a copy of the
    // simulator's and agent's state).
    const int64_t rows = run.num_envs;
    MemoryEstimate state;
    AddVecEnvMemory(s.env, r, rows, rows_key, state, "training simulator");
    AddCatalogMemory(s.env, r, CatalogItems(s.env, double(run.train_steps)), 1, state);
    AddAgentMemory(s.agent, s.env, r, rows, rows_key, run.train_steps, state);
    m.Add(state);
    m.Add(state, 1.0, "checkpoint.bin being written: ");
    AddVecEnvMemory(s.env, r, rows, rows_key, m, "evaluation simulator");
    AddCatalogMemory(s.env, r, CatalogItems(s.env, double(run.train_steps)), 2, m);
    m.Add("episode records of an evaluation and its two references", {KeyWithValue(r, "run.episodes")},
          double(run.episodes) * record * 3);
    const double every = run.eval_every > 0 ? double(run.eval_every) : std::max(1.0, double(run.train_steps) / 10);
    m.Add("metrics lines (one per evaluation)", {KeyWithValue(r, "run.train_steps"), KeyWithValue(r, "run.eval_every")},
          2 * (double(run.train_steps) / every + 1) * 1024.0);
  }
  AddFamilyMemory(r, m);
  return m;
}

void CheckRunMemory(const Scenario& s) { CheckMemory(EstimateRunMemory(s), s.file); }

}  // namespace cohort
