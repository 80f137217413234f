// Off-policy estimators for slate recommendation, as a library over arrays.
//
// A log holds n steps. At step i the logging policy mu saw the context x_i,
// chose an ordered slate s_i = (s_i1, ..., s_ik) of k items, and the user's
// response gave the reward r_i. The quantity estimated is the contextual-bandit
// value of a target policy pi on the logged contexts:
//
//   V(pi) = (1/n) sum_i E_{s ~ pi(x_i)} E[r | x_i, s],
//
// the expected reward per logged step had pi chosen the slate. Each estimator
// returns per-step terms (OpeTerms) whose mean is the estimate, or, for a
// self-normalized estimator, a ratio of two means; EstimateOf() adds a seeded
// percentile-bootstrap interval over steps. docs/ope.md states every formula
// with its assumption and reference.
//
// Columns are flat vectors, per step (size n) or per step and position (size
// n * k, entry i * k + j for position j of step i, positions 0-based here):
//   reward[i]                 r_i;
//   position_reward[i*k+j]    the part of r_i credited to position j (they sum
//                             to r_i when the reward adds up over positions);
//   mu_conditional[i*k+j]     mu(s_ij | x_i, s_i1..s_i,j-1): the slate
//                             propensity is the product over j;
//   mu_marginal[i*k+j]        mu(item s_ij at position j | x_i);
//   pi_conditional, pi_marginal   the same for the target policy, evaluated
//                             on the logged slate;
//   pi_item_position[(i*k+j)*k+l]  pi(item s_ij at position l | x_i) for every
//                             position l (only the exact pseudo-inverse for
//                             uniform logging reads it; its diagonal l == j
//                             must equal pi_marginal);
//   pseudo_inverse_weight[i]  rho(s_i) from PseudoInverseCellWeights, for
//                             the pseudo-inverse under any logging policy;
//   model_position[i*k+j]     a reward model's r_hat(x_i, s_ij, j);
//   model_target_value[i]     E_{s ~ pi(x_i)} sum_j r_hat(x_i, s_j, j), which
//                             the caller computes from pi's position marginals
//                             (sum_j sum_c pi(c at j | x_i) r_hat(x_i, c, j)).
// An estimator reads only the columns it needs; those must have the right
// size and finite values, and propensities must lie in [0, 1] with the
// logging ones > 0 where they divide. Anything else throws
// std::invalid_argument naming the column and the step.
//
// No LibTorch, nothing from env/: the caller (`cohort ope`) replays the log to
// fill the target's columns and the truth.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace cohort {

struct OpeData {
  int64_t n = 0;  // logged steps
  int k = 0;      // slate size (positions per step)
  std::vector<double> reward, position_reward;
  std::vector<double> mu_conditional, mu_marginal;
  std::vector<double> pi_conditional, pi_marginal, pi_item_position, pseudo_inverse_weight;
  std::vector<double> model_position, model_target_value;
};

// Per-step terms of an estimator. The estimate is mean(numerator), or, when
// `denominator` is not empty (self-normalized estimators),
// sum(numerator) / sum(denominator).
struct OpeTerms {
  std::vector<double> numerator, denominator;
};

// An estimate with its bootstrap interval [lo, hi] at OpeOptions::level, over
// n steps. (Not core/stats.h's Estimate, which carries a half-width.)
struct OpeEstimate {
  double value = 0.0, lo = 0.0, hi = 0.0;
  int64_t n = 0;
};

// Which closed form of the pseudo-inverse weight (see PseudoInverse).
enum class PseudoInverseForm {
  kIndependentSlots,           // sum_j w_j - (k - 1): mu draws each position independently
  kUniformWithoutReplacement,  // exact for mu uniform over ordered slates of k distinct items out of K
  kGivenWeights,               // rho_i from the pseudo_inverse_weight column (PseudoInverseCellWeights)
};

struct OpeOptions {
  double clip_threshold = 100.0;    // M of clipped IPS: weights above M count as M (> 0)
  double switch_threshold = 100.0;  // tau of switch: steps with w > tau use the model (> 0)
  PseudoInverseForm pseudo_inverse_form = PseudoInverseForm::kIndependentSlots;
  int64_t num_candidates = 0;  // K, read only by kUniformWithoutReplacement (K >= k)
  int bootstrap_samples = 1000;
  uint64_t seed = 0;    // bootstrap stream
  double level = 0.95;  // interval coverage
};

// The estimators. Each validates the columns it reads (see above).
OpeTerms DirectMethod(const OpeData& d);
OpeTerms Ips(const OpeData& d);
OpeTerms Snips(const OpeData& d);
OpeTerms ClippedIps(const OpeData& d, double clip_threshold);
OpeTerms SwitchIps(const OpeData& d, double switch_threshold);
OpeTerms DoublyRobust(const OpeData& d);
OpeTerms Iips(const OpeData& d);
OpeTerms PseudoInverse(const OpeData& d, PseudoInverseForm form, int64_t num_candidates);
OpeTerms Rips(const OpeData& d);

// The pseudo-inverse weight for any logging policy, one context at a time.
// gamma is mu's second moment of the cell indicators, a (K k) x (K k)
// row-major matrix with entry [c * k + j][c' * k + l] = P_mu(s_j = c, s_l = c')
// (so its diagonal holds the position marginals); q holds the target's
// position marginals, q[c * k + j] = pi(c at j). Returns z = Gamma^+ q (a
// symmetric eigendecomposition by cyclic Jacobi rotations; eigenvalues below
// 1e-10 times the largest count as 0); the weight of a slate s is then
// rho(s) = sum_j z[s_j * k + j]. Throws when Gamma z != q (to 1e-8): q then
// lies outside the span of the slates mu can choose, and no weight makes the
// estimator unbiased. O((K k)^3) per sweep: meant for small K k, or for
// logging policies whose Gamma is shared by many steps.
std::vector<double> PseudoInverseCellWeights(const std::vector<double>& gamma, const std::vector<double>& q, int K,
                                             int k);
// The same, with Gamma's eigendecomposition kept to apply to many q (a
// logging policy whose Gamma repeats over steps): Weights(q) is
// PseudoInverseCellWeights(gamma, q, K, k), bit for bit.
class SecondMomentPseudoInverse {
 public:
  SecondMomentPseudoInverse(std::vector<double> gamma, int K, int k);
  std::vector<double> Weights(const std::vector<double>& q) const;

 private:
  int K_, k_;
  std::vector<double> gamma_, vectors_, values_;
};
// gamma for a logging policy given by enumeration: `slates` holds m slates
// of k item indices in [0, K) back to back, `probabilities` their m
// probabilities under mu.
std::vector<double> SlateSecondMoment(const std::vector<int>& slates, const std::vector<double>& probabilities, int K,
                                      int k);

// The slate importance weight w_i = prod_j pi_conditional_ij / mu_conditional_ij
// (a product of ratios, so long slates do not underflow), validated as Ips does.
std::vector<double> SlateWeights(const OpeData& d, std::string_view estimator);

// The estimator names of the JSON, in a fixed order: dm, ips, snips,
// clipped_ips, switch, dr, iips, pseudo_inverse, rips.
const std::vector<std::string>& OpeEstimatorNames();
// The terms of the estimator called `name` with its options from `options`;
// std::invalid_argument for an unknown name (listing the known ones).
OpeTerms EstimatorTerms(std::string_view name, const OpeData& d, const OpeOptions& options);

// The estimate of `terms` and its percentile-bootstrap interval: steps are
// resampled with replacement options.bootstrap_samples times from a stream
// seeded by options.seed, and the statistic (the mean, or the ratio of sums)
// is recomputed on each resample. Deterministic for a seed. A resample whose
// denominator sums to 0 counts as 0 (the weights of a self-normalized
// estimator are >= 0, so its numerator is then 0 too). Throws
// std::invalid_argument for no steps or terms of unequal length, and
// OpeUndefined when the full-sample denominator is 0 (no logged slate has
// target probability > 0): a property of the log, not a mistake.
struct OpeUndefined : std::runtime_error {
  using std::runtime_error::runtime_error;
};
OpeEstimate EstimateOf(const OpeTerms& terms, const OpeOptions& options);

// x with A x = b for a symmetric positive definite D x D matrix A, of which
// only the lower triangle (row-major, a[p * D + q] for q <= p) is read:
// Cholesky, then two triangular solves. Shared by the ridge reward model and
// the offline click model's Newton steps (apps/offline.cc).
std::vector<double> CholeskySolve(std::vector<double> a, const std::vector<double>& b);

// Ridge regression y ~ x beta for a reward model: beta minimizes
//   sum_r (y_r - x_r . beta)^2 + lambda |beta|^2
// and solves (X^T X + lambda I) beta = X^T y (Cholesky). No separate
// intercept: the rows the caller builds for (step, position) end with a
// one-hot of the position, whose coefficients act as per-position intercepts
// (and are penalized like the rest). lambda > 0 keeps the system positive
// definite when features are collinear (one-hot topics plus one-hot
// positions always are); with n rows of O(1) features, lambda = 1 shrinks
// little once n is in the hundreds.
class RidgeRewardModel {
 public:
  static constexpr double kDefaultLambda = 1.0;
  // x: rows * dim values, row-major; y: one target per row.
  void Fit(const std::vector<double>& x, const std::vector<double>& y, int dim, double lambda = kDefaultLambda);
  // The same in a stream (rows that do not fit in memory): Begin, Add per
  // row (finite values: the caller checks), then Solve.
  void Begin(int dim);
  void Add(const double* row, double y);
  void Solve(double lambda = kDefaultLambda);
  double Predict(const double* row) const;
  std::vector<double> PredictAll(const std::vector<double>& x) const;
  const std::vector<double>& coefficients() const { return beta_; }
  int dim() const { return int(beta_.size()); }

 private:
  std::vector<double> beta_;
  std::vector<double> normal_, moment_;  // X^T X (lower triangle) and X^T y
  int64_t rows_ = 0;
};

// Error of an estimator over several logs (seeds) against each log's truth:
// with e_l = estimate_l - truth_l over L logs, bias = mean(e), stddev the
// sample standard deviation of e (L - 1; 0 for one log), rmse = sqrt(mean(e^2))
// (so rmse^2 = bias^2 + (L - 1) / L stddev^2).
struct OpeError {
  double bias = 0.0, stddev = 0.0, rmse = 0.0;
  int64_t logs = 0;
};
OpeError ErrorOverLogs(const std::vector<double>& estimates, const std::vector<double>& truths);
// The same for several estimators: estimates[name][l] is estimator `name` on
// log l, truths[l] that log's truth.
std::map<std::string, OpeError> ErrorOverLogs(const std::map<std::string, std::vector<double>>& estimates,
                                              const std::vector<double>& truths);

}  // namespace cohort
