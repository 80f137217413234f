// Lifetime runner: one agent, one update rule, one environment variant,
// trained for T batched steps; the learning curve is the frozen policy's
// normalized score on held-out evaluation users at E evenly spaced points
// (T/E, 2T/E, ..., T), against random and myopic-oracle references on the
// same users (as agents/trainer.h, in memory and without files).
//
//   normalized = mean over users (R_agent - R_random) / (mean R_oracle - mean R_random)
//   area       = mean of the curve (the ES fitness; docs/meta.md)
//
// The training users' reward is scored the same way (per user-step rates on
// the same references, which the stationary worlds of bandit families make
// comparable):
//
//   train_score = (training reward per user-step - random's per step) / (oracle's - random's)
//
// It is the fitness with fitness = "train_score": bandits evaluate greedily,
// so the frozen policy's curve does not charge for what exploring cost the
// training users (their regret), which is what a bandit's exploration trades.
//
// A TrainingDiverged (NaN/Inf) ends the lifetime: diverged = true and area =
// final = NaN, which ES counts as the worst value.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "env/scenario.h"

namespace cohort {

struct LifetimeSpec {
  int64_t steps = 100;                // T: batched training steps (one Update call each)
  int num_envs = 32;                  // B: training user slots
  int eval_users = 64;                // held-out users per evaluation
  int evals = 4;                      // E: evaluation points
  std::string fitness = "eval_area";  // "eval_area" (the curve's mean) or "train_score"
};

struct LifetimeResult {
  std::vector<double> curve;  // normalized score at each evaluation point
  double area = 0.0;          // the fitness: the curve's mean, or train_score (LifetimeSpec::fitness)
  double train_score = 0.0;   // normalized training reward (above)
  double final_score = 0.0;
  bool diverged = false;
  int64_t user_steps = 0;  // training user-steps done
};

// `scenario` is a concrete (instantiated) variant; its env, variant id and
// the given seed fix every random stream; `agent` is a resolved agent config.
LifetimeResult RunLifetime(const Scenario& scenario, const json& agent, uint64_t seed, const LifetimeSpec& spec);

}  // namespace cohort
