// Off-policy estimators (core/ope.h): every estimator on a log small enough
// to compute by hand, IPS and SNIPS equal to the on-policy mean when the
// target is the logging policy, the pseudo-inverse weights checked against
// their defining identity by enumerating every slate, unbiasedness (and the
// known biases) by simulation on a tiny slate bandit, the bootstrap interval,
// the ridge reward model, the error summary over logs, and bad input.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <map>
#include <numeric>
#include <cmath>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "agents/slate_law.h"
#include "apps/ope_weights.h"
#include "core/ope.h"
#include "core/rng.h"
#include "core/stats.h"

using namespace cohort;

namespace {

std::string InvalidArgumentOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

double Mean(const std::vector<double>& x) {
  double s = 0.0;
  for (double v : x) s += v;
  return s / double(x.size());
}

double Value(const OpeTerms& t) {
  OpeOptions o;
  o.bootstrap_samples = 10;
  return EstimateOf(t, o).value;
}

// Three steps, k = 2, every number a short binary fraction so that sums are
// exact and only the final division by n = 3 rounds (the same way on both
// sides). Slate weights w = prod_j pi_c / mu_c:
//   step 0: (0.25 / 0.5) (1 / 0.5)    = 1
//   step 1: (0.5 / 0.25) (0.5 / 0.5)  = 2
//   step 2: (0.125 / 0.5) (0.5 / 0.25) = 0.5
OpeData HandLog() {
  OpeData d;
  d.n = 3;
  d.k = 2;
  d.reward = {1, 2, 1};
  d.position_reward = {1, 0, 1, 1, 0, 1};
  d.mu_conditional = {0.5, 0.5, 0.25, 0.5, 0.5, 0.25};
  d.pi_conditional = {0.25, 1.0, 0.5, 0.5, 0.125, 0.5};
  d.mu_marginal = {0.5, 0.5, 0.25, 0.25, 0.5, 0.5};
  d.pi_marginal = {0.25, 0.5, 0.5, 0.25, 0.125, 0.25};
  d.model_position = {0.5, 0.25, 0.5, 0.5, 0.25, 0.0};
  d.model_target_value = {0.5, 1.0, 0.25};
  return d;
}

}  // namespace

TEST_CASE("ope: every estimator on a hand-computed log") {
  const OpeData d = HandLog();
  // DM: mean of model_target_value = (0.5 + 1 + 0.25) / 3.
  CHECK(Value(DirectMethod(d)) == 1.75 / 3.0);
  // IPS: w r = {1, 4, 0.5}.
  CHECK(Value(Ips(d)) == 5.5 / 3.0);
  // SNIPS: sum(w r) / sum(w) = 5.5 / 3.5.
  CHECK(Value(Snips(d)) == 5.5 / 3.5);
  // Clipped at M = 1.5: min(w, 1.5) r = {1, 3, 0.5}.
  CHECK(Value(ClippedIps(d, 1.5)) == 4.5 / 3.0);
  // Clipping at M >= max w is IPS.
  CHECK(Value(ClippedIps(d, 2.0)) == 5.5 / 3.0);
  // Switch at tau = 1.5: step 1 (w = 2) takes model_target_value 1: {1, 1, 0.5}.
  CHECK(Value(SwitchIps(d, 1.5)) == 2.5 / 3.0);
  CHECK(Value(SwitchIps(d, 2.0)) == 5.5 / 3.0);    // tau >= max w: IPS
  CHECK(Value(SwitchIps(d, 0.25)) == 1.75 / 3.0);  // tau < min w: DM
  // DR: mtv + w (r - sum_j model_position):
  //   0.5 + 1 (1 - 0.75) = 0.75, 1 + 2 (2 - 1) = 3, 0.25 + 0.5 (1 - 0.25) = 0.625.
  CHECK(Value(DoublyRobust(d)) == 4.375 / 3.0);
  // IIPS: sum_j pi_m / mu_m * position_reward:
  //   0.5 * 1 + 1 * 0 = 0.5, 2 * 1 + 1 * 1 = 3, 0.25 * 0 + 0.5 * 1 = 0.5.
  CHECK(Value(Iips(d)) == 4.0 / 3.0);
  // Pseudo-inverse, independent slots: (sum_j pi_m / mu_m - 1) r:
  //   (0.5 + 1 - 1) 1 = 0.5, (2 + 1 - 1) 2 = 4, (0.25 + 0.5 - 1) 1 = -0.25.
  CHECK(Value(PseudoInverse(d, PseudoInverseForm::kIndependentSlots, 0)) == 4.25 / 3.0);
  // RIPS: prefix weights (0.5, 1), (2, 2), (0.25, 0.5) on the position rewards:
  //   0.5 * 1 + 1 * 0 = 0.5, 2 * 1 + 2 * 1 = 4, 0.25 * 0 + 0.5 * 1 = 0.5.
  CHECK(Value(Rips(d)) == 5.0 / 3.0);
  // The weights themselves.
  CHECK(SlateWeights(d, "IPS") == std::vector<double>{1.0, 2.0, 0.5});
  // The name table reaches the same functions.
  OpeOptions o;
  o.clip_threshold = 1.5;
  o.switch_threshold = 1.5;
  CHECK(EstimatorTerms("clipped_ips", d, o).numerator == ClippedIps(d, 1.5).numerator);
  CHECK(EstimatorTerms("switch", d, o).numerator == SwitchIps(d, 1.5).numerator);
  CHECK(EstimatorTerms("snips", d, o).denominator == Snips(d).denominator);
  for (const std::string& name : OpeEstimatorNames()) CHECK(EstimatorTerms(name, d, o).numerator.size() == 3);
}

TEST_CASE("ope: pseudo-inverse for uniform logging on a hand-computed step") {
  // K = 3, k = 2, one step, the target placing the logged items (s_1, s_2) at
  // positions (1, 2) with pi(s_1 at 1) = 0.5, pi(s_1 at 2) = 0.25,
  // pi(s_2 at 1) = 0.125, pi(s_2 at 2) = 0.5. With K > k:
  //   rho = [(K-1)(K-k+1) a + (K-1) b - (k-1) K] / (K - k)
  //       = [2 * 2 * (0.5 + 0.5) + 2 * (0.25 + 0.125) - 3] / 1 = 1.75.
  OpeData d;
  d.n = 1;
  d.k = 2;
  d.reward = {2.0};
  d.mu_marginal = {1.0 / 3, 1.0 / 3};
  d.pi_marginal = {0.5, 0.5};
  d.pi_item_position = {0.5, 0.25, 0.125, 0.5};
  CHECK(PseudoInverse(d, PseudoInverseForm::kUniformWithoutReplacement, 3).numerator[0] == doctest::Approx(3.5));
  // K == k == 2: rho = (K - 1)(a_1 + a_2) - (K - 2) = 1.
  d.mu_marginal = {0.5, 0.5};
  CHECK(PseudoInverse(d, PseudoInverseForm::kUniformWithoutReplacement, 2).numerator[0] == 2.0);
}

TEST_CASE("ope: IPS and SNIPS with the target equal to the logging policy are the on-policy mean exactly") {
  Rng rng(11);
  OpeData d;
  d.n = 997;
  d.k = 3;
  for (int64_t i = 0; i < d.n; ++i) {
    d.reward.push_back(0.1 * double(rng.Below(30)) + 0.7);
    for (int j = 0; j < d.k; ++j) d.mu_conditional.push_back(1.0 / double(3 + rng.Below(11)));
  }
  d.pi_conditional = d.mu_conditional;
  double sum = 0.0;
  for (double r : d.reward) sum += r;
  CHECK(Value(Ips(d)) == sum / double(d.n));
  CHECK(Value(Snips(d)) == sum / double(d.n));
  // The ratio bootstrap of SNIPS then resamples exactly as the mean's does.
  OpeOptions o;
  o.bootstrap_samples = 300;
  o.seed = 5;
  const OpeEstimate ips = EstimateOf(Ips(d), o), snips = EstimateOf(Snips(d), o);
  CHECK(snips.lo == ips.lo);
  CHECK(snips.hi == ips.hi);
  CHECK(ips.n == d.n);
}

namespace {

// Ordered slates of k distinct items out of K, in lexicographic order.
std::vector<std::vector<int>> AllSlates(int K, int k) {
  std::vector<std::vector<int>> out;
  std::vector<int> s;
  std::function<void()> rec = [&] {
    if (int(s.size()) == k) {
      out.push_back(s);
      return;
    }
    for (int c = 0; c < K; ++c) {
      bool used = false;
      for (int x : s) used |= x == c;
      if (used) continue;
      s.push_back(c);
      rec();
      s.pop_back();
    }
  };
  rec();
  return out;
}

// Plackett-Luce over K items with scores theta: the probability of each item
// next given the items already placed.
double PlConditional(const std::vector<double>& theta, const std::vector<int>& placed, int item) {
  double z = 0.0;
  for (int c = 0; c < int(theta.size()); ++c) {
    bool used = false;
    for (int x : placed) used |= x == c;
    if (!used) z += std::exp(theta[size_t(c)]);
  }
  return std::exp(theta[size_t(item)]) / z;
}

double PlSlate(const std::vector<double>& theta, const std::vector<int>& s) {
  double p = 1.0;
  std::vector<int> placed;
  for (int c : s) {
    p *= PlConditional(theta, placed, c);
    placed.push_back(c);
  }
  return p;
}

// q[c * k + j] = pi(item c at position j) by enumeration.
std::vector<double> PlMarginals(const std::vector<double>& theta, int k) {
  const int K = int(theta.size());
  std::vector<double> q(size_t(K * k), 0.0);
  for (const auto& s : AllSlates(K, k)) {
    const double p = PlSlate(theta, s);
    for (int j = 0; j < k; ++j) q[size_t(s[size_t(j)] * k + j)] += p;
  }
  return q;
}

}  // namespace

TEST_CASE(
    "ope: the uniform pseudo-inverse weight satisfies E_mu[rho 1_s] = q exactly; the independent-slot one does not") {
  // The defining identity of the pseudo-inverse weight: for every cell (c, j),
  // the mean over all equally likely logged slates of rho(s) 1(s_j = c) is the
  // target's marginal q(c, j). A log with one step per slate and reward
  // 1(s_j = c) turns that mean into the estimator's value.
  for (const auto& [K, k] : std::vector<std::pair<int, int>>{{4, 2}, {5, 3}, {3, 3}, {4, 1}, {6, 2}}) {
    CAPTURE(K);
    CAPTURE(k);
    std::vector<double> theta;
    for (int c = 0; c < K; ++c) theta.push_back(0.7 * double(c % 3) - 0.4 * double(c));
    const std::vector<double> q = PlMarginals(theta, k);
    const auto slates = AllSlates(K, k);
    OpeData d;
    d.n = int64_t(slates.size());
    d.k = k;
    for (const auto& s : slates)
      for (int j = 0; j < k; ++j) {
        d.mu_marginal.push_back(1.0 / double(K));
        d.pi_marginal.push_back(q[size_t(s[size_t(j)] * k + j)]);
        for (int l = 0; l < k; ++l) d.pi_item_position.push_back(q[size_t(s[size_t(j)] * k + l)]);
      }
    double worst_independent = 0.0;
    for (int c = 0; c < K; ++c)
      for (int j = 0; j < k; ++j) {
        d.reward.clear();
        for (const auto& s : slates) d.reward.push_back(s[size_t(j)] == c ? 1.0 : 0.0);
        const double exact = Mean(PseudoInverse(d, PseudoInverseForm::kUniformWithoutReplacement, K).numerator);
        CHECK(exact == doctest::Approx(q[size_t(c * k + j)]).epsilon(1e-12));
        const double approx = Mean(PseudoInverse(d, PseudoInverseForm::kIndependentSlots, 0).numerator);
        worst_independent = std::max(worst_independent, std::abs(approx - q[size_t(c * k + j)]));
      }
    // For k = 1 both forms are IPS; for rankings the independent-slot form is off.
    if (k == 1) CHECK(worst_independent < 1e-12);
    if (k > 1) CHECK(worst_independent > 1e-3);
  }
}

namespace {

// E_mu[rho(s) 1_s] for every cell, with rho from PseudoInverseCellWeights
// fed through the estimator's kGivenWeights form (one step per slate, reward
// 1(s_j = c), steps weighted by mu(s)).
std::vector<double> GeneralIdentity(int K, int k, const std::vector<double>& mu_slate, const std::vector<double>& q) {
  const auto slates = AllSlates(K, k);
  std::vector<int> flat;
  for (const auto& s : slates) flat.insert(flat.end(), s.begin(), s.end());
  const std::vector<double> z = PseudoInverseCellWeights(SlateSecondMoment(flat, mu_slate, K, k), q, K, k);
  OpeData d;
  d.n = int64_t(slates.size());
  d.k = k;
  for (const auto& s : slates) {
    double rho = 0.0;
    for (int j = 0; j < k; ++j) rho += z[size_t(s[size_t(j)] * k + j)];
    d.pseudo_inverse_weight.push_back(rho);
  }
  std::vector<double> out;
  for (int c = 0; c < K; ++c)
    for (int j = 0; j < k; ++j) {
      d.reward.clear();
      for (const auto& s : slates) d.reward.push_back(s[size_t(j)] == c ? 1.0 : 0.0);
      const std::vector<double> t = PseudoInverse(d, PseudoInverseForm::kGivenWeights, 0).numerator;
      double e = 0.0;
      for (size_t i = 0; i < t.size(); ++i) e += mu_slate[i] * t[i];
      out.push_back(e);
    }
  return out;
}

}  // namespace

TEST_CASE("ope: the general pseudo-inverse weight is exact for Plackett-Luce and epsilon-mixture logging") {
  for (const auto& [K, k] : std::vector<std::pair<int, int>>{{4, 2}, {5, 3}, {3, 3}, {4, 1}}) {
    CAPTURE(K);
    CAPTURE(k);
    std::vector<double> theta_pi, theta_mu;
    for (int c = 0; c < K; ++c) {
      theta_pi.push_back(0.7 * double(c % 3) - 0.4 * double(c));
      theta_mu.push_back(0.5 * double((c * 7) % 4) - 0.3);
    }
    const std::vector<double> q = PlMarginals(theta_pi, k);
    const auto slates = AllSlates(K, k);
    // Plackett-Luce logging.
    std::vector<double> pl, mixture, uniform;
    for (const auto& s : slates) {
      pl.push_back(PlSlate(theta_mu, s));
      uniform.push_back(1.0 / double(slates.size()));
      // Epsilon = 0.2 mixture of uniform slates with a deterministic ranker's slate (the first one).
      mixture.push_back(0.2 / double(slates.size()) + (&s == &slates.front() ? 0.8 : 0.0));
    }
    for (const auto* mu : {&pl, &mixture, &uniform}) {
      const std::vector<double> e = GeneralIdentity(K, k, *mu, q);
      for (size_t cell = 0; cell < q.size(); ++cell) CHECK(e[cell] == doctest::Approx(q[cell]).epsilon(1e-9));
    }
  }
  // Under uniform logging the general weight is the closed form's.
  const int K = 5, k = 3;
  std::vector<double> theta;
  for (int c = 0; c < K; ++c) theta.push_back(0.3 * double(c));
  const std::vector<double> q = PlMarginals(theta, k);
  const auto slates = AllSlates(K, k);
  std::vector<int> flat;
  for (const auto& s : slates) flat.insert(flat.end(), s.begin(), s.end());
  const std::vector<double> z =
      PseudoInverseCellWeights(SlateSecondMoment(flat, std::vector<double>(slates.size(), 1.0 / 60), K, k), q, K, k);
  OpeData d;
  d.n = 1;
  d.k = k;
  d.reward = {1.0};
  const std::vector<int> s = {4, 0, 2};
  double rho = 0.0;
  for (int j = 0; j < k; ++j) {
    rho += z[size_t(s[size_t(j)] * k + j)];
    d.mu_marginal.push_back(1.0 / K);
    d.pi_marginal.push_back(q[size_t(s[size_t(j)] * k + j)]);
    for (int l = 0; l < k; ++l) d.pi_item_position.push_back(q[size_t(s[size_t(j)] * k + l)]);
  }
  CHECK(PseudoInverse(d, PseudoInverseForm::kUniformWithoutReplacement, K).numerator[0] ==
        doctest::Approx(rho).epsilon(1e-9));
  // A target that puts mass where the logging policy cannot: refused.
  std::vector<double> only_first(slates.size(), 0.0);
  only_first[0] = 1.0;
  CHECK(InvalidArgumentOf([&] {
          PseudoInverseCellWeights(SlateSecondMoment(flat, only_first, K, k), q, K, k);
        }).find("is not reachable from the logging policy's slates") != std::string::npos);
  CHECK(InvalidArgumentOf([&] { PseudoInverseCellWeights({1.0}, q, K, k); }) ==
        "pseudo-inverse weights: gamma has 1 values, expected (K k)^2 = 225");
  CHECK(InvalidArgumentOf([&] {
          SlateSecondMoment({0, 1, 5}, {1.0}, K, k);
        }) == "slate second moment: item 5 at slate 0, position 2 is outside [0, 5)");
}

TEST_CASE("ope: the independent-slot pseudo-inverse weight is exact when mu draws each position independently") {
  // mu picks position j's item from its own distribution mu_j over K items
  // (repeats allowed): E_mu[rho 1_s] = q for any target marginals q, here
  // arbitrary per-position distributions. Expectations are sums over all
  // K^k slates weighted by mu(s).
  const int K = 3, k = 3;
  const std::vector<std::vector<double>> mu = {{0.5, 0.3, 0.2}, {0.1, 0.6, 0.3}, {0.25, 0.25, 0.5}};
  const std::vector<std::vector<double>> pi = {{0.2, 0.2, 0.6}, {0.7, 0.1, 0.2}, {0.3, 0.6, 0.1}};
  std::vector<std::vector<int>> slates;
  for (int a = 0; a < K; ++a)
    for (int b = 0; b < K; ++b)
      for (int c = 0; c < K; ++c) slates.push_back({a, b, c});
  OpeData d;
  d.n = int64_t(slates.size());
  d.k = k;
  std::vector<double> mu_slate;
  for (const auto& s : slates) {
    double p = 1.0;
    for (int j = 0; j < k; ++j) {
      d.mu_marginal.push_back(mu[size_t(j)][size_t(s[size_t(j)])]);
      d.pi_marginal.push_back(pi[size_t(j)][size_t(s[size_t(j)])]);
      p *= mu[size_t(j)][size_t(s[size_t(j)])];
    }
    mu_slate.push_back(p);
  }
  for (int c = 0; c < K; ++c)
    for (int j = 0; j < k; ++j) {
      d.reward.clear();
      for (const auto& s : slates) d.reward.push_back(s[size_t(j)] == c ? 1.0 : 0.0);
      const std::vector<double> t = PseudoInverse(d, PseudoInverseForm::kIndependentSlots, 0).numerator;
      double e = 0.0;
      for (size_t i = 0; i < t.size(); ++i) e += mu_slate[i] * t[i];
      CHECK(e == doctest::Approx(pi[size_t(j)][size_t(c)]).epsilon(1e-12));
    }
}

namespace {

// A tiny slate bandit: K = 4 items, slates of k = 2, one context. Clicks
// follow a position-based model, P(click at j | item c at j) = attract[c]
// pos_bias[j]; the reward is the number of clicks. In the additive world the
// positions click independently; in the cascade a click at position 1 stops
// the user before position 2. The logging policy is uniform over the 12
// ordered slates; the target is Plackett-Luce with scores theta.
struct SlateBandit {
  static constexpr int K = 4, k = 2;
  std::vector<double> attract = {0.9, 0.6, 0.3, 0.1};
  std::vector<double> pos_bias = {1.0, 0.7};
  std::vector<double> theta = {2.0, 1.0, 0.0, -1.0};
  std::vector<double> q = PlMarginals(theta, k);

  double Click(int item, int j) const { return attract[size_t(item)] * pos_bias[size_t(j)]; }
  double Expected(const std::vector<int>& s, bool cascade) const {
    const double c1 = Click(s[0], 0), c2 = Click(s[1], 1);
    return cascade ? c1 + (1.0 - c1) * c2 : c1 + c2;
  }
  // The exact target value: sum over slates of pi(s) E[r | s].
  double Truth(bool cascade) const {
    double v = 0.0;
    for (const auto& s : AllSlates(K, k)) v += PlSlate(theta, s) * Expected(s, cascade);
    return v;
  }
  // A reward model r_hat(c, j) (`right`: the click probability; otherwise a
  // wrong one favouring the worst items) and its value under the target.
  double Model(int item, int j, bool right) const {
    return right ? Click(item, j) : 0.5 * attract[size_t(K - 1 - item)];
  }
  double ModelTargetValue(bool right) const {
    double v = 0.0;
    for (int c = 0; c < K; ++c)
      for (int j = 0; j < k; ++j) v += q[size_t(c * k + j)] * Model(c, j, right);
    return v;
  }

  OpeData Log(int64_t n, uint64_t seed, bool cascade, bool right_model) const {
    Rng rng(seed);
    OpeData d;
    d.n = n;
    d.k = k;
    const double mtv = ModelTargetValue(right_model);
    for (int64_t i = 0; i < n; ++i) {
      const int a = int(rng.Below(K));
      int b = int(rng.Below(K - 1));
      if (b >= a) ++b;
      const std::vector<int> s = {a, b};
      const bool click1 = rng.Bernoulli(Click(a, 0));
      const bool click2 = cascade && click1 ? false : rng.Bernoulli(Click(b, 1));
      d.reward.push_back(double(click1) + double(click2));
      d.position_reward.insert(d.position_reward.end(), {double(click1), double(click2)});
      d.mu_conditional.insert(d.mu_conditional.end(), {1.0 / K, 1.0 / (K - 1)});
      d.mu_marginal.insert(d.mu_marginal.end(), {1.0 / K, 1.0 / K});
      d.pi_conditional.insert(d.pi_conditional.end(), {PlConditional(theta, {}, a), PlConditional(theta, {a}, b)});
      d.pi_marginal.insert(d.pi_marginal.end(), {q[size_t(a * k + 0)], q[size_t(b * k + 1)]});
      for (int c : s)
        for (int l = 0; l < k; ++l) d.pi_item_position.push_back(q[size_t(c * k + l)]);
      d.model_position.insert(d.model_position.end(), {Model(a, 0, right_model), Model(b, 1, right_model)});
      d.model_target_value.push_back(mtv);
    }
    return d;
  }

  // The exact expectation under uniform logging of an estimator whose
  // per-step term depends on the slate and the expected rewards linearly:
  // enumerate the slates, one step each, with position rewards at their
  // expectations (every term here is linear in the position rewards).
  double ExactExpectation(bool cascade, const std::function<OpeTerms(const OpeData&)>& estimator) const {
    OpeData d;
    d.k = k;
    for (const auto& s : AllSlates(K, k)) {
      const double c1 = Click(s[0], 0), c2 = cascade ? (1.0 - Click(s[0], 0)) * Click(s[1], 1) : Click(s[1], 1);
      ++d.n;
      d.reward.push_back(c1 + c2);
      d.position_reward.insert(d.position_reward.end(), {c1, c2});
      d.mu_conditional.insert(d.mu_conditional.end(), {1.0 / K, 1.0 / (K - 1)});
      d.mu_marginal.insert(d.mu_marginal.end(), {1.0 / K, 1.0 / K});
      d.pi_conditional.insert(d.pi_conditional.end(),
                              {PlConditional(theta, {}, s[0]), PlConditional(theta, {s[0]}, s[1])});
      d.pi_marginal.insert(d.pi_marginal.end(), {q[size_t(s[0] * k + 0)], q[size_t(s[1] * k + 1)]});
      for (int c : s)
        for (int l = 0; l < k; ++l) d.pi_item_position.push_back(q[size_t(c * k + l)]);
    }
    return Mean(estimator(d).numerator);
  }
};

// Mean and standard error over `logs` logs of `n` steps of an estimator's value.
struct OverLogs {
  double mean = 0.0, se = 0.0;
};
OverLogs Simulate(const SlateBandit& bandit, bool cascade, bool right_model,
                  const std::function<OpeTerms(const OpeData&)>& estimator, int logs = 200, int64_t n = 2000) {
  RunningStat s;
  for (int l = 0; l < logs; ++l) s.Add(Value(estimator(bandit.Log(n, 1000 + uint64_t(l), cascade, right_model))));
  return {s.mean(), s.stddev() / std::sqrt(double(logs))};
}

OpeTerms UniformPi(const OpeData& d) {
  return PseudoInverse(d, PseudoInverseForm::kUniformWithoutReplacement, SlateBandit::K);
}

}  // namespace

TEST_CASE("ope: IPS, IIPS, pseudo-inverse, RIPS and DR are unbiased on additive rewards") {
  const SlateBandit bandit;
  const double truth = bandit.Truth(false);
  const std::vector<std::pair<std::string, std::function<OpeTerms(const OpeData&)>>> unbiased = {
      {"ips", Ips}, {"iips", Iips}, {"pseudo_inverse", UniformPi}, {"rips", Rips}, {"dr", DoublyRobust}};
  for (const auto& [name, estimator] : unbiased) {
    CAPTURE(name);
    // Exactly, by enumeration (DR needs model columns the enumeration lacks).
    if (name != "dr") CHECK(bandit.ExactExpectation(false, estimator) == doctest::Approx(truth).epsilon(1e-12));
    // And by simulation, with the wrong reward model for DR.
    const OverLogs sim = Simulate(bandit, false, false, estimator);
    CAPTURE(sim.mean);
    CAPTURE(sim.se);
    CHECK(std::abs(sim.mean - truth) < 4.0 * sim.se);
    CHECK(sim.se < 0.01);
  }
  // The pseudo-inverse's variance is below IPS's here (the reason it exists).
  CHECK(Simulate(bandit, false, false, UniformPi, 50).se < Simulate(bandit, false, false, Ips, 50).se);
}

TEST_CASE("ope: DM is exact with the true reward model and biased with a wrong one; DR stays unbiased") {
  const SlateBandit bandit;
  const double truth = bandit.Truth(false);
  CHECK(Value(DirectMethod(bandit.Log(500, 3, false, true))) == doctest::Approx(truth).epsilon(1e-12));
  const double wrong = Value(DirectMethod(bandit.Log(500, 3, false, false)));
  CHECK(std::abs(wrong - truth) > 0.2);
  const OverLogs dr = Simulate(bandit, false, false, DoublyRobust);
  CHECK(std::abs(dr.mean - truth) < 4.0 * dr.se);
  // With the true model DR is still unbiased, and its spread is below IPS's.
  const OverLogs dr_right = Simulate(bandit, false, true, DoublyRobust, 50);
  CHECK(std::abs(dr_right.mean - truth) < 4.0 * dr_right.se);
  CHECK(dr_right.se < Simulate(bandit, false, true, Ips, 50).se);
}

TEST_CASE("ope: under a cascade IPS and RIPS stay unbiased while the pseudo-inverse and IIPS are biased") {
  const SlateBandit bandit;
  const double truth = bandit.Truth(true);
  for (const auto& [name, estimator] :
       std::vector<std::pair<std::string, std::function<OpeTerms(const OpeData&)>>>{{"ips", Ips}, {"rips", Rips}}) {
    CAPTURE(name);
    CHECK(bandit.ExactExpectation(true, estimator) == doctest::Approx(truth).epsilon(1e-12));
    const OverLogs sim = Simulate(bandit, true, false, estimator);
    CAPTURE(sim.mean);
    CHECK(std::abs(sim.mean - truth) < 4.0 * sim.se);
  }
  for (const auto& [name, estimator] : std::vector<std::pair<std::string, std::function<OpeTerms(const OpeData&)>>>{
           {"pseudo_inverse", UniformPi}, {"iips", Iips}}) {
    CAPTURE(name);
    const double expected = bandit.ExactExpectation(true, estimator);
    const OverLogs sim = Simulate(bandit, true, false, estimator);
    CAPTURE(truth);
    CAPTURE(expected);
    CAPTURE(sim.mean);
    CAPTURE(sim.se);
    // The simulation agrees with the exact expectation, which is far from the truth.
    CHECK(std::abs(sim.mean - expected) < 4.0 * sim.se);
    CHECK(std::abs(expected - truth) > 10.0 * sim.se);
  }
}

TEST_CASE("ope: bootstrap intervals are deterministic for a seed and contain the estimate") {
  const SlateBandit bandit;
  const OpeData d = bandit.Log(3000, 21, false, false);
  OpeOptions o;
  o.bootstrap_samples = 400;
  o.seed = 99;
  o.clip_threshold = 3.0;
  o.switch_threshold = 3.0;
  o.pseudo_inverse_form = PseudoInverseForm::kUniformWithoutReplacement;
  o.num_candidates = SlateBandit::K;
  for (const std::string& name : OpeEstimatorNames()) {
    CAPTURE(name);
    const OpeTerms t = EstimatorTerms(name, d, o);
    const OpeEstimate a = EstimateOf(t, o), b = EstimateOf(t, o);
    CHECK(a.lo == b.lo);
    CHECK(a.hi == b.hi);
    CHECK(a.n == 3000);
    CHECK(a.lo <= a.value);
    CHECK(a.value <= a.hi);
    if (name == "dm") {
      // model_target_value is the same at every step of this log: the interval is the point.
      CHECK(a.lo == a.value);
      CHECK(a.hi == a.value);
      continue;
    }
    CHECK(a.lo < a.hi);
    OpeOptions other = o;
    other.seed = 100;
    const OpeEstimate c = EstimateOf(t, other);
    CHECK((c.lo != a.lo || c.hi != a.hi));
  }
  // The mean's interval is core/stats.h's BootstrapMeanCI.
  const OpeTerms ips = Ips(d);
  const ConfidenceInterval ci = BootstrapMeanCI(ips.numerator, 400, 99);
  CHECK(EstimateOf(ips, o).lo == ci.lo);
  CHECK(EstimateOf(ips, o).hi == ci.hi);
  // The ratio's bootstrap recomputes the ratio of resampled sums: with
  // numerators {2, 0} and denominators {2, 0.5} a resample of two steps gives
  // 4 / 4 = 1 (step 0 twice), 2 / 2.5 = 0.8 (one of each) or 0 / 1 = 0 (step
  // 1 twice), each extreme with probability 1/4, so the 2.5% and 97.5%
  // quantiles are 0 and 1 (a mean of the numerators would reach 2).
  const OpeEstimate r = EstimateOf(OpeTerms{{2.0, 0.0}, {2.0, 0.5}}, o);
  CHECK(r.value == 0.8);
  CHECK(r.lo == 0.0);
  CHECK(r.hi == 1.0);
  // One step: the interval is the point.
  OpeTerms one{{2.5}, {0.5}};
  const OpeEstimate p = EstimateOf(one, o);
  CHECK(p.value == 5.0);
  CHECK(p.lo == 5.0);
  CHECK(p.hi == 5.0);
}

TEST_CASE("ope: the 95% interval of IPS covers the truth in about 95% of logs") {
  const SlateBandit bandit;
  const double truth = bandit.Truth(false);
  OpeOptions o;
  o.bootstrap_samples = 200;
  int covered = 0;
  const int logs = 200;
  for (int l = 0; l < logs; ++l) {
    o.seed = uint64_t(l);
    const OpeEstimate e = EstimateOf(Ips(bandit.Log(400, 5000 + uint64_t(l), false, false)), o);
    covered += e.lo <= truth && truth <= e.hi;
  }
  // Binomial(200, 0.95) lies in [180, 199] with probability > 0.99; the
  // percentile interval of a skewed mean undercovers a little.
  CHECK(covered >= 175);
  CHECK(covered <= 199);
}

TEST_CASE("ope: ridge reward model") {
  RidgeRewardModel m;
  // One feature: beta = sum x y / (sum x^2 + lambda) = 5 / (5 + 1).
  m.Fit({1.0, 2.0}, {1.0, 2.0}, 1, 1.0);
  CHECK(m.coefficients()[0] == doctest::Approx(5.0 / 6.0).epsilon(1e-15));
  // Two orthogonal features: beta_p = x_p y_p / (x_p^2 + lambda) = (2 * 3 / 5, 1 * 4 / 2).
  m.Fit({2.0, 0.0, 0.0, 1.0}, {3.0, 4.0}, 2, 1.0);
  CHECK(m.coefficients()[0] == doctest::Approx(1.2).epsilon(1e-14));
  CHECK(m.coefficients()[1] == doctest::Approx(2.0).epsilon(1e-14));
  // Rows as `cohort ope` builds them: a one-hot topic (3) then a one-hot
  // position (2), collinear (both blocks sum to 1). A reward linear in them
  // is fitted to within the shrinkage of a small lambda.
  const std::vector<double> topic = {0.6, 0.3, 0.1}, position = {0.2, 0.0};
  std::vector<double> x, y;
  Rng rng(4);
  for (int r = 0; r < 600; ++r) {
    const int t = int(rng.Below(3)), j = int(rng.Below(2));
    for (int c = 0; c < 3; ++c) x.push_back(c == t ? 1.0 : 0.0);
    for (int c = 0; c < 2; ++c) x.push_back(c == j ? 1.0 : 0.0);
    y.push_back(topic[size_t(t)] + position[size_t(j)]);
  }
  m.Fit(x, y, 5, 1e-6);
  const std::vector<double> fitted = m.PredictAll(x);
  for (size_t r = 0; r < y.size(); ++r) CHECK(fitted[r] == doctest::Approx(y[r]).epsilon(1e-6));
  // Predict on one row.
  const std::vector<double> row = {0, 1, 0, 1, 0};
  CHECK(m.Predict(row.data()) == doctest::Approx(0.5).epsilon(1e-6));
  // Bad input.
  CHECK(InvalidArgumentOf([&] {
          m.Fit({1.0, 2.0, 3.0}, {1.0, 2.0}, 2);
        }) == "ridge: x has 3 values, expected rows * dim = 2 * 2");
  CHECK(InvalidArgumentOf([&] { m.Fit({1.0}, {1.0}, 1, 0.0); }) == "ridge: lambda must be a finite number > 0, got 0");
  CHECK(InvalidArgumentOf([&] { m.Fit({1.0, NAN}, {1.0}, 2); }) == "ridge: feature 1 is nan at row 0");
}

TEST_CASE("ope: error over logs") {
  // e = {0, 1, 2}: bias 1, sample standard deviation 1, rmse sqrt(5 / 3).
  const OpeError e = ErrorOverLogs({1.0, 2.0, 3.0}, {1.0, 1.0, 1.0});
  CHECK(e.bias == 1.0);
  CHECK(e.stddev == doctest::Approx(1.0).epsilon(1e-15));
  CHECK(e.rmse == doctest::Approx(std::sqrt(5.0 / 3.0)).epsilon(1e-15));
  CHECK(e.logs == 3);
  // Truths that differ per log: the error is against each log's own truth.
  const auto all = ErrorOverLogs({{"ips", {1.5, 2.5}}, {"dm", {2.0, 2.0}}}, {1.0, 3.0});
  CHECK(all.at("ips").bias == 0.0);
  CHECK(all.at("ips").rmse == 0.5);
  CHECK(all.at("dm").bias == 0.0);
  CHECK(all.at("dm").rmse == 1.0);
  CHECK(InvalidArgumentOf([] { ErrorOverLogs({1.0}, {1.0, 2.0}); }) == "error over logs: 1 estimates but 2 truths");
  CHECK(InvalidArgumentOf([] { ErrorOverLogs({{"ips", {}}}, {}); }) == "ips: error over logs: no logs");
}

TEST_CASE("ope: bad input is refused naming the column and the step") {
  OpeData d = HandLog();
  d.mu_conditional[2] = 0.0;  // step 1, position 0
  CHECK(InvalidArgumentOf([&] { Ips(d); }) ==
        "mu_conditional: logging propensity 0 at step 1, position 0: IPS is undefined for a slate the logging "
        "policy cannot choose");
  CHECK(InvalidArgumentOf([&] { Snips(d); }).find("SNIPS is undefined for a slate") != std::string::npos);
  CHECK(InvalidArgumentOf([&] { DoublyRobust(d); }).find("DR is undefined") != std::string::npos);
  CHECK(InvalidArgumentOf([&] { Rips(d); }).find("RIPS is undefined") != std::string::npos);
  CHECK(InvalidArgumentOf([&] { DirectMethod(d); }).empty());  // DM does not read mu
  d = HandLog();
  d.mu_conditional[1] = -0.25;
  CHECK(InvalidArgumentOf([&] { ClippedIps(d, 10.0); }) ==
        "mu_conditional: logging propensity -0.25 at step 0, position 1: clipped IPS is undefined for a slate the "
        "logging policy cannot choose");
  d = HandLog();
  d.mu_conditional[5] = 1.5;
  CHECK(InvalidArgumentOf([&] { Ips(d); }) ==
        "mu_conditional: logging propensity 1.5 at step 2, position 1 is above 1");
  d = HandLog();
  d.mu_marginal[3] = 0.0;
  CHECK(InvalidArgumentOf([&] { Iips(d); }) ==
        "mu_marginal: logging propensity 0 at step 1, position 1: IIPS is undefined for an item the logging policy "
        "cannot place at that position");
  CHECK(InvalidArgumentOf([&] {
          PseudoInverse(d, PseudoInverseForm::kIndependentSlots, 0);
        }).find("the pseudo-inverse estimator is undefined") != std::string::npos);
  d = HandLog();
  d.reward[2] = NAN;
  CHECK(InvalidArgumentOf([&] { Ips(d); }) == "reward: NaN at step 2");
  d = HandLog();
  d.position_reward[4] = INFINITY;
  CHECK(InvalidArgumentOf([&] { Rips(d); }) == "position_reward: inf at step 2, position 0");
  d = HandLog();
  d.model_target_value.pop_back();
  CHECK(InvalidArgumentOf([&] { DirectMethod(d); }) ==
        "model_target_value has 2 values, expected n = 3 (n = 3 steps, k = 2)");
  d = HandLog();
  d.pi_conditional.pop_back();
  CHECK(InvalidArgumentOf([&] { Ips(d); }) == "pi_conditional has 5 values, expected n * k = 6 (n = 3 steps, k = 2)");
  d = HandLog();
  d.pi_marginal[0] = 1.25;
  CHECK(InvalidArgumentOf([&] { Iips(d); }) ==
        "pi_marginal: target probability 1.25 at step 0, position 0 is outside [0, 1]");
  d = HandLog();
  d.n = 0;
  CHECK(InvalidArgumentOf([&] { Ips(d); }) == "OPE data: n = 0 steps; an estimate needs at least one");
  d = HandLog();
  CHECK(InvalidArgumentOf([&] { ClippedIps(d, 0.0); }) == "clip_threshold must be a finite number > 0, got 0");
  CHECK(InvalidArgumentOf([&] { SwitchIps(d, -1.0); }) == "switch_threshold must be a finite number > 0, got -1");
  CHECK(InvalidArgumentOf([&] { EstimatorTerms("ipss", d, {}); }) ==
        "unknown estimator \"ipss\" (known: dm, ips, snips, clipped_ips, switch, dr, iips, pseudo_inverse, rips)");
  // The uniform pseudo-inverse form checks that the logging is uniform.
  CHECK(InvalidArgumentOf([&] { PseudoInverse(d, PseudoInverseForm::kUniformWithoutReplacement, 1); }) ==
        "pseudo-inverse (uniform logging): num_candidates K = 1 must be at least the slate size k = 2");
  CHECK(
      InvalidArgumentOf([&] { PseudoInverse(d, PseudoInverseForm::kUniformWithoutReplacement, 4); }) ==
      "mu_marginal: 0.5 at step 0, position 0, but the uniform pseudo-inverse form needs uniform logging, 1/K = 0.25");
  // SNIPS when no logged slate has target probability > 0.
  d.pi_conditional.assign(6, 0.0);
  // That is undefined on this log (OpeUndefined), not a bad argument.
  CHECK_THROWS_WITH_AS(EstimateOf(Snips(d), {}),
                       "the importance weights sum to 0: no logged slate has target probability > 0", OpeUndefined);
  CHECK(InvalidArgumentOf([&] { EstimateOf(OpeTerms{}, {}); }) == "estimate: no steps");
}

namespace {

// Gamma of `law` by enumerating its ordered slates (SlateSecondMoment of the
// slates of positive probability).
std::vector<double> EnumeratedSecondMoment(const SlateLaw& law, int K, int k) {
  std::vector<int> slates;
  std::vector<double> probabilities, conditional(static_cast<size_t>(k));
  ForEachOrderedSlate(K, k, [&](const int32_t* s) {
    const double p = SlateProbabilities(law, K, s, k, conditional.data());
    if (p > 0.0) slates.insert(slates.end(), s, s + k), probabilities.push_back(p);
  });
  return SlateSecondMoment(slates, probabilities, K, k);
}

// Every law kind on K = 6 candidates: uniform; fixed; ranking without ties,
// with ties inside the slate, and with a tie group straddling its end;
// uniform mixtures of each.
std::vector<SlateLaw> ClosedFormLaws(int k) {
  std::vector<double> fixed;
  for (int j = 0; j < k; ++j) fixed.push_back(double((5 * j + 4) % 6));  // 4, 3, 2
  const std::vector<SlateLaw> bases = {
      SlateLaw{0.0, SlateLaw::Kind::kFixed, fixed},
      SlateLaw{0.0, SlateLaw::Kind::kRanking, {0.3, 1.5, -2.0, 0.9, 2.5, 0.1}},
      SlateLaw{0.0, SlateLaw::Kind::kRanking, {1.0, 2.0, 2.0, 0.5, 2.0, -1.0}},
      SlateLaw{0.0, SlateLaw::Kind::kRanking, {3.0, 1.0, 1.0, 0.5, 1.0, 1.0}},
      SlateLaw{0.0, SlateLaw::Kind::kRanking, {0.0, 0.0, 0.0, 0.0, 0.0, 0.0}},
  };
  std::vector<SlateLaw> laws = {SlateLaw::Uniform()};
  for (const SlateLaw& b : bases)
    for (double eps : {0.0, 0.1, 0.7}) {
      SlateLaw l = b;
      l.uniform = eps;
      laws.push_back(l);
    }
  return laws;
}

}  // namespace

TEST_CASE("ope: the closed-form second moment equals enumeration for every law kind, k <= 3") {
  const int K = 6;
  for (int k = 1; k <= 3; ++k)
    for (const SlateLaw& law : ClosedFormLaws(k)) {
      CAPTURE(k);
      CAPTURE(Describe(law));
      CAPTURE(law.values.empty() ? -1.0 : law.values[0]);
      std::vector<double> closed;
      REQUIRE(SlateSecondMoment(law, K, k, &closed));
      const std::vector<double> enumerated = EnumeratedSecondMoment(law, K, k);
      REQUIRE(closed.size() == enumerated.size());
      double worst = 0.0;
      for (size_t e = 0; e < closed.size(); ++e) worst = std::max(worst, std::abs(closed[e] - enumerated[e]));
      CHECK(worst < 1e-14);
    }
  // A Plackett-Luce base has no closed form (a uniform law has, whatever its base).
  std::vector<double> gamma = {42.0};
  CHECK_FALSE(SlateSecondMoment(SlateLaw{0.2, SlateLaw::Kind::kPlackettLuce, {1, 2, 3, 4, 5, 6}}, K, 2, &gamma));
  CHECK(gamma == std::vector<double>{42.0});
  CHECK(SlateSecondMoment(SlateLaw{1.0, SlateLaw::Kind::kPlackettLuce, {}}, K, 2, &gamma));
}

TEST_CASE("ope: pseudo-inverse slate weights from the closed form equal those from enumeration, and are reused") {
  const int K = 6;
  Rng rng = MakeRng(11, 0, 0, StreamPurpose::kPolicy);
  for (int k = 1; k <= 3; ++k) {
    PseudoInverseSlateWeights weights(K, k);
    int64_t laws = 0;
    for (const SlateLaw& law : ClosedFormLaws(k)) {
      // A target: Plackett-Luce over random weights mixed with the uniform
      // law, so every cell the logging law can reach has a marginal.
      const SlateLaw target{0.3, SlateLaw::Kind::kPlackettLuce,
                            {rng.Uniform() + 0.1, rng.Uniform() + 0.1, rng.Uniform() + 0.1, rng.Uniform() + 0.1,
                             rng.Uniform() + 0.1, rng.Uniform() + 0.1}};
      std::vector<double> marg(size_t(k) * K), q(size_t(K) * k);
      PositionMarginals(target, K, k, rng, marg.data());
      for (int c = 0; c < K; ++c)
        for (int j = 0; j < k; ++j) q[size_t(c) * k + size_t(j)] = marg[size_t(j) * K + size_t(c)];
      std::vector<double> z;
      try {
        z = PseudoInverseCellWeights(EnumeratedSecondMoment(law, K, k), q, K, k);
      } catch (const std::invalid_argument&) {
        // The target reaches cells the logging law never does (a fixed or tie-free
        // law without uniform part): no unbiased weight, and the closed form says so too.
        std::vector<int32_t> s(static_cast<size_t>(k));
        std::iota(s.begin(), s.end(), 0);
        CHECK(!InvalidArgumentOf([&] { weights.Weight(law, marg.data(), s.data()); }).empty());
        continue;
      }
      ++laws;
      ForEachOrderedSlate(K, k, [&](const int32_t* s) {
        double rho = 0.0;
        for (int j = 0; j < k; ++j) rho += z[size_t(s[j]) * k + size_t(j)];
        CHECK(weights.Weight(law, marg.data(), s) == doctest::Approx(rho).epsilon(1e-9));
      });
    }
    CHECK(laws >= 6);
    // One decomposition per law however many slates were weighed.
    CHECK(weights.decompositions() <= int64_t(ClosedFormLaws(k).size()));
  }
  // Epsilon-greedy without ties (K = 10, k = 4: 5040 ordered slates) at every
  // step ranking the candidates another way: one relabelled Gamma, decomposed
  // once. With the logging law as target every slate it can choose weighs 1
  // (z = Gamma^+ Gamma w for w = 1/k on every cell, and rho(s) = w . 1_s).
  PseudoInverseSlateWeights weights(10, 4);
  std::vector<double> marg(4 * 10);
  for (int step = 0; step < 20; ++step) {
    std::vector<double> scores(10);
    for (double& x : scores) x = rng.Uniform();
    const SlateLaw law{0.1, SlateLaw::Kind::kRanking, scores};
    PositionMarginals(law, 10, 4, rng, marg.data());
    const int32_t slate[4] = {int32_t(step % 10), int32_t((step + 3) % 10), int32_t((step + 5) % 10),
                              int32_t((step + 8) % 10)};
    CHECK(weights.Weight(law, marg.data(), slate) == doctest::Approx(1.0).epsilon(1e-9));
  }
  CHECK(weights.decompositions() == 1);
  // Plackett-Luce beyond the enumeration limit has no weights.
  PseudoInverseSlateWeights big(10, 6);
  CHECK_FALSE(big.Available(SlateLaw{0.1, SlateLaw::Kind::kPlackettLuce, std::vector<double>(10, 1.0)}));
  CHECK(big.Available(SlateLaw{0.1, SlateLaw::Kind::kRanking, std::vector<double>(10, 1.0)}));
  CHECK_FALSE(PseudoInverseSlateWeights(20, 4).Available(SlateLaw::Uniform()));  // K k = 80 cells
}

TEST_CASE("slate law: a Plackett-Luce law whose top weight rounds the total keeps its other slates") {
  // A softmax can round its top weight to 1 while the others stay positive:
  // the weight left after the top is then theirs, not 1 - 1 = 0.
  const SlateLaw law{0.0, SlateLaw::Kind::kPlackettLuce, {1.0, 1e-20, 3e-20}};
  std::vector<double> cond(3);  // up to k = 3 conditionals below
  const int32_t slate[] = {0, 1};
  CHECK(SlateProbabilities(law, 3, slate, 2, cond.data()) == doctest::Approx(0.25));
  CHECK(cond[1] == doctest::Approx(0.25));
  Rng rng = MakeRng(1, 0, 0, StreamPurpose::kLogging);
  std::vector<double> marginals(6);
  CHECK(PositionMarginals(law, 3, 2, rng, marginals.data()) == MarginalMethod::kExact);
  CHECK(marginals[3] + marginals[4] + marginals[5] == doctest::Approx(1.0));  // position 1
  CHECK(marginals[5] == doctest::Approx(0.75));
  int32_t drawn[2];
  for (int m = 0; m < 50; ++m) {
    SampleSlate(law, 3, 2, rng, drawn);
    CHECK(SlateProbabilities(law, 3, drawn, 2, cond.data()) > 0.0);
  }
  // Weights that underflowed to 0 leave the next positions uniform over the
  // candidates left, in the law and in its sampler alike.
  const SlateLaw spent{0.0, SlateLaw::Kind::kPlackettLuce, {1.0, 0.0, 0.0, 0.0}};
  const int32_t after[] = {0, 2, 3};
  CHECK(SlateProbabilities(spent, 4, after, 3, cond.data()) == doctest::Approx(1.0 / 6.0));
  std::vector<double> m3(12);
  PositionMarginals(spent, 4, 3, rng, m3.data());
  CHECK(m3[4 + 1] == doctest::Approx(1.0 / 3.0));  // candidate 1 at position 1
  std::map<std::pair<int, int>, int> seen;
  for (int m = 0; m < 600; ++m) {
    int32_t d[3];
    SampleSlate(spent, 4, 3, rng, d);
    CHECK(d[0] == 0);
    ++seen[{d[1], d[2]}];
  }
  CHECK(seen.size() == 6);  // the 6 ordered pairs of the other three, about 100 times each
  for (const auto& [pair, count] : seen) CHECK(count > 50);
}
