// Shared pieces of the LibTorch agents. Included only by agents/torch/*.cc
// (<torch/torch.h> costs about 20 s per translation unit).
//
// Rules every LibTorch agent follows:
// - one torch thread (UseOneThread) and c10::InferenceMode when acting;
// - no torch random generator: initialisation (InitLinear) and sampling use
//   cohort::Rng streams derived from (seed, variant, user/slot, purpose), so
//   results are reproducible and checkpoints capture every stream;
// - the optimizer is the agent's UpdateRule, applied through ParamSet::Step;
// - batch across rows: one forward pass for all active rows of a step.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "agents/agent.h"
#include "agents/features.h"
#include "agents/update_rules.h"
#include "core/rng.h"

namespace cohort::torch_agents {

// torch::set_num_threads(1) (and one inter-op thread), once per process.
void UseOneThread();

// in -> hidden... -> out, with "relu" or "tanh" between layers.
torch::nn::Sequential Mlp(int in, const std::vector<int>& hidden, int out, const std::string& activation);

// PyTorch's default Linear initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in))
// for weights and biases, drawn from `rng` instead of torch's generator.
// `last_scale` multiplies the last layer (e.g. 0.01 for a near-uniform policy).
void InitLinear(torch::nn::Sequential& net, Rng& rng, double last_scale = 1.0);

// The parameters an agent trains, in a fixed order, with their UpdateRule.
class ParamSet {
 public:
  void Add(const std::string& prefix, torch::nn::Module& module, int role);
  // Builds the rule from the agent's resolved "optimizer" block.
  void SetRule(const json& optimizer_config);
  void ZeroGrad();
  // Checks gradients, applies the rule (which checks the new values).
  void Step(const StepInfo& info);
  double LearningRate(const StepInfo& info) const { return rule_->LearningRate(info); }
  std::vector<ParamRef> Refs();
  // (name, tensor) in order: "actor.0.weight", ...
  const std::vector<std::pair<std::string, torch::Tensor>>& Named() const { return params_; }
  int64_t NumParameters() const;
  // Values and rule state, bit-exact.
  void Save(BinaryWriter& out) const;
  void Load(BinaryReader& in);
  // Copies values into another set of the same shapes (target networks).
  void CopyValuesTo(ParamSet& target) const;
  // Warm start: copies the values of `source` when every parameter's name and
  // shape match, leaving this set's rule state as it is. Returns "" or the
  // first difference (then nothing is copied).
  std::string CopyValuesFrom(const ParamSet& source);
  // The same for some groups (a group is the prefix given to Add): for each
  // (from, to), the source's parameters `from`.* give this set's `to`.*, which
  // must be the same names after the prefix, in the same order, of the same
  // shapes. Parameters of other groups keep their values.
  std::string CopyGroupsFrom(const ParamSet& source, const std::vector<std::pair<std::string, std::string>>& groups);

 private:
  std::vector<std::pair<std::string, torch::Tensor>> params_;
  std::vector<int> roles_;
  std::unique_ptr<UpdateRule> rule_;
};

// Throws TrainingDiverged("<agent>: <name> is NaN/Inf") for a non-finite scalar.
void CheckFiniteLoss(const torch::Tensor& loss, const std::string& agent, const std::string& name);

// A float vector viewed as a tensor (no copy; the vector must outlive it).
inline torch::Tensor View(std::vector<float>& v, torch::IntArrayRef shape) {
  return torch::from_blob(v.data(), shape, torch::kFloat32);
}

// Agent::CandidateScores of the item-wise networks: `net` on the
// CandidateFeatures of each candidate of row `row` of `obs` (one [K, F]
// forward under InferenceMode) -> out[0..K). Changes no state: the holder is
// taken by value because forward() is not const in LibTorch.
void CandidateForward(torch::nn::Sequential net, const CandidateFeatures& features, const StepBatch& obs, int row,
                      double* out);

// Samples an index from probabilities p[0..n) (sum 1) with one uniform draw.
int SampleIndex(const float* p, int n, Rng& rng);

// Schema keys shared by the LibTorch agents: "hidden", "activation",
// "optimizer" (an update rule, default Adam with this agent's tuned `lr`).
// relu is about twice as fast as tanh at these sizes (bench/README.md).
void AddNetworkKeys(Schema& s, std::vector<int> hidden, double lr, const std::string& activation);

}  // namespace cohort::torch_agents
