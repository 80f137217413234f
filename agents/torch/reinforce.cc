#include "agents/registry.h"
#include "agents/torch/common.h"

namespace cohort::torch_agents {

void RegisterReinforce(AgentRegistrar& r) {}

}  // namespace cohort::torch_agents
