// PPO's policy objective as a Mirror-Learning drift (Kuba et al. 2022; Lu et
// al. 2022, "Discovered Policy Optimisation"): with r the probability ratio of
// a sample and A its advantage,
//   policy loss = -mean[ r * A - f(r, A) ],   f >= 0, f(1, A) = 0, df/dr(1, A) = 0.
// The "drift" component of the "ppo" agent picks f:
//   clip  f = relu((r - clip(r, 1 - eps, 1 + eps)) * A), eps = the agent's
//         clip_eps; computed as today's ClippedSurrogate, bit for bit (default)
//   dpo   the closed form LPO was distilled into (DPO):
//         A >= 0: relu((r - 1) A - alpha tanh((r - 1) A / alpha))
//         A <  0: relu(log(r) A - beta tanh(log(r) A / beta))
//   lpo   a learned residual on PPO-clip (a learnable rule, agents/learnable.h):
//         f = f_clip + g_theta, g_theta = relu(h(x) - h(x1)) * (r - 1)^2,
//         h(x) = w2 . tanh(W1^T x + b1), x = clamp([r - 1, log r, (r - 1) A,
//         log(r) A, A, t/T], +-3), x1 = x at r = 1 (= [0, 0, 0, 0, A, t/T]).
//         (A unit scale on (r - 1)^2: on drifting_family's tuned PPO, w2 ~
//         N(0, 0.05^2) costs ~0.03 of score area, N(0, 0.5^2) ~0.14; a
//         scale of 0.1 made ES's first perturbations wreck training.)
//         g >= 0 by the relu; g(1, A) = 0 and dg/dr(1, A) = 0 by the factor
//         (r - 1)^2 (both terms of the product rule vanish at r = 1) for every
//         theta, so f stays a valid drift whatever ES finds. w2 = 0 (theta = 0
//         and Initial(seed)) gives g = 0: exactly PPO-clip, and the loss is then
//         computed without the network, bit for bit.
//         g only adds penalty: LPO can make PPO more conservative in chosen
//         (r, A, t/T) regions, not less than clip (the residual design).
//         theta layout (kLpoThetaSize = 128): W1 [6 x 16] row-major by input,
//         b1 [16], w2 [16]; w2 = theta[kLpoOutputOffset..).
// theta is a constant of the loss: gradients flow through r only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "agents/learnable.h"
#include "agents/torch/common.h"

namespace cohort::torch_agents {

inline constexpr int kLpoInputs = 6;
inline constexpr int kLpoHidden = 16;
inline constexpr int kLpoThetaSize = kLpoInputs * kLpoHidden + kLpoHidden + kLpoHidden;
inline constexpr int kLpoOutputOffset = kLpoThetaSize - kLpoHidden;

class Drift {
 public:
  virtual ~Drift() = default;
  // f(r, A) per sample; `progress` = t/T of the agent's update-rule steps.
  virtual torch::Tensor Value(const torch::Tensor& ratio, const torch::Tensor& adv, double progress) const = 0;
  // -mean(r A - f): the policy loss PPO minimises.
  virtual torch::Tensor PolicyLoss(const torch::Tensor& ratio, const torch::Tensor& adv, double progress) const {
    return -(ratio * adv - Value(ratio, adv, progress)).mean();
  }
};

// The "drift" component registry ("clip", "dpo", "lpo").
const ComponentRegistry& DriftRegistry();
// `config`: the resolved "drift" block; clip_eps: the agent's.
std::unique_ptr<Drift> MakeDrift(const json& config, double clip_eps);

// The "lpo" learnable rule (slot "drift", rule files "cohort_lpo_drift").
const LearnableRule& LpoDriftRule();
// Hidden layer drawn from `seed` (1/sqrt(fan_in)), biases and w2 zero: PPO-clip.
std::vector<float> InitialLpoTheta(uint64_t seed);

}  // namespace cohort::torch_agents
