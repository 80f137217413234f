// Exposure metrics of a policy's slates: how its attention is spread over the
// catalog, against what the catalog offers (docs/metrics.md, "Exposure").
//
// Exposure. A slate gives each of its items the position weight
// w_j = 1 / log2(j + 2) for position j = 0, 1, ... (the DCG discount: 1 at the
// top, 0.63 second, 0.5 third). The units are the items of a live catalog
// (every item that existed during the rollout, by item id) or, on resampled
// catalogs, whose candidates are drawn afresh every step, the topics. Every
// active user-step of the rollout counts.
//
// Relevance. In each logged state every candidate c has the exact expected
// reward of showing it alone at the top, max(0, R_c) (env/ground_truth.h
// CandidateExpectedRewards): what the user would gain from it. It is the
// merit of exposure-fairness metrics (Singh and Joachims 2018) and the
// interest distribution of calibration (Steck 2018), for every catalog kind.
//
// The metrics (ExposureMetrics):
// - exposure_gini: the Gini coefficient of the units' exposure, zero-exposed
//   units included: 0 when every unit has the same, (n - 1) / n when one unit
//   has it all.
// - long_tail_share: the share of exposure going to units outside the most
//   exposed 20% (ceil(n / 5) units, ties broken by index).
// - exposure_merit_gap: the total variation distance between the topics'
//   shares of exposure and their shares of relevance (summed over the
//   rollout's candidates): 0 when every topic is exposed in proportion to the
//   relevance it offers, 1 at most. by_topic holds both shares per topic.
// - calibration_kl: per user (one episode), KL(p || (1 - a) q + a p) with p
//   the topics' shares of the relevance offered to that user, q their shares
//   of the exposure the user got, a = 0.01 (Steck's smoothing, which keeps it
//   finite); averaged over users with some relevance offered.
#pragma once

#include <cstdint>
#include <vector>

#include "env/vec_env.h"

namespace cohort {

struct TopicExposure {
  double exposure_share = 0.0;
  double merit_share = 0.0;
};

struct ExposureMetrics {
  double exposure_gini = 0.0;
  double long_tail_share = 0.0;
  double exposure_merit_gap = 0.0;
  double calibration_kl = 0.0;
  int64_t units = 0;                    // items (live catalog) or topics counted
  std::vector<TopicExposure> by_topic;  // by topic index
};

// The position weight of slate position j (from 0).
double ExposureWeight(int j);

// The Gini coefficient of non-negative values (0 for none or all zero).
double Gini(std::vector<double> values);
// The share of the total outside the ceil(n / 5) largest values (0 for a total of 0).
double LongTailShare(std::vector<double> values);
// KL(p || (1 - a) q + a p) of two distributions given as non-negative weights
// (each normalized here); 0 when p sums to 0.
double CalibrationKl(const std::vector<double>& p, const std::vector<double>& q, double a = 0.01);

// Accumulates the exposure of one rollout step by step: Record() before the
// slates are applied (the candidates and the truth are the acting state's),
// EndEpisodes() after the step (closes the users whose episode ended).
class ExposureMeter {
 public:
  explicit ExposureMeter(const VecEnv& env);
  void Record(const StepBatch& b, const SlateBatch& slates);
  void EndEpisodes(const StepBatch& after_step);
  ExposureMetrics Finish() const;

 private:
  const VecEnv& env_;
  int topics_, k_, K_;
  bool per_item_;
  std::vector<double> weight_;          // k position weights
  std::vector<double> unit_exposure_;   // by item id (live catalogs only)
  std::vector<double> topic_exposure_, topic_merit_;
  // Per slot: the current user's topic exposure and relevance.
  std::vector<double> slot_exposure_, slot_merit_;
  std::vector<uint8_t> slot_open_;
  std::vector<double> relevance_;  // K, scratch
  // Live catalogs: the items alive when the rollout started (ids) and the
  // first id that arrived after it; set by the first Record().
  bool started_ = false;
  std::vector<int64_t> alive_at_start_;
  int64_t first_arrival_ = 0;
  double kl_sum_ = 0.0;
  int64_t kl_users_ = 0;
  void CloseSlot(int r);
};

}  // namespace cohort
