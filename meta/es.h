// OpenAI-ES (Salimans et al. 2017) for meta-parameters; docs/meta.md describes the design.
//
// Generation g evaluates `pairs` antithetic pairs mean +/- sigma * eps_p. The
// noise eps_p is regenerated from (seed, g, p) wherever it is needed, so
// workers (threads or MPI ranks) exchange only fitness scalars and apply the
// identical update. Both members of a pair must be evaluated on the same
// variant and seed (the caller's job; PairTask says which); the update uses
// only the within-pair difference d_p = f(+) - f(-), which cancels the
// variance that comes from which variant was drawn.
//
// Fitness shaping of the differences:
//   "zscore": d_p / std_p(d)   (0 when every d is 0)
//   "sign":   sign(d_p)        (win / loss)
// NaN/Inf fitness (a diverged lifetime) counts as the worst value: the pair's
// other member wins by the largest finite |d| of the generation (1 if none);
// both non-finite: the pair carries no signal.
// Gradient estimate grad = 1/(pairs * sigma) * sum_p shaped_p * eps_p, ascended
// with Adam on the mean (beta1 0.9, beta2 0.999, eps 1e-8); after each
// generation sigma *= sigma_decay and lr *= lr_decay.
//
// Save/Load hold the mean, Adam's moments, the generation, sigma and lr: a
// resumed run is bit-identical to an uninterrupted one (tested).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/serialize.h"

namespace cohort {

struct EsConfig {
  int pairs = 16;
  double sigma = 0.03;
  double lr = 0.02;
  double sigma_decay = 0.999;
  double lr_decay = 0.999;
  std::string shaping = "zscore";  // or "sign"
  uint64_t seed = 0;
};

class OpenAiEs {
 public:
  OpenAiEs(const EsConfig& config, std::vector<float> mean);

  int64_t generation() const { return generation_; }
  const std::vector<float>& mean() const { return mean_; }
  double sigma() const { return sigma_; }
  double lr() const { return lr_; }
  int pairs() const { return config_.pairs; }

  // eps_p of this generation (standard normal, dim = mean().size()).
  void Noise(int pair, std::vector<float>& eps) const;
  // mean + sign * sigma * eps_pair (sign = +1 or -1).
  std::vector<float> Candidate(int pair, int sign) const;
  // Shaped within-pair signals (exposed for tests and logging).
  std::vector<double> Shape(const std::vector<double>& plus, const std::vector<double>& minus) const;
  // One generation's update from the fitness of every pair's two members;
  // advances the generation.
  void Update(const std::vector<double>& plus, const std::vector<double>& minus);

  void Save(BinaryWriter& out) const;
  void Load(BinaryReader& in);

 private:
  EsConfig config_;
  std::vector<float> mean_;
  std::vector<double> m_, v_;  // Adam on the mean
  int64_t generation_ = 0;
  double sigma_, lr_;
};

}  // namespace cohort
