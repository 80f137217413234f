// GroundTruth: the privileged handle on a VecEnv's hidden state.
//
// Agents see observations (StepBatch) and the EnvSpec. Whatever a user could
// not show a recommender -- true interests, hidden item quality, exact click
// probabilities and expected rewards, the myopic oracle's slate -- is reached
// through this handle, which the agent registry passes only to agent types
// it computes as privileged (agents/registry.h). The visualizer and tests,
// which are allowed ground truth, build one themselves from the VecEnv.
//
// It is a view: it holds a pointer to the VecEnv, which must outlive it, and
// every call answers for the VecEnv's current observation.
#pragma once

#include <cstdint>

#include "env/vec_env.h"

namespace cohort {

class GroundTruth {
 public:
  explicit GroundTruth(const VecEnv& env) : env_(&env) {}

  // Fills probs[0..k) with each slate position's click probability for row r;
  // returns P(no click).
  double ChoiceProbabilities(int r, const int32_t* slate, double* probs) const {
    return env_->ChoiceProbabilities(r, slate, probs);
  }
  double ExpectedReward(int r, const int32_t* slate) const { return env_->ExpectedReward(r, slate); }
  // Per-candidate expected reward if shown alone at position 0, out[0..K).
  void CandidateExpectedRewards(int r, double* out) const { env_->CandidateExpectedRewards(r, out); }
  // The slate of maximum expected immediate reward; returns that reward.
  double OracleSlate(int r, int32_t* slate) const { return env_->OracleSlate(r, slate); }
  // Row r's true interests, feature_dim values.
  const float* TrueInterests(int r) const { return env_->TrueInterests(r); }
  // Hidden quality of candidate c of row r's current observation.
  float CandidateQuality(int r, int c) const { return env_->CandidateQualities(r)[c]; }
  // All K candidates' hidden qualities of row r.
  const float* CandidateQualities(int r) const { return env_->CandidateQualities(r); }

 private:
  const VecEnv* env_;
};

}  // namespace cohort
