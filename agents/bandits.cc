// Bandit agents (torch-free): epsilon-greedy, UCB1, LinUCB, linear Thompson sampling.
#include "agents/registry.h"

namespace cohort {

void RegisterBanditAgents(AgentRegistrar& r) {}

}  // namespace cohort
