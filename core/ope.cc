#include "core/ope.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "core/rng.h"
#include "core/stats.h"

namespace cohort {
namespace {

[[noreturn]] void Fail(const std::string& message) { throw std::invalid_argument(message); }

std::string Num(double x) {
  std::ostringstream s;
  s.precision(17);
  s << x;
  return s.str();
}

// "step 3" or "step 3, position 1" for entry `index` of a column with
// `per_step` entries per step.
std::string Where(int64_t index, int64_t per_step, const OpeData& d) {
  if (per_step == 1) return "step " + std::to_string(index);
  if (per_step == d.k) return "step " + std::to_string(index / d.k) + ", position " + std::to_string(index % d.k);
  // pi_item_position: (i * k + j) * k + l.
  const int64_t cell = index / d.k;
  return "step " + std::to_string(cell / d.k) + ", position " + std::to_string(cell % d.k) + ", at position " +
         std::to_string(index % d.k);
}

void CheckShape(const OpeData& d) {
  if (d.n < 1) Fail("OPE data: n = " + std::to_string(d.n) + " steps; an estimate needs at least one");
  if (d.k < 1) Fail("OPE data: slate size k = " + std::to_string(d.k) + "; it must be at least 1");
}

// Size `per_step * n` and finite values.
void CheckColumn(const OpeData& d, const std::vector<double>& v, const char* column, int64_t per_step) {
  const int64_t expected = per_step * d.n;
  if (int64_t(v.size()) != expected) {
    const std::string formula = per_step == 1 ? "n" : per_step == d.k ? "n * k" : "n * k * k";
    Fail(std::string(column) + " has " + std::to_string(v.size()) + " values, expected " + formula + " = " +
         std::to_string(expected) + " (n = " + std::to_string(d.n) + " steps, k = " + std::to_string(d.k) + ")");
  }
  for (size_t idx = 0; idx < v.size(); ++idx) {
    if (!std::isfinite(v[idx]))
      Fail(std::string(column) + ": " + (std::isnan(v[idx]) ? "NaN" : Num(v[idx])) + " at " +
           Where(int64_t(idx), per_step, d));
  }
}

// A logging propensity column the estimator divides by: in (0, 1].
// `chooses` completes "the logging policy cannot ...".
void CheckLogging(const OpeData& d, const std::vector<double>& v, const char* column, std::string_view estimator,
                  const char* chooses, int64_t per_step) {
  CheckColumn(d, v, column, per_step);
  for (size_t idx = 0; idx < v.size(); ++idx) {
    if (v[idx] <= 0.0)
      Fail(std::string(column) + ": logging propensity " + Num(v[idx]) + " at " + Where(int64_t(idx), per_step, d) +
           ": " + std::string(estimator) + " is undefined for " + chooses);
    if (v[idx] > 1.0)
      Fail(std::string(column) + ": logging propensity " + Num(v[idx]) + " at " + Where(int64_t(idx), per_step, d) +
           " is above 1");
  }
}

// A target probability column: in [0, 1].
void CheckTarget(const OpeData& d, const std::vector<double>& v, const char* column, int64_t per_step) {
  CheckColumn(d, v, column, per_step);
  for (size_t idx = 0; idx < v.size(); ++idx) {
    if (v[idx] < 0.0 || v[idx] > 1.0)
      Fail(std::string(column) + ": target probability " + Num(v[idx]) + " at " + Where(int64_t(idx), per_step, d) +
           " is outside [0, 1]");
  }
}

constexpr const char* kSlate = "a slate the logging policy cannot choose";
constexpr const char* kItemAt = "an item the logging policy cannot place at that position";

// The columns every slate-weight estimator reads.
void CheckWeightColumns(const OpeData& d, std::string_view estimator) {
  CheckShape(d);
  CheckColumn(d, d.reward, "reward", 1);
  CheckLogging(d, d.mu_conditional, "mu_conditional", estimator, kSlate, d.k);
  CheckTarget(d, d.pi_conditional, "pi_conditional", d.k);
}

std::vector<double> Weights(const OpeData& d) {
  std::vector<double> w(size_t(d.n));
  for (int64_t i = 0; i < d.n; ++i) {
    double p = 1.0;
    for (int j = 0; j < d.k; ++j) p *= d.pi_conditional[size_t(i * d.k + j)] / d.mu_conditional[size_t(i * d.k + j)];
    w[size_t(i)] = p;
  }
  return w;
}

void CheckThreshold(double t, const char* name) {
  if (!(t > 0.0) || !std::isfinite(t)) Fail(std::string(name) + " must be a finite number > 0, got " + Num(t));
}

}  // namespace

std::vector<double> SlateWeights(const OpeData& d, std::string_view estimator) {
  CheckWeightColumns(d, estimator);
  return Weights(d);
}

// DM: V = (1/n) sum_i model_target_value_i. Unbiased when the model is right
// (r_hat(x, c, j) = E[reward credited to position j | x, c at j] and rewards
// add up over positions); otherwise biased by the model's error under pi.
OpeTerms DirectMethod(const OpeData& d) {
  CheckShape(d);
  CheckColumn(d, d.model_target_value, "model_target_value", 1);
  return {d.model_target_value, {}};
}

// IPS (Horvitz-Thompson over whole slates): V = (1/n) sum_i w_i r_i with
// w_i = pi(s_i | x_i) / mu(s_i | x_i). Unbiased whenever mu > 0 wherever
// pi > 0, for any reward; its variance grows with the weights, which grow
// exponentially in k.
OpeTerms Ips(const OpeData& d) {
  const std::vector<double> w = SlateWeights(d, "IPS");
  OpeTerms t;
  t.numerator.resize(w.size());
  for (size_t i = 0; i < w.size(); ++i) t.numerator[i] = w[i] * d.reward[i];
  return t;
}

// SNIPS: V = sum_i w_i r_i / sum_i w_i. Biased for finite n (consistent),
// lower variance than IPS, and invariant to adding a constant to the reward.
OpeTerms Snips(const OpeData& d) {
  OpeTerms t;
  t.denominator = SlateWeights(d, "SNIPS");
  t.numerator.resize(t.denominator.size());
  for (size_t i = 0; i < t.numerator.size(); ++i) t.numerator[i] = t.denominator[i] * d.reward[i];
  return t;
}

// Clipped IPS: V = (1/n) sum_i min(w_i, M) r_i. Biased (downwards for r >= 0)
// wherever w > M; the variance is bounded by M^2 times the reward's.
OpeTerms ClippedIps(const OpeData& d, double clip_threshold) {
  CheckThreshold(clip_threshold, "clip_threshold");
  const std::vector<double> w = SlateWeights(d, "clipped IPS");
  OpeTerms t;
  t.numerator.resize(w.size());
  for (size_t i = 0; i < w.size(); ++i) t.numerator[i] = std::min(w[i], clip_threshold) * d.reward[i];
  return t;
}

// Switch: V = (1/n) sum_i [w_i <= tau ? w_i r_i : model_target_value_i].
// After Wang, Agarwal and Dudik (2017), in the per-step form these columns
// allow: the paper's switch replaces, within every step, the target's mass on
// the slates whose weight exceeds tau by the model, which needs pi's
// probabilities of unlogged slates. This form is IPS for tau >= max w and DM
// for tau < min w, and in between biased even with a right model.
OpeTerms SwitchIps(const OpeData& d, double switch_threshold) {
  CheckThreshold(switch_threshold, "switch_threshold");
  const std::vector<double> w = SlateWeights(d, "switch");
  CheckColumn(d, d.model_target_value, "model_target_value", 1);
  OpeTerms t;
  t.numerator.resize(w.size());
  for (size_t i = 0; i < w.size(); ++i)
    t.numerator[i] = w[i] <= switch_threshold ? w[i] * d.reward[i] : d.model_target_value[i];
  return t;
}

// DR: V = (1/n) sum_i [model_target_value_i + w_i (r_i - sum_j model_position_ij)].
// Unbiased when the weights are right, whatever the model (the correction has
// the model's error under pi as its mean); its variance is small when the
// model is good.
OpeTerms DoublyRobust(const OpeData& d) {
  const std::vector<double> w = SlateWeights(d, "DR");
  CheckColumn(d, d.model_target_value, "model_target_value", 1);
  CheckColumn(d, d.model_position, "model_position", d.k);
  OpeTerms t;
  t.numerator.resize(w.size());
  for (int64_t i = 0; i < d.n; ++i) {
    double logged = 0.0;
    for (int j = 0; j < d.k; ++j) logged += d.model_position[size_t(i * d.k + j)];
    t.numerator[size_t(i)] = d.model_target_value[size_t(i)] + w[size_t(i)] * (d.reward[size_t(i)] - logged);
  }
  return t;
}

// IIPS (independent-position IPS; Li et al. 2018):
//   V = (1/n) sum_i sum_j [pi(s_ij at j | x_i) / mu(s_ij at j | x_i)] position_reward_ij.
// Unbiased when the expected reward credited to position j depends only on
// the item there (and x, j), not on the rest of the slate: false under a
// cascade, where a click above stops the user.
OpeTerms Iips(const OpeData& d) {
  CheckShape(d);
  CheckColumn(d, d.position_reward, "position_reward", d.k);
  CheckLogging(d, d.mu_marginal, "mu_marginal", "IIPS", kItemAt, d.k);
  CheckTarget(d, d.pi_marginal, "pi_marginal", d.k);
  OpeTerms t;
  t.numerator.assign(size_t(d.n), 0.0);
  for (int64_t i = 0; i < d.n; ++i) {
    double v = 0.0;
    for (int j = 0; j < d.k; ++j) {
      const size_t e = size_t(i * d.k + j);
      v += d.pi_marginal[e] / d.mu_marginal[e] * d.position_reward[e];
    }
    t.numerator[size_t(i)] = v;
  }
  return t;
}

// Pseudo-inverse (Swaminathan et al. 2017). When the expected reward adds up
// over positions, E[r | x, s] = sum_j phi_x(s_j, j), write 1_s for the
// indicator vector of the (item, position) cells of s, q = E_pi[1_s] (the
// target's position marginals) and Gamma = E_mu[1_s 1_s^T]. The weight
//   rho(s) = 1_s^T Gamma^+ q
// makes V = (1/n) sum_i rho(s_i) r_i unbiased, since E_mu[rho(s) 1_s] = q.
// Two closed forms of rho (derivations in docs/ope.md):
//  - kIndependentSlots: rho = sum_j w_j - (k - 1), w_j = pi_marginal_ij /
//    mu_marginal_ij. Exact when mu draws each position independently
//    (mu(s) = prod_j mu_j(s_j)). For rankings (no item twice) it is an
//    approximation whose error vanishes as K grows: exact forms follow.
//  - kUniformWithoutReplacement: mu uniform over the K! / (K - k)! ordered
//    slates of distinct items. With a_j = pi(s_j at j) and b_j = sum_{l != j}
//    pi(s_j at l) (the target placing the logged item elsewhere):
//      K > k:  rho = [(K-1)(K-k+1) sum_j a_j + (K-1) sum_j b_j - (k-1) K] / (K - k)
//      K == k: rho = (K-1) sum_j a_j - (K - 2)
//    It checks that mu_marginal is 1/K.
// For other logging policies (epsilon mixtures, Plackett-Luce) the exact
// rho needs mu's pairwise joint marginals (Gamma): kGivenWeights reads rho_i
// from the pseudo_inverse_weight column, which the caller fills with
// PseudoInverseCellWeights. With kIndependentSlots the estimator is then an
// approximation (docs/ope.md).
OpeTerms PseudoInverse(const OpeData& d, PseudoInverseForm form, int64_t num_candidates) {
  CheckShape(d);
  CheckColumn(d, d.reward, "reward", 1);
  OpeTerms t;
  t.numerator.assign(size_t(d.n), 0.0);
  if (form == PseudoInverseForm::kGivenWeights) {
    CheckColumn(d, d.pseudo_inverse_weight, "pseudo_inverse_weight", 1);
    for (int64_t i = 0; i < d.n; ++i) t.numerator[size_t(i)] = d.pseudo_inverse_weight[size_t(i)] * d.reward[size_t(i)];
    return t;
  }
  CheckTarget(d, d.pi_marginal, "pi_marginal", d.k);
  if (form == PseudoInverseForm::kIndependentSlots) {
    CheckLogging(d, d.mu_marginal, "mu_marginal", "the pseudo-inverse estimator", kItemAt, d.k);
    for (int64_t i = 0; i < d.n; ++i) {
      double rho = 0.0;
      for (int j = 0; j < d.k; ++j) rho += d.pi_marginal[size_t(i * d.k + j)] / d.mu_marginal[size_t(i * d.k + j)];
      rho -= double(d.k - 1);
      t.numerator[size_t(i)] = rho * d.reward[size_t(i)];
    }
    return t;
  }
  const int64_t K = num_candidates;
  if (K < d.k)
    Fail("pseudo-inverse (uniform logging): num_candidates K = " + std::to_string(K) +
         " must be at least the slate size k = " + std::to_string(d.k));
  CheckLogging(d, d.mu_marginal, "mu_marginal", "the pseudo-inverse estimator", kItemAt, d.k);
  for (size_t e = 0; e < d.mu_marginal.size(); ++e) {
    if (std::abs(d.mu_marginal[e] * double(K) - 1.0) > 1e-9)
      Fail("mu_marginal: " + Num(d.mu_marginal[e]) + " at " + Where(int64_t(e), d.k, d) +
           ", but the uniform pseudo-inverse form needs uniform logging, 1/K = " + Num(1.0 / double(K)));
  }
  CheckTarget(d, d.pi_item_position, "pi_item_position", int64_t(d.k) * d.k);
  for (int64_t i = 0; i < d.n; ++i)
    for (int j = 0; j < d.k; ++j) {
      const size_t e = size_t(i * d.k + j), diag = e * size_t(d.k) + size_t(j);
      if (std::abs(d.pi_item_position[diag] - d.pi_marginal[e]) > 1e-9)
        Fail("pi_item_position: " + Num(d.pi_item_position[diag]) + " at " +
             Where(int64_t(diag), int64_t(d.k) * d.k, d) + " differs from pi_marginal " + Num(d.pi_marginal[e]));
    }
  const double Kd = double(K), kd = double(d.k);
  for (int64_t i = 0; i < d.n; ++i) {
    double a = 0.0, b = 0.0;
    for (int j = 0; j < d.k; ++j) {
      const size_t e = size_t(i * d.k + j);
      for (int l = 0; l < d.k; ++l) (l == j ? a : b) += d.pi_item_position[e * size_t(d.k) + size_t(l)];
    }
    const double rho = K == d.k ? (Kd - 1.0) * a - (Kd - 2.0)
                                : ((Kd - 1.0) * (Kd - kd + 1.0) * a + (Kd - 1.0) * b - (kd - 1.0) * Kd) / (Kd - kd);
    t.numerator[size_t(i)] = rho * d.reward[size_t(i)];
  }
  return t;
}

// RIPS (reward-interaction IPS; McInerney et al. 2020), in its prefix form:
//   V = (1/n) sum_i sum_j [prod_{l <= j} pi_conditional_il / mu_conditional_il] position_reward_ij.
// Unbiased when the reward credited to position j depends only on the items
// at positions 1..j (a user scanning top-down, as in a cascade); weights
// grow with j, more slowly than IPS's whole-slate weight.
OpeTerms Rips(const OpeData& d) {
  CheckShape(d);
  CheckColumn(d, d.position_reward, "position_reward", d.k);
  CheckLogging(d, d.mu_conditional, "mu_conditional", "RIPS", kSlate, d.k);
  CheckTarget(d, d.pi_conditional, "pi_conditional", d.k);
  OpeTerms t;
  t.numerator.assign(size_t(d.n), 0.0);
  for (int64_t i = 0; i < d.n; ++i) {
    double prefix = 1.0, v = 0.0;
    for (int j = 0; j < d.k; ++j) {
      const size_t e = size_t(i * d.k + j);
      prefix *= d.pi_conditional[e] / d.mu_conditional[e];
      v += prefix * d.position_reward[e];
    }
    t.numerator[size_t(i)] = v;
  }
  return t;
}

std::vector<double> SlateSecondMoment(const std::vector<int>& slates, const std::vector<double>& probabilities, int K,
                                      int k) {
  if (K < 1 || k < 1 || k > K)
    Fail("slate second moment: needs 1 <= k <= K, got K = " + std::to_string(K) + ", k = " + std::to_string(k));
  if (slates.size() != probabilities.size() * size_t(k))
    Fail("slate second moment: " + std::to_string(slates.size()) + " slate entries for " +
         std::to_string(probabilities.size()) + " probabilities of slates of k = " + std::to_string(k));
  const size_t m = size_t(K) * size_t(k);
  std::vector<double> gamma(m * m, 0.0);
  for (size_t s = 0; s < probabilities.size(); ++s) {
    const double p = probabilities[s];
    if (!(p >= 0.0 && p <= 1.0)) Fail("slate second moment: probability " + Num(p) + " of slate " + std::to_string(s));
    for (int j = 0; j < k; ++j) {
      const int c = slates[s * size_t(k) + size_t(j)];
      if (c < 0 || c >= K)
        Fail("slate second moment: item " + std::to_string(c) + " at slate " + std::to_string(s) + ", position " +
             std::to_string(j) + " is outside [0, " + std::to_string(K) + ")");
      for (int l = 0; l < k; ++l) {
        const int c2 = slates[s * size_t(k) + size_t(l)];
        gamma[(size_t(c) * size_t(k) + size_t(j)) * m + size_t(c2) * size_t(k) + size_t(l)] += p;
      }
    }
  }
  return gamma;
}

SecondMomentPseudoInverse::SecondMomentPseudoInverse(std::vector<double> gamma, int K, int k)
    : K_(K), k_(k), gamma_(std::move(gamma)) {
  if (K < 1 || k < 1)
    Fail("pseudo-inverse weights: needs K, k >= 1, got K = " + std::to_string(K) + ", k = " + std::to_string(k));
  const size_t m = size_t(K) * size_t(k);
  if (gamma_.size() != m * m)
    Fail("pseudo-inverse weights: gamma has " + std::to_string(gamma_.size()) +
         " values, expected (K k)^2 = " + std::to_string(m * m));
  for (size_t e = 0; e < gamma_.size(); ++e)
    if (!std::isfinite(gamma_[e]))
      Fail("pseudo-inverse weights: gamma entry " + std::to_string(e) + " is " + Num(gamma_[e]));
  // Cyclic Jacobi: rotations J in the (p, r) plane zero a[p][r] in
  // a <- J^T a J, and v <- v J accumulates them, until a is diagonal; then
  // gamma = v diag(a) v^T.
  std::vector<double> a(gamma_);
  vectors_.assign(m * m, 0.0);
  std::vector<double>& v = vectors_;
  for (size_t p = 0; p < m; ++p) v[p * m + p] = 1.0;
  double scale = 0.0;
  for (double x : a) scale += x * x;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0.0;
    for (size_t p = 0; p < m; ++p)
      for (size_t r = p + 1; r < m; ++r) off += a[p * m + r] * a[p * m + r];
    if (off <= 1e-32 * scale) break;
    for (size_t p = 0; p < m; ++p)
      for (size_t r = p + 1; r < m; ++r) {
        const double apr = a[p * m + r];
        if (apr == 0.0) continue;
        const double theta = (a[r * m + r] - a[p * m + p]) / (2.0 * apr);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1.0));
        const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
        for (size_t x = 0; x < m; ++x) {  // columns p, r of a J and of v J
          const double xp = a[x * m + p], xr = a[x * m + r];
          a[x * m + p] = c * xp - s * xr;
          a[x * m + r] = s * xp + c * xr;
          const double vp = v[x * m + p], vr = v[x * m + r];
          v[x * m + p] = c * vp - s * vr;
          v[x * m + r] = s * vp + c * vr;
        }
        for (size_t x = 0; x < m; ++x) {  // rows p, r of J^T (a J)
          const double px = a[p * m + x], rx = a[r * m + x];
          a[p * m + x] = c * px - s * rx;
          a[r * m + x] = s * px + c * rx;
        }
      }
  }
  values_.resize(m);
  for (size_t e = 0; e < m; ++e) values_[e] = a[e * m + e];
}

std::vector<double> SecondMomentPseudoInverse::Weights(const std::vector<double>& q) const {
  const size_t m = size_t(K_) * size_t(k_);
  if (q.size() != m)
    Fail("pseudo-inverse weights: q has " + std::to_string(q.size()) + " values, expected K k = " + std::to_string(m));
  for (size_t e = 0; e < m; ++e)
    if (!std::isfinite(q[e])) Fail("pseudo-inverse weights: q entry " + std::to_string(e) + " is " + Num(q[e]));
  const std::vector<double>& v = vectors_;
  double largest = 0.0;
  for (size_t e = 0; e < m; ++e) largest = std::max(largest, std::abs(values_[e]));
  std::vector<double> z(m, 0.0);
  for (size_t e = 0; e < m; ++e) {
    const double lambda = values_[e];
    if (std::abs(lambda) <= 1e-10 * largest) continue;
    double proj = 0.0;
    for (size_t x = 0; x < m; ++x) proj += v[x * m + e] * q[x];
    for (size_t x = 0; x < m; ++x) z[x] += v[x * m + e] * proj / lambda;
  }
  for (size_t x = 0; x < m; ++x) {
    double gz = 0.0;
    for (size_t y = 0; y < m; ++y) gz += gamma_[x * m + y] * z[y];
    if (std::abs(gz - q[x]) > 1e-8)
      Fail("pseudo-inverse weights: the target's marginal " + Num(q[x]) + " of item " + std::to_string(x / size_t(k_)) +
           " at position " + std::to_string(x % size_t(k_)) +
           " is not reachable from the logging policy's slates (Gamma z = " + Num(gz) +
           "): no pseudo-inverse weight is unbiased");
  }
  return z;
}

std::vector<double> PseudoInverseCellWeights(const std::vector<double>& gamma, const std::vector<double>& q, int K,
                                             int k) {
  return SecondMomentPseudoInverse(gamma, K, k).Weights(q);
}

const std::vector<std::string>& OpeEstimatorNames() {
  static const std::vector<std::string> names = {"dm", "ips",  "snips",          "clipped_ips", "switch",
                                                 "dr", "iips", "pseudo_inverse", "rips"};
  return names;
}

OpeTerms EstimatorTerms(std::string_view name, const OpeData& d, const OpeOptions& o) {
  if (name == "dm") return DirectMethod(d);
  if (name == "ips") return Ips(d);
  if (name == "snips") return Snips(d);
  if (name == "clipped_ips") return ClippedIps(d, o.clip_threshold);
  if (name == "switch") return SwitchIps(d, o.switch_threshold);
  if (name == "dr") return DoublyRobust(d);
  if (name == "iips") return Iips(d);
  if (name == "pseudo_inverse") return PseudoInverse(d, o.pseudo_inverse_form, o.num_candidates);
  if (name == "rips") return Rips(d);
  std::string known;
  for (const std::string& n : OpeEstimatorNames()) known += (known.empty() ? "" : ", ") + n;
  Fail("unknown estimator \"" + std::string(name) + "\" (known: " + known + ")");
}

OpeEstimate EstimateOf(const OpeTerms& terms, const OpeOptions& o) {
  const std::vector<double>& a = terms.numerator;
  const std::vector<double>& b = terms.denominator;
  const bool ratio = !b.empty();
  if (a.empty()) Fail("estimate: no steps");
  if (ratio && b.size() != a.size())
    Fail("estimate: " + std::to_string(a.size()) + " numerator terms but " + std::to_string(b.size()) +
         " denominator terms");
  if (o.bootstrap_samples < 1) Fail("bootstrap_samples must be at least 1, got " + std::to_string(o.bootstrap_samples));
  if (!(o.level > 0.0 && o.level < 1.0)) Fail("level must lie in (0, 1), got " + Num(o.level));
  OpeEstimate e;
  e.n = int64_t(a.size());
  double sa = 0.0, sb = 0.0;
  for (double x : a) sa += x;
  for (double x : b) sb += x;
  if (!ratio) {
    e.value = sa / double(a.size());
    const ConfidenceInterval ci = BootstrapMeanCI(a, o.bootstrap_samples, o.seed, o.level);
    e.lo = ci.lo;
    e.hi = ci.hi;
    return e;
  }
  if (sb == 0.0)
    throw OpeUndefined("the importance weights sum to 0: no logged slate has target probability > 0");
  e.value = sa / sb;
  // The same resampling as BootstrapMeanCI (one stream, n index draws per
  // resample), with the ratio of sums as the statistic.
  if (a.size() == 1) {
    e.lo = e.hi = e.value;
    return e;
  }
  Rng rng(o.seed);
  const uint64_t n = a.size();
  std::vector<double> stats(size_t(o.bootstrap_samples));
  for (double& s : stats) {
    double ra = 0.0, rb = 0.0;
    for (uint64_t r = 0; r < n; ++r) {
      const uint64_t idx = n <= 0xffffffffull ? rng.Below(uint32_t(n)) : rng.Below64(n);
      ra += a[idx];
      rb += b[idx];
    }
    s = rb == 0.0 ? 0.0 : ra / rb;
  }
  std::sort(stats.begin(), stats.end());
  const double alpha = 1.0 - o.level;
  e.lo = Quantile(stats, alpha / 2);
  e.hi = Quantile(stats, 1.0 - alpha / 2);
  return e;
}

void RidgeRewardModel::Fit(const std::vector<double>& x, const std::vector<double>& y, int dim, double lambda) {
  if (dim < 1) Fail("ridge: dim = " + std::to_string(dim) + " features; needs at least 1");
  if (y.empty()) Fail("ridge: no rows to fit");
  if (x.size() != y.size() * size_t(dim))
    Fail("ridge: x has " + std::to_string(x.size()) + " values, expected rows * dim = " + std::to_string(y.size()) +
         " * " + std::to_string(dim));
  Begin(dim);
  for (size_t r = 0; r < y.size(); ++r) {
    if (!std::isfinite(y[r])) Fail("ridge: target y is " + Num(y[r]) + " at row " + std::to_string(r));
    for (int c = 0; c < dim; ++c)
      if (!std::isfinite(x[r * size_t(dim) + size_t(c)]))
        Fail("ridge: feature " + std::to_string(c) + " is " + Num(x[r * size_t(dim) + size_t(c)]) + " at row " +
             std::to_string(r));
    Add(&x[r * size_t(dim)], y[r]);
  }
  Solve(lambda);
}

void RidgeRewardModel::Begin(int dim) {
  if (dim < 1) Fail("ridge: dim = " + std::to_string(dim) + " features; needs at least 1");
  const size_t D = size_t(dim);
  normal_.assign(D * D, 0.0);
  moment_.assign(D, 0.0);
  rows_ = 0;
  beta_.clear();
}

void RidgeRewardModel::Add(const double* row, double y) {
  // Normal equations A beta = g, A = X^T X + lambda I (lower triangle), g = X^T y.
  const size_t D = moment_.size();
  for (size_t p = 0; p < D; ++p) {
    if (row[p] == 0.0) continue;  // one-hot rows are sparse
    moment_[p] += row[p] * y;
    for (size_t q = 0; q <= p; ++q) normal_[p * D + q] += row[p] * row[q];
  }
  ++rows_;
}

std::vector<double> CholeskySolve(std::vector<double> a, const std::vector<double>& b) {
  const size_t D = b.size();
  if (a.size() != D * D) Fail("Cholesky solve: a holds " + std::to_string(a.size()) + " values for " + std::to_string(D));
  // Cholesky A = L L^T in place (lower triangle).
  for (size_t p = 0; p < D; ++p) {
    for (size_t q = 0; q <= p; ++q) {
      double s = a[p * D + q];
      for (size_t m = 0; m < q; ++m) s -= a[p * D + m] * a[q * D + m];
      a[p * D + q] = p == q ? std::sqrt(s) : s / a[q * D + q];
    }
  }
  // Solve L z = b, then L^T x = z.
  std::vector<double> x(D, 0.0);
  for (size_t p = 0; p < D; ++p) {
    double s = b[p];
    for (size_t m = 0; m < p; ++m) s -= a[p * D + m] * x[m];
    x[p] = s / a[p * D + p];
  }
  for (size_t p = D; p-- > 0;) {
    double s = x[p];
    for (size_t m = p + 1; m < D; ++m) s -= a[m * D + p] * x[m];
    x[p] = s / a[p * D + p];
  }
  return x;
}

void RidgeRewardModel::Solve(double lambda) {
  if (rows_ == 0) Fail("ridge: no rows to fit");
  if (!(lambda > 0.0) || !std::isfinite(lambda)) Fail("ridge: lambda must be a finite number > 0, got " + Num(lambda));
  const size_t D = moment_.size();
  std::vector<double> A = normal_;
  for (size_t p = 0; p < D; ++p) A[p * D + p] += lambda;  // positive definite: lambda > 0
  beta_ = CholeskySolve(std::move(A), moment_);
}

double RidgeRewardModel::Predict(const double* row) const {
  double s = 0.0;
  for (size_t p = 0; p < beta_.size(); ++p) s += row[p] * beta_[p];
  return s;
}

std::vector<double> RidgeRewardModel::PredictAll(const std::vector<double>& x) const {
  if (beta_.empty()) Fail("ridge: predict before fit");
  if (x.size() % beta_.size() != 0)
    Fail("ridge: x has " + std::to_string(x.size()) +
         " values, not a multiple of dim = " + std::to_string(beta_.size()));
  std::vector<double> out(x.size() / beta_.size());
  for (size_t r = 0; r < out.size(); ++r) out[r] = Predict(&x[r * beta_.size()]);
  return out;
}

OpeError ErrorOverLogs(const std::vector<double>& estimates, const std::vector<double>& truths) {
  if (estimates.empty()) Fail("error over logs: no logs");
  if (estimates.size() != truths.size())
    Fail("error over logs: " + std::to_string(estimates.size()) + " estimates but " + std::to_string(truths.size()) +
         " truths");
  RunningStat e;
  double sq = 0.0;
  for (size_t l = 0; l < estimates.size(); ++l) {
    if (!std::isfinite(estimates[l]) || !std::isfinite(truths[l]))
      Fail("error over logs: log " + std::to_string(l) + " has estimate " + Num(estimates[l]) + " and truth " +
           Num(truths[l]));
    const double err = estimates[l] - truths[l];
    e.Add(err);
    sq += err * err;
  }
  OpeError out;
  out.logs = int64_t(estimates.size());
  out.bias = e.mean();
  out.stddev = e.stddev();
  out.rmse = std::sqrt(sq / double(estimates.size()));
  return out;
}

std::map<std::string, OpeError> ErrorOverLogs(const std::map<std::string, std::vector<double>>& estimates,
                                              const std::vector<double>& truths) {
  std::map<std::string, OpeError> out;
  for (const auto& [name, values] : estimates) {
    try {
      out[name] = ErrorOverLogs(values, truths);
    } catch (const std::invalid_argument& e) {
      Fail(name + ": " + e.what());
    }
  }
  return out;
}

}  // namespace cohort
