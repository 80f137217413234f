// The agent registry: every agent type with its parameter schema and factory.
// Registration is explicit (RegisterBuiltins), not static self-registration,
// which the linker drops from static libraries.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "agents/agent.h"
#include "agents/learnable.h"

namespace cohort {

using AgentFactory = std::function<std::unique_ptr<Agent>(const json& config, const AgentContext& ctx)>;

// The registry of agent types ("agent" component of a scenario).
const ComponentRegistry& AgentRegistry();
// Builds the agent described by a resolved "agent" block.
std::unique_ptr<Agent> MakeAgent(const json& config, const AgentContext& ctx);
// The component of `agent`'s slot for the learnable `rule` (e.g. the "learned"
// update rule in a gradient agent's "optimizer"), or null when the agent has
// no such slot.
const ComponentInfo* LearnableSlot(const ComponentInfo& agent, const LearnableRule& rule);
// True when the agent type reads privileged simulator state.
bool IsPrivileged(const std::string& type);

// Families of agents register from their own files through this interface;
// the registry calls each Register*Agents function once, explicitly.
// `info.schema` must outlive the program (a function-local static).
class AgentRegistrar {
 public:
  virtual ~AgentRegistrar() = default;
  virtual void Add(ComponentInfo info, AgentFactory factory) = 0;
  // A learnable component of these agents (agents/learnable.h).
  virtual void AddLearnable(const LearnableRule& rule) = 0;
};
void RegisterBaselineAgents(AgentRegistrar& r);  // agents/registry.cc
void RegisterBanditAgents(AgentRegistrar& r);    // agents/bandits.cc
#ifdef COHORT_WITH_TORCH
void RegisterTorchAgents(AgentRegistrar& r);     // agents/torch/register.cc
#endif

}  // namespace cohort
