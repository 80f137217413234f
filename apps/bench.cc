#include "apps/bench.h"

#include <chrono>

#include "agents/registry.h"
#include "env/vec_env.h"

namespace cohort {

json BenchResult::ToJson() const {
  const auto fraction = [&](double part) { return seconds > 0 ? part / seconds : 0.0; };
  return {{"agent", agent},
          {"mode", mode},
          {"num_envs", num_envs},
          {"threads", threads},
          {"user_steps", steps},
          {"seconds", seconds},
          {"user_steps_per_second", user_steps_per_second},
          {"user_steps_per_second_per_core", user_steps_per_second / threads},
          {"simulator_user_steps_per_second", env_user_steps_per_second},
          {"simulator_fraction_of_time", fraction(env_seconds)},
          {"act_fraction_of_time", fraction(act_seconds)},
          {"learn_fraction_of_time", fraction(learn_seconds)}};
}

BenchResult BenchScenario(const Scenario& scenario, int num_envs, int threads, double seconds, bool train) {
  using Clock = std::chrono::steady_clock;
  VecEnv::Options options;
  options.num_envs = num_envs;
  options.threads = threads;
  VecEnv env(scenario.env, scenario.seed, scenario.variant, options);
  AgentContext ctx{env.spec(), GroundTruth(env), scenario.seed, scenario.variant, num_envs};
  auto agent = MakeAgent(scenario.agent, ctx, scenario.file);
  const bool learn = train && agent->learns();
  agent->SetTraining(learn);
  SlateBatch slates;
  slates.Resize(num_envs, scenario.env.slate_size);
  const StepBatch* batch = &env.Reset();
  auto step = [&](Clock::duration* act, Clock::duration* sim, Clock::duration* learning) {
    const auto t0 = Clock::now();
    agent->Act(*batch, slates);
    const auto t1 = Clock::now();
    batch = &env.Step(slates);
    const auto t2 = Clock::now();
    if (learn) {
      agent->Observe(*batch);
      agent->Update();
    }
    *act += t1 - t0;
    *sim += t2 - t1;
    *learning += Clock::now() - t2;
  };
  // Warm-up: caches, page faults, and past the learners' first updates
  // (replay learning_starts, the first rollouts).
  Clock::duration ignored{};
  for (int i = 0; i < 40; ++i) step(&ignored, &ignored, &ignored);
  BenchResult r;
  r.agent = agent->type();
  r.mode = learn ? "train" : "act";
  r.num_envs = num_envs;
  r.threads = threads;
  const auto start = Clock::now();
  Clock::duration in_env{}, in_act{}, in_learn{};
  int64_t iterations = 0;
  while (Clock::now() - start < std::chrono::duration<double>(seconds)) {
    for (int i = 0; i < 16; ++i) step(&in_act, &in_env, &in_learn);
    iterations += 16;
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.env_seconds = std::chrono::duration<double>(in_env).count();
  r.act_seconds = std::chrono::duration<double>(in_act).count();
  r.learn_seconds = std::chrono::duration<double>(in_learn).count();
  r.steps = iterations * num_envs;
  r.user_steps_per_second = double(r.steps) / r.seconds;
  r.env_user_steps_per_second = double(r.steps) / r.env_seconds;
  return r;
}

}  // namespace cohort
