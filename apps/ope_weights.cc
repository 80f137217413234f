#include "apps/ope_weights.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>

namespace cohort {
namespace {

// Decompositions kept at most (each 2 (K k)^2 doubles and its key); the
// store is emptied when full.
constexpr size_t kKeptLimit = 128;

}  // namespace

PseudoInverseSlateWeights::PseudoInverseSlateWeights(int K, int k) : K_(K), k_(k) {
  for (int j = 0; j < k; ++j) ordered_slates_ *= double(K - j);
}

bool PseudoInverseSlateWeights::Available(const SlateLaw& law) const {
  if (K_ * k_ > kPseudoInverseCellLimit) return false;
  const bool closed_form = law.uniform >= 1.0 || law.kind != SlateLaw::Kind::kPlackettLuce;
  return closed_form || ordered_slates_ <= double(kPseudoInverseSlateLimit);
}

double PseudoInverseSlateWeights::Weight(const SlateLaw& mu, const double* marginals, const int32_t* slate) {
  if (!Available(mu))
    throw std::invalid_argument("pseudo-inverse weights: no closed form for a Plackett-Luce logging law, and " +
                                std::to_string(int64_t(ordered_slates_)) + " ordered slates are too many to enumerate");
  const int K = K_, k = k_;
  const size_t m = size_t(K) * size_t(k);
  std::vector<double> q(m);
  if (mu.uniform < 1.0 && mu.kind == SlateLaw::Kind::kPlackettLuce) {
    // Enumerated, in the candidates' own labels.
    std::vector<int> slates;
    std::vector<double> probabilities, conditional(static_cast<size_t>(k));
    ForEachOrderedSlate(K, k, [&](const int32_t* s) {
      const double p = SlateProbabilities(mu, K, s, k, conditional.data());
      if (p > 0.0) slates.insert(slates.end(), s, s + k), probabilities.push_back(p);
    });
    for (int c = 0; c < K; ++c)
      for (int j = 0; j < k; ++j) q[size_t(c) * k + size_t(j)] = marginals[size_t(j) * K + size_t(c)];
    ++decompositions_;
    const std::vector<double> z =
        PseudoInverseCellWeights(SlateSecondMoment(slates, probabilities, K, k), q, K, k);
    double rho = 0.0;
    for (int j = 0; j < k; ++j) rho += z[size_t(slate[j]) * k + size_t(j)];
    return rho;
  }
  // Closed form, relabelled: label i is candidate order[i], the law's own
  // order first (the fixed slate, or the scores descending, ties by index).
  std::vector<int32_t> order(static_cast<size_t>(K));
  std::iota(order.begin(), order.end(), 0);
  SlateLaw canonical = mu;
  if (mu.uniform < 1.0) {
    if (mu.kind == SlateLaw::Kind::kFixed) {
      std::vector<uint8_t> in_slate(static_cast<size_t>(K), 0);
      for (int j = 0; j < k; ++j) in_slate[size_t(int32_t(mu.values[size_t(j)]))] = 1;
      size_t next = 0;
      for (int j = 0; j < k; ++j) order[next++] = int32_t(mu.values[size_t(j)]);
      for (int c = 0; c < K; ++c)
        if (!in_slate[size_t(c)]) order[next++] = c;
      for (int j = 0; j < k; ++j) canonical.values[size_t(j)] = double(j);
    } else {
      std::stable_sort(order.begin(), order.end(),
                       [&](int32_t a, int32_t b) { return mu.values[size_t(a)] > mu.values[size_t(b)]; });
      // Only the tie pattern matters: each candidate's value becomes minus
      // its group's rank, so laws of one pattern share a key.
      int group = 0;
      for (int i = 0; i < K; ++i) {
        if (i > 0 && mu.values[size_t(order[size_t(i)])] != mu.values[size_t(order[size_t(i - 1)])]) ++group;
        canonical.values[size_t(i)] = -double(group);
      }
    }
  }
  std::vector<double> gamma;
  SlateSecondMoment(canonical, K, k, &gamma);
  auto it = kept_.find(gamma);
  if (it == kept_.end()) {
    if (kept_.size() >= kKeptLimit) kept_.clear();
    ++decompositions_;
    auto inverse = std::make_unique<SecondMomentPseudoInverse>(gamma, K, k);
    it = kept_.emplace(std::move(gamma), std::move(inverse)).first;
  }
  for (int i = 0; i < K; ++i)
    for (int j = 0; j < k; ++j) q[size_t(i) * k + size_t(j)] = marginals[size_t(j) * K + size_t(order[size_t(i)])];
  const std::vector<double> z = it->second->Weights(q);
  std::vector<int32_t> label(static_cast<size_t>(K));
  for (int i = 0; i < K; ++i) label[size_t(order[size_t(i)])] = i;
  double rho = 0.0;
  for (int j = 0; j < k; ++j) rho += z[size_t(label[size_t(slate[j])]) * k + size_t(j)];
  return rho;
}

}  // namespace cohort
