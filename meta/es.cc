#include "meta/es.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/rng.h"

namespace cohort {

OpenAiEs::OpenAiEs(const EsConfig& config, std::vector<float> mean)
    : config_(config),
      mean_(std::move(mean)),
      m_(mean_.size(), 0.0),
      v_(mean_.size(), 0.0),
      sigma_(config.sigma),
      lr_(config.lr) {
  if (config_.pairs < 1) throw std::invalid_argument("es: pairs must be >= 1");
  if (!(config_.sigma > 0.0)) throw std::invalid_argument("es: sigma must be > 0");
  if (config_.shaping != "zscore" && config_.shaping != "sign")
    throw std::invalid_argument("es: shaping must be \"zscore\" or \"sign\"");
}

void OpenAiEs::Noise(int pair, std::vector<float>& eps) const {
  // (seed, generation, pair) -> one stream: the same numbers on every worker.
  Rng rng = MakeRng(config_.seed, uint64_t(generation_), uint64_t(pair), StreamPurpose::kMeta);
  eps.resize(mean_.size());
  for (float& e : eps) e = float(rng.Normal());
}

std::vector<float> OpenAiEs::Candidate(int pair, int sign) const {
  std::vector<float> eps;
  Noise(pair, eps);
  std::vector<float> x(mean_.size());
  const float s = float(sign) * float(sigma_);
  for (size_t i = 0; i < x.size(); ++i) x[i] = mean_[i] + s * eps[i];
  return x;
}

std::vector<double> OpenAiEs::Shape(const std::vector<double>& plus, const std::vector<double>& minus) const {
  const size_t P = size_t(config_.pairs);
  if (plus.size() != P || minus.size() != P) throw std::invalid_argument("es: one fitness per pair member expected");
  double largest = 0.0;
  for (size_t p = 0; p < P; ++p)
    if (std::isfinite(plus[p]) && std::isfinite(minus[p])) largest = std::max(largest, std::abs(plus[p] - minus[p]));
  if (largest == 0.0) largest = 1.0;
  std::vector<double> d(P, 0.0);
  for (size_t p = 0; p < P; ++p) {
    const bool fp = std::isfinite(plus[p]), fm = std::isfinite(minus[p]);
    if (fp && fm)
      d[p] = plus[p] - minus[p];
    else if (fp)
      d[p] = largest;  // minus diverged: plus wins
    else if (fm)
      d[p] = -largest;
  }
  if (config_.shaping == "sign") {
    for (double& x : d) x = x > 0 ? 1.0 : x < 0 ? -1.0 : 0.0;
    return d;
  }
  double sq = 0.0;
  for (double x : d) sq += x * x;
  const double sd = std::sqrt(sq / double(P));  // differences are centred on 0 by antithetic symmetry
  if (sd > 0.0)
    for (double& x : d) x /= sd;
  return d;
}

void OpenAiEs::Update(const std::vector<double>& plus, const std::vector<double>& minus) {
  const std::vector<double> shaped = Shape(plus, minus);
  std::vector<double> grad(mean_.size(), 0.0);
  std::vector<float> eps;
  for (int p = 0; p < config_.pairs; ++p) {
    if (shaped[size_t(p)] == 0.0) continue;
    Noise(p, eps);
    for (size_t i = 0; i < grad.size(); ++i) grad[i] += shaped[size_t(p)] * double(eps[i]);
  }
  // Each pair contributes (f+ - f-) eps / (2 sigma); shaping rescales, so
  // only the direction and the relative sizes matter.
  const double scale = 1.0 / (double(config_.pairs) * sigma_);
  const int64_t t = generation_ + 1;
  const double b1 = 0.9, b2 = 0.999, bc1 = 1.0 - std::pow(b1, double(t)), bc2 = 1.0 - std::pow(b2, double(t));
  for (size_t i = 0; i < mean_.size(); ++i) {
    const double g = grad[i] * scale;
    m_[i] = b1 * m_[i] + (1.0 - b1) * g;
    v_[i] = b2 * v_[i] + (1.0 - b2) * g * g;
    mean_[i] = float(double(mean_[i]) + lr_ * (m_[i] / bc1) / (std::sqrt(v_[i] / bc2) + 1e-8));  // ascent
  }
  ++generation_;
  sigma_ *= config_.sigma_decay;
  lr_ *= config_.lr_decay;
}

void OpenAiEs::Save(BinaryWriter& out) const {
  out.Tag("openai_es");
  out.Vector(mean_);
  out.Vector(m_);
  out.Vector(v_);
  out.Pod(generation_);
  out.Pod(sigma_);
  out.Pod(lr_);
}

void OpenAiEs::Load(BinaryReader& in) {
  in.Tag("openai_es");
  const size_t dim = mean_.size();
  in.Vector(mean_, "openai_es.mean", dim);
  in.Vector(m_, "openai_es.m", dim);
  in.Vector(v_, "openai_es.v", dim);
  in.Pod(generation_);
  in.Pod(sigma_);
  in.Pod(lr_);
  in.Check(generation_ >= 0, "openai_es.generation is negative");
  in.Check(std::isfinite(sigma_) && sigma_ > 0 && std::isfinite(lr_) && lr_ >= 0,
           "openai_es: sigma or the learning rate is not a positive finite number");
  for (const float x : mean_) in.Check(std::isfinite(x), "openai_es.mean holds a non-finite value");
}

}  // namespace cohort
