// What learning agents see of a (user, candidate) pair: a fixed-length
// feature vector built only from the observation (never hidden state).
//
//   [ u (d) | x (d) | u * x (d) | history match | length / mean length | budget | 1 ]
//
// u: observed interests (zeros when hidden), x: item features (one-hot topic
// or embedding), u * x elementwise (a linear model on it can express the
// affinity u . x the choice model uses), history match: the fraction of the
// recent clicked topics equal to the item's topic, budget: the observed
// remaining budget / its population mean (0 when not observed), 1: bias.
#pragma once

#include <vector>

#include "env/spec.h"
#include "env/vec_env.h"

namespace cohort {

class CandidateFeatures {
 public:
  explicit CandidateFeatures(const EnvSpec& spec);
  // The layout's blocks: u, x, u * x, history match, length, budget, bias.
  static constexpr int kBlocks = 7;
  static constexpr int Dim(int d) { return 3 * d + 4; }
  // The block (0..kBlocks) of feature i for embedding dimension d.
  static constexpr int BlockOf(int i, int d) { return i < 3 * d ? i / d : 3 + (i - 3 * d); }
  int dim() const { return Dim(d_); }
  // Row r, candidate c -> out[0..dim()).
  void Fill(const StepBatch& obs, int r, int c, float* out) const;
  // "No item" for row r (SlateQ's null item): the state part of Fill (u,
  // budget, bias) with every item part zero (x, u * x, match, length).
  void FillNull(const StepBatch& obs, int r, float* out) const;
  // All candidates of row r -> out[K * dim()].
  void FillRow(const StepBatch& obs, int r, float* out) const;
  // Every row (inactive rows zero) -> out resized to rows * K * dim().
  void FillAll(const StepBatch& obs, std::vector<float>& out) const;

 private:
  int d_;
  double mean_length_, mean_budget_;
};

// What the sequence encoders (agents/torch/encoder.h) see of one past
// interaction (env.observation.sequence, entry e of row r): a fixed-length
// vector built from the observation alone.
//
//   [ mean x over the shown slate (d) | x of the clicked items (d) | clicked |
//     click position / k | watch time / mean length | liked | disliked |
//     reward / mean length | log(1 + gap) | first step of its session ]
//
// x: item features (one-hot topic, or the embedding on embedding catalogs).
// Padding entries (e >= sequence_length) are all zeros.
class SequenceFeatures {
 public:
  explicit SequenceFeatures(const EnvSpec& spec);
  static constexpr int Dim(int d) { return 2 * d + 8; }
  int dim() const { return Dim(d_); }
  int length() const { return L_; }
  // Row r's L entries -> out[L * dim()], most recent first.
  void FillRow(const StepBatch& obs, int r, float* out) const;
  // Every row (inactive rows zero): out[rows * L * dim()], lengths[rows].
  void FillAll(const StepBatch& obs, float* out, int64_t* lengths) const;

 private:
  int d_, L_, k_;
  bool embedding_;
  double mean_length_;
};

}  // namespace cohort
