// "click_model": ranks candidates by a click model learned offline from a
// log (`cohort train-offline LOG_DIR --out MODEL.json`, apps/offline.h),
// greedily, ties broken at random like every ranking agent. It never learns
// online: `cohort run` with it measures the true value of what was learned
// from the log alone.
//
//   {"type": "click_model", "model": "models/recsim_random.json"}
#pragma once

#include <string>
#include <vector>

#include "agents/baselines.h"
#include "agents/registry.h"

namespace cohort {

void RegisterClickModelAgent(AgentRegistrar& r);

class ClickModelAgent : public RankingAgent {
 public:
  ClickModelAgent(const json& config, const AgentContext& ctx);
  const std::string& type() const override;

 protected:
  // w_interaction . (u * x_c) + w_item . x_c: the model's logit without its
  // position term.
  void Score(const StepBatch& obs, int row, double* scores) const override;
  std::string ScoreName() const override { return "click logit"; }

 private:
  std::vector<double> interaction_, item_;
  mutable std::vector<float> features_;  // scratch of Score, no state
};

}  // namespace cohort
