// Checks shared by the actor-critic agents' tests (test_a2c.cc, test_ppo.cc;
// DOCTEST_ macros only, see tests/torch/main.cc).
#pragma once

#include <doctest/doctest.h>

#include <memory>

#include "agent_harness.h"

namespace cohort::testing {

// Agent::CandidateScores of an actor-critic `config` (rollout_steps 4) on
// `params` with 8 slots: after 6 rollouts the scores are the actor's logits
// and eval_greedy's slates are their top-k; inspecting every row around each
// Act leaves training bit-identical (18 steps: ending mid-rollout).
inline void CheckActorCriticScores(const TestRegistrar& registrar, const EnvParams& params, json config) {
  const int B = 8;
  config["eval_greedy"] = true;
  VecEnv env(params, 13, 0, VecEnv::Options{B, 1, -1}), eval_env(params, 14, 0, VecEnv::Options{B, 1, -1});
  auto agent = registrar.Make(config, AgentContext{&params, nullptr, 13, 0, B, 0});
  Trace trace;
  int distinct = 0;
  DOCTEST_CHECK(TrainedActsByTopScores(*agent, env, eval_env, 24, 10, "logit", 1e-5, &trace, &distinct) == "");
  DOCTEST_CHECK(trace.updates == 6);
  DOCTEST_CHECK(distinct > 10 * B / 2);

  auto make_env = [&] { return std::make_unique<VecEnv>(params, 15, 0, VecEnv::Options{B, 1, -1}); };
  auto make = [&](VecEnv&) { return registrar.Make(config, AgentContext{&params, nullptr, 15, 0, B, 0}); };
  Trace inspected;
  DOCTEST_CHECK(InspectionChangesTraining(make_env, make, 18, &inspected) == "");
  DOCTEST_CHECK(inspected.updates == 4);
}

}  // namespace cohort::testing
