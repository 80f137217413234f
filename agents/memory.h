// The memory estimate of a whole run (env/memory.h has the simulator's parts
// and the check): what `cohort validate`, `cohort run`, `cohort run --resume`,
// `cohort bench`, sweeps and the meta commands compare with the memory
// available before they allocate anything. docs/simulator.md#memory
// describes it for users.
//
// The agent's part is counted here, by agent type, where its state grows
// with the input: the linear bandits' d x d ridge matrices (d =
// CandidateFeatures::Dim), the arm tables of popularity and the arm bandits
// (one entry per item of a live catalog), the torch agents' rollout and
// replay buffers and networks. An agent type whose state can grow large adds
// its case to AddAgentMemory (agents/memory.cc).
#pragma once

#include <cstdint>
#include <string>

#include "env/memory.h"
#include "env/scenario.h"

namespace cohort {

// The agent described by the resolved `agent` block acting on `rows` slots
// for `train_steps` batched steps (0: a plain run) of `env`. `resolved` (the
// scenario) names the keys.
void AddAgentMemory(const json& agent, const EnvParams& env, const json& resolved, int64_t rows,
                    const std::string& rows_key, int64_t train_steps, MemoryEstimate& out);

// One `cohort run` of `s`, as RunScenario or TrainScenario (agents/runner.h,
// agents/trainer.h) will allocate it: the simulators (a plain run's one of
// min(run.num_envs, run.episodes) slots; a training run's training and
// evaluation environments), the live catalog and its copies, the agent, the
// episode records of the rollouts kept at once, a training run's metrics
// lines and the checkpoint being written, and the variant family when the
// scenario has one (VariantFamily holds every variant).
MemoryEstimate EstimateRunMemory(const Scenario& s);

// CheckMemory(EstimateRunMemory(s), s.file): InputError (exit 2) when the
// run would not fit in the memory available.
void CheckRunMemory(const Scenario& s);

}  // namespace cohort
