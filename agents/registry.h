// The agent registry: every agent type with its parameter schema and factory,
// one Registry<AgentEntry> entry each (core/registry.h, like update rules,
// drifts, exploration components and choice models). Registration is
// explicit (each Register*Agents function is called once from
// agents/registry.cc), not static self-registration, which the linker drops
// from static libraries.
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "agents/agent.h"
#include "agents/learnable.h"
#include "core/registry.h"

namespace cohort {

using AgentFactory = std::function<std::unique_ptr<Agent>(const json& config, const AgentContext& ctx)>;
// Whether an agent of a type reads ground truth under `config` (its "agent"
// block, resolved or not): for types whose privilege depends on a setting,
// e.g. greedy ranks by hidden quality only with score "quality".
using PrivilegeRule = std::function<bool(const json& config)>;

// The context an agent's factory receives (MakeAgent applies it): `ctx` with
// the ground-truth handle removed unless the agent is privileged (`privileged`
// is IsPrivileged's answer). Throws std::invalid_argument naming the type when
// a privileged agent is offered no handle.
inline AgentContext HandedContext(const std::string& type, bool privileged, AgentContext ctx) {
  if (!privileged) {
    ctx.privileged.reset();
  } else if (!ctx.privileged) {
    throw std::invalid_argument("agent \"" + type + "\" reads ground truth but was given no privileged handle");
  }
  return ctx;
}

// What an agent type's registry entry holds besides its ComponentInfo (name,
// doc, schema, privileged): how to build one, and, for types whose privilege
// depends on their config, the rule deciding it (empty: info.privileged
// alone decides).
struct AgentEntry {
  AgentFactory make;
  PrivilegeRule privileged;
};
using AgentTypes = Registry<AgentEntry>;

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

// The registrar that keeps what it is given: one entry per agent type
// (Registry<AgentEntry>) and the learnable rules. The program's registry is
// one (AgentRegistry() is its table); the tests build one per agent family
// (tests/agent_harness.h). Inline, like HandedContext: the per-algorithm
// test executables link no registry.
class AgentTable : public AgentRegistrar {
 public:
  void Add(ComponentInfo info, AgentFactory factory, PrivilegeRule privileged = {}) override {
    types_.Add(std::move(info), AgentEntry{std::move(factory), std::move(privileged)});
  }
  // Throws std::logic_error when the rule's type is registered twice.
  void AddLearnable(const LearnableRule& rule) override {
    if (FindLearnable(rule.type) != nullptr) throw std::logic_error("learnable rule registered twice: " + rule.type);
    learnables_.push_back(rule);
  }

  const AgentTypes& types() const { return types_; }
  const std::vector<LearnableRule>& learnables() const { return learnables_; }
  const LearnableRule* FindLearnable(const std::string& type) const {
    for (const LearnableRule& r : learnables_)
      if (r.type == type) return &r;
    return nullptr;
  }

  // True when the agent described by `config` reads ground truth: its type is
  // registered privileged (always) or its PrivilegeRule says so for this
  // config. False for an unknown type.
  bool IsPrivileged(const json& config) const {
    const ComponentInfo* info = types_.Find(config.at("type").get<std::string>());
    if (info == nullptr) return false;
    if (info->privileged) return true;
    const PrivilegeRule& rule = types_.FactoryOf(info->type).privileged;
    return rule && rule(config);
  }
  // Builds the agent described by a resolved "agent" block, handing it the
  // context HandedContext leaves it. std::invalid_argument for an unknown type.
  std::unique_ptr<Agent> Make(const json& config, const AgentContext& ctx) const {
    const std::string type = config.at("type").get<std::string>();
    return types_.FactoryOf(type).make(config, HandedContext(type, IsPrivileged(config), ctx));
  }

 private:
  AgentTypes types_{"agent"};
  std::vector<LearnableRule> learnables_;
};

// The registry of agent types ("agent" component of a scenario).
const AgentTypes& AgentRegistry();
// Builds the agent described by a resolved "agent" block.
std::unique_ptr<Agent> MakeAgent(const json& config, const AgentContext& ctx);
// MakeAgent for an agent block read from `file` (a scenario, a log's
// recorded scenario, --target): an InputError its factory raises without a
// file (checks that need the environment, e.g. the logging wrapper's inner
// policy, or click_model's model) names `file`, as the scenario's other
// errors do.
std::unique_ptr<Agent> MakeAgent(const json& config, const AgentContext& ctx, const std::string& file);
// The component of `agent`'s slot for the learnable `rule` (e.g. the "learned"
// update rule in a gradient agent's "optimizer"), or null when the agent has
// no such slot.
const ComponentInfo* LearnableSlot(const ComponentInfo& agent, const LearnableRule& rule);
// True when the agent described by `config` reads ground truth (the
// registry's AgentTable::IsPrivileged). The one place privilege is decided;
// MakeAgent, the trainer and the visualizer ask here.
bool IsPrivileged(const json& config);

void RegisterBaselineAgents(AgentRegistrar& r);  // agents/registry.cc
void RegisterBanditAgents(AgentRegistrar& r);    // agents/bandits.cc
#ifdef COHORT_WITH_TORCH
void RegisterTorchAgents(AgentRegistrar& r);  // agents/torch/register.cc
#endif

}  // namespace cohort
