// Non-learning policies: random, popularity, greedy by a named score, and the
// myopic oracle. All are torch-free.
#pragma once

#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "agents/agent.h"
#include "core/rng.h"

namespace cohort {

// Per-row random streams keyed by the row's current user, so a policy's
// randomness follows the user (not the slot): results do not depend on how
// many slots there are or which thread runs them.
class UserStreams {
 public:
  UserStreams(uint64_t seed, uint64_t variant, int rows, StreamPurpose purpose = StreamPurpose::kPolicy)
      : seed_(seed), variant_(variant), purpose_(purpose), user_(size_t(rows), -1), rng_(size_t(rows)) {}
  Rng& For(int row, int64_t user) {
    if (user_[size_t(row)] != user) {
      user_[size_t(row)] = user;
      rng_[size_t(row)] = MakeRng(seed_, variant_, uint64_t(user), purpose_);
    }
    return rng_[size_t(row)];
  }
  void Save(BinaryWriter& out) const {
    out.Vector(user_);
    out.Vector(rng_);
  }
  void Load(BinaryReader& in) {
    const size_t rows = user_.size();
    in.Vector(user_, "policy_streams.user", rows);
    in.Vector(rng_, "policy_streams.rng", rows);
    in.CheckRange(user_, -1, std::numeric_limits<int64_t>::max(), "policy_streams.user");
  }
  // Evaluation acts on other users in the same rows, which would re-key the
  // rows' streams: the training users' streams are set aside for it and put
  // back after, so a run with interleaved evaluations trains exactly like one
  // without (SetTraining(false) / SetTraining(true)).
  void SetTraining(bool training) {
    if (!training && !evaluating_) {
      saved_user_ = user_;
      saved_rng_ = rng_;
      evaluating_ = true;
    } else if (training && evaluating_) {
      user_ = saved_user_;
      rng_ = saved_rng_;
      evaluating_ = false;
    }
  }

 private:
  uint64_t seed_, variant_;
  StreamPurpose purpose_;
  std::vector<int64_t> user_;
  std::vector<Rng> rng_;
  bool evaluating_ = false;
  std::vector<int64_t> saved_user_;
  std::vector<Rng> saved_rng_;
};

// Uniformly random slate of distinct candidates.
class RandomAgent : public Agent {
 public:
  RandomAgent(const json& config, const AgentContext& ctx);
  const std::string& type() const override;
  void Act(const StepBatch& obs, SlateBatch& slates) override;
  void SetTraining(bool training) override { streams_.SetTraining(training); }
  void Save(BinaryWriter& out) const override { streams_.Save(out); }
  void Load(BinaryReader& in) override { streams_.Load(in); }
  bool HasSlateLaw() const override { return true; }
  void RecordSlateLaws(bool on) override { laws_.SetOn(on); }
  const SlateLaw& LastSlateLaw(int row) const override { return laws_.Get(row, type()); }

 private:
  UserStreams streams_;
  std::vector<int32_t> perm_;
  SlateLawRecord laws_;
};

// Ranks candidates by a score (ties broken uniformly at random) and fills
// the slate top-down. Subclasses define the score.
class RankingAgent : public Agent {
 public:
  RankingAgent(const AgentContext& ctx);
  void Act(const StepBatch& obs, SlateBatch& slates) override;
  std::string CandidateScores(const StepBatch& obs, int row, double* scores) const override;
  void SetTraining(bool training) override { streams_.SetTraining(training); }
  void Save(BinaryWriter& out) const override { streams_.Save(out); }
  void Load(BinaryReader& in) override { streams_.Load(in); }
  bool HasSlateLaw() const override { return true; }
  void RecordSlateLaws(bool on) override { laws_.SetOn(on); }
  const SlateLaw& LastSlateLaw(int row) const override { return laws_.Get(row, type()); }

 protected:
  // Read-only, so that CandidateScores can show exactly what Act ranks by.
  virtual void Score(const StepBatch& obs, int row, double* scores) const = 0;
  virtual std::string ScoreName() const = 0;
  const AgentContext ctx_;

 private:
  UserStreams streams_;
  std::vector<double> scores_, jitter_;
  std::vector<int32_t> order_;
  SlateLawRecord laws_;
};

// Observed click counts (per item on a live catalog, per topic otherwise),
// with a prior pseudo-count so unseen items are not ranked last forever.
// Score: the smoothed click-through rate.
class PopularityAgent : public RankingAgent {
 public:
  PopularityAgent(const json& config, const AgentContext& ctx);
  const std::string& type() const override;
  void Observe(const StepBatch& result) override;
  void Save(BinaryWriter& out) const override;
  void Load(BinaryReader& in) override;
  // Evaluation acts (growing the tables to the ids it is offered, with zero
  // counts) but never observes: its slates and table growth are undone after,
  // so training continues bit-identically.
  void SetTraining(bool training) override;

 protected:
  void Score(const StepBatch& obs, int row, double* scores) const override;
  std::string ScoreName() const override { return "smoothed CTR"; }

 private:
  bool per_item_;
  double prior_;
  std::vector<double> clicks_, shows_;  // by item id or topic
  std::vector<int64_t> last_ids_;       // ids (or topics) shown last step, rows x k
  SlateBatch last_slates_;
  bool evaluating_ = false;
  size_t saved_size_ = 0;  // table size when evaluation began
  std::vector<int64_t> saved_last_ids_;
  void Grow(int64_t id);

 public:
  // Grows the tables to the offered ids (Score only reads them) and
  // remembers the slates so Observe can attribute clicks.
  void Act(const StepBatch& obs, SlateBatch& slates) override;
};

// greedy: score = "affinity" (observed interests . item features),
// "quality" (hidden quality, privileged) or "expected_reward" (true expected
// immediate reward of the item alone, privileged).
class GreedyAgent : public RankingAgent {
 public:
  GreedyAgent(const json& config, const AgentContext& ctx);
  const std::string& type() const override;

 protected:
  void Score(const StepBatch& obs, int row, double* scores) const override;
  std::string ScoreName() const override;

 private:
  std::string score_;
  mutable std::vector<float> features_;  // scratch of Score, no state
};

// The myopic oracle: the slate with the highest true expected immediate
// reward (exact enumeration, greedy beyond VecEnv::kMaxEnumeratedSlates).
// Its per-candidate score is the expected reward of each candidate shown
// alone (GroundTruth::CandidateExpectedRewards of the current observation):
// the slate's items are the top-k by it when k = 1, not in general (the
// items of a slate compete for the click).
class OracleAgent : public Agent {
 public:
  OracleAgent(const json& config, const AgentContext& ctx);
  const std::string& type() const override;
  void Act(const StepBatch& obs, SlateBatch& slates) override;
  std::string CandidateScores(const StepBatch& obs, int row, double* scores) const override;
  bool HasSlateLaw() const override { return true; }
  void RecordSlateLaws(bool on) override { laws_.SetOn(on); }
  const SlateLaw& LastSlateLaw(int row) const override { return laws_.Get(row, type()); }

 private:
  GroundTruth truth_;
  SlateLawRecord laws_;
};

}  // namespace cohort
