// Test helpers for agents: build one registered agent family without the full
// registry, and drive an agent in a VecEnv.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "agents/registry.h"
#include "env/scenario.h"

namespace cohort::testing {

// Collects the agents a Register*Agents function adds; Make() validates the
// config against the agent's schema (defaults filled) like a scenario would.
class TestRegistrar : public AgentRegistrar {
 public:
  void Add(ComponentInfo info, AgentFactory factory) override {
    infos_[info.type] = info;
    factories_[info.type] = std::move(factory);
  }
  json Resolve(const json& config) const {
    json rest = config;
    const std::string type = rest["type"].get<std::string>();
    rest.erase("type");
    json out = Validate(rest, *infos_.at(type).schema, "test");
    out["type"] = type;
    return out;
  }
  std::unique_ptr<Agent> Make(const json& config, const AgentContext& ctx) const {
    return factories_.at(config["type"].get<std::string>())(Resolve(config), ctx);
  }
  bool Has(const std::string& type) const { return factories_.count(type) > 0; }
  void AddLearnable(const LearnableRule& rule) override { learnables_.push_back(rule.type); }
  const std::vector<std::string>& learnables() const { return learnables_; }

 private:
  std::map<std::string, ComponentInfo> infos_;
  std::map<std::string, AgentFactory> factories_;
  std::vector<std::string> learnables_;
};

}  // namespace cohort::testing
