// VecEnv's per-item accessors of the step, inline: the step's stages
// (env/dynamics.cc), the ground truth (env/oracle.cc) and vec_env.cc call them
// for every slate item, so they must inline into each of those files rather
// than cost a call across translation units. Private to env/.
#pragma once

#include "env/vec_env.h"

namespace cohort {

// Candidate c of row r as the choice model sees it.
inline ItemView VecEnv::Candidate(int r, int c) const {
  const size_t i = size_t(r) * num_candidates_ + size_t(c);
  return {batch_.topic[i], quality_[i], batch_.length[i],
          batch_.candidate_features ? &batch_.features[i * dim_] : nullptr};
}

// The user's utility of `item` (the score every choice model reads):
// affinity, plus quality, minus topic boredom; *affinity gets the affinity.
inline double VecEnv::Score(int r, const ItemView& item, double* affinity) const {
  const ScoreParams& s = model_.params().score;
  const double a = model_.Affinity(&interests_[size_t(r) * dim_], item);
  *affinity = a;
  double score = s.affinity_weight * a + s.quality_weight * item.quality;
  if (!boredom_.empty())
    score -=
        s.boredom_weight * boredom_sensitivity_[size_t(r)] * boredom_[size_t(r) * num_topics_ + size_t(item.topic)];
  return score;
}

// The position bot `bot` clicks when it clicks (env/dynamics.cc).
int BotTarget(const BotParams& bot, const ItemView* items, int k);

}  // namespace cohort
