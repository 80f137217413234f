// The law a policy drew one slate from: what `cohort log` turns into the
// logged propensities, and what off-policy evaluation asks of a target.
//
// Every stochastic policy Cohort ships draws a row's ordered slate of k
// distinct candidates (out of K) in one of a few ways, possibly mixed with a
// uniformly random slate:
//
//   kRanking       the k best by `values`, ties broken uniformly at random
//                  (greedy, popularity, UCB1, LinUCB, epsilon-greedy's greedy
//                  part): deterministic unless scores tie;
//   kPlackettLuce  k draws without replacement, each candidate c with
//                  probability weights[c] over the weights left, or uniformly
//                  over the candidates left when no weight is left (weights
//                  that underflowed to 0) (the softmax policies of REINFORCE,
//                  A2C and PPO; the logging wrapper's temperature);
//   kFixed         the slate in `values` (as indices) with probability 1 (the
//                  myopic oracle; evaluation-mode top-k with fixed ties).
//
// and with probability `uniform` instead a slate drawn uniformly among the
// K!/(K-k)! ordered slates (random: uniform = 1; epsilon-greedy: uniform =
// epsilon). A policy whose slate probabilities have no closed form (Thompson
// sampling draws its scores from a posterior) has no SlateLaw.
//
// From a law: the probability of each position's candidate given the ones
// before it (their product is the slate's probability), and the position
// marginals P(candidate c at position j). The marginals are exact in closed
// form for uniform, kRanking and kFixed; for kPlackettLuce exact by
// enumerating the ordered prefixes when there are at most
// kExactPrefixLimit of them, else estimated by Monte Carlo (labelled so).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/rng.h"

namespace cohort {

struct SlateLaw {
  enum class Kind : uint8_t { kRanking, kPlackettLuce, kFixed };
  double uniform = 0.0;  // probability of a uniformly random slate instead
  Kind kind = Kind::kRanking;
  std::vector<double> values;  // K scores (kRanking), K positive weights (kPlackettLuce), k indices (kFixed)

  static SlateLaw Uniform() { return SlateLaw{1.0, Kind::kRanking, {}}; }
  // True when every slate it can draw has probability 1 or 0 (no ties, no
  // uniform part): IPS-type estimators are then undefined for any other slate.
  bool Deterministic() const;
};

// The law's name for a log's attributes: "uniform", "ranking", "plackett_luce",
// "fixed", with "epsilon_mixture(...)" around a base when 0 < uniform < 1.
std::string Describe(const SlateLaw& law);

// conditional[j] = P(slate[j] | slate[0..j)) under `law` over K candidates;
// returns the slate's probability (their product, computed from the prefix
// probabilities so mixtures are exact).
double SlateProbabilities(const SlateLaw& law, int K, const int32_t* slate, int k, double* conditional);

// How PositionMarginals computed its answer.
enum class MarginalMethod : uint8_t { kExact, kMonteCarlo };
// Ordered prefixes PositionMarginals enumerates at most for kPlackettLuce.
inline constexpr int64_t kExactPrefixLimit = 20000;
// Monte Carlo draws when the prefixes are more.
inline constexpr int kMonteCarloDraws = 4096;

// out[j * K + c] = P(candidate c at position j), j < k. `rng` (only for the
// Monte Carlo estimate) is the caller's stream for this purpose.
MarginalMethod PositionMarginals(const SlateLaw& law, int K, int k, Rng& rng, double* out);

// The law's second moment of the cell indicators in closed form, without
// enumerating slates: gamma[(c * k + j) * (K k) + c' * k + l] = P(c at j and
// c' at l), the layout of core/ope.h SlateSecondMoment (its diagonal holds
// the position marginals). Linear in the law, so a mixture's is uniform *
// the uniform law's + (1 - uniform) * its base's:
//   uniform     1/K on the diagonal; 1/(K (K - 1)) for c != c' at j != l;
//   kFixed      1 where c and c' are the slate's at j and l;
//   kRanking    tie groups in descending score, a group of g members filling
//               the positions it covers in a uniformly random order: 1/g on
//               the diagonal for a member of position j's group; 1/(g (g - 1))
//               for two members of the same group at two of its positions;
//               1/(g g') for members of two groups at their positions (the
//               groups' orders are independent).
// Returns false, leaving `gamma` as it was, for a Plackett-Luce base (0 <=
// uniform < 1): its second moment has no closed form; enumerate its slates.
bool SlateSecondMoment(const SlateLaw& law, int K, int k, std::vector<double>* gamma);

// Calls f(slate) for every ordered slate of k distinct candidates out of K
// (K!/(K-k)! of them; K <= 64), in lexicographic order, with `slate`
// pointing at k indices valid during the call.
template <class F>
void ForEachOrderedSlate(int K, int k, F&& f) {
  std::vector<int32_t> slate(static_cast<size_t>(k));
  auto walk = [&](auto&& self, int j, uint64_t used) -> void {
    if (j == k) {
      f(static_cast<const int32_t*>(slate.data()));
      return;
    }
    for (int c = 0; c < K; ++c)
      if (!(used >> c & 1)) {
        slate[size_t(j)] = c;
        self(self, j + 1, used | (uint64_t(1) << c));
      }
  };
  walk(walk, 0, 0);
}

// Draws a slate from `law` (the logging wrapper; tests), `rng` its stream.
void SampleSlate(const SlateLaw& law, int K, int k, Rng& rng, int32_t* out);

}  // namespace cohort
