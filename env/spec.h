// EnvSpec: what an agent may know about its environment before it acts.
//
// An agent is built from this spec and then sees only observations
// (StepBatch). The spec holds the shapes of observations and actions, what an
// observation shows, and the few public constants of the scenario that agents
// use as scales or as the known form of the user's choice. It never holds
// hidden state: per-user traits, true interests, item quality, the dynamics,
// rewards' hidden terms. Ground truth is a separate, privileged handle
// (env/ground_truth.h) that only agents registered as privileged receive.
//
// The spec is filled from EnvParams in one place, MakeEnvSpec(); VecEnv::spec()
// returns the one of the parameters the VecEnv was built with.
#pragma once

#include <cstdint>

#include "env/params.h"

namespace cohort {

struct EnvSpec {
  // Shapes.
  int num_candidates = 10;  // K: candidates offered per row and step
  int slate_size = 2;       // k: distinct candidates the agent returns per row
  int feature_dim = 20;     // d: length of observed interests and item features
  int num_topics = 20;      // item topics; candidates' `topic` lies in [0, num_topics)
  int history = 0;          // recent clicked topics per row in the observation (0: none)
  int sequence = 0;         // L: past interactions per row in the observation (0: none; StepBatch sequence_*)

  // What an observation shows.
  Observability interests = Observability::kVisible;  // hidden: interests are zeros
  bool budget_observed = false;                       // false: the observed budget is NaN
  bool candidate_features = false;                    // embedding catalogs; false: one-hot by topic
  // Live catalogs offer persistent items (item_id >= 0), so an arm is an item;
  // resampled candidates are fresh every step, so an arm is a topic.
  bool arms_are_items = false;

  // Public constants of the scenario (agents' scales and known forms).
  double mean_item_length = 4.0;    // catalog mean of an item's length (time units)
  double mean_time_budget = 200.0;  // population mean of a session's time budget
  int64_t max_episode_steps = 0;    // step cap of an episode (0: none)
  ChoiceParams choice;              // the choice model's form and parameters, as written in the scenario
  double affinity_weight = 1.0;     // weight of the affinity (interests . features) in the user's score

  bool interests_observed() const { return interests != Observability::kHidden; }
};

// The spec of an environment built from `p`.
inline EnvSpec MakeEnvSpec(const EnvParams& p) {
  EnvSpec s;
  s.num_candidates = p.num_candidates;
  s.slate_size = p.slate_size;
  s.feature_dim = p.FeatureDim();
  s.num_topics = p.num_topics;
  s.history = p.observation.history;
  s.sequence = p.observation.sequence.length;
  s.interests = p.observation.interests;
  s.budget_observed = p.observation.budget;
  s.candidate_features = p.catalog.features == FeatureKind::kEmbedding;
  s.arms_are_items = p.catalog.source == CandidateSource::kLive;
  s.mean_item_length = p.catalog.length_mean;
  s.mean_time_budget = p.time_budget.mean;
  s.max_episode_steps = p.max_episode_steps;
  s.choice = p.choice;
  s.affinity_weight = p.score.affinity_weight;
  return s;
}

}  // namespace cohort
