// REINFORCE slate agent (Chen et al. 2019, "Top-K Off-Policy Correction for a
// REINFORCE Recommender System"), on-policy. The loss pieces are exposed here
// so tests can check their gradients on hand cases.
#pragma once

#include <torch/torch.h>

#include "agents/registry.h"

namespace cohort::torch_agents {

// Registers "reinforce" (called by agents/torch/register.cc and tests).
void RegisterReinforce(AgentRegistrar& r);

// The REINFORCE surrogate to minimise, averaged over rows with weight 1.
//   logits      (N, K) policy logits of the N rows' candidates
//   slates      (N, k) int64 candidate indices, in sampling order
//   advantages  topk_correction: (N, k), one advantage per slate item;
//               otherwise (N), one advantage per slate
//   mask        (N) float, 1 for rows that count, 0 otherwise
// topk_correction = true (Chen et al. eq. 5 with alpha = pi on-policy):
//   -sum_j lambda_K(s, a_j) * adv_j * log pi(a_j | s),
//   lambda_K(s, a) = k * (1 - pi(a | s))^(k - 1), held constant (no gradient),
//   pi = softmax over all K candidates.
// topk_correction = false (plain): -adv * log P(slate | s), the sequential
//   (Plackett-Luce, without replacement) log-likelihood of the whole slate:
//   log P = sum_j [log pi(a_j) - log(1 - sum_{i<j} pi(a_i))], the exact score
//   function of the sampling policy.
torch::Tensor PolicyGradientLoss(const torch::Tensor& logits, const torch::Tensor& slates,
                                 const torch::Tensor& advantages, const torch::Tensor& mask, bool topk_correction);

// The off-policy top-K loss of learning from a log (Chen et al. 2019, eq. 5
// with the importance weight of sec. 4.3), averaged over rows:
//   -sum_j min(pi(a_j | s) / beta(a_j | s), cap) * lambda_K(s, a_j) * R * log pi(a_j | s),
//   lambda_K(s, a) = k * (1 - pi(a | s))^(k - 1)
// (the paper's K is Cohort's slate size k), pi = softmax(logits) over the K
// candidates, weights and lambda_K held constant (no gradient).
//   logits   (N, K)   policy logits at the logged states
//   slates   (N, k)   int64, the logged slates
//   beta     (N, k)   behaviour probability of each logged item (no gradient);
//                     undefined: every weight 1 (no off-policy correction)
//   returns  (N) or (N, k)  R_t, the discounted return from the logged step (or
//                           an advantage per slate item)
// cap <= 0: no clipping. `weights`, when given, receives the clipped weights (N, k).
torch::Tensor OffPolicyTopKLoss(const torch::Tensor& logits, const torch::Tensor& slates, const torch::Tensor& beta,
                                const torch::Tensor& returns, double cap, torch::Tensor* weights = nullptr);

}  // namespace cohort::torch_agents
