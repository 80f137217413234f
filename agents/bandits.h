// Bandit agents (torch-free), registered by RegisterBanditAgents:
//
//   epsilon_greedy  per-arm mean estimate; explore by a random ranking with
//                   probability epsilon (constant or decaying schedule)
//   ucb1            per-arm mean + c * sqrt(2 ln N / n_i), unseen arms first
//   linucb          one shared ridge regression over CandidateFeatures;
//                   score theta.x + alpha * sqrt(x^T A^-1 x)
//   linear_ts       same ridge statistics; score x.theta with theta sampled
//                   from N(mu, v^2 A^-1)
//
// Arms: an item id on a live catalog, the topic on a resampled one (items
// never repeat there), like PopularityAgent. Every agent ranks the K
// candidates of a row by its score (ties broken at random by the row's user
// stream) and fills the slate top-down.
//
// Reward attribution: the item shown at slate position j of row r gets the
// target of that position: "click" (default) = result.clicked[r*k+j] (0/1);
// "reward" = the row's step reward if position j was clicked, else 0 (the
// simulator's rewards all come from the clicked item).
//
// CandidateScores (agent.h) shows what each ranks by, without exploration
// draws: epsilon_greedy the mean estimate, ucb1 the UCB1 index (evaluation:
// the mean), linucb theta.x + alpha * width at the current exploration scale
// (evaluation: theta.x), linear_ts the posterior mean x.theta (not a sample).
//
// Statistics are updated online in Observe (one observation per shown item;
// the linear bandits add a step's shown items as one batch, RidgeStats::
// AddBatch); Update() only reports how many observations the last Observe
// absorbed.
// Evaluation mode acts greedily on the current estimate (no epsilon, alpha =
// 0, posterior mean) with separate tie-breaking streams and updates nothing.
//
// Exploration component ("exploration" key of every bandit; docs/meta.md):
//   "fixed"          (default) the agent's own epsilon / c / alpha / v and, for
//                    the linear bandits, the prior N(0, lambda^-1 I)
//   "meta_schedule"  a learnable rule (agents/learnable.h, rule files of kind
//                    "cohort_bandit_exploration"), kExplorationThetaSize numbers:
//     theta[0..4)  exploration scale s(p, T) = exp(clip(theta . [1, p, p^2, log(T)/10], +-5))
//                  with p = t/T (t: training Act calls so far, T: planned steps,
//                  AgentContext::total_steps; p = 0 and log T = 0 when T is
//                  unknown); it multiplies epsilon (capped at 1), c, alpha, v
//     theta[4]     prior precision: lambda' = lambda * exp(clip(theta[4], +-5))
//     theta[5..12) prior mean weight of each CandidateFeatures block
//                  [u, x, u*x, history match, length, budget, bias]: every
//                  coordinate of a block gets its block's weight
//   The linear bandits' ridge model is then the posterior of that prior:
//   A = lambda' I + sum x x^T, b = lambda' m + sum y x, mean A^-1 b. The arm
//   bandits (epsilon_greedy, ucb1) use the schedule only. theta = 0 is exactly
//   "fixed" (s = 1, lambda' = lambda, m = 0), bit for bit.
//
// The pieces below the agents are exposed for tests.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "agents/learnable.h"
#include "core/serialize.h"

namespace cohort {

class AgentRegistrar;
void RegisterBanditAgents(AgentRegistrar& r);

namespace bandits {

inline constexpr int kScheduleTerms = 4;
inline constexpr int kPriorBlocks = 7;
inline constexpr int kExplorationThetaSize = kScheduleTerms + 1 + kPriorBlocks;

// Its entry among the learnable rules (slot "exploration").
const LearnableRule& ExplorationRule();

// A resolved "exploration" component.
class Exploration {
 public:
  Exploration() = default;  // "fixed"
  // `where` names the config in errors (e.g. "exploration").
  Exploration(const json& config, const std::string& where);
  // Multiplier of the agent's exploration parameter after t of T training steps.
  double Scale(int64_t t, int64_t total) const;
  // lambda' / lambda.
  double PrecisionScale() const;
  // Prior mean over CandidateFeatures of embedding dimension d: its block's weight
  // for every feature (CandidateFeatures::BlockOf).
  std::vector<double> PriorMean(int d) const;
  const std::vector<float>& theta() const { return theta_; }

 private:
  std::vector<float> theta_;  // empty: "fixed"
};

// UCB1 index of an arm pulled `count` times with total target `sum`, after
// `total` pulls of all arms: mean + c * sqrt(2 ln total / count); +infinity
// for an unseen arm (count 0), so unseen arms are tried first.
double Ucb1Score(double sum, double count, double total, double c);

// Lower Cholesky factor L (row-major d x d, L L^T = m) of a symmetric
// positive-definite m. Returns false (L unspecified) when m is not
// numerically positive definite.
bool CholeskyLower(const std::vector<double>& m, int d, std::vector<double>& l);

// Ridge regression statistics A = lambda I + sum x x^T, b = sum y x, with
// A^-1 maintained by Sherman-Morrison rank-1 updates (O(d^2) per
// observation). A itself is kept too so that A^-1 can be recomputed exactly
// every `reinvert_every` observations, bounding the round-off drift of long
// runs of rank-1 updates (0: never).
class RidgeStats {
 public:
  RidgeStats() = default;
  RidgeStats(int d, double lambda, int64_t reinvert_every);
  // With a prior mean m (size d): b starts at lambda * m, so the mean is the
  // posterior mean (lambda I + sum x x^T)^-1 (lambda m + sum y x).
  RidgeStats(int d, double lambda, int64_t reinvert_every, const std::vector<double>& prior_mean);
  // One observation (x, y): A += x x^T, b += y x, A^-1 by Sherman-Morrison.
  void Add(const double* x, double y);
  // n observations at once (x: n rows of d, y: n targets), in order. A and b
  // are accumulated exactly as n calls of Add would (same additions in the
  // same order, zero terms skipped: bit-identical). A^-1 then comes either
  // from n Sherman-Morrison updates (n below BatchReinvertThreshold(d), and
  // the every-`reinvert_every` re-inversions of Add) or from one fresh
  // inverse of the new A (Reinvert). Both equal the exact (A + X^T X)^-1 of
  // the Woodbury identity; the fresh inverse costs ~d^3/2 instead of 2 n d^2
  // and carries no accumulated Sherman-Morrison round-off, so the two paths
  // differ only in the last bits (tests/test_bandits.cc checks 1e-9).
  void AddBatch(const double* x, const double* y, int64_t n);
  // The batch size from which AddBatch re-inverts instead of n rank-1 updates.
  static int64_t BatchReinvertThreshold(int d) { return std::max<int64_t>(2, d / 4); }
  // A^-1 recomputed from A (Cholesky), O(d^3). Returns false, leaving A^-1
  // as it was, when A is not numerically positive definite.
  bool Reinvert();
  // theta = A^-1 b.
  void Mean(std::vector<double>& theta) const;
  // x^T A^-1 x.
  double Quadratic(const double* x) const;

  int dim() const { return d_; }
  int64_t count() const { return n_; }
  const std::vector<double>& a() const { return a_; }
  const std::vector<double>& a_inv() const { return a_inv_; }
  const std::vector<double>& b() const { return b_; }

  void Save(BinaryWriter& out) const;
  void Load(BinaryReader& in);

 private:
  int d_ = 0;
  double lambda_ = 1.0;
  int64_t reinvert_every_ = 0;
  int64_t n_ = 0;
  std::vector<double> a_, a_inv_, b_;
  // A^-1 -= (A^-1 x)(A^-1 x)^T / (1 + x^T A^-1 x): the rank-1 update of adding x x^T to A.
  void ShermanMorrison(const double* x);
  // A += x x^T (only its lower triangle if lower_only), b += y x, over the
  // nonzero coordinates of x.
  void Accumulate(const double* x, double y, bool lower_only);
  // A's upper triangle := its lower one.
  void MirrorLower();

  std::vector<double> u_;  // scratch: A^-1 x
};

// The K candidates of one row share most of their feature vector (the user's
// interests, budget and bias are the same for all; CandidateFeatures). With
// the columns equal across the K rows of x collected into s (zero elsewhere)
// and t_c = x_c - s (nonzero only on the columns that vary), every quadratic
// form and dot product of the row splits exactly:
//
//   x_c^T M x_c = s^T M s + 2 (M s) . t_c + t_c^T M t_c,   theta . x_c = theta . s + theta . t_c
//
// The s terms are computed once per row, and each candidate pays only for
// the nonzeros of t_c (a one-hot item: a handful), instead of d^2 per
// candidate. Zero coordinates are skipped everywhere. The values equal the
// dense ones up to the summation order (last bits).
class RowSplit {
 public:
  // Splits the K x d row-major candidate matrix x (kept by pointer until the
  // next Split).
  void Split(const double* x, int K, int d);
  // out[c] = theta . x_c.
  void Dots(const double* theta, double* out) const;
  // [x_c^T M x_c for c < K] for the symmetric d x d row-major m (valid until
  // the next call).
  const std::vector<double>& Quadratics(const double* m) const;

 private:
  const double* x_ = nullptr;
  int K_ = 0, d_ = 0;
  std::vector<double> varies_;      // by column: how many candidates differ from the first
  std::vector<int32_t> shared_;     // nonzero shared columns
  std::vector<double> s_;           // their values
  std::vector<int32_t> varying_;    // columns that differ between candidates
  std::vector<int32_t> t_start_;    // K + 1 offsets into t_col_ / t_val_
  std::vector<int32_t> t_col_;      // nonzero varying columns of each candidate
  std::vector<double> t_val_;       // their values
  mutable std::vector<double> ms_;  // scratch: M s (d)
  mutable std::vector<double> q_;   // Quadratics' result
};

}  // namespace bandits
}  // namespace cohort
