// Scenario files: the JSON schema of every environment key, cross-field
// checks, and conversion of a validated document into typed parameters.
//
// A scenario is {"name", "description", "seed", "env", "agent", "run",
// "family"}. env/ owns every block but "agent", whose registry is injected by
// the layer that owns agents (env/ does not depend on agents/).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/schema.h"
#include "env/params.h"

namespace cohort {

struct RunParams {
  int64_t episodes = 1000;
  int num_envs = 256;
  int threads = 1;
  bool reference = true;  // also roll out random and myopic-oracle policies
  bool regret = true;     // exact per-step regret against the myopic oracle
  // Learning agents (agents/trainer.h): training length and schedules, in
  // batched steps (one VecEnv::Step of num_envs users).
  int64_t train_steps = 0;
  int64_t eval_every = 0;        // 0: train_steps / 10
  int64_t checkpoint_every = 0;  // 0: at every evaluation
};

struct Scenario {
  std::string file;
  json resolved;  // every default filled in: written as scenario.resolved.json
  uint64_t seed = 0;
  uint64_t variant = 0;                  // 0: the base scenario; otherwise VariantFamily id (seeds its streams)
  std::string variant_name;              // "test:3"; "" for the base scenario
  json variant_values = json::object();  // the variant's sampled values: dotted path -> value
  EnvParams env;
  RunParams run;
  json agent;  // resolved "agent" component ({"type": ..., params})
};

// Schemas (static, built once).
const Schema& EnvSchema();
const Schema& RunSchema();
const Schema& FamilySchema();
// Root schema given the agent registry of the calling layer.
Schema ScenarioSchema(const ComponentRegistry& agents);

// Reads, applies --set overrides, validates, checks cross-field constraints
// and converts. Throws InputError naming `path` and the JSON pointer.
Scenario LoadScenario(const std::string& path, const std::vector<std::string>& overrides,
                      const ComponentRegistry& agents);
// Same from a document already read (`file` names it in errors), with the
// overrides applied first.
Scenario LoadScenario(json doc, const std::string& file, const std::vector<std::string>& overrides,
                      const ComponentRegistry& agents);
// Same from an in-memory document (`file` names it in errors).
Scenario ParseScenario(const json& doc, const std::string& file, const ComponentRegistry& agents);

// Typed parameters of a resolved "env" block; cross-field checks (slate size
// <= candidates, per-topic arrays of the right length, ...). `base` is the
// JSON pointer of the block ("/env").
EnvParams ParseEnvParams(const json& env, const std::string& file, const std::string& base = "/env");
RunParams ParseRunParams(const json& run);

}  // namespace cohort
