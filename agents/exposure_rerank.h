// The exposure re-ranker: any policy with per-candidate scores, served with a
// penalty on what has already been shown a lot.
//
//   {"type": "exposure_rerank", "policy": {"type": "linucb"}, "weight": 1.0}
//
// An exposure-aware objective as a post-processing step, the way fairness
// re-rankers are deployed: the wrapped policy scores the candidates, and the
// served slate is the top k of
//
//   adjusted(c) = z(c) - weight * exposure(u(c)) / mean exposure
//
// where z(c) is the policy's CandidateScores standardized over the row's K
// candidates (mean 0, standard deviation 1; all 0 when they are equal), so
// that `weight` has the same meaning for every policy; u(c) is the
// candidate's unit (its item on a live catalog, its topic otherwise, the
// units of the exposure metrics, agents/exposure.h); exposure(u) is the
// position-weighted exposure (1/log2(j + 2) at position j, the metrics'
// weight) the re-ranker has served to u, multiplied by `decay` every step;
// and the mean is over every unit offered so far. weight = 0 serves the
// policy's own slate where that is the top k of its scores (ties are broken
// by the policy's own slate, then by index); larger weights trade reward for
// spread. The knob and its trade-off curve: docs/exposure/README.md.
//
// When it re-ranks ("serve"). A policy that learns online records the slate
// it chose and learns from it (popularity's counts, a bandit's statistics, a
// policy gradient's log-probabilities), so it must not be served a slate it
// did not choose and then told about the response:
//   "evaluation" (default): while the policy trains, its slates pass through
//     unchanged and it learns as it would alone; the frozen policy's slates
//     are re-ranked in evaluation (every "eval" line of a training run);
//   "always": the policy is frozen from the start (it never observes, like
//     the logging wrapper's) and every slate is re-ranked, for a plain
//     `cohort run` of a policy that needs no training (greedy, a trained
//     click model) or a production ranker served with the constraint.
// The exposure served starts from zero at each evaluation (the window the
// exposure metrics measure), and evaluation leaves the training state as it
// was. It is privileged when the wrapped policy is.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "agents/agent.h"

namespace cohort {

class AgentTable;
// Registers "exposure_rerank" in `table`, whose own types it wraps.
void RegisterExposureRerank(AgentTable& table);

class ExposureRerank : public Agent {
 public:
  ExposureRerank(const json& config, const AgentContext& ctx, std::unique_ptr<Agent> inner);
  const std::string& type() const override;
  void Act(const StepBatch& obs, SlateBatch& slates) override;
  void Observe(const StepBatch& result) override {
    if (!always_ && !evaluating_) inner_->Observe(result);
  }
  bool learns() const override { return !always_ && inner_->learns(); }
  std::map<std::string, double> Update() override {
    return always_ || evaluating_ ? std::map<std::string, double>{} : inner_->Update();
  }
  void SetTraining(bool training) override;
  // The adjusted score while re-ranking; the policy's own otherwise.
  std::string CandidateScores(const StepBatch& obs, int row, double* scores) const override;
  double LastPolicyEntropy() const override { return Reranking() ? std::nan("") : inner_->LastPolicyEntropy(); }
  double MaxPolicyEntropy() const override { return Reranking() ? std::nan("") : inner_->MaxPolicyEntropy(); }
  void Save(BinaryWriter& out) const override;
  void Load(BinaryReader& in) override;

 private:
  // Served exposure per unit, and which units were offered.
  struct Exposure {
    std::vector<double> served;
    std::vector<uint8_t> offered;
    int64_t num_offered = 0;
    double total = 0.0;
  };
  bool Reranking() const { return always_ || evaluating_; }
  int64_t Unit(const StepBatch& obs, int row, int c) const;
  // Adjusted scores of row `row` into adjusted[0..K); false without scores.
  bool Adjusted(const StepBatch& obs, int row, double* adjusted) const;
  void Add(const StepBatch& obs, const SlateBatch& slates);

  std::unique_ptr<Agent> inner_;
  const double weight_, decay_;
  const bool always_, per_item_;
  Exposure train_, eval_;
  bool evaluating_ = false;
  std::string inner_saved_;  // "always": the frozen policy's Save() bytes while evaluating
  std::vector<double> adjusted_;
  std::vector<int32_t> order_, priority_;
};

}  // namespace cohort
