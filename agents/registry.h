// The agent registry: every agent type with its parameter schema and factory.
// Registration is explicit (RegisterBuiltins), not static self-registration,
// which the linker drops from static libraries.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "agents/agent.h"

namespace cohort {

using AgentFactory = std::function<std::unique_ptr<Agent>(const json& config, const AgentContext& ctx)>;

// The registry of agent types ("agent" component of a scenario).
const ComponentRegistry& AgentRegistry();
// Builds the agent described by a resolved "agent" block.
std::unique_ptr<Agent> MakeAgent(const json& config, const AgentContext& ctx);
// True when the agent type reads privileged simulator state.
bool IsPrivileged(const std::string& type);

}  // namespace cohort
