// The agent registry: every agent type with its parameter schema and factory.
// Registration is explicit (RegisterBuiltins), not static self-registration,
// which the linker drops from static libraries.
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "agents/agent.h"
#include "agents/learnable.h"

namespace cohort {

using AgentFactory = std::function<std::unique_ptr<Agent>(const json& config, const AgentContext& ctx)>;
// Whether an agent of a type reads ground truth under `config` (its "agent"
// block, resolved or not): for types whose privilege depends on a setting,
// e.g. greedy ranks by hidden quality only with score "quality".
using PrivilegeRule = std::function<bool(const json& config)>;

// The registry of agent types ("agent" component of a scenario).
const ComponentRegistry& AgentRegistry();
// Builds the agent described by a resolved "agent" block.
std::unique_ptr<Agent> MakeAgent(const json& config, const AgentContext& ctx);
// The component of `agent`'s slot for the learnable `rule` (e.g. the "learned"
// update rule in a gradient agent's "optimizer"), or null when the agent has
// no such slot.
const ComponentInfo* LearnableSlot(const ComponentInfo& agent, const LearnableRule& rule);
// True when the agent described by `config` reads ground truth: its type is
// registered privileged (ComponentInfo::privileged, always) or its
// PrivilegeRule says so for this config. The one place privilege is decided;
// MakeAgent, the trainer and the visualizer ask here.
bool IsPrivileged(const json& config);
// The context an agent's factory receives (MakeAgent applies it): `ctx` with
// the ground-truth handle removed unless the agent is privileged (`privileged`
// is IsPrivileged's answer). Throws std::invalid_argument naming the type when
// a privileged agent is offered no handle.
// Inline: the per-algorithm test executables link no registry.
inline AgentContext HandedContext(const std::string& type, bool privileged, AgentContext ctx) {
  if (!privileged) {
    ctx.privileged.reset();
  } else if (!ctx.privileged) {
    throw std::invalid_argument("agent \"" + type + "\" reads ground truth but was given no privileged handle");
  }
  return ctx;
}

// Families of agents register from their own files through this interface;
// the registry calls each Register*Agents function once, explicitly.
// `info.schema` must outlive the program (a function-local static).
class AgentRegistrar {
 public:
  virtual ~AgentRegistrar() = default;
  // `privileged`: the type's PrivilegeRule, for types whose privilege depends
  // on their config (none: decided by info.privileged alone).
  virtual void Add(ComponentInfo info, AgentFactory factory, PrivilegeRule privileged = {}) = 0;
  // A learnable component of these agents (agents/learnable.h).
  virtual void AddLearnable(const LearnableRule& rule) = 0;
};
void RegisterBaselineAgents(AgentRegistrar& r);  // agents/registry.cc
void RegisterBanditAgents(AgentRegistrar& r);    // agents/bandits.cc
#ifdef COHORT_WITH_TORCH
void RegisterTorchAgents(AgentRegistrar& r);  // agents/torch/register.cc
#endif

}  // namespace cohort
