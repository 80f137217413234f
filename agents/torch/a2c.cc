#include "agents/registry.h"
#include "agents/torch/common.h"

namespace cohort::torch_agents {

void RegisterA2c(AgentRegistrar& r) {}

}  // namespace cohort::torch_agents
