// Throughput of the simulator with an agent: VecEnv stepping with the
// agent's slates, timed in three parts: the simulator (VecEnv::Step), acting
// (Agent::Act) and learning (Observe + Update, training mode only).
#pragma once

#include "env/scenario.h"

namespace cohort {

struct BenchResult {
  std::string agent, mode;  // mode: "train" (Act, Step, Observe, Update) or "act" (evaluation mode)
  int num_envs = 0, threads = 1;
  int64_t steps = 0;  // user-steps measured
  double seconds = 0.0, env_seconds = 0.0, act_seconds = 0.0, learn_seconds = 0.0;
  double user_steps_per_second = 0.0;      // everything
  double env_user_steps_per_second = 0.0;  // simulator alone
  json ToJson() const;
};

// The scenario's agent (scenario.agent) for `seconds` after a warm-up. With
// `train` a learning agent observes and updates as in `cohort run`
// training; otherwise it acts in evaluation mode (SetTraining(false)).
BenchResult BenchScenario(const Scenario& scenario, int num_envs, int threads, double seconds, bool train);

}  // namespace cohort
