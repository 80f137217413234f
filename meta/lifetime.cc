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
  AgentContext ctx{&s.env, env.get(), seed, s.variant, env->num_envs()};
  auto agent = MakeAgent(json{{"type", type}}, ctx);
  return RollOutWith(*env, *agent, false, false, {}, 0, 0, nullptr);
}

}  // namespace

LifetimeResult RunLifetime(const Scenario& s, const json& agent_config, uint64_t seed, const LifetimeSpec& spec) {
  if (spec.steps < 1 || spec.evals < 1 || spec.num_envs < 1 || spec.eval_users < 1)
    throw std::invalid_argument("lifetime: steps, evals, num_envs and eval_users must be >= 1");
  VecEnv env(s.env, seed, s.variant, VecEnv::Options{spec.num_envs, 1, -1});
  AgentContext ctx{&s.env, &env, seed, s.variant, spec.num_envs, spec.steps};
  auto agent = MakeAgent(agent_config, ctx);
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
  try {
    for (int64_t t = 1; t <= spec.steps; ++t) {
      agent->Act(*batch, slates);
      batch = &env.Step(slates);
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
  return out;
}

}  // namespace cohort
