// A learned per-parameter optimizer, residual on Adam (docs/meta.md, "What is learned").
//
// For every element of every parameter tensor a small MLP (shared by all
// elements; its weights are the meta-parameters theta) reads
//   x0 = m_hat / (sqrt(v_hat) + eps)      Adam's direction
//   x1 = g / (sqrt(v_hat) + eps)          the raw gradient on Adam's scale
//   x2 = m_slow_hat / (sqrt(v_hat) + eps) a slower momentum (beta 0.99)
//   x3 = p / rms(p of this tensor)        the parameter, normalised per tensor
//   x4 = t / T, x5 = 1 - t / T            training progress (T = planned updates)
//   x6 = log(T) / 10                      lifetime length
//   x7 = role                             0 actor / policy, 1 critic / value
// and outputs (o0, o1); the update is
//   p -= lr_t * exp(clip(o1, -3, 3)) * (x0 + o0)
// (plus Adam's weight decay, as in "adam"). The output layer's weights and
// biases being zero makes o = 0, i.e. exactly Adam with the same lr,
// betas, eps and schedule: ES starts from the tuned baseline (a unit test).
//
// theta layout (kThetaSize floats): W1 [kInputs x H1] row-major by input,
// b1 [H1], W2 [H1 x H2], b2 [H2], W3 [H2 x 2], b3 [2]; H1 = H2 = 16.
//
// Saved rules are small JSON files (WriteLearnedRule / "file" key):
//   {"kind": "cohort_learned_optimizer", "version": 1, "inputs": 8,
//    "hidden": [16, 16], "theta": [...], "meta": {...provenance...}}
#pragma once

#include <string>
#include <vector>

#include "agents/learnable.h"
#include "agents/update_rules.h"

namespace cohort {

inline constexpr int kLearnedInputs = 8;
inline constexpr int kLearnedHidden = 16;
inline constexpr int kLearnedThetaSize = kLearnedInputs * kLearnedHidden + kLearnedHidden +
                                         kLearnedHidden * kLearnedHidden + kLearnedHidden + kLearnedHidden * 2 + 2;
// Index of the first output-layer weight: theta[kLearnedOutputOffset..) is the
// output layer (zero: the rule is Adam).
inline constexpr int kLearnedOutputOffset = kLearnedThetaSize - (kLearnedHidden * 2 + 2);

// One element's update in units of the learning rate, exp(clip(o1)) (x0 + o0),
// for inputs x[kLearnedInputs] laid out as above (Adam's is x0). The meta view
// of `cohort viz` draws it against Adam's (the rule's RuleProbe).
double LearnedUpdatePerLr(const std::vector<float>& theta, const float* x);

// Its entry among the learnable rules (agents/learnable.h).
const LearnableRule& LearnedOptimizerRule();

// Schema keys of the "learned" rule (update_rules.cc registers it).
void AddLearnedOptimizerKeys(Schema& s);
std::unique_ptr<UpdateRule> MakeLearnedOptimizer(const json& config);

// The starting point of meta-training: hidden layers drawn from `seed`
// (scaled 1/sqrt(fan_in)), output layer zero, so the rule starts as Adam.
std::vector<float> InitialLearnedTheta(uint64_t seed);

// Rule files (WriteRuleFile/ReadRuleFile with LearnedOptimizerRule()). Read
// throws InputError naming the file for a wrong kind, version or size.
void WriteLearnedRule(const std::string& path, const std::vector<float>& theta, const json& meta);
std::vector<float> ReadLearnedRule(const std::string& path);

}  // namespace cohort
