// Learnable rules: agent components whose behaviour is set by a flat vector of
// meta-parameters theta, which the meta layer (meta/meta.h) searches with ES
// and saves as a small rule file (docs/meta.md, "What is learned").
//
//   type           slot         agents                 what theta sets
//   learned        optimizer    gradient-based agents  per-parameter MLP residual on Adam
//                                                      (agents/learned_optimizer.h)
//   meta_schedule  exploration  bandits                exploration scale in t/T, log T;
//                                                      ridge prior (agents/bandits.h)
//   lpo            drift        ppo                    drift residual on PPO-clip
//                                                      (agents/torch/drift.h)
//
// The contract every learnable rule keeps:
//   * its component takes "file" (a rule file) or "theta" (inline), not both;
//     neither: theta = 0;
//   * theta = 0 gives exactly the baseline the rule is residual on (Adam, the
//     agent's own exploration, PPO's clipped objective), so ES starts there and
//     "zero meta-parameters = baseline" is a unit test of each rule;
//   * Initial(seed) is the starting point of meta-training: it also behaves
//     exactly like the baseline (e.g. random hidden layers, zero output layer).
//
// Rule files (JSON): {"kind": file_kind, "version": 1, <shape keys>,
//   "theta": [...], "meta": {...provenance...}}; reading checks kind, version,
//   shape and size, and throws InputError naming the file and key.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/schema.h"

namespace cohort {

// The meta view (`cohort viz`): one scalar output of a rule as a function of
// its inputs, drawn along inputs[0] with the others on sliders, next to the
// baseline's output (theta = 0).
struct RuleProbe {
  struct Input {
    std::string name;
    double lo = 0.0, hi = 1.0, value = 0.0;
    bool log_scale = false;  // a slider in log space (e.g. the lifetime T)
  };
  std::string output;         // what is plotted, e.g. "update / lr"
  std::string baseline;       // what theta = 0 is, e.g. "Adam"
  std::vector<Input> inputs;  // inputs[0] runs along the x axis
  // The output at `at` (one value per input) for `theta`; `agent` is the
  // resolved agent config (e.g. PPO's clip_eps). Null: the rule has no view.
  std::function<double(const std::vector<float>& theta, const std::vector<double>& at, const json& agent)> evaluate;
};

struct LearnableRule {
  std::string type;       // the component's "type"
  std::string slot;       // the agent config key the component fills
  std::string file_kind;  // rule files' "kind"
  int theta_size = 0;
  json shape = json::object();                               // extra keys a rule file must carry (network shape)
  std::function<std::vector<float>(uint64_t seed)> initial;  // null: zeros
  RuleProbe probe;
};

// Every learnable rule (registered with the agents: agents/registry.cc).
const std::vector<LearnableRule>& LearnableRules();
// Null when `type` is not learnable.
const LearnableRule* FindLearnableRule(const std::string& type);

std::vector<float> InitialTheta(const LearnableRule& rule, uint64_t seed);

// The "file" and "theta" keys of a learnable component.
void AddThetaKeys(Schema& s, const LearnableRule& rule);
// theta from a resolved component config ("file", "theta" or zeros).
// `where` names the config in errors (e.g. "optimizer").
std::vector<float> ThetaFromConfig(const json& config, const LearnableRule& rule, const std::string& where);

void WriteRuleFile(const std::string& path, const LearnableRule& rule, const std::vector<float>& theta,
                   const json& meta);
std::vector<float> ReadRuleFile(const std::string& path, const LearnableRule& rule);

}  // namespace cohort
