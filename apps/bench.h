// Simulator throughput: VecEnv stepping with the random policy, timed with
// the policy and without it.
#pragma once

#include "env/scenario.h"

namespace cohort {

struct BenchResult {
  int num_envs = 0, threads = 1;
  int64_t steps = 0;  // user-steps measured
  double seconds = 0.0, env_seconds = 0.0;
  double user_steps_per_second = 0.0;      // simulator + random policy
  double env_user_steps_per_second = 0.0;  // simulator alone
  json ToJson() const;
};

BenchResult BenchScenario(const Scenario& scenario, int num_envs, int threads, double seconds);

}  // namespace cohort
