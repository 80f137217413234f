#include "agents/registry.h"

#include <map>
#include <stdexcept>

#include "agents/baselines.h"
#include "agents/learned_optimizer.h"

namespace cohort {
namespace {

struct Registry : AgentRegistrar {
  ComponentRegistry components{"agent"};
  std::map<std::string, AgentFactory> factories;

  void Add(ComponentInfo info, AgentFactory factory) override {
    factories[info.type] = std::move(factory);
    components.Register(std::move(info));
  }
  void AddLearnable(const LearnableRule& rule) override {
    if (FindLearnable(rule.type) != nullptr) throw std::logic_error("learnable rule registered twice: " + rule.type);
    learnables.push_back(rule);
  }
  const LearnableRule* FindLearnable(const std::string& type) const {
    for (const LearnableRule& r : learnables)
      if (r.type == type) return &r;
    return nullptr;
  }
  std::vector<LearnableRule> learnables;
  // Every agent family is registered here, explicitly (static self-registration
  // is dropped by the linker from static libraries).
  Registry() {
    AddLearnable(LearnedOptimizerRule());  // the "optimizer" of every gradient-based agent
    RegisterBaselineAgents(*this);
    RegisterBanditAgents(*this);
#ifdef COHORT_WITH_TORCH
    RegisterTorchAgents(*this);
#endif
  }
};

template <typename T>
AgentFactory Factory() {
  return [](const json& config, const AgentContext& ctx) -> std::unique_ptr<Agent> {
    return std::make_unique<T>(config, ctx);
  };
}

Registry& Get() {
  static Registry r;
  return r;
}

}  // namespace

void RegisterBaselineAgents(AgentRegistrar& r) {
  static Schema none{"no parameters"}, popularity{"popularity"}, greedy{"greedy"};
  popularity.Number("prior", 1.0, 0, 1e300, "pseudo-count of the smoothed click-through rate");
  greedy.String("score", "affinity", {"affinity", "quality", "expected_reward"},
                "affinity: observed interests . item features; quality [privileged]: hidden item "
                "quality; expected_reward [privileged]: true expected immediate reward");
  r.Add({"random", "uniformly random slate of distinct candidates", &none}, Factory<RandomAgent>());
  r.Add({"popularity", "rank by observed click-through rate (per item on live catalogs, per topic otherwise)",
         &popularity},
        Factory<PopularityAgent>());
  r.Add({"greedy", "rank candidates by a named score, fill the slate top-down", &greedy}, Factory<GreedyAgent>());
  r.Add({"oracle", "myopic oracle: the slate maximising true expected immediate reward", &none, true},
        Factory<OracleAgent>());
}

const ComponentRegistry& AgentRegistry() { return Get().components; }

const std::vector<LearnableRule>& LearnableRules() { return Get().learnables; }
const LearnableRule* FindLearnableRule(const std::string& type) { return Get().FindLearnable(type); }

const ComponentInfo* LearnableSlot(const ComponentInfo& agent, const LearnableRule& rule) {
  if (agent.schema == nullptr) return nullptr;
  for (const Field& f : agent.schema->fields())
    if (f.key == rule.slot && f.kind == FieldKind::kComponent && f.registry != nullptr &&
        f.registry->Find(rule.type) != nullptr)
      return f.registry->Find(rule.type);
  return nullptr;
}

bool IsPrivileged(const std::string& type) {
  const ComponentInfo* info = Get().components.Find(type);
  return info != nullptr && info->privileged;
}

std::unique_ptr<Agent> MakeAgent(const json& config, const AgentContext& ctx) {
  const std::string type = config["type"].get<std::string>();
  auto it = Get().factories.find(type);
  if (it == Get().factories.end()) throw std::invalid_argument("unknown agent type \"" + type + "\"");
  const bool privileged = IsPrivileged(type) || (type == "greedy" && config["score"] != "affinity");
  if (privileged && ctx.env == nullptr)
    throw std::invalid_argument("agent \"" + type + "\" reads simulator state but no environment was given");
  return it->second(config, ctx);
}

}  // namespace cohort
