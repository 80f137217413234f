// The LibTorch agents, one algorithm per file.
#include "agents/registry.h"

namespace cohort {
namespace torch_agents {
void RegisterReinforce(AgentRegistrar& r);  // reinforce.cc
void RegisterA2c(AgentRegistrar& r);        // a2c.cc
void RegisterPpo(AgentRegistrar& r);        // ppo.cc
void RegisterSlateQ(AgentRegistrar& r);     // slateq.cc
void RegisterDqn(AgentRegistrar& r);        // dqn.cc
}  // namespace torch_agents

void RegisterTorchAgents(AgentRegistrar& r) {
  torch_agents::RegisterReinforce(r);
  torch_agents::RegisterA2c(r);
  torch_agents::RegisterPpo(r);
  torch_agents::RegisterSlateQ(r);
  torch_agents::RegisterDqn(r);
}

}  // namespace cohort
