// The Agent contract. An agent sees a StepBatch (one observation per user
// slot, with a set of K candidates) and answers one slate of k distinct
// candidate indices per active row. Learning agents (later) also Observe the
// result of each step and Update; non-learning ones ignore both.
//
// Agents are registered by "type" in agents/registry.cc and configured from
// the scenario's "agent" block like every other component.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "env/schema.h"
#include "env/vec_env.h"

namespace cohort {

// What an agent may know besides its observations. `env` gives privileged
// ground truth (true interests, exact click probabilities); only agents
// registered as privileged read it.
struct AgentContext {
  const EnvParams* params = nullptr;
  const VecEnv* env = nullptr;
  uint64_t seed = 0;
  uint64_t variant = 0;
  int num_envs = 1;
};

class Agent {
 public:
  virtual ~Agent() = default;
  virtual const std::string& type() const = 0;
  // Writes one slate per active row of `obs` into `slates` (already sized
  // rows x slate_size). Inactive rows may be left as they are.
  virtual void Act(const StepBatch& obs, SlateBatch& slates) = 0;
  // Sees the outcome of the slates just acted on (and the next observation).
  virtual void Observe(const StepBatch& result) {}
  virtual bool learns() const { return false; }
  // One learning step; returns named training statistics.
  virtual std::map<std::string, double> Update() { return {}; }
  // Checkpoint state as JSON (non-learning agents: their counters, if any).
  virtual json Save() const { return json::object(); }
  virtual void Load(const json& state) {}
};

}  // namespace cohort
