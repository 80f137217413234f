// Update rules: how a gradient-based agent turns gradients into parameter
// changes. They are separate objects, registered by "type" and configured in
// the agent's "optimizer" block, so that no agent hard-codes its optimizer and
// the meta layer can plug a learned rule into the same seam (docs/meta.md).
//
// Torch-free on purpose: a rule sees each parameter tensor as a flat float
// array with its gradient (LibTorch agents pass tensor data pointers; the
// tensors must be contiguous float32 on the CPU). One Step() updates every
// tensor in place, in plain loops the compiler vectorizes, instead of paying
// LibTorch's per-tensor dispatch (Adam.step() costs about 15 us per tensor).
//
//   rule->Init(params);                 once, after the parameters exist
//   ... compute gradients into params[i].grad ...
//   rule->Step(params, {step, progress});  step counts updates from 1
//
// Learning-rate schedules (every rule): lr_t = lr * warmup(t) * decay(progress),
// progress = fraction of the planned updates done (0 when unknown):
//   "constant", "linear" (to final_fraction at the end), "cosine" (to
//   final_fraction), with an optional linear warm-up over warmup_steps.
// Step() throws TrainingDiverged when a gradient or an updated parameter is
// NaN or Inf, naming the tensor (the parameters are then left untouched).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agents/agent.h"

namespace cohort {

// One parameter tensor as a rule sees it.
struct ParamRef {
  std::string name;        // "actor.0.weight": used in error messages
  float* value = nullptr;  // size elements, updated in place
  const float* grad = nullptr;
  int64_t size = 0;
  int role = 0;  // 0 actor / policy, 1 critic / value (learned rules may use it)
};

struct StepInfo {
  int64_t step = 1;       // 1-based update count
  double progress = 0.0;  // fraction of planned updates done, in [0, 1]
};

class UpdateRule {
 public:
  virtual ~UpdateRule() = default;
  virtual const std::string& type() const = 0;
  // Allocates per-tensor state for these shapes (called once).
  virtual void Init(const std::vector<ParamRef>& params) = 0;
  virtual void Step(const std::vector<ParamRef>& params, const StepInfo& info) = 0;
  // The learning rate the schedule gives at this step (for logging).
  virtual double LearningRate(const StepInfo& info) const = 0;
  virtual void Save(BinaryWriter& out) const = 0;
  virtual void Load(BinaryReader& in) = 0;
};

// Registry of rules ("optimizer" component of gradient-based agents).
const ComponentRegistry& UpdateRuleRegistry();
// Builds the rule described by a resolved "optimizer" block.
std::unique_ptr<UpdateRule> MakeUpdateRule(const json& config);
// Checks every gradient and value of `params`; throws TrainingDiverged
// naming the first tensor with a NaN/Inf ("what" says gradient or value).
void CheckFinite(const std::vector<ParamRef>& params, const char* what);

}  // namespace cohort
