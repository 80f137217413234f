#include "agents/registry.h"

#include "agents/baselines.h"
#include "agents/click_model.h"
#include "agents/exposure_rerank.h"
#include "agents/learned_optimizer.h"
#include "agents/logging_policy.h"
#include "agents/trainer.h"
#include "env/scenario.h"

namespace cohort {
namespace {

// Every agent family is registered here, explicitly (static self-registration
// is dropped by the linker from static libraries).
// The table is filled where it lives: the logging wrapper's "policy" key
// points at the table's own types.
void Fill(AgentTable& t) {
  t.AddLearnable(LearnedOptimizerRule());  // the "optimizer" of every gradient-based agent
  RegisterBaselineAgents(t);
  RegisterBanditAgents(t);
#ifdef COHORT_WITH_TORCH
  RegisterTorchAgents(t);
#endif
  RegisterClickModelAgent(t);
  RegisterLoggingPolicy(t);
  RegisterExposureRerank(t);
}

template <typename T>
AgentFactory Factory() {
  return [](const json& config, const AgentContext& ctx) -> std::unique_ptr<Agent> {
    return std::make_unique<T>(config, ctx);
  };
}

const AgentTable& Get() {
  static const AgentTable& table = *[] {
    static AgentTable t;
    Fill(t);
    return &t;
  }();
  return table;
}

}  // namespace

void RegisterBaselineAgents(AgentRegistrar& r) {
  static Schema none{"no parameters"}, popularity{"popularity"}, greedy{"greedy"};
  popularity.Number("prior", 1.0, 0, 1e300, "pseudo-count of the smoothed click-through rate");
  greedy.String("score", "affinity", {"affinity", "history", "quality", "expected_reward"},
                "affinity: observed interests . item features; history: how often the user clicked the item's "
                "topic in the observed past (env.observation.sequence, else observation.history); quality [privileged]: hidden item quality; expected_reward [privileged]: true "
                "expected immediate reward");
  r.Add({"random", "uniformly random slate of distinct candidates", &none}, Factory<RandomAgent>());
  r.Add({"popularity", "rank by observed click-through rate (per item on live catalogs, per topic otherwise)",
         &popularity},
        Factory<PopularityAgent>());
  r.Add({"greedy", "rank candidates by a named score, fill the slate top-down", &greedy}, Factory<GreedyAgent>(),
        [](const json& config) {
          const std::string score = config.value("score", "affinity");
          return score != "affinity" && score != "history";
        });
  r.Add({"oracle", "myopic oracle: the slate maximising true expected immediate reward", &none, true},
        Factory<OracleAgent>());
}

const AgentTypes& AgentRegistry() { return Get().types(); }

const std::vector<LearnableRule>& LearnableRules() { return Get().learnables(); }
const LearnableRule* FindLearnableRule(const std::string& type) { return Get().FindLearnable(type); }

const ComponentInfo* LearnableSlot(const ComponentInfo& agent, const LearnableRule& rule) {
  if (agent.schema == nullptr) return nullptr;
  for (const Field& f : agent.schema->fields())
    if (f.key == rule.slot && f.kind == FieldKind::kComponent && f.registry != nullptr &&
        f.registry->Find(rule.type) != nullptr)
      return f.registry->Find(rule.type);
  return nullptr;
}

bool IsPrivileged(const json& config) { return Get().IsPrivileged(config); }

namespace {

// The "init" key (agent.h Agent::InitFrom): the checkpoint's agent is built
// on the checkpoint's own environment, seed and slots (so its state loads
// exactly as it was written, whatever this run's shapes), with its own
// "init" dropped (its values are about to be overwritten), then loaded and
// handed to `agent`, which checks that its type and networks can be a start.
void WarmStart(Agent& agent, const std::string& path) {
  auto problem = [&](const std::string& what) { return InputError("", "/agent/init", "\"" + path + "\" " + what); };
  CheckpointInfo info;
  try {
    info = ReadCheckpointInfo(path);
  } catch (const InputError&) {
    throw problem(
        "is not a checkpoint directory (no checkpoint.bin; cohort train-offline --out or a run's "
        "directory)");
  } catch (const std::runtime_error& e) {
    throw problem(std::string("cannot be read as a checkpoint: ") + e.what());
  }
  const Scenario run = ParseScenario(info.scenario, info.file, AgentRegistry());
  json block = run.agent;
  block.erase("init");
  const VecEnv env(run.env, run.seed, run.variant, VecEnv::Options{1, 1, -1});
  AgentContext own{env.spec(), std::nullopt, run.seed, run.variant, run.run.num_envs, run.run.train_steps};
  std::unique_ptr<Agent> trained = Get().Make(block, own);
  try {
    LoadCheckpointAgent(info, run, *trained);
  } catch (const InputError&) {
    throw;
  } catch (const std::runtime_error& e) {
    throw problem(std::string("cannot be loaded as a checkpoint: ") + e.what());
  }
  agent.InitFrom(*trained);
}

}  // namespace

std::unique_ptr<Agent> MakeAgent(const json& config, const AgentContext& ctx) {
  std::unique_ptr<Agent> agent = Get().Make(config, ctx);
  if (config.is_object() && config.contains("init") && config["init"].is_string() &&
      !config["init"].get<std::string>().empty())
    WarmStart(*agent, config["init"].get<std::string>());
  return agent;
}

std::unique_ptr<Agent> MakeAgent(const json& config, const AgentContext& ctx, const std::string& file) {
  try {
    return MakeAgent(config, ctx);
  } catch (const InputError& e) {
    std::vector<Problem> problems = e.problems();
    for (Problem& p : problems)
      if (p.file.empty()) p.file = file;
    throw InputError(std::move(problems));
  }
}

}  // namespace cohort
