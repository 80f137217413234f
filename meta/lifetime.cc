#include "meta/lifetime.h"

#include <cmath>
#include <limits>
#include <memory>

#include "agents/registry.h"
#include "agents/runner.h"

namespace cohort {
namespace {

std::unique_ptr<VecEnv> EvalEnv(const Scenario& s, uint64_t seed, const LifetimeSpec& spec, const VecEnv& world) {
  return MakeEvalEnv(s.env, seed, s.variant, std::min(spec.eval_users, spec.num_envs), 1, spec.eval_users, world);
}

Rollout Reference(const Scenario& s, uint64_t seed, const LifetimeSpec& spec, const VecEnv& world, const char* type) {
  std::unique_ptr<VecEnv> env = EvalEnv(s, seed, spec, world);
  AgentContext ctx{env->spec(), GroundTruth(*env), seed, s.variant, env->num_envs()};
  auto agent = MakeAgent(json{{"type", type}}, ctx);
  return RollOutWith(*env, *agent, false, false, {}, 0, 0, nullptr);
}

// Reward per user-step of a rollout.
double PerStep(const Rollout& r) {
  double ret = 0.0;
  int64_t steps = 0;
  for (const EpisodeRecord& e : r.episodes) ret += e.ret, steps += e.length;
  return steps > 0 ? ret / double(steps) : 0.0;
}

}  // namespace

LifetimeResult RunLifetime(const Scenario& s, const json& agent_config, uint64_t seed, const LifetimeSpec& spec) {
  if (spec.steps < 1 || spec.evals < 1 || spec.num_envs < 1 || spec.eval_users < 1)
    throw std::invalid_argument("lifetime: steps, evals, num_envs and eval_users must be >= 1");
  if (spec.fitness != "eval_area" && spec.fitness != "train_score")
    throw std::invalid_argument("lifetime: unknown fitness \"" + spec.fitness + "\"");
  VecEnv env(s.env, seed, s.variant, VecEnv::Options{spec.num_envs, 1, -1});
  AgentContext ctx{env.spec(), GroundTruth(env), seed, s.variant, spec.num_envs, spec.steps};
  auto agent = MakeAgent(agent_config, ctx, s.file);
  SlateBatch slates;
  slates.Resize(spec.num_envs, s.env.slate_size);
  const StepBatch* batch = &env.Reset();
  Rollout random, oracle;
  auto references = [&] {
    random = Reference(s, seed, spec, env, "random");
    oracle = Reference(s, seed, spec, env, "oracle");
  };
  if (env.stationary()) references();

  LifetimeResult out;
  int next_eval = 1;
  double train_reward = 0.0;
  int64_t acted = 0;  // user-steps acted on (the train_score's denominator)
  std::vector<uint8_t> active;
  try {
    for (int64_t t = 1; t <= spec.steps; ++t) {
      agent->Act(*batch, slates);
      active = batch->active;  // Step overwrites the batch
      batch = &env.Step(slates);
      for (int r = 0; r < spec.num_envs; ++r) {
        if (!active[size_t(r)]) continue;
        train_reward += batch->reward[size_t(r)];
        ++acted;
      }
      agent->Observe(*batch);
      agent->Update();
      for (int r = 0; r < spec.num_envs; ++r) out.user_steps += batch->active[size_t(r)] ? 1 : 0;
      if (t * spec.evals < int64_t(next_eval) * spec.steps) continue;
      ++next_eval;
      if (!env.stationary()) references();
      std::unique_ptr<VecEnv> eval = EvalEnv(s, seed, spec, env);
      agent->SetTraining(false);
      const Rollout r = RollOutWith(*eval, *agent, false, false, {}, 0, 0, nullptr);
      agent->SetTraining(true);
      double diff = 0.0, span = 0.0;
      const size_t n = std::min(r.episodes.size(), random.episodes.size());
      for (size_t i = 0; i < n; ++i) {
        diff += r.episodes[i].ret - random.episodes[i].ret;
        span += oracle.episodes[i].ret - random.episodes[i].ret;
      }
      out.curve.push_back(std::abs(span) > 1e-12 ? diff / span : 0.0);
    }
  } catch (const TrainingDiverged&) {
    out.diverged = true;
    out.area = out.final_score = std::numeric_limits<double>::quiet_NaN();
    return out;
  }
  double sum = 0.0;
  for (double c : out.curve) sum += c;
  out.area = sum / double(out.curve.size());
  out.final_score = out.curve.back();
  const double rand_rate = PerStep(random), span = PerStep(oracle) - rand_rate;
  out.train_score = acted > 0 && std::abs(span) > 1e-12 ? (train_reward / double(acted) - rand_rate) / span : 0.0;
  if (spec.fitness == "train_score") out.area = out.train_score;
  return out;
}

}  // namespace cohort
