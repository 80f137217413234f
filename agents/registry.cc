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
  std::map<std::string, PrivilegeRule> privilege_rules;

  void Add(ComponentInfo info, AgentFactory factory, PrivilegeRule privileged) override {
    factories[info.type] = std::move(factory);
    if (privileged) privilege_rules[info.type] = std::move(privileged);
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
  r.Add({"greedy", "rank candidates by a named score, fill the slate top-down", &greedy}, Factory<GreedyAgent>(),
        [](const json& config) { return config.value("score", "affinity") != "affinity"; });
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

bool IsPrivileged(const json& config) {
  const std::string type = config.at("type").get<std::string>();
  const ComponentInfo* info = Get().components.Find(type);
  if (info == nullptr) return false;
  if (info->privileged) return true;
  auto rule = Get().privilege_rules.find(type);
  return rule != Get().privilege_rules.end() && rule->second(config);
}

std::unique_ptr<Agent> MakeAgent(const json& config, const AgentContext& ctx) {
  const std::string type = config["type"].get<std::string>();
  auto it = Get().factories.find(type);
  if (it == Get().factories.end()) throw std::invalid_argument("unknown agent type \"" + type + "\"");
  return it->second(config, HandedContext(type, IsPrivileged(config), ctx));
}

}  // namespace cohort
