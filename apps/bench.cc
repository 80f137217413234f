#include "apps/bench.h"

#include <chrono>

#include "agents/registry.h"
#include "env/vec_env.h"

namespace cohort {

json BenchResult::ToJson() const {
  return {{"num_envs", num_envs},
          {"threads", threads},
          {"user_steps", steps},
          {"seconds", seconds},
          {"user_steps_per_second", user_steps_per_second},
          {"user_steps_per_second_per_core", user_steps_per_second / threads},
          {"simulator_user_steps_per_second", env_user_steps_per_second},
          {"simulator_fraction_of_time", seconds > 0 ? env_seconds / seconds : 0.0}};
}

BenchResult BenchScenario(const Scenario& scenario, int num_envs, int threads, double seconds) {
  using Clock = std::chrono::steady_clock;
  VecEnv::Options options;
  options.num_envs = num_envs;
  options.threads = threads;
  VecEnv env(scenario.env, scenario.seed, scenario.variant, options);
  AgentContext ctx{&scenario.env, &env, scenario.seed, scenario.variant, num_envs};
  auto agent = MakeAgent(json{{"type", "random"}}, ctx);
  SlateBatch slates;
  slates.Resize(num_envs, scenario.env.slate_size);
  const StepBatch* batch = &env.Reset();
  for (int i = 0; i < 20; ++i) {  // warm-up: caches, page faults
    agent->Act(*batch, slates);
    batch = &env.Step(slates);
  }
  BenchResult r;
  r.num_envs = num_envs;
  r.threads = threads;
  const auto start = Clock::now();
  Clock::duration in_env{};
  int64_t iterations = 0;
  while (Clock::now() - start < std::chrono::duration<double>(seconds)) {
    for (int i = 0; i < 16; ++i) {
      agent->Act(*batch, slates);
      const auto t0 = Clock::now();
      batch = &env.Step(slates);
      in_env += Clock::now() - t0;
    }
    iterations += 16;
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.env_seconds = std::chrono::duration<double>(in_env).count();
  r.steps = iterations * num_envs;
  r.user_steps_per_second = double(r.steps) / r.seconds;
  r.env_user_steps_per_second = double(r.steps) / r.env_seconds;
  return r;
}

}  // namespace cohort
