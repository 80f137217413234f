// The pseudo-inverse estimator's exact weight of each logged slate under any
// logging law (core/ope.h PseudoInverseCellWeights): rho(s) = sum_j
// z[s_j * k + j] with z = Gamma_mu^+ q_pi, Gamma_mu the logging law's second
// moment of the cell indicators and q_pi the target's position marginals.
//
// Gamma_mu comes in closed form (agents/slate_law.h SlateSecondMoment) for
// the uniform, fixed and ranking laws (ties included) and their uniform
// mixtures: epsilon-greedy, DQN, the logging wrapper with epsilon, whatever
// the number of ordered slates. A Plackett-Luce base has no closed form: its
// slates are enumerated, when there are at most kPseudoInverseSlateLimit.
//
// The eigendecomposition of Gamma (O((K k)^3)) dominates the cost, and
// Gamma repeats: relabelled so that the law's own order comes first (the
// fixed slate, or the descending scores), a closed-form Gamma depends only on
// the mixture weight and the tie-group sizes, the same for every step of an
// epsilon-greedy log without ties. The decompositions are kept by their
// relabelled Gamma and reused; relabelling the candidates permutes Gamma's
// rows and columns and its pseudo-inverse alike, so the weight is the same
// (to rounding: the decomposition of a permuted matrix is not bit for bit the
// permuted decomposition). Plackett-Luce laws differ at every step and are
// decomposed each time.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "agents/slate_law.h"
#include "core/ope.h"

namespace cohort {

// Ordered slates a Plackett-Luce logging law's Gamma enumerates at most.
inline constexpr int64_t kPseudoInverseSlateLimit = 5000;
// Cells K k of the (K k) x (K k) system at most.
inline constexpr int kPseudoInverseCellLimit = 60;

class PseudoInverseSlateWeights {
 public:
  PseudoInverseSlateWeights(int K, int k);
  // Whether Weight can be computed under `law`: K k <= kPseudoInverseCellLimit,
  // and a closed form or at most kPseudoInverseSlateLimit ordered slates.
  bool Available(const SlateLaw& law) const;
  // rho(slate) under logging law `mu` for a target with position marginals
  // `marginals` (k x K row-major: P(c at j) at j * K + c, as
  // PositionMarginals writes them). Throws std::invalid_argument when the
  // law is not Available, or when the target's marginals are not reachable
  // from mu's slates (PseudoInverseCellWeights).
  double Weight(const SlateLaw& mu, const double* marginals, const int32_t* slate);
  // Eigendecompositions computed so far (each closed-form Gamma once).
  int64_t decompositions() const { return decompositions_; }

 private:
  const int K_, k_;
  double ordered_slates_ = 1.0;
  int64_t decompositions_ = 0;
  std::map<std::vector<double>, std::unique_ptr<SecondMomentPseudoInverse>> kept_;
};

}  // namespace cohort
